"""What a user audit of batch baking and `emoface eval` found (2026-12-05): an index that cannot be written
stopped the batch with a traceback after its first line; eval ran for minutes, then failed on its -o, and a shared
folder missing a data set was a traceback; a folder's linked subfolders were passed by in silence."""

import shutil

from emoface.cli import main
from tests.test_hardening_cli import one_error_line


def test_an_index_that_cannot_be_written_costs_only_resuming(bob, tmp_path, capsys):
    lines = tmp_path / "lines"
    lines.mkdir()
    for name in ("a.wav", "b.wav"):
        shutil.copy(bob, lines / name)
    out = tmp_path / "out"
    (out / ".emoface-bake.jsonl").mkdir(parents=True)  # something in the index's place
    assert main(["bake", str(lines), "-o", str(out), "-q"]) == 0
    assert (out / "a.json").is_file() and (out / "b.json").is_file()
    err = capsys.readouterr().err
    assert err.count("cannot record the bake") == 1 and "Traceback" not in err


def test_eval_checks_its_output_and_its_data_before_the_work(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "taken.md").mkdir()
    assert main(["eval", "--shared", str(tmp_path), "-o", str(tmp_path / "taken.md")]) == 2
    one_error_line(capsys.readouterr().err, "cannot write the tables: a folder has that name")
    assert main(["eval", "--shared", str(tmp_path), "--cache", str(tmp_path / "cache"),
                 "-o", str(tmp_path / "new" / "EVAL.md")]) == 2
    one_error_line(capsys.readouterr().err, "is missing", "speech-en")


def test_a_folder_bakes_its_linked_subfolders_once(bob, tmp_path):
    vo = tmp_path / "vo"
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(bob, tmp_path / "elsewhere" / "guard.wav")
    vo.mkdir()
    shutil.copy(bob, vo / "own.wav")
    (vo / "linked").symlink_to(tmp_path / "elsewhere")
    (vo / "loop").symlink_to(vo)  # a link back up: followed once, not forever
    out = tmp_path / "out"
    assert main(["bake", str(vo), "-o", str(out), "-q"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json")) == ["linked/guard.json", "own.json"]


def _sheet(tmp_path, bob, text: str):
    shutil.copy(bob, tmp_path / "a.wav")
    shutil.copy(bob, tmp_path / "b.wav")
    path = tmp_path / "lines.csv"
    path.write_text(text)
    return path


def test_the_command_line_emotion_is_the_default_of_a_sheet(bob, tmp_path):
    import json

    sheet = _sheet(tmp_path, bob, "audio,emotion,intensity\na.wav,,\nb.wav,happy,1\n")
    out = tmp_path / "out"
    assert main(["bake", "--manifest", str(sheet), "-o", str(out), "--emotion", "angry", "--intensity", "0.9",
                 "-q"]) == 0
    emotions = {p.stem: json.loads(p.read_text())["metadata"]["emotion"] for p in out.glob("*.json")}
    assert emotions["a"].startswith("angry:0.90") and emotions["b"].startswith("happy:1.00"), emotions


def test_text_and_tracks_are_refused_with_a_sheet_alone(bob, tmp_path, capsys):
    sheet = _sheet(tmp_path, bob, "audio\na.wav\n")
    assert main(["bake", "--manifest", str(sheet), "-o", str(tmp_path / "out"), "--text", "Wrong words"]) == 2
    one_error_line(capsys.readouterr().err, "--text", "a sheet gives each of its lines its own")


def test_an_out_ending_in_a_slash_is_a_folder(bob, tmp_path):
    sheet = _sheet(tmp_path, bob, "audio,out\na.wav,npc/\n")
    out = tmp_path / "out"
    assert main(["bake", "--manifest", str(sheet), "-o", str(out), "-q"]) == 0
    assert [p.relative_to(out).as_posix() for p in out.rglob("*.json")] == ["npc/a.json"]


def test_a_media_name_for_a_bake_is_refused_not_made_a_folder(bob, tmp_path, capsys):
    for name in ("line.mp4", "line.wav"):  # after a preview, or a sound: not a folder named so
        assert main(["bake", str(bob), "-o", str(tmp_path / name), "-q"]) == 2
        one_error_line(capsys.readouterr().err, name, "emoface render")
        assert not (tmp_path / name).exists()
    (tmp_path / "takes.mov").mkdir()  # a folder a user did name so is still one
    assert main(["bake", str(bob), "-o", str(tmp_path / "takes.mov"), "-q"]) == 0
    assert (tmp_path / "takes.mov" / f"{bob.stem}.json").is_file()
