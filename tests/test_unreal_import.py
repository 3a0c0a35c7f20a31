"""The Unreal import script (unreal_plugin/EmoFaceLiveLink/Content/Python/emoface_import.py) against real bakes.

Unreal itself is not here: tests/unreal_standin/unreal.py stands in for the `unreal` module with the UE 5.3 API
the script uses, records every call and raises for anything else, so these tests check what the script asks
Unreal to build (curves, keys, frame rate, length, sound, level sequence, menu), not Unreal's own behaviour.
"""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from emoface import cli
from tests.conftest import speak

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "unreal_plugin" / "EmoFaceLiveLink" / "Content" / "Python"
STANDIN = Path(__file__).resolve().parent / "unreal_standin"
SKELETON = "/Game/MetaHumans/Common/Face/Face_Archetype_Skeleton"


def bake(wav: Path, out: Path, *extra: str) -> Path:
    assert cli.main(["bake", str(wav), "-o", str(out), "--fps", "30", "-q", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """One spoken line baked three ways with the same seed: MetaHuman JSON, Live Link JSON and Live Link CSV."""
    d = tmp_path_factory.mktemp("unreal_line")
    wav = speak("We found the treasure before sunset.", d / "line.wav")
    return SimpleNamespace(
        dir=d, wav=wav,
        mh=bake(wav, d / "line.json", "--rig", "metahuman-expressions"),
        ll_json=bake(wav, d / "ll.json", "--rig", "livelink"),
        ll_csv=bake(wav, d / "line.csv"),  # livelink-csv; line.wav sits beside it
    )


@pytest.fixture
def ue(monkeypatch):
    """The script imported against the stand-in, with a fresh asset registry holding the face skeleton."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no __pycache__ inside the plugin's Content
    monkeypatch.syspath_prepend(str(STANDIN))
    monkeypatch.syspath_prepend(str(SCRIPTS))
    for mod in ("unreal", "emoface_import", "init_unreal"):
        sys.modules.pop(mod, None)
    import emoface_import
    import unreal

    unreal._reset()
    skeleton = unreal._add_asset(SKELETON, unreal.Skeleton())
    yield SimpleNamespace(unreal=unreal, mod=emoface_import, skeleton=skeleton)
    for mod in ("unreal", "emoface_import", "init_unreal"):
        sys.modules.pop(mod, None)


def doc(path: Path) -> dict:
    return json.loads(path.read_text())


def asset(ue, path: str):
    return ue.unreal.assets[path.split(".")[0]]


def names_called(ue, prefix: str) -> list:
    return [name for name, _ in ue.unreal.calls if name.startswith(prefix)]


def test_metahuman_json_becomes_curves_sound_and_sequence(ue, line):
    d = doc(line.mh)
    n = d["frame_count"]
    result = ue.mod.import_bake(line.mh, SKELETON)
    assert result == {"anim_sequence": "/Game/emoface/line.line", "sound": "/Game/emoface/line_Audio.line_Audio",
                      "level_sequence": "/Game/emoface/line_Sequence.line_Sequence"}

    anim = asset(ue, result["anim_sequence"])
    assert isinstance(anim, ue.unreal.AnimSequence) and anim.get_editor_property("skeleton") is ue.skeleton
    assert anim.frame_rate == ue.unreal.FrameRate(30, 1) and anim.number_of_frames == n
    assert anim.saved and anim.get_editor_property("controller").depth == 0  # brackets balanced
    timing = names_called(ue, "AnimationDataController.set_")
    assert timing == ["AnimationDataController.set_frame_rate", "AnimationDataController.set_number_of_frames"]

    columns = {name: [row[j] for row in d["frames"]] for j, name in enumerate(d["names"])}
    live = {name for name, col in columns.items() if any(col)}
    assert set(anim.curves) == live and 0 < len(live) < len(d["names"])  # all-zero curves skipped
    assert all(name.startswith("CTRL_expressions_") for name in anim.curves)
    for name, keys in anim.curves.items():
        assert len(keys) == n
        assert [t for t, _ in keys] == pytest.approx([i / 30 for i in range(n)], abs=1e-6)
        assert [v for _, v in keys] == pytest.approx(columns[name], abs=1e-6)

    sound = asset(ue, result["sound"])
    assert isinstance(sound, ue.unreal.SoundWave) and Path(sound.source_file) == line.wav
    seq = asset(ue, result["level_sequence"])
    assert seq.display_rate == ue.unreal.FrameRate(30, 1)
    assert (seq.playback_start, seq.playback_end) == (0, n)
    assert names_called(ue, "LevelSequence.set_")[0] == "LevelSequence.set_display_rate"  # range is in its frames
    [track] = seq.tracks
    [section] = track.sections
    assert isinstance(track, ue.unreal.MovieSceneAudioTrack)
    assert section.sound is sound and section.range == (0, n) and seq.saved
    assert n / 30 >= sound.get_editor_property("duration")  # the sequence covers the audio


def test_prefix_and_keep_zero(ue, line):
    d = doc(line.mh)
    result = ue.mod.import_bake(line.mh, ue.skeleton, "/Game/faces/", name="hero line.v2", curve_prefix="Face_",
                                keep_zero=True, level_sequence=False)
    assert result["anim_sequence"] == "/Game/faces/hero_line_v2.hero_line_v2" and result["level_sequence"] is None
    anim = asset(ue, result["anim_sequence"])
    assert sorted(anim.curves) == sorted("Face_" + name for name in d["names"])


def test_csv_gives_the_curves_and_times_of_the_json_bake(ue, line):
    from_json = asset(ue, ue.mod.import_bake(line.ll_json, SKELETON, name="ll_json")["anim_sequence"])
    result = ue.mod.import_bake(line.ll_csv, SKELETON, name="ll_csv")
    from_csv = asset(ue, result["anim_sequence"])

    bake = ue.mod.read_bake(line.ll_csv)
    assert bake.fps == 30.0 and bake.rig == "livelink" and len(bake.names) == 61
    assert bake.frame_count == doc(line.ll_json)["frame_count"] == from_csv.number_of_frames
    assert from_csv.frame_rate == from_json.frame_rate == ue.unreal.FrameRate(30, 1)
    assert set(from_csv.curves) == set(from_json.curves)
    for name, keys in from_json.curves.items():
        csv_keys = from_csv.curves[name]
        assert [t for t, _ in csv_keys] == pytest.approx([t for t, _ in keys], abs=1e-9)
        assert [v for _, v in csv_keys] == pytest.approx([v for _, v in keys], abs=1.5e-6)  # both 6 decimals
    sound = asset(ue, result["sound"])  # a CSV names no audio: line.wav beside line.csv is found
    assert Path(sound.source_file) == line.wav
    assert asset(ue, result["level_sequence"]).tracks[0].sections[0].sound is sound


def test_reimport_updates_the_same_assets(ue, line):
    first = ue.mod.import_bake(line.mh, SKELETON)
    anim, seq = asset(ue, first["anim_sequence"]), asset(ue, first["level_sequence"])
    seq.tracks[0].sections[0].set_range(0, 1)
    again = ue.mod.import_bake(line.mh, SKELETON)
    assert again == first and asset(ue, again["anim_sequence"]) is anim and asset(ue, again["level_sequence"]) is seq
    assert all(len(keys) == doc(line.mh)["frame_count"] for keys in anim.curves.values())  # not appended twice
    assert len(seq.tracks) == 1 and seq.tracks[0].sections[0].range == (0, doc(line.mh)["frame_count"])


def test_audio_is_found_beside_a_moved_bake(ue, line, tmp_path):
    d = doc(line.mh)
    d["metadata"]["source"] = "C:\\takes\\vo\\take7.wav"  # baked on another machine
    d["metadata"]["source_abs"] = "C:\\takes\\vo\\take7.wav"
    (tmp_path / "moved.json").write_text(json.dumps(d))
    shutil.copy(line.wav, tmp_path / "take7.wav")
    result = ue.mod.import_bake(tmp_path / "moved.json", SKELETON)
    assert Path(asset(ue, result["sound"]).source_file) == tmp_path / "take7.wav"

    (tmp_path / "take7.wav").unlink()
    result = ue.mod.import_bake(tmp_path / "moved.json", SKELETON, name="silent")
    assert result["sound"] is None and asset(ue, result["level_sequence"]).tracks == []
    assert any(level == "warning" and "no audio" in msg for level, msg in ue.unreal.logs)

    explicit = ue.mod.import_bake(tmp_path / "moved.json", SKELETON, name="explicit", audio=line.wav)
    assert Path(asset(ue, explicit["sound"]).source_file) == line.wav
    assert ue.mod.import_bake(line.mh, SKELETON, name="none", audio=False)["sound"] is None


def test_audio_is_found_for_a_bake_made_from_the_folder_above(ue, line, tmp_path, monkeypatch):
    """`emoface bake vo/guard.wav -o baked/guard.json` records source vo/guard.wav (relative to where it ran) and
    its absolute path: the importer found neither, and made a silent sequence on the machine that baked it."""
    (tmp_path / "vo").mkdir()
    shutil.copy(line.wav, tmp_path / "vo" / "guard.wav")
    monkeypatch.chdir(tmp_path)
    baked = bake(Path("vo/guard.wav"), Path("baked/guard.json"), "--rig", "metahuman-expressions")
    result = ue.mod.import_bake(tmp_path / baked, SKELETON, name="guard")
    assert Path(asset(ue, result["sound"]).source_file) == tmp_path / "vo" / "guard.wav"
    d = doc(tmp_path / baked)
    del d["metadata"]["source_abs"]  # a bake from before it was recorded: the source, from the folder above
    (tmp_path / "baked" / "old.json").write_text(json.dumps(d))
    result = ue.mod.import_bake(tmp_path / "baked" / "old.json", SKELETON, name="old")
    assert Path(asset(ue, result["sound"]).source_file) == tmp_path / "vo" / "guard.wav"


@pytest.mark.parametrize("name, text, problem", [
    ("line.txt", "0.1,0.2\n", "cannot import .txt"),
    ("line.fbx", "", "cannot import .fbx"),
    ("other.json", '{"schema": "something/2", "frames": []}', "not an emoface bake"),
    ("broken.json", '{"schema": ', "not JSON"),
    ("short.json", '{"schema": "emoface.animation/1", "fps": 30, "names": ["a", "b"], "frames": [[1]]}',
     "frame 0 has 1 values"),
    ("take.csv", "time,jawOpen\n0,1\n", "not a Live Link Face CSV"),
    ("take2.csv", "Timecode,BlendshapeCount,JawOpen\n12:00:00,1,0.5\n", "line 2"),
])
def test_bad_files_are_refused_by_name(ue, tmp_path, name, text, problem):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=problem) as info:
        ue.mod.import_bake(path, SKELETON)
    assert str(path) in str(info.value)
    assert not names_called(ue, "AssetTools")  # nothing created


def test_bad_skeleton_or_destination(ue, line):
    with pytest.raises(ValueError, match="not found"):
        ue.mod.import_bake(line.mh, "/Game/Nope/Skeleton")
    ue.unreal._add_asset("/Game/emoface/line_Audio", ue.unreal.SoundWave())
    with pytest.raises(ValueError, match="not a Skeleton"):
        ue.mod.import_bake(line.mh, "/Game/emoface/line_Audio")
    with pytest.raises(ValueError, match="content path"):
        ue.mod.import_bake(line.mh, SKELETON, destination="C:/Content")


def test_main_parses_the_command_line(ue, line, capsys):
    result = ue.mod.main([str(line.mh), "--skeleton", SKELETON, "--dest", "/Game/cli", "--name", "take",
                          "--no-level-sequence", "--no-audio", "--prefix", "p_"])
    assert result == {"anim_sequence": "/Game/cli/take.take", "sound": None, "level_sequence": None}
    assert json.loads(capsys.readouterr().out) == result
    assert all(name.startswith("p_CTRL_expressions_") for name in asset(ue, result["anim_sequence"]).curves)

    args = ue.mod.parse_args(["x.csv", "--skeleton", "/Game/S", "--audio", "a.wav", "--fps", "60", "--keep-zero"])
    assert (args.file, args.skeleton, args.dest, args.audio, args.fps, args.keep_zero, args.no_level_sequence) == \
        ("x.csv", "/Game/S", "/Game/emoface", "a.wav", 60.0, True, False)
    for argv in (["x.json"], ["x.json", "--skeleton", "/Game/S", "--audio", "a.wav", "--no-audio"]):
        with pytest.raises(SystemExit):
            ue.mod.parse_args(argv)


def test_menu_entry_runs_the_dialog(ue):
    import init_unreal  # noqa: F401 - what Unreal runs at editor start

    menu = ue.unreal.ToolMenus.get().find_menu("LevelEditor.MainMenu.Tools")
    section = menu.sections["emoface"]
    [entry] = section["entries"].values()
    assert entry.label == "emoface: Import baked line..." and entry.type is ue.unreal.MultiBlockType.MENU_ENTRY
    kind, _, command = entry.string_command
    assert kind is ue.unreal.ToolMenuStringCommandType.PYTHON
    assert command == "import emoface_import; emoface_import.import_dialog()"

    ue.unreal._selected.append(ue.skeleton)
    exec(command, {})  # noqa: S102 - what clicking the entry does
    [(_title, message, _)] = [args for name, args in ue.unreal.calls if name == "EditorDialog.show_message"]
    assert "emoface_import.import_bake(" in message and SKELETON in message
    assert any(message in msg for level, msg in ue.unreal.logs if level == "log")  # in the Output Log to copy


def test_menu_failure_only_warns(ue, monkeypatch):
    def broken():
        raise RuntimeError("no menus in this editor")

    monkeypatch.setattr(ue.unreal.ToolMenus, "get", broken)
    import init_unreal  # noqa: F401 - must not raise

    assert any(level == "warning" and "no menus" in msg for level, msg in ue.unreal.logs)


def test_read_bake_needs_no_unreal(line):
    """read_bake runs in any Python: without the stand-in on the path, and without importing `unreal`."""
    code = (
        "import sys, emoface_import as m\n"
        f"a = m.read_bake({str(line.mh)!r}); b = m.read_bake({str(line.ll_csv)!r})\n"
        "print(a.rig, a.fps, a.frame_count, len(a.names), b.rig, b.fps, b.frame_count, a.audio is not None)\n"
        "assert 'unreal' not in sys.modules\n"
        "try:\n    m.import_bake(a.path, '/Game/S')\nexcept RuntimeError as e:\n    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=SCRIPTS, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SCRIPTS), "PYTHONDONTWRITEBYTECODE": "1"}).stdout
    n = doc(line.mh)["frame_count"]
    assert out.splitlines()[0] == f"metahuman-expressions 30.0 {n} 232 livelink 30.0 {n} True"
    assert "refused:" in out and "Unreal Editor" in out


def _timecode_csv(path: Path, stamps, values=None) -> Path:
    rows = ["Timecode,BlendShapeCount,JawOpen,EyeBlinkLeft"]
    rows += [f"{tc},2,{0.1 * i:.6f},{0.5:.6f}" for i, tc in enumerate(stamps)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_timecodes(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(SCRIPTS))
    sys.modules.pop("emoface_import", None)
    import emoface_import as m

    # 60 fps take crossing a second, starting mid-second: the frame field tops out at 59
    stamps = [f"10:59:{59 + (50 + i) // 60:02d}:{(50 + i) % 60:02d}.000" for i in range(20)]
    stamps = [s.replace("10:59:60", "11:00:00") for s in stamps]
    bake = m.read_bake(_timecode_csv(tmp_path / "a.csv", stamps))
    assert bake.fps == 60.0 and bake.names == ["JawOpen", "EyeBlinkLeft"] and bake.frame_count == 20
    assert bake.times == pytest.approx([i / 60 for i in range(20)], abs=1e-9)
    assert bake.columns["JawOpen"][3] == pytest.approx(0.3)

    # 30 fps timecode, a row every half frame (sub-frame .500): 60 fps of keys
    stamps = [f"00:00:{(i // 2) // 30:02d}:{(i // 2) % 30:02d}.{'500' if i % 2 else '000'}" for i in range(70)]
    bake = m.read_bake(_timecode_csv(tmp_path / "b.csv", stamps))
    assert bake.fps == 60.0 and bake.times[-1] == pytest.approx(69 / 60)

    # shorter than a second: Live Link Face's 60 unless told
    short = _timecode_csv(tmp_path / "c.csv", [f"01:02:03:{i:02d}" for i in range(10)])
    assert m.read_bake(short).fps == 60.0 and m.read_bake(short, fps=24).times[1] == pytest.approx(1 / 24)
    sys.modules.pop("emoface_import", None)


def test_scripts_are_python_39():
    """Unreal 5.3 embeds Python 3.9: no match statements, parenthesised context managers and the like."""
    for path in SCRIPTS.glob("*.py"):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))
