"""The docs and the --help texts say what the code does (the 2026-12-05 documentation audit): install steps as
the Makefile's, every option of a command named where the command's other options are, the same option worded
the same way everywhere, figures as the measurement documents give them, and the refusals that had named the
wrong command or come as a traceback."""

import argparse
import re
from pathlib import Path

import pytest

from emoface.cli import build_parser, main
from tests.test_hardening_cli import one_error_line

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def section(text: str, heading: str) -> str:
    """A `## heading...` section of a markdown file, up to the next `## `."""
    start = text.index("\n## " + heading)
    end = text.find("\n## ", start + 4)
    return text[start:end if end > 0 else None]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def options(parser: argparse.ArgumentParser):
    """(option strings, action) of every optional argument but --help."""
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            yield action.option_strings, action


# where each command's options are documented
WHERE = {
    "bake": lambda: section(README, "Baking lines"),
    "capture": lambda: section(README, "Capturing an actor"),
    "train": lambda: section(README, "Capturing an actor"),
    "analyze": lambda: section(README, "The network"),
    "eval": lambda: section(README, "The network"),
    "rigs": lambda: section(README, "Rigs"),
    "stream": lambda: (DOCS / "LIVE.md").read_text(),
    "serve": lambda: (DOCS / "LIVE.md").read_text(),
    "render": lambda: section((DOCS / "RENDER.md").read_text(), "Commands"),
    "plot": lambda: section((DOCS / "RENDER.md").read_text(), "Commands"),
}


def test_every_command_has_its_docs_place():
    assert set(subcommands()) == set(WHERE)


@pytest.mark.parametrize("command", sorted(WHERE))
def test_every_option_is_named_where_the_commands_options_are(command):
    text = WHERE[command]()
    missing = [strings[-1] for strings, _ in options(subcommands()[command])
               if not any(re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text) for s in strings)]
    assert not missing, f"{command}: {missing} not in its docs"


@pytest.mark.parametrize("command", sorted(WHERE))
def test_every_command_and_option_says_what_it_is(command):
    parser = subcommands()[command]
    assert parser.description, f"{command} has no description"
    silent = [a.dest for a in parser._actions if not isinstance(a, argparse._HelpAction) and not a.help]
    assert not silent, f"{command}: no help for {silent}"


@pytest.mark.parametrize("flag, wording", [("--intensity", "(default 1)"), ("--seed", "0 or more"),
                                           ("--seed", "(default 0"), ("--checkpoint", "(default"),
                                           ("--emotion", "default neutral"), ("--fps", "1-240")])
def test_the_same_option_is_worded_the_same_in_every_command(flag, wording):
    seen = []
    for name, parser in subcommands().items():
        for strings, action in options(parser):
            if flag in strings:
                assert wording in action.help, f"{name} {flag}: {action.help!r} lacks {wording!r}"
                seen.append(name)
    assert len(seen) >= 4, seen


def test_help_texts_name_what_the_docs_name():
    commands = subcommands()
    helps = {name: {s: a.help for strings, a in options(p) for s in strings} for name, p in commands.items()}
    assert "PortAudio" in helps["stream"]["--mic"]
    assert "metahuman for .txt" in helps["capture"]["--rig"]
    assert "character=" in helps["serve"]["--to"]
    assert "../shared" in helps["eval"]["--shared"]
    plot_input = next(a.help for a in commands["plot"]._actions if a.dest == "input")
    render_input = next(a.help for a in commands["render"]._actions if a.dest == "input")
    for suffix in (".json", ".csv", ".txt", ".npz", ".glb"):
        assert suffix in plot_input and suffix in render_input


def test_readme_installs_as_the_makefile_does():
    makefile = (ROOT / "Makefile").read_text()
    pyopengl = re.search(r"pip install .*--no-deps PyOpenGL==([\d.]+)", makefile).group(1)
    torch = re.search(r"torch==([\d.]+)", makefile).group(1)
    assert f"pip install --no-deps PyOpenGL=={pyopengl}" in README
    assert f"torch=={torch}" in README
    assert README.index("pip install -e .") < README.index(f"PyOpenGL=={pyopengl}")
    from emoface.render.renderer import PYOPENGL_FOR_OSMESA

    assert PYOPENGL_FOR_OSMESA == pyopengl


def test_an_old_pyopengl_is_one_line_saying_what_to_install(tmp_path, monkeypatch, capsys):
    from emoface.errors import InputError
    from emoface.render import renderer

    monkeypatch.setenv("PYOPENGL_PLATFORM", "osmesa")
    with pytest.raises(InputError, match=r"pip install --no-deps PyOpenGL==3\.1\.7"):
        renderer.check_pyopengl("3.1.0")
    renderer.check_pyopengl("3.1.7")
    renderer.check_pyopengl("3.1.10")
    monkeypatch.setenv("PYOPENGL_PLATFORM", "egl")  # not OSMesa: not this check's business
    renderer.check_pyopengl("3.1.0")

    import OpenGL

    monkeypatch.setenv("PYOPENGL_PLATFORM", "osmesa")
    monkeypatch.setattr(OpenGL, "__version__", "3.1.0")
    baked = tmp_path / "line.json"
    from emoface import formats
    from emoface.animation import Animation
    from emoface.rigs import canonical_names

    formats.write_atomic(formats.get("json"), Animation.zeros(canonical_names(), 30, 6, "livelink", {}), baked)
    capsys.readouterr()
    assert main(["render", str(baked), "-o", str(tmp_path / "x.mp4"), "--size", "64", "-q"]) == 2
    one_error_line(capsys.readouterr().err, "PyOpenGL 3.1.0", "pip install --no-deps PyOpenGL==3.1.7")
    assert not (tmp_path / "x.mp4").exists()


def test_capture_refuses_a_video_as_its_output_in_its_own_words(tmp_path, capsys):
    take = tmp_path / "take.mp4"
    take.write_bytes(b"\0" * 64)
    assert main(["capture", str(take), "-o", str(take)]) == 2
    line = one_error_line(capsys.readouterr().err, "capture never writes over a take")
    assert "bake" not in line
    assert main(["capture", str(take), "-o", str(tmp_path / "other.mp4")]) == 2
    line = one_error_line(capsys.readouterr().err, "capture writes animation files", "--preview")
    assert "bake" not in line
    assert take.read_bytes() == b"\0" * 64


def test_plot_takes_intensity_and_quiet_as_render_does(bob, tmp_path, capsys, monkeypatch):
    from emoface.render import plot

    drawn = []
    monkeypatch.setattr(plot, "plot_animation", lambda anim, *a, **k: drawn.append(anim))
    assert main(["plot", str(bob), "-o", str(tmp_path / "p.png"), "--emotion", "happy", "--intensity", "0.5",
                 "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert drawn[0].metadata["emotion"].startswith("happy:0.50+neutral:0.50")
    baked = tmp_path / "line.json"
    assert main(["bake", str(bob), "-o", str(baked), "-q"]) == 0
    capsys.readouterr()
    assert main(["plot", str(baked), "-o", str(tmp_path / "q.png"), "--intensity", "0.5"]) == 2
    one_error_line(capsys.readouterr().err, "--intensity", "audio input only")


def test_latency_figures_are_the_codes():
    """The live delay in every doc that states it, and the streamed networks' look-ahead in the code's comment."""
    from emoface.animator import Animator
    from emoface.live.animator import StreamingAnimator
    from emoface.live.commands import _live_checkpoint, default_step
    from emoface.live.session import LiveSession

    live = StreamingAnimator(Animator(fps=60, checkpoint=_live_checkpoint()), rig="livelink")
    default = StreamingAnimator(Animator(fps=60), rig="livelink")
    doc = " ".join(StreamingAnimator.__doc__.split())
    assert f"{round(default.latency_s * 1000)} ms for the default network" in doc
    assert f"{round(live.latency_s * 1000)} ms for the live one" in doc
    delay = round(LiveSession(live, [], "livelink", step=default_step(60)).delay_s * 1000)
    one = round(LiveSession(live, [], "livelink", step=1).delay_s * 1000)
    assert f"{one} ms with `--frames-per-step 1`" in " ".join(README.split())
    unreal = (ROOT / "unreal_plugin" / "EmoFaceLiveLink" / "README.md").read_text()
    assert f"**{delay} ms at 60 fps**" in (DOCS / "LIVE.md").read_text()  # where it is worked out (and other figures)
    for name, text in (("README", README), ("RELIABILITY.md", (DOCS / "RELIABILITY.md").read_text()),
                       ("Unreal README", unreal)):
        stated = {int(n) for n in re.findall(r"(\d+) ms (?:behind the audio )?at 60 fps", " ".join(text.split()))}
        assert stated == {delay}, f"{name} states {stated}, the session keeps {delay} ms"


def test_measured_figures_are_the_measurements():
    bench = (DOCS / "RENDER_BENCHMARK.md").read_text()
    rows = [re.findall(r"\| ([\d.]+) \| ([\d.]+) \|$", line) for line in bench.splitlines() if line.startswith("|")]
    figures = [f for row in rows for pair in row for f in pair]
    assert len(figures) == 4
    render = " ".join(section((DOCS / "RENDER.md").read_text(), "Speed").split())
    for figure in figures:
        assert f"{figure} " in " ".join(README.split()) and f"{figure} " in render, figure
    long = (DOCS / "LONG_ALIGNMENT.md").read_text()
    wall, peak = re.search(r"\| 601 \|.*\| (\d+) / (\d+) \|", long).groups()
    assert f"baked in {wall} s, {peak} MB" in " ".join(README.split())


def test_unreal_readme_stamps_ntsc_as_the_plugin_does():
    unreal = ROOT / "unreal_plugin" / "EmoFaceLiveLink"
    header = next(unreal.rglob("EmoFaceStreamProtocol.h")).read_text()
    readme = (unreal / "README.md").read_text()
    assert "29.97 -> 30000/1001" in header and "29.97 -> 30000/1001" in readme
    assert "29970/1000" not in readme
    source = (unreal / "Content" / "Python" / "emoface_import.py").read_text()
    signature = re.search(r"def import_bake\((.*?)\) ->", source, re.S).group(1)
    documented = readme.split("`import_bake(", 1)[1].split(")`", 1)[0]
    for parameter in signature.split(","):
        name = parameter.split(":")[0].split("=")[0].strip()
        assert re.search(rf"\b{name}\b", documented), name


def test_make_demo_lists_its_results_not_the_hidden_index():
    demo = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "find $(DEMO) -type f ! -name '.*'" in demo
    assert "next:" in demo
