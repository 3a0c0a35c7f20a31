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
