"""A batch bake restarts where it stopped: lines whose output was made from the same inputs are skipped, and
anything that changed (the audio, a row of the dialogue sheet, a setting, a deleted output) is baked again."""

import shutil

from emoface.bake_index import INDEX_NAME, BakeIndex
from emoface.cli import main


def sheet(tmp_path, bob, emotions):
    lines = ["audio,emotion,out"] + [f"{bob.name},{e},line{k}" for k, e in enumerate(emotions)]
    path = tmp_path / "sheet.csv"
    path.write_text("\n".join(lines) + "\n")
    shutil.copy(bob, tmp_path / bob.name)
    return path


def stamps(out):
    return {p.name: p.stat().st_mtime_ns for p in out.glob("line*.json")}


def bake(sheet_path, out, *extra):
    return main(["bake", "--manifest", str(sheet_path), "-o", str(out), "--format", "json", "--no-gaze", *extra])


def test_a_rerun_skips_what_is_done_and_redoes_what_changed(bob, tmp_path, capsys):
    out = tmp_path / "out"
    path = sheet(tmp_path, bob, ["happy", "sad", "angry"])
    assert bake(path, out) == 0
    first = stamps(out)
    assert len(first) == 3 and (out / INDEX_NAME).is_file()

    capsys.readouterr()
    assert bake(path, out) == 0
    assert stamps(out) == first  # nothing rewritten
    assert "baked 0 of 3 line(s)" in capsys.readouterr().err

    path = sheet(tmp_path, bob, ["happy", "fear", "angry"])  # one row of the sheet changed
    (out / "line2.json").unlink()  # and one output went missing
    assert bake(path, out) == 0
    now = stamps(out)
    assert now["line0.json"] == first["line0.json"]
    assert now["line1.json"] != first["line1.json"] and "line2.json" in now

    assert bake(path, out, "--fps", "30") == 0  # a setting changed: everything is stale
    assert all(stamps(out)[n] != now[n] for n in now)


def test_changed_audio_and_force_bake_again(bob, tmp_path):
    out = tmp_path / "out"
    path = sheet(tmp_path, bob, ["neutral", "neutral"])
    assert bake(path, out) == 0
    first = stamps(out)
    audio = tmp_path / bob.name
    audio.write_bytes(audio.read_bytes()[:-400])  # the same file name, other sound
    assert bake(path, out) == 0
    assert all(stamps(out)[n] != first[n] for n in first)
    again = stamps(out)
    assert bake(path, out, "--force") == 0
    assert all(stamps(out)[n] != again[n] for n in again)


def test_a_torn_index_line_only_costs_that_line(tmp_path):
    index = BakeIndex(tmp_path)
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").write_text("{}")
    index.record(tmp_path / "a.json", "k1")
    index.record(tmp_path / "b.json", "k2")
    with open(tmp_path / INDEX_NAME, "a") as f:
        f.write('{"out": "c.json", "ke')  # the process died mid-line
    again = BakeIndex(tmp_path)
    assert again.done(tmp_path / "a.json", "k1") and again.done(tmp_path / "b.json", "k2")
    assert not again.done(tmp_path / "a.json", "k2")
    again.record(tmp_path / "b.json", "k3")  # the next record is not glued to the torn line
    assert BakeIndex(tmp_path).done(tmp_path / "b.json", "k3")
