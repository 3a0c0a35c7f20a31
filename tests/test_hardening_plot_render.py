"""Baked files read back by `emoface plot` and `emoface render`: a bad fps or bad frames is one line naming the
file and the field, exit 2 and no output (not a traceback, an empty video or a meaningless plot); plot's numeric
options are typed like bake's, so a bad value names the option."""

import json

import numpy as np
import pytest

from emoface import formats
from emoface.animation import Animation
from emoface.cli import main
from emoface.errors import InputError
from emoface.render.inputs import read_animation
from emoface.rigs import canonical_names
from tests.test_hardening_cli import one_error_line

NAMES = canonical_names()


def _good(tmp_path, fps=30, frames=4) -> dict:
    anim = Animation.zeros(NAMES, fps, frames, "livelink", {"emotion": "neutral:1.00"})
    anim["JawOpen"] = np.linspace(0, 0.5, frames)
    path = formats.write_atomic(formats.get("json"), anim, tmp_path / "good.json")
    return json.loads(path.read_text())


def _row(doc, i, change):
    frames = [list(r) for r in doc["frames"]]
    frames[i] = change(frames[i])
    return {**doc, "frames": frames}


def _set(row, k, value):
    return row[:k] + [value] + row[k + 1:]


# name -> (change to the good file's JSON, text the error line must hold)
BAD_JSON = {
    "fps 0": (lambda d: {**d, "fps": 0}, "fps must be a number in 1-240, got 0"),
    "fps null": (lambda d: {**d, "fps": None}, "fps must be a number in 1-240, got null"),
    "fps text": (lambda d: {**d, "fps": "abc"}, 'fps must be a number in 1-240, got "abc"'),
    "fps negative": (lambda d: {**d, "fps": -30}, "fps must be a number in 1-240, got -30"),
    "fps NaN": (lambda d: {**d, "fps": float("nan")}, "fps must be a number in 1-240, got nan"),
    "fps huge": (lambda d: {**d, "fps": 1e9}, "fps must be a number in 1-240"),
    "fps true": (lambda d: {**d, "fps": True}, "fps must be a number in 1-240, got true"),
    "fps missing": (lambda d: {k: v for k, v in d.items() if k != "fps"}, "has no 'fps' field"),
    "no frames": (lambda d: {**d, "frames": []}, "has no frames"),
    "frames not a list": (lambda d: {**d, "frames": 5}, "frames must be a list of rows"),
    "short row": (lambda d: _row(d, 2, lambda r: r[:-1]), f"frame 2 has {len(NAMES) - 1} values, expected"),
    "row not a list": (lambda d: _row(d, 1, lambda r: 0.5), "frame 1 must be a list of"),
    "text value": (lambda d: _row(d, 1, lambda r: _set(r, 3, "x")), f'frame 1, curve {NAMES[3]} is "x", not a'),
    "null value": (lambda d: _row(d, 2, lambda r: _set(r, 0, None)), f"frame 2, curve {NAMES[0]} is null"),
    "NaN value": (lambda d: _row(d, 3, lambda r: _set(r, 5, float("nan"))),
                  f"frame 3, curve {NAMES[5]} is nan, not a finite number"),
    "names not a list": (lambda d: {**d, "names": "JawOpen"}, "names must be a list of curve names"),
    # a finite value no bake writes had been drawn as a smeared face, exit 0 (2026-12-06 audit)
    "value far past its range": (lambda d: _row(d, 2, lambda r: _set(r, 1, 1e30)),
                                 f"frame 2, curve {NAMES[1]} is 1e+30, far outside its range"),
}


def _bad_file(tmp_path, case) -> tuple:
    change, problem = BAD_JSON[case]
    path = tmp_path / "x.json"
    path.write_text(json.dumps(change(_good(tmp_path))))  # json.dumps writes NaN as the literal json.load reads
    (tmp_path / "good.json").unlink()
    return path, problem


def _refused(tmp_path, capsys, argv, src, problem, out):
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"emoface: error: {src}: "), line
    assert problem in line, line
    assert "not an emoface animation file" not in line  # the field itself, not a wrapper around it
    assert not out.exists() and not list(tmp_path.glob(".*part*"))


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_bad_json_is_one_line_for_plot(tmp_path, capsys, case):
    path, problem = _bad_file(tmp_path, case)
    out = tmp_path / "p.png"
    _refused(tmp_path, capsys, ["plot", str(path), "-o", str(out)], path, problem, out)


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_bad_json_is_one_line_for_render(tmp_path, capsys, case):
    path, problem = _bad_file(tmp_path, case)
    out = tmp_path / "r.mp4"
    _refused(tmp_path, capsys, ["render", str(path), "-o", str(out), "--size", "64", "-q"], path, problem, out)


def _npz(tmp_path, **change):
    good = formats.write_atomic(formats.get("npz"), Animation.zeros(NAMES, 30, 4, "livelink"), tmp_path / "g.npz")
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    good.unlink()
    path = tmp_path / "x.npz"
    np.savez(path, **{**arrays, **change})
    return path


def _csv(tmp_path, value):
    good = formats.write_atomic(formats.get("livelink-csv"), Animation.zeros(NAMES, 30, 4, "livelink"),
                                tmp_path / "g.csv")
    header, *rows = good.read_text().splitlines()
    good.unlink()
    path = tmp_path / "x.csv"
    if value is None:
        rows = []
    else:
        cells = rows[1].split(",")
        rows[1] = ",".join(cells[:4] + [value] + cells[5:])
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _text(path, text):
    path.write_text(text)
    return path


OTHER_FORMATS = {
    "npz fps 0": (lambda t: _npz(t, fps=np.float64(0)), "fps must be a number in 1-240, got 0"),
    "npz fps NaN": (lambda t: _npz(t, fps=np.float64("nan")), "fps must be a number in 1-240, got nan"),
    "npz fps text": (lambda t: _npz(t, fps=np.array("abc")), 'fps must be a number in 1-240, got "abc"'),
    "npz no frames": (lambda t: _npz(t, values=np.zeros((0, len(NAMES)), np.float32)), "has no frames"),
    "npz inf value": (lambda t: _npz(t, values=np.full((4, len(NAMES)), np.inf, np.float32)),
                      f"frame 0, curve {NAMES[0]} is inf, not a finite number"),
    "csv no frames": (lambda t: _csv(t, None), "has no frames"),
    "csv NaN value": (lambda t: _csv(t, "nan"), f"frame 1, curve {NAMES[2]} is nan"),
    "txt empty": (lambda t: _text(t / "x.txt", ""), "is empty (0 bytes)"),
    # these had named what the reader tripped on: "list index out of range", numpy's advice to unpickle (2026-12-06)
    "csv empty": (lambda t: _text(t / "x.csv", ""), "is empty (0 bytes)"),
    "json empty": (lambda t: _text(t / "x.json", ""), "is empty (0 bytes)"),
    "npz of junk": (lambda t: _text(t / "x.npz", "junk" * 100), "not a .npz archive"),
    "txt blank lines": (lambda t: _text(t / "x.txt", "\n\n"), "has no frames"),
}


@pytest.mark.parametrize("case", list(OTHER_FORMATS))
@pytest.mark.parametrize("command", ["plot", "render"])
def test_other_formats_are_checked_the_same(tmp_path, capsys, case, command):
    make, problem = OTHER_FORMATS[case]
    path = make(tmp_path)
    out = tmp_path / ("p.png" if command == "plot" else "r.mp4")
    argv = [command, str(path), "-o", str(out)] + (["--size", "64", "-q"] if command == "render" else [])
    _refused(tmp_path, capsys, argv, path, problem, out)


@pytest.mark.parametrize("fps, ok", [(1, True), (240, True), (29.97, True), (0.5, False), (240.5, False)])
def test_file_fps_range_is_bakes(tmp_path, capsys, fps, ok):
    """A baked file's fps is held to what `bake --fps` accepts: one range, one rule (options.FPS)."""
    path = tmp_path / "x.json"
    path.write_text(json.dumps({**_good(tmp_path), "fps": fps}))
    if ok:
        anim = read_animation(path)
        assert anim.fps == fps and isinstance(anim.fps, float)
    else:
        with pytest.raises(InputError, match="fps must be a number in 1-240") as err:
            read_animation(path)
        assert err.value.source == str(path)
    if not ok:  # bake --fps refuses it too
        with pytest.raises(SystemExit) as exit_:
            main(["bake", str(tmp_path / "in.wav"), "-o", str(tmp_path / "b.json"), "--fps", str(fps)])
        assert exit_.value.code == 2 and "argument --fps" in one_error_line(capsys.readouterr().err)


def test_a_good_file_still_plots(tmp_path, capsys):
    _good(tmp_path)
    out = tmp_path / "p.png"
    assert main(["plot", str(tmp_path / "good.json"), "-o", str(out), "--width", "4"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("option, value, problem", [
    ("--width", "nan", "not a finite number"),
    ("--width", "inf", "not a finite number"),
    ("--width", "100000", "must be at most"),
    ("--width", "0", "must be at least"),
    ("--width", "-3", "must be at least"),
    ("--width", "abc", "is not a number"),
    ("--fps", "nan", "not a finite number"),
    ("--fps", "0", "must be at least 1"),
    ("--fps", "-30", "must be at least 1"),
    ("--fps", "1000", "must be at most 240"),
])
def test_bad_plot_option_names_the_option(tmp_path, capsys, option, value, problem):
    _good(tmp_path)
    out = tmp_path / "p.png"
    with pytest.raises(SystemExit) as exit_:
        main(["plot", str(tmp_path / "good.json"), "-o", str(out), option, value])
    assert exit_.value.code == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"argument {option}: " in line and problem in line, line
    assert not out.exists()


@pytest.mark.parametrize("given", ["", "folder"])
def test_render_of_a_folder_says_it_is_a_folder(tmp_path, capsys, monkeypatch, given):
    """An empty argument is the current folder: it had been read as a baked animation, and the error blamed the
    --emotion given with it ("( is already animated")."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    out = tmp_path / "x.mp4"
    code = main(["render", given, "-o", str(out), "--emotion", "angry"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "is a folder" in line and not out.exists()
