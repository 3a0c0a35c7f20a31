import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from emoface import formats
from emoface.cli import main

BOB = "Bob popped the big map"


def run(*args):
    return subprocess.run([sys.executable, "-m", "emoface.cli", *map(str, args)], capture_output=True, text=True)


def test_bake_every_format_end_to_end(bob, tmp_path):
    for suffix, rig, n in ((".txt", "metahuman", 174), (".csv", "livelink", 61), (".json", "livelink", 61),
                           (".npz", "livelink", 61)):
        out = tmp_path / f"bob{suffix}"
        assert main(["bake", str(bob), "-o", str(out), "--text", BOB, "--emotion", "happy:0.7+surprise:0.3",
                     "-q"]) == 0
        anim = formats.read(out)
        assert anim.rig == rig and len(anim.names) == n
        duration = sf.info(str(bob)).duration
        assert anim.n_frames == int(np.ceil(duration * 60))


def test_json_carries_metadata_and_rig_choice(bob, tmp_path):
    out = tmp_path / "bob.json"
    assert main(["bake", str(bob), "-o", str(out), "--rig", "arkit", "--fps", "30", "--seed", "4",
                 "--emotion", "sad", "--intensity", "0.5", "-q"]) == 0
    doc = json.loads(out.read_text())
    assert doc["fps"] == 30 and doc["rig"] == "arkit" and len(doc["names"]) == 52 and doc["names"][17] == "jawOpen"
    assert len(doc["frames"]) == doc["frame_count"]
    meta = doc["metadata"]
    assert meta["source"] == str(bob) and meta["seed"] == 4 and meta["engine"] == "neural"
    assert meta["emotion"] == "sad:0.50+neutral:0.50" and meta["version"]


def test_same_input_same_bytes(bob, tmp_path):
    for fmt in ("json", "emoface-txt", "livelink-csv", "npz"):
        outs = []
        for k in range(2):
            out = tmp_path / f"{fmt}{k}" / "bob"
            assert main(["bake", str(bob), "-o", str(out.parent), "--format", fmt, "--seed", "3",
                         "--emotion", "angry", "-q"]) == 0
            outs.append(next(out.parent.iterdir()).read_bytes())
        assert outs[0] == outs[1], fmt


def test_directories_globs_and_a_bad_file_in_the_batch(bob, tmp_path, capsys):
    src = tmp_path / "lines"
    (src / "act1").mkdir(parents=True)
    shutil.copy(bob, src / "act1" / "a.wav")
    shutil.copy(bob, src / "b.wav")
    (src / "broken.wav").write_bytes(b"not audio at all")
    out = tmp_path / "out"
    code = main(["bake", str(src), str(tmp_path / "missing.wav"), "-o", str(out), "--format", "emoface-txt"])
    err = capsys.readouterr().err
    assert code == 1
    assert (out / "act1" / "a.txt").is_file() and (out / "b.txt").is_file()
    assert not (out / "broken.txt").exists() and not list(out.rglob("*.part"))
    assert "2 failed" in err and "broken.wav: not a readable audio file" in err and "missing.wav: file not found" in err
    code = main(["bake", str(src / "*.wav"), "-o", str(tmp_path / "g"), "-q"])
    assert code == 1 and (tmp_path / "g" / "b.json").is_file()


def test_manifest_dialogue_sheet(bob, tmp_path, capsys):
    shutil.copy(bob, tmp_path / "l1.wav")
    shutil.copy(bob, tmp_path / "l2.wav")
    sheet = tmp_path / "lines.csv"
    with open(sheet, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["audio", "emotion", "intensity", "text", "out"])
        w.writerow(["l1.wav", "happy", "0.8", BOB, "npc/guard_01"])
        w.writerow(["l2.wav", "sad", "", "", ""])
        w.writerow(["l3.wav", "happy", "1", "", ""])  # missing audio
        w.writerow(["l1.wav", "grumpy", "1", "", "x"])  # bad emotion
    out = tmp_path / "baked"
    assert main(["bake", "--manifest", str(sheet), "-o", str(out), "--format", "json"]) == 1
    err = capsys.readouterr().err
    one = json.loads((out / "npc" / "guard_01.json").read_text())
    assert one["metadata"]["emotion"] == "happy:0.80+neutral:0.20" and one["metadata"]["phoneme_source"] == "aligned"
    assert json.loads((out / "l2.json").read_text())["metadata"]["emotion"] == "sad:1.00"
    assert "lines.csv:4" in err and "file not found" in err and "lines.csv:5" in err and "unknown emotion" in err


@pytest.mark.parametrize("args, problem", [
    (["--rig", "arkit", "--format", "emoface-txt"], "metahuman rig only"),
    (["--emotion", "grumpy"], "unknown emotion"),
    (["--rig", "nosuch"], "unknown rig"),
    (["--fps", "0"], "fps"),
])
def test_bad_options_give_one_line_and_no_file(bob, tmp_path, args, problem):
    out = tmp_path / "x.json"
    result = run("bake", bob, "-o", out, *args)
    assert result.returncode != 0 and problem in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_bad_audio_single_file(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 16000)
    out = tmp_path / "e.json"
    result = run("bake", empty, "-o", out)
    assert result.returncode == 1 and f"{empty}: audio is empty" in result.stderr and not out.exists()
    result = run("bake", empty, "-o", out, "--max-duration", "0.5")
    assert result.returncode == 1


def test_too_long_file_is_refused(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(16000 * 3, np.float32), 16000)
    result = run("bake", path, "-o", tmp_path / "l.json", "--max-duration", "2")
    assert result.returncode == 1 and "over the 2 s limit" in result.stderr


def test_silent_audio_warns_and_bakes(silence, tmp_path):
    out = tmp_path / "s.json"
    result = run("bake", silence, "-o", out)
    assert result.returncode == 0 and "silent" in result.stderr and out.is_file()


def test_emotion_track_and_text_file(bob, tmp_path):
    track = tmp_path / "track.json"
    track.write_text(json.dumps({"keyframes": [{"time": 0, "emotion": "neutral"},
                                               {"time": 0.8, "emotion": "angry", "intensity": 0.9}]}))
    text = tmp_path / "bob.txt"
    text.write_text(BOB + "\n")
    out = tmp_path / "t.json"
    assert main(["bake", str(bob), "-o", str(out), "--emotion-track", str(track), "--text-file", str(text), "-q"]) == 0
    meta = json.loads(out.read_text())["metadata"]
    assert "angry:0.90" in meta["emotion"] and meta["phoneme_source"] == "aligned"


def test_user_rig_profile_from_the_command_line(bob, tmp_path):
    profile = tmp_path / "mychar.json"
    profile.write_text(json.dumps({"name": "mychar", "curves": {"Jaw": {"JawOpen": 1}, "Blink_L": {"EyeBlinkLeft": 1}}}))
    out = tmp_path / "p.json"
    assert main(["bake", str(bob), "-o", str(out), "--rig", str(profile), "-q"]) == 0
    doc = json.loads(out.read_text())
    assert doc["rig"] == "mychar" and doc["names"] == ["Jaw", "Blink_L"]
    assert max(f[0] for f in doc["frames"]) > 0.2


def test_rigs_list_and_show(capsys):
    assert main(["rigs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "metahuman " in listing and "174 curves" in listing and "arkit" in listing
    assert main(["rigs", "show", "metahuman", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["names"]) == 174 and shown["ranges"][4] == [0.0, 1.0]
    assert main(["rigs", "show", "arkit"]) == 0 and "jawOpen  [0, 1]" in capsys.readouterr().out


@pytest.mark.parametrize("samples", [1, 800])
def test_very_short_audio_still_bakes(tmp_path, samples):
    path = tmp_path / "blip.wav"
    sf.write(path, (np.random.default_rng(0).standard_normal(samples) * 0.1).astype(np.float32), 16000)
    out = tmp_path / "blip.csv"
    assert main(["bake", str(path), "-o", str(out), "--fps", "29.97", "-q"]) == 0
    assert formats.read(out).n_frames == int(np.ceil(samples / 16000 * 29.97))
