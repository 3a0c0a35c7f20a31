"""Issue 11, batch and command line: hostile manifests, bad options and files, a wrong transcript, signals.

Each test names the audit item it covers; every one of them failed before the fix."""

import json
import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from emoface import formats
from emoface.cli import main
from emoface.emotion.spec import load_emotion_track, parse_emotion
from emoface.errors import InputError

BOB = "Bob popped the big map"


def one_error_line(stderr: str, *needles) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("emoface: error: ") and "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# 1: a manifest's out may not leave the output folder
def test_manifest_out_cannot_escape_the_output_folder(bob, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (work / "bob.wav").write_bytes(bob.read_bytes())
    outside = tmp_path / "abs.json"
    manifest = work / "m.csv"
    manifest.write_text(f"audio,out\nbob.wav,../../victim.txt\nbob.wav,{outside}\nbob.wav,sub/../../x\n"
                        "bob.wav,good\n")
    out = work / "out" / "deep"
    assert main(["bake", "--manifest", str(manifest), "-o", str(out), "-q"]) == 1
    assert victim.read_text() == "keep" and not outside.exists()
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == [".emoface-bake.jsonl", "good.json"]  # + index
    assert not (work / "out" / "x.json").exists()
    err = capsys.readouterr().err
    assert "m.csv:2: output '../../victim.txt' leaves the output folder" in err
    assert "m.csv:3" in err and "absolute path" in err and "m.csv:4" in err


def test_manifest_out_through_a_symlink_is_refused(bob, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"audio,out\n{bob},link/escaped\n")
    assert main(["bake", "--manifest", str(manifest), "-o", str(out), "-q"]) == 1
    assert not (tmp_path / "escaped.json").exists()
    assert "leaves the output folder" in capsys.readouterr().err


# 9: emotion weights summing past 1, wherever an emotion is given
@pytest.mark.parametrize("spec", ["+".join(["happy:1"] * 10), "happy:0.8+sad:0.5", "angry+fear"])
def test_emotion_blends_past_one_are_refused(spec):
    with pytest.raises(InputError, match="sum to"):
        parse_emotion(spec)


def test_emotion_past_one_on_the_command_line_manifest_and_track(bob, tmp_path, capsys):
    out = tmp_path / "x.json"
    assert main(["bake", str(bob), "-o", str(out), "--emotion", "happy:1+happy:1"]) == 2
    one_error_line(capsys.readouterr().err, "--emotion", "sum to 2")
    assert not out.exists()
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"audio,emotion,out\n{bob},happy:1+happy:1,a\n{bob},happy:0.5+sad:0.5,b\n")
    assert main(["bake", "--manifest", str(manifest), "-o", str(tmp_path / "o"), "-q"]) == 1
    assert "m.csv:2" in capsys.readouterr().err and (tmp_path / "o" / "b.json").exists()
    track = tmp_path / "t.json"
    track.write_text(json.dumps([{"time": 0, "emotion": "sad:1+angry:1"}]))
    with pytest.raises(InputError, match="sum to"):
        load_emotion_track(track)


# 15: emotion tracks with bad numbers name the file
@pytest.mark.parametrize("doc, problem", [
    ({"transition": "abc", "keyframes": [{"time": 0, "emotion": "sad"}]}, "transition 'abc'"),
    ({"transition": -1, "keyframes": [{"time": 0, "emotion": "sad"}]}, "negative"),
    ([{"time": float("nan"), "emotion": "sad"}], "keyframe time nan"),
    ([{"time": float("inf"), "emotion": "sad"}], "not a finite number"),
    ([{"time": 0, "emotion": "sad", "intensity": "x"}], "keyframe intensity 'x'"),
    ([{"time": 0, "emotion": "sad"}, {"time": 1.5, "emotion": "happy"}, {"time": 1.5, "emotion": "angry"}],
     "two keyframes at 1.5 s"),  # the later had won unseen
])
def test_bad_emotion_track_numbers(tmp_path, doc, problem):
    path = tmp_path / "track.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=problem) as info:
        load_emotion_track(path)
    assert str(path) in str(info.value)


# 15: options are checked where they are parsed: one line naming the option, exit 2
@pytest.mark.parametrize("args, needle", [
    (["--seed", "-1"], "--seed"),
    (["--max-duration", "nan"], "--max-duration"),
    (["--max-duration", "0"], "--max-duration"),
    (["--fps", "0"], "--fps"),
    (["--fps", "inf"], "--fps"),
    (["--intensity", "nan"], "--intensity"),
    (["--emotion", "happy", "--emotion-track", "t.json"], "not allowed with"),
    (["--recognizer", "words"], "--recognizer"),
    (["--speech-encoder", "/nonexistent/encoder"], "speech encoder folder not found"),
    (["--no-smooth"], "--no-smooth"),  # the network's own smoothing: it did nothing, silently
    (["--ray-workers", "2"], "--ray"),
    (["--text", "  "], "transcript is empty"),
])
def test_bad_options_one_line(bob, tmp_path, args, needle):
    out = tmp_path / "x.json"
    result = subprocess.run([sys.executable, "-m", "emoface.cli", "bake", str(bob), "-o", str(out), *args],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    one_error_line(result.stderr, needle)
    assert not out.exists()


@pytest.mark.parametrize("command", [["bake"], ["capture"], ["render"], ["plot"]])
def test_an_empty_output_path_is_refused_not_the_current_folder(bob, tmp_path, command):
    """-o "$UNSET" would have baked into the current folder and said it was done."""
    result = subprocess.run([sys.executable, "-m", "emoface.cli", *command, str(bob), "-o", ""],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    one_error_line(result.stderr, "output path is empty")
    assert not list(tmp_path.iterdir())


def test_intensity_with_an_emotion_track_is_refused(bob, tmp_path, capsys):
    track = tmp_path / "t.json"
    track.write_text(json.dumps([{"time": 0, "emotion": "sad"}]))
    assert main(["bake", str(bob), "-o", str(tmp_path / "x.json"), "--emotion-track", str(track),
                 "--intensity", "0.5"]) == 2
    one_error_line(capsys.readouterr().err, "--intensity")


def test_speech_encoder_with_a_checkpoint_that_has_none(bob, tmp_path, capsys):
    assert main(["bake", str(bob), "-o", str(tmp_path / "x.json"), "--speech-encoder", str(tmp_path)]) == 2
    one_error_line(capsys.readouterr().err, "no pretrained speech encoder")


# 15: a manifest that is not UTF-8
def test_manifest_not_utf8(tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_bytes("audio,text\nx.wav,caf\xe9\n".encode("latin-1"))
    assert main(["bake", "--manifest", str(manifest), "-o", str(tmp_path / "o")]) == 2
    one_error_line(capsys.readouterr().err, "m.csv", "not UTF-8")


# 13: a bad checkpoint is one line, and a crafted pickle never runs
class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _zip_checkpoint(path, pickled: bytes) -> None:
    """A file laid out as torch.save writes one (a zip of archive/data.pkl), holding this pickle."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/byteorder", "little")


@pytest.mark.parametrize("make, problem", [
    (lambda p: p.write_bytes(os.urandom(4096)), "not a readable"),
    (lambda p: p.write_bytes(pickle.dumps(_Exploit())), "never run"),
    (lambda p: _zip_checkpoint(p, pickle.dumps(_Exploit(), protocol=2)), "never run"),  # read without torch
    (lambda p: _zip_checkpoint(p, b"\x80\x02}q\x00."[:-1]), "not a readable"),  # a truncated pickle
    (lambda p: torch.save([1, 2], p), "format tag"),
    (lambda p: torch.save({"format": "emoface.facenet/1", "config": {"bogus": 1}}, p), "not a usable"),
    (lambda p: torch.save({"format": "emoface.facenet/1", "config": {"channels": 10 ** 9}, "state_dict": {}}, p),
     "out of range"),
])
def test_bad_checkpoint_is_one_line(bob, tmp_path, make, problem):
    ckpt = tmp_path / "model.pt"
    make(ckpt)
    out = tmp_path / "x.json"
    result = subprocess.run([sys.executable, "-m", "emoface.cli", "bake", str(bob), "-o", str(out), "--checkpoint",
                             str(ckpt)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    one_error_line(result.stderr, "model.pt", problem)
    assert not out.exists() and not (tmp_path / "pwned").exists()


# 14: output paths that cannot be written
def test_output_folder_that_is_a_file(bob, tmp_path, capsys):
    existing = tmp_path / "notes"
    existing.write_text("mine")
    assert main(["bake", str(bob), str(bob), "-o", str(existing)]) == 2
    one_error_line(capsys.readouterr().err, "notes", "output folder")
    assert existing.read_text() == "mine"


@pytest.mark.parametrize("name, problem", [("lines.json", "names a json file"), ("-", "not standard output")])
def test_an_output_folder_named_as_a_file_or_stdout_is_refused(bob, tmp_path, capsys, name, problem):
    """Several lines into `-o lines.json` (or `-o -`) had made a folder of that name and said it was done."""
    assert main(["bake", str(bob), str(bob), "-o", str(tmp_path / name) if name != "-" else name]) == 2
    one_error_line(capsys.readouterr().err, problem)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("command", ["bake", "capture"])
def test_one_input_to_a_mistyped_suffix_is_refused_not_baked_into_a_folder(bob, tmp_path, capsys, command):
    """`-o line.jsn` had made a folder line.jsn/ holding line.json and said it was done."""
    take = bob if command == "bake" else tmp_path / "take.mp4"
    if command == "capture":
        take.write_bytes(b"not read: -o is checked first")
    assert main([command, str(take), "-o", str(tmp_path / "line.jsn")]) == 2
    one_error_line(capsys.readouterr().err, "line.jsn", ".jsn is not", "line.json", "trailing slash")
    assert not (tmp_path / "line.jsn").exists()


def test_a_new_folder_with_a_dot_in_its_name_is_a_folder_given_a_trailing_slash(bob, tmp_path):
    assert main(["bake", str(bob), "-o", f"{tmp_path / 'takes_v1.2'}/", "-q"]) == 0
    assert (tmp_path / "takes_v1.2" / f"{bob.stem}.json").is_file()


def test_output_under_a_file_is_a_line_about_the_output(bob, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["bake", str(bob), "-o", str(blocker / "x.json")]) == 1
    err = capsys.readouterr().err
    assert "cannot write the output" in err and "internal error" not in err


def test_sigterm_mid_write_leaves_no_partial_file(bob, tmp_path, monkeypatch):
    """SIGTERM arrives while the file is being written: the hidden temporary file goes, as on Ctrl-C."""
    json_format = formats.get("json")
    real_write = json_format.write

    def write_then_terminated(anim, path):
        real_write(anim, path)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(json_format, "write", write_then_terminated)
    out = tmp_path / "o"
    assert main(["bake", str(bob), "-o", str(out / "x.json"), "-q"]) == 143
    assert list(out.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


# 11: a transcript of another line is not trusted. This one aligns (seven p/b/m closures mid-vowel) but
# neither fits the audio nor agrees with what the phone loop hears.
WRONG = "Big bad bob maps them"


def test_wrong_transcript_falls_back_to_the_network(bob, speech_line, tmp_path):
    out = tmp_path / "x.json"
    assert main(["bake", str(speech_line), "-o", str(out), "--text", WRONG, "-q"]) == 0
    meta = json.loads(out.read_text())["metadata"]
    assert meta["phoneme_source"] == "network" and "does not match" in meta["transcript_rejected"]
    assert "phonemes" not in meta
    right = tmp_path / "y.json"
    assert main(["bake", str(bob), "-o", str(right), "--text", BOB, "-q"]) == 0
    meta = json.loads(right.read_text())["metadata"]
    assert meta["phoneme_source"] == "aligned" and set(meta["alignment"]) == {"fit", "agreement"}


def test_wrong_transcript_phonetic_engine_recognises_instead(speech_line, tmp_path):
    out = tmp_path / "x.json"
    assert main(["bake", str(speech_line), "-o", str(out), "--engine", "phonetic", "--text", WRONG, "-q"]) == 0
    meta = json.loads(out.read_text())["metadata"]
    assert meta["phoneme_source"] == "recognised" and "alignment" not in meta


# 19: eval (and training) make their cache folder instead of failing minutes in
def test_capture_conversion_creates_its_cache_folder(shared, tmp_path):
    from emoface.train.data import build_facegood

    cache = tmp_path / "no" / "such" / "cache"
    build_facegood(shared, cache)
    assert list(cache.glob("facegood__*.npz"))


# 23: a reader that stops early, and glb's rig name
def test_rigs_show_into_a_closed_pipe():
    result = subprocess.run(f"{sys.executable} -m emoface.cli rigs show metahuman | head -1", shell=True,
                            capture_output=True, text=True)
    assert result.stdout.startswith("metahuman") and "Traceback" not in result.stderr, result.stderr


def test_glb_bake_reports_the_rig_it_holds(bob, tmp_path, capsys):
    assert main(["bake", str(bob), "-o", str(tmp_path / "x.glb")]) == 0
    assert "rig arkit" in capsys.readouterr().err
    assert main(["bake", str(bob), "-o", str(tmp_path / "y.glb"), "--rig", "metahuman"]) == 2
    one_error_line(capsys.readouterr().err, "--rig", "arkit")


def test_help_and_readme_agree_on_word_recognition_speed():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    help_text = subprocess.run([sys.executable, "-m", "emoface.cli", "bake", "--help"], capture_output=True,
                               text=True).stdout
    assert "~4x real time" in readme and "~4x real time" in " ".join(help_text.split())


# 10 (the class of bug): whatever goes wrong upstream, a JSON file is strict JSON or not written at all
def test_json_writer_refuses_non_finite_values(tmp_path):
    from emoface.animation import Animation

    anim = Animation(("a", "b"), 60.0, np.array([[0.0, np.nan]], np.float32), "custom")
    with pytest.raises(ValueError):
        formats.write_atomic(formats.get("json"), anim, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


# 15: a 100 000-deep JSON file as a rig profile or an emotion track: one line, not a RecursionError
@pytest.mark.parametrize("option, what", [("--rig", "rig profile"), ("--emotion-track", "emotion track")])
def test_deeply_nested_json_files_are_one_line(bob, tmp_path, capsys, option, what):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    assert main(["bake", str(bob), "-o", str(tmp_path / "x.json"), option, str(deep)]) == 2
    one_error_line(capsys.readouterr().err, "deep.json", f"{what} is nested too deeply")


def test_rigs_list_with_a_name_says_show(capsys):
    """`rigs list arkit` had listed every rig as if the name were not there."""
    assert main(["rigs", "list", "arkit"]) == 2
    one_error_line(capsys.readouterr().err, "`emoface rigs show arkit`")


# a first-time user's mistakes (2026-12-07 audit): each message says what is wrong with that input
@pytest.mark.parametrize("option, what", [("--emotion-track", "emotion track"), ("--checkpoint", "checkpoint"),
                                          ("--rig", "rig profile"), ("--manifest", "manifest")])
def test_a_folder_given_for_a_file_is_called_a_folder_not_missing(bob, tmp_path, capsys, option, what):
    folder = tmp_path / "lines"
    folder.mkdir()
    args = ["bake", "--manifest", str(folder), "-o", str(tmp_path / "out")] if option == "--manifest" else \
        ["bake", str(bob), "-o", str(tmp_path / "x.json"), option, str(folder)]
    assert main(args) == 2
    one_error_line(capsys.readouterr().err, "lines", f"is a folder; the {what} must be a file")


def test_an_emotions_synonym_is_read_and_an_unknown_one_names_the_synonyms(capsys):
    assert (parse_emotion("happiness") == parse_emotion("happy")).all()
    assert (parse_emotion("joy:0.5+surprised:0.5") == parse_emotion("happy:0.5+surprise:0.5")).all()
    with pytest.raises(InputError, match="choose from angry, .* synonyms such as joy"):
        parse_emotion("elated")


@pytest.mark.parametrize("name, problem", [("prev.gif", "(not .gif)"), ("line.wav", "a .wav is audio"),
                                           ("x.glb", "bake --format glb")])
def test_render_says_why_its_output_is_not_a_video(bob, tmp_path, capsys, name, problem):
    assert main(["render", str(bob), "-o", str(tmp_path / name)]) == 2
    one_error_line(capsys.readouterr().err, "render writes one .mp4 video", problem)


@pytest.mark.parametrize("command", [["serve"], ["bake", "x.wav", "-o", "x.json"], ["rigs", "list"]])
def test_an_unknown_option_points_to_its_commands_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main(command + ["--mic-typo"])
    assert stop.value.code == 2
    one_error_line(capsys.readouterr().err, "unrecognized arguments: --mic-typo", f"emoface {command[0]} --help")


def test_a_name_with_a_formats_suffix_and_another_after_it_suggests_the_first(bob, tmp_path, capsys):
    assert main(["bake", str(bob), "-o", str(tmp_path / "line.json.bak")]) == 2
    one_error_line(capsys.readouterr().err, "such as line.json,")


def test_a_dialogue_sheet_given_as_audio_points_to_manifest(tmp_path, capsys):
    sheet = tmp_path / "dialogue.csv"
    sheet.write_text("audio,emotion\nguard.wav,happy\n")
    assert main(["bake", str(sheet), "-o", str(tmp_path / "out.json")]) == 1
    one_error_line(capsys.readouterr().err, "dialogue.csv", "text file", "--manifest")


def test_a_sheets_failures_are_summed_up_in_line_order(bob, tmp_path, capsys):
    """Its bad rows are reported before any line bakes, the rest as they fail; the summary reads in order."""
    sheet = tmp_path / "lines.csv"
    sheet.write_text(f"audio,emotion,out\n{bob},happy,a\n{tmp_path / 'missing.wav'},happy,b\n{bob},hapy,c\n")
    assert main(["bake", "--manifest", str(sheet), "-o", str(tmp_path / "out"), "-q"]) == 1
    summary = capsys.readouterr().err.split("2 failed:")[1].splitlines()[1:]
    assert [line.split(":")[1] for line in summary] == ["3", "4"]
