"""What a user audit of the bake formats found (2026-12-05): a JSON bake could be named like a visemes file, which
every reader then refused as mouth shapes; Rhubarb's cues ran on to the frame grid's end, past the recording."""

from emoface.cli import main
from tests.test_hardening_cli import one_error_line


def test_a_json_bake_is_not_named_as_visemes(bob, tmp_path, capsys):
    out = tmp_path / "line.visemes.json"
    assert main(["bake", str(bob), "-o", str(out), "--format", "json", "-q"]) == 2
    one_error_line(capsys.readouterr().err, "names a file of format visemes")
    assert not out.exists()


def test_rhubarb_ends_with_the_recording_at_any_fps(bob, tmp_path):
    ends = set()
    for fps in ("1", "24", "60"):
        out = tmp_path / f"line{fps}.tsv"
        assert main(["bake", str(bob), "-o", str(out), "--fps", fps, "-q"]) == 0
        ends.add(out.read_text().splitlines()[-1])
    assert len(ends) == 1, ends


def test_rig_does_not_apply_to_mouth_shapes(bob, tmp_path, capsys):
    assert main(["bake", str(bob), "-o", str(tmp_path / "x.visemes.json"), "--rig", "arkit"]) == 2
    one_error_line(capsys.readouterr().err, "--rig: does not apply to format visemes")


def test_rigs_list_as_json(capsys):
    import json

    assert main(["rigs", "list", "--json"]) == 0
    rigs = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rigs} >= {"arkit", "livelink", "metahuman", "metahuman-expressions"}
