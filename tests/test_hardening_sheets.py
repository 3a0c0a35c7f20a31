"""Hardening of the user's data files: dialogue sheets (`bake --manifest`), emotion tracks and specs, rig profiles.

Every test here failed before the fix: wrong line numbers after blank lines, misspelt or extra columns ignored,
a misspelt keyframe key defaulting, malformed --emotion blends accepted, a rig curve without `from` baking 0."""

import json

import numpy as np
import pytest

from emoface import batch
from emoface.cli import main
from emoface.emotion.spec import load_emotion_track, parse_emotion
from emoface.errors import InputError
from emoface.rigs import load_rig
from tests.test_hardening_cli import one_error_line


def sheet(tmp_path, text: str, name: str = "m.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(path, tmp_path):
    jobs, bad = batch.read_manifest(path, tmp_path / "out", ".json")
    return {j.audio.name: j.label for j in jobs}, dict(bad)


# --- 1: a row's label is the file line it starts on ---------------------------------------------------------

def test_row_lines_count_blank_lines(tmp_path):
    path = sheet(tmp_path, "audio,emotion\ngood.wav,happy\n\n\n\nmissing1.wav,sad\n\nbad.wav,grumpy\n")
    jobs, bad = read(path, tmp_path)
    assert jobs == {"good.wav": f"{path}:2", "missing1.wav": f"{path}:6"}
    assert list(bad) == [f"{path}:8"] and "unknown emotion" in bad[f"{path}:8"]


def test_row_lines_count_quoted_cells_over_several_lines(tmp_path):
    path = sheet(tmp_path, 'audio,text,emotion\na.wav,"one\ntwo\nthree",happy\nb.wav,,sad\n\n\nc.wav,"x\ny",nope\n')
    jobs, bad = read(path, tmp_path)
    assert jobs == {"a.wav": f"{path}:2", "b.wav": f"{path}:5"}
    assert list(bad) == [f"{path}:8"]


def test_header_after_blank_lines(tmp_path):
    path = sheet(tmp_path, "\n\naudio\nx.wav\n")
    assert read(path, tmp_path)[0] == {"x.wav": f"{path}:4"}


def test_cli_reports_the_real_line(tmp_path, capsys):
    path = sheet(tmp_path, "audio,emotion\n\n\n\nmissing1.wav,sad\n")
    assert main(["bake", "--manifest", str(path), "-o", str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5: {tmp_path / 'missing1.wav'}: file not found" in err
    assert f"{path}:2" not in err


# --- 2: columns the sheet does not have are errors ----------------------------------------------------------

@pytest.mark.parametrize("header, problem", [
    ("audio,emotin", ["unknown column 'emotin'", "did you mean 'emotion'", "audio, emotion, intensity, articulation, text, out"]),
    ("audio,notes", ["unknown column 'notes'", "columns: audio, emotion"]),
    ("audio,Emotion", ["unknown column 'Emotion'", "did you mean 'emotion'"]),
    ("audio,audio", ["column 'audio' appears twice"]),
    ("audio,emotion,emotion", ["column 'emotion' appears twice"]),
    ("Audio,emotion", ["needs an 'audio' column", "'Audio'"]),
])
def test_bad_header_refuses_the_sheet(tmp_path, capsys, header, problem):
    (tmp_path / "good.wav").write_bytes(b"")
    path = sheet(tmp_path, f"{header}\ngood.wav,happy\n")
    with pytest.raises(InputError) as info:
        batch.read_manifest(path, tmp_path / "out", ".json")
    assert info.value.source == str(path)
    out = tmp_path / "out"
    assert main(["bake", "--manifest", str(path), "-o", str(out), "-q"]) == 2
    one_error_line(capsys.readouterr().err, str(path), *problem)
    assert not out.exists() or not any(out.iterdir())


def test_an_out_name_gets_its_formats_suffix_or_is_refused_when_it_names_another(tmp_path):
    """A dotted name (guard.v2, take_3.final) kept no suffix and r11.txt was written as JSON; now a name ends as
    its format's files do, and one that names another format's file fails alone, naming its row."""
    path = sheet(tmp_path, "audio,out\na.wav,npc/guard.v2\nb.wav,r11.txt\nc.wav,plain\nd.wav,d.JSON\n"
                           "e.wav,e.visemes.json\n")
    jobs, bad = batch.read_manifest(path, tmp_path / "out", ".json")
    bad = dict(bad)
    assert [j.out.relative_to(tmp_path / "out").as_posix() for j in jobs] == \
        ["npc/guard.v2.json", "plain.json", "d.JSON"]
    assert list(bad) == [f"{path}:3", f"{path}:6"] and "emoface-txt" in bad[f"{path}:3"] and "json" in bad[f"{path}:3"]
    assert "format visemes" in bad[f"{path}:6"]  # every reader would take a JSON bake of that name for visemes
    visemes, _ = batch.read_manifest(path, tmp_path / "out", ".visemes.json")
    assert visemes[0].out.name == "guard.v2.visemes.json" and visemes[2].out.name == "d.JSON"


def test_one_output_named_as_another_formats_file_is_refused(bob, tmp_path, capsys):
    out = tmp_path / "conf.json"
    assert main(["bake", str(bob), "-o", str(out), "--format", "npz", "-q"]) == 2
    one_error_line(capsys.readouterr().err, "conf.json", "npz")
    assert not out.exists()


@pytest.mark.parametrize("text, problem", [("audio,emotion\n\n", "no lines to bake"),
                                           ("audio;emotion\nline.wav;happy\n", "with commas")])
def test_a_sheet_without_lines_or_commas_is_one_line(tmp_path, text, problem):
    """A header alone had baked 0 of 0 lines and exited 0; a semicolon sheet (a European spreadsheet's CSV) only
    said it lacked an 'audio' column."""
    with pytest.raises(InputError, match=problem):
        batch.read_manifest(sheet(tmp_path, text), tmp_path / "out", ".json")


def test_spaces_around_column_names_are_fine(tmp_path):
    path = sheet(tmp_path, "audio , emotion\ngood.wav, sad\n")
    jobs, _ = batch.read_manifest(path, tmp_path / "out", ".json")
    assert np.argmax(jobs[0].emotion.vectors[0]) == 5  # sad


def test_row_with_more_cells_than_the_header_fails_alone(tmp_path):
    path = sheet(tmp_path, "audio,emotion\ngood.wav,happy,extra,fields\nother.wav,sad\nthird.wav,sad,,\n")
    jobs, bad = read(path, tmp_path)
    assert jobs == {"other.wav": f"{path}:3", "third.wav": f"{path}:4"}  # blank trailing cells carry nothing
    assert list(bad) == [f"{path}:2"]
    assert "4 cells" in bad[f"{path}:2"] and "2 columns" in bad[f"{path}:2"] and "'extra'" in bad[f"{path}:2"]


def test_value_under_an_unnamed_column_fails_alone(tmp_path):
    path = sheet(tmp_path, "audio,emotion,\ngood.wav,happy,oops\nother.wav,sad,\n")
    jobs, bad = read(path, tmp_path)
    assert jobs == {"other.wav": f"{path}:3"} and "'oops'" in bad[f"{path}:2"]


def test_extra_cells_fail_in_the_cli_summary(tmp_path, capsys):
    path = sheet(tmp_path, "audio,emotion\nnope.wav,happy,extra,fields\n")
    assert main(["bake", "--manifest", str(path), "-o", str(tmp_path / "out"), "-q"]) == 1
    assert f"{path}:2: row has 4 cells" in capsys.readouterr().err


def test_bad_intensity_still_names_its_row(tmp_path):
    path = sheet(tmp_path, "audio,intensity\n\nx.wav,loud\n")
    assert read(path, tmp_path)[1] == {f"{path}:3": "intensity 'loud' is not a number"}


# --- 3: emotion tracks: a misspelt key is an error, not a default -------------------------------------------

@pytest.mark.parametrize("doc, key", [
    ([{"time": 0, "emotion": "happy", "intensty": 0.2}], "intensty"),
    ({"keyframes": [{"time": 0, "emotion": "happy", "tme": 1}]}, "tme"),
    ({"transtion": 1.0, "keyframes": [{"time": 0, "emotion": "happy"}]}, "transtion"),
])
def test_emotion_track_unknown_key(tmp_path, capsys, doc, key):
    path = tmp_path / "track.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        load_emotion_track(path)
    assert info.value.source == str(path) and f"unknown key '{key}'" in info.value.problem
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")
    assert main(["bake", str(wav), "-o", str(tmp_path / "x.json"), "--emotion-track", str(path), "-q"]) == 2
    one_error_line(capsys.readouterr().err, str(path), key)
    assert not (tmp_path / "x.json").exists()


def test_emotion_track_known_keys_still_load(tmp_path):
    path = tmp_path / "track.json"
    path.write_text(json.dumps({"transition": 0.2, "keyframes": [{"time": 0, "emotion": "happy", "intensity": 0.2},
                                                                  {"time": 1, "emotion": "sad"}]}))
    track = load_emotion_track(path)
    assert track.vectors[0][3] == pytest.approx(0.2) and track.vectors[1][5] == pytest.approx(1.0)


# --- 4: malformed --emotion specs -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec, problem", [
    ("", "empty emotion"),
    ("   ", "empty emotion"),
    ("happy:", "no weight"),
    ("happy:0.5++sad:0.2", "empty part"),
    ("+happy", "empty part"),
    ("happy+", "empty part"),
    (":0.5", "names no emotion"),
])
def test_malformed_emotion_spec(spec, problem):
    with pytest.raises(InputError) as info:
        parse_emotion(spec)
    assert info.value.source == "--emotion" and problem in info.value.problem


@pytest.mark.parametrize("spec", ["happy", " Happy ", "happy:0.5", "happy:0.5+sad:0.2", "happy : 0.5 + sad:0.5"])
def test_good_emotion_specs_still_parse(spec):
    assert 0 < parse_emotion(spec).sum() <= 1.0 + 1e-6


@pytest.mark.parametrize("spec", ["", "happy:", "happy:0.5++sad:0.2"])
def test_cli_refuses_malformed_emotion(tmp_path, capsys, spec):
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")
    out = tmp_path / "x.json"
    assert main(["bake", str(wav), "-o", str(out), "--emotion", spec, "-q"]) == 2
    one_error_line(capsys.readouterr().err, "--emotion")
    assert not out.exists()


def test_malformed_emotion_in_a_sheet_row(tmp_path):
    path = sheet(tmp_path, "audio,emotion\na.wav,happy:\nb.wav,happy:0.5++sad:0.2\nc.wav,sad\n")
    jobs, bad = read(path, tmp_path)
    assert jobs == {"c.wav": f"{path}:4"} and set(bad) == {f"{path}:2", f"{path}:3"}


# --- 5: a rig curve that maps from nothing ---------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    {"name": "mine", "curves": [{"name": "a", "range": [0, 1]}]},
    {"name": "mine", "curves": [{"name": "a"}, {"name": "b", "from": {"JawOpen": 1}}]},
    {"name": "mine", "curves": {"b": {"JawOpen": 1}, "a": {"range": [0, 1]}}},
])
def test_rig_curve_without_from(tmp_path, capsys, data):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        load_rig(str(path))
    assert info.value.source == str(path) and "curve 'a' has no 'from'" in info.value.problem
    assert main(["rigs", "show", str(path)]) == 2
    one_error_line(capsys.readouterr().err, str(path), "curve 'a'", "'from'")
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")
    out = tmp_path / "line.json"
    assert main(["bake", str(wav), "-o", str(out), "--rig", str(path), "-q"]) == 2
    one_error_line(capsys.readouterr().err, str(path), "curve 'a'")
    assert not out.exists()


def test_rig_curve_with_an_explicit_empty_from_is_a_placeholder(tmp_path):
    """As in the built-in metahuman-expressions rig: "from": {} says on purpose that a curve stays at 0."""
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"name": "mine", "curves": [{"name": "a", "from": {}, "range": [0, 1]},
                                                           {"name": "b", "from": {"JawOpen": 1}}]}))
    assert load_rig(str(path)).names == ("a", "b")
    assert len(load_rig("metahuman-expressions").names) == 232 and load_rig("metahuman").names


def test_a_sheets_bad_rows_are_said_before_the_bake_not_after_it(bob, tmp_path, capsys):
    import shutil

    shutil.copy(bob, tmp_path / "good.wav")
    path = sheet(tmp_path, "audio,emotion\nmissing.wav,happy\ngood.wav,grumpy\ngood.wav,sad\n")
    assert main(["bake", "--manifest", str(path), "-o", str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    # the row that cannot be read is named at once; the line that fails while baking, when it is baked
    assert err.index("grumpy") < err.index("missing.wav")
    assert (tmp_path / "out" / "good.json").is_file()
