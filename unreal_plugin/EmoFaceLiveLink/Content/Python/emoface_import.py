"""Import an `emoface bake` line into Unreal: an AnimSequence of float curves, its SoundWave and a LevelSequence.

Runs in the Unreal Editor's Python (5.3 ships Python 3.9). The reading half (`read_bake`) is plain Python and
never imports `unreal`, so bakes can be checked anywhere; only `import_bake` and the menu need the editor.

    import emoface_import
    emoface_import.import_bake(r"C:/vo/line.json", "/Game/MetaHumans/Common/Face/Face_Archetype_Skeleton")

Bake a MetaHuman face with `--rig metahuman-expressions` (CTRL_expressions_* curves, what the face AnimBP
reads); an ARKit or Live Link bake suits a skeleton whose curves carry ARKit names.
Command line: UnrealEditor-Cmd Project.uproject -run=pythonscript -script="emoface_import.py line.json --skeleton
/Game/..." (or -ExecutePythonScript=...).
"""

# annotations stay strings (never evaluated), so `str | None` below is fine on Python 3.9
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field

SCHEMA = "emoface.animation/1"
DEFAULT_DESTINATION = "/Game/emoface"
FACE_SKELETON = "/Game/MetaHumans/Common/Face/Face_Archetype_Skeleton"
LIVE_LINK_FACE_FPS = 60.0  # what the Live Link Face app records at: the guess when a CSV's timecodes cannot tell
MENU = "LevelEditor.MainMenu.Tools"
MENU_SECTION = "emoface"
MENU_COMMAND = "import emoface_import; emoface_import.import_dialog()"
_TIMECODE = re.compile(r"^\s*(\d+):(\d+):(\d+)[:;](\d+)(?:\.(\d+))?\s*$")


@dataclass
class Bake:
    """One baked line: curve `names` sampled at `times` (seconds, i/fps for emoface's own files)."""

    path: str
    names: list[str]
    fps: float
    times: list[float]
    columns: dict[str, list[float]]
    rig: str | None = None
    audio: str | None = None  # the source audio named in the bake's metadata, as written at bake time
    metadata: dict = field(default_factory=dict)

    @property
    def frame_count(self) -> int:
        """Frames the line spans: the last key's frame + 1 (emoface bakes ceil(duration x fps) frames)."""
        return math.ceil(round(self.times[-1] * self.fps, 6)) + 1 if self.times else 0


def read_bake(path, fps: float | None = None) -> Bake:
    """Read an emoface `.json` bake or a Live Link Face `.csv` (`fps` only for a CSV shorter than a second)."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".csv":
        return _read_csv(path, fps)
    raise ValueError(f"{path}: cannot import {suffix or 'a file without a suffix'}; expected an emoface "
                     f"bake (.json, `emoface bake -o line.json`) or a Live Link Face .csv")


def _read_json(path: str) -> Bake:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        schema = doc.get("schema") if isinstance(doc, dict) else None
        raise ValueError(f"{path}: not an emoface bake (schema {schema!r}, expected {SCHEMA!r})")
    try:
        names, fps, frames = [str(n) for n in doc["names"]], float(doc["fps"]), doc["frames"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: emoface bake without valid names/fps/frames ({exc})") from None
    if not frames or fps <= 0:
        raise ValueError(f"{path}: empty bake (frames {len(frames)}, fps {fps})")
    for i, row in enumerate(frames):
        if len(row) != len(names):
            raise ValueError(f"{path}: frame {i} has {len(row)} values for {len(names)} names")
    columns = {n: [float(row[j]) for row in frames] for j, n in enumerate(names)}
    metadata = doc.get("metadata") or {}
    return Bake(path, names, fps, [i / fps for i in range(len(frames))], columns, doc.get("rig"),
                metadata.get("source"), metadata)


def _read_csv(path: str, fps: float | None) -> Bake:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]] if rows else []
    if not header or header[0].lower() != "timecode":
        raise ValueError(f"{path}: not a Live Link Face CSV (header starts {header[:2]}, expected Timecode)")
    skip = 2 if len(header) > 1 and header[1].lower() == "blendshapecount" else 1
    names = header[skip:]
    while names and not names[-1]:  # a trailing comma in the header
        names.pop()
    if not names or len(rows) < 2:
        raise ValueError(f"{path}: Live Link Face CSV without curves or frames")
    stamps, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        m = _TIMECODE.match(row[0])
        cells = row[skip:skip + len(names)]
        if not m or len(cells) != len(names):
            raise ValueError(f"{path}: line {line}: expected a HH:MM:SS:FF.mmm timecode and {len(names)} values")
        hh, mm, ss, ff, sub = m.groups()
        stamps.append((int(hh) * 3600 + int(mm) * 60 + int(ss), int(ff) + (float("0." + sub) if sub else 0.0)))
        try:
            values.append([float(c) for c in cells])
        except ValueError as exc:
            raise ValueError(f"{path}: line {line}: {exc}") from None
    rate = _timecode_rate(stamps, fps)
    absolute, day = [], 0.0
    for second, frame in stamps:
        t = second + frame / rate + day
        if absolute and t < absolute[-1] - 43200:  # the take ran past midnight
            day += 86400.0
            t += 86400.0
        absolute.append(t)
    times = [t - absolute[0] for t in absolute]
    steps = [b - a for a, b in zip(times, times[1:]) if b > a]  # noqa: RUF007 - pairwise is 3.10+
    bake_fps = _tidy(1.0 / statistics.median(steps)) if steps else rate
    columns = {n: [row[j] for row in values] for j, n in enumerate(names)}
    return Bake(path, names, bake_fps, times, columns, "livelink", None, {})


def _timecode_rate(stamps, fps: float | None) -> float:
    """The timecode's frames per second, from its frame field: the highest FF + 1 once a second rolls over.

    A take that never crosses a second cannot tell, so `fps` (or Live Link Face's 60) is used, raised to
    at least the highest FF + 1.
    """
    top = max(int(frame) for _, frame in stamps) + 1
    if len({second for second, _ in stamps}) > 1:
        return float(top)
    return float(max(fps or LIVE_LINK_FACE_FPS, top))


def _tidy(fps: float) -> float:
    """1 / a median step is 29.999999999; report 30 (and keep 29.97 as 29.97)."""
    return float(round(fps)) if abs(fps - round(fps)) < 1e-3 else round(fps, 3)


def frame_rate(fps: float):
    """(numerator, denominator) of an FFrameRate: fps/1, or thousandths for a fractional rate (29.97)."""
    return (int(fps), 1) if float(fps).is_integer() else (round(fps * 1000), 1000)


# ---------------------------------------------------------------- inside the editor


def _unreal():
    try:
        import unreal
    except ImportError:
        raise RuntimeError("emoface_import.import_bake runs inside the Unreal Editor (no module 'unreal' here); "
                           "read_bake works anywhere") from None
    return unreal


def import_bake(path, skeleton, destination: str = DEFAULT_DESTINATION, name: str | None = None, audio=None,
                level_sequence: bool = True, curve_prefix: str = "", keep_zero: bool = False,
                fps: float | None = None) -> dict:
    """Create (or update in place) `<destination>/<name>` AnimSequence, its `_Audio` and `_Sequence`.

    skeleton: a Skeleton or its asset path. audio: a .wav path; None finds the bake's source audio (the path in
    its metadata, else the same file name or the bake's own stem + .wav beside the bake); False for none.
    Curves that are 0 in every frame are skipped (a MetaHuman bake leaves most of its 232 unused) unless
    keep_zero. Returns the created assets' object paths ({"anim_sequence", "sound", "level_sequence"}).
    Re-importing the same name keeps the assets (and whatever references them) and replaces their content.
    """
    unreal = _unreal()
    bake = read_bake(path, fps)
    destination = _content_path(destination)
    name = _asset_name(name or os.path.splitext(os.path.basename(os.fspath(path)))[0])
    skel = _load_skeleton(unreal, skeleton)
    wav = _find_audio(bake, audio)

    anim = _anim_sequence(unreal, destination, name, skel)
    written = _write_curves(unreal, anim, bake, curve_prefix, keep_zero)
    unreal.EditorAssetLibrary.save_loaded_asset(anim, False)
    result = {"anim_sequence": anim.get_path_name(), "sound": None, "level_sequence": None}

    sound = _import_sound(unreal, wav, destination, name + "_Audio") if wav else None
    if sound is not None:
        result["sound"] = sound.get_path_name()
    elif level_sequence:
        unreal.log_warning(f"emoface: no audio found for {bake.path}; the level sequence has no sound "
                           f"(pass audio=...)")
    if level_sequence:
        result["level_sequence"] = _level_sequence(unreal, destination, name + "_Sequence", bake, sound)
    unreal.log(f"emoface: {bake.path} -> {result['anim_sequence']} ({written} curves, {bake.frame_count} "
               f"frames at {bake.fps:g} fps)")
    return result


def _content_path(destination: str) -> str:
    destination = destination.rstrip("/")
    if not destination.startswith("/") or " " in destination:
        raise ValueError(f"destination {destination!r} is not a content path such as /Game/emoface")
    return destination


def _asset_name(name: str) -> str:
    """Unreal asset names may not hold spaces, dots or most punctuation: `line 01.v2` -> `line_01_v2`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "emoface_line"


def _load_skeleton(unreal, skeleton):
    obj = unreal.EditorAssetLibrary.load_asset(skeleton) if isinstance(skeleton, str) else skeleton
    if obj is None:
        raise ValueError(f"skeleton {skeleton!r} not found")
    if not isinstance(obj, unreal.Skeleton):
        raise ValueError(f"{skeleton!r} is a {type(obj).__name__}, not a Skeleton")  # noqa: TRY004
    return obj


def _find_audio(bake: Bake, audio) -> str | None:
    if audio is False:
        return None
    if audio:
        audio = os.fspath(audio)
        if not os.path.isfile(audio):
            raise ValueError(f"{audio}: audio file not found")
        return audio
    here = os.path.dirname(os.path.abspath(bake.path))
    candidates = []
    absolute = bake.metadata.get("source_abs")
    if isinstance(absolute, str) and absolute:  # where it was on the baking machine, which may be this one
        candidates.append(absolute)
    if bake.audio:  # as given to the bake: relative to the folder it ran in, which is the bake's or one above
        if os.path.isabs(bake.audio):
            candidates.append(bake.audio)
        else:
            folder = here
            while True:
                candidates.append(os.path.join(folder, bake.audio))
                if os.path.dirname(folder) == folder:
                    break
                folder = os.path.dirname(folder)
        # written on the baking machine: maybe another OS, so try its file name beside the bake too
        candidates.append(os.path.join(here, re.split(r"[\\/]", bake.audio)[-1]))
    candidates.append(os.path.join(here, os.path.splitext(os.path.basename(bake.path))[0] + ".wav"))
    return next((c for c in candidates if os.path.isfile(c)), None)


def _anim_sequence(unreal, destination: str, name: str, skeleton):
    assets, path = unreal.EditorAssetLibrary, f"{destination}/{name}"
    if assets.does_asset_exist(path):
        anim = assets.load_asset(path)
        if not isinstance(anim, unreal.AnimSequence) or anim.get_editor_property("skeleton") != skeleton:
            raise ValueError(f"{path} exists and is not an AnimSequence of this skeleton; pass another name")
        unreal.AnimationLibrary.remove_all_curve_data(anim)
        return anim
    factory = unreal.AnimSequenceFactory()
    factory.set_editor_property("target_skeleton", skeleton)
    anim = unreal.AssetToolsHelpers.get_asset_tools().create_asset(name, destination, unreal.AnimSequence, factory)
    if anim is None:
        raise RuntimeError(f"could not create {path}")
    return anim


def _write_curves(unreal, anim, bake: Bake, prefix: str, keep_zero: bool) -> int:
    """Frame rate and length first (their own bracket: the length applies when it closes), then the keys."""
    controller = anim.get_editor_property("controller")
    frames = bake.frame_count
    controller.open_bracket("emoface: timing", True)
    controller.set_frame_rate(unreal.FrameRate(*frame_rate(bake.fps)), True)
    if hasattr(controller, "set_number_of_frames"):  # 5.1+; set_play_length is deprecated there
        controller.set_number_of_frames(unreal.FrameNumber(frames), True)
    else:
        controller.set_play_length(frames / bake.fps, True)
    controller.close_bracket(True)

    library, float_curve, written = unreal.AnimationLibrary, unreal.RawCurveTrackTypes.RCT_FLOAT, 0
    controller.open_bracket("emoface: curves", True)  # one undo step, one notification burst for all curves
    try:
        for source in bake.names:
            values = bake.columns[source]
            if not keep_zero and not any(values):
                continue
            curve = prefix + source
            if not library.does_curve_exist(anim, curve, float_curve):
                library.add_curve(anim, curve, float_curve, False)
            library.add_float_curve_keys(anim, curve, bake.times, values)
            written += 1
    finally:
        controller.close_bracket(True)
    return written


def _import_sound(unreal, wav: str, destination: str, name: str):
    task = unreal.AssetImportTask()
    for prop, value in (("filename", os.path.abspath(wav)), ("destination_path", destination),
                        ("destination_name", name), ("automated", True), ("replace_existing", True),
                        ("save", True)):
        task.set_editor_property(prop, value)
    unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks([task])
    imported = list(task.get_editor_property("imported_object_paths") or [])
    sound = unreal.EditorAssetLibrary.load_asset(imported[0]) if imported else None
    if sound is None:
        unreal.log_warning(f"emoface: could not import {wav} as a SoundWave")
    return sound


def _level_sequence(unreal, destination: str, name: str, bake: Bake, sound) -> str:
    """A sequence at the bake's rate spanning its frames, the sound at 0; an existing one keeps its bindings."""
    assets, path = unreal.EditorAssetLibrary, f"{destination}/{name}"
    seq = assets.load_asset(path) if assets.does_asset_exist(path) else None
    if seq is None:
        seq = unreal.AssetToolsHelpers.get_asset_tools().create_asset(
            name, destination, unreal.LevelSequence, unreal.LevelSequenceFactoryNew())
        if seq is None:
            raise RuntimeError(f"could not create {path}")
    frames = bake.frame_count
    seq.set_display_rate(unreal.FrameRate(*frame_rate(bake.fps)))  # before the range: it is in display frames
    seq.set_playback_start(0)
    seq.set_playback_end(frames)
    if sound is not None:
        find = seq.find_tracks_by_type if hasattr(seq, "find_tracks_by_type") else seq.find_master_tracks_by_type
        tracks = list(find(unreal.MovieSceneAudioTrack))
        if not tracks:  # add_track: 5.2+ (add_master_track before)
            add = seq.add_track if hasattr(seq, "add_track") else seq.add_master_track
            tracks = [add(unreal.MovieSceneAudioTrack)]
        sections = list(tracks[0].get_sections()) or [tracks[0].add_section()]
        sections[0].set_sound(sound)
        sections[0].set_range(0, frames)
    assets.save_loaded_asset(seq, False)
    return seq.get_path_name()


# ---------------------------------------------------------------- menu


def register_menu() -> None:
    """Tools > emoface > "emoface: Import baked line..." (init_unreal.py calls this at editor start)."""
    unreal = _unreal()
    menus = unreal.ToolMenus.get()
    menu = menus.extend_menu(MENU)  # unlike find_menu, fine before the Level Editor has built its menus
    menu.add_section(MENU_SECTION, "emoface")
    entry = unreal.ToolMenuEntry(name="EmoFaceImportBakedLine", type=unreal.MultiBlockType.MENU_ENTRY)
    entry.set_label("emoface: Import baked line...")
    entry.set_tool_tip("Import an `emoface bake` .json/.csv as an AnimSequence of face curves, with its audio "
                       "and a level sequence")
    entry.set_string_command(unreal.ToolMenuStringCommandType.PYTHON, "", MENU_COMMAND)
    menu.add_menu_entry(MENU_SECTION, entry)
    menus.refresh_all_widgets()


def import_dialog() -> str:
    """Explain the one-line import: editor Python has no file-open dialog to ask for the bake with.

    A Skeleton selected in the Content Browser is filled in; the text also goes to the Output Log to copy.
    """
    unreal = _unreal()
    skeleton = FACE_SKELETON
    try:
        selected = [a for a in unreal.EditorUtilityLibrary.get_selected_assets() if isinstance(a, unreal.Skeleton)]
        if selected:
            skeleton = selected[0].get_path_name().split(".")[0]
    except AttributeError:  # no selection API in this editor build: keep the MetaHuman face skeleton
        pass
    text = ("Unreal's editor Python has no file-open dialog, so import from the Output Log (Python mode):\n\n"
            f'import emoface_import; emoface_import.import_bake(r"C:/path/line.json", "{skeleton}")\n\n'
            "The bake comes from `emoface bake line.wav -o line.json --rig metahuman-expressions --fps 30` "
            "(a MetaHuman face; ARKit bakes suit ARKit-curve skeletons). It creates /Game/emoface/line "
            "(AnimSequence), line_Audio (the .wav found beside the bake) and line_Sequence (LevelSequence). "
            "Options: destination=, name=, audio=, level_sequence=False, curve_prefix=, keep_zero=True.")
    unreal.log(text)
    unreal.EditorDialog.show_message("emoface: Import baked line", text, unreal.AppMsgType.OK)
    return text


# ---------------------------------------------------------------- command line


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="emoface_import.py", description="Import an emoface bake into Unreal.")
    p.add_argument("file", help="emoface .json bake or Live Link Face .csv")
    p.add_argument("--skeleton", required=True, help="Skeleton asset path, e.g. " + FACE_SKELETON)
    p.add_argument("--dest", default=DEFAULT_DESTINATION, help="content folder (default %(default)s)")
    p.add_argument("--name", help="asset name (default: the file's stem)")
    audio = p.add_mutually_exclusive_group()
    audio.add_argument("--audio", help=".wav to import (default: the bake's source audio, when found)")
    audio.add_argument("--no-audio", action="store_true", help="import no sound")
    p.add_argument("--no-level-sequence", action="store_true", help="no LevelSequence")
    p.add_argument("--prefix", default="", help="prefix for every curve name")
    p.add_argument("--keep-zero", action="store_true", help="also import curves that are 0 in every frame")
    p.add_argument("--fps", type=float, help="a CSV's frame rate when its timecodes cannot tell (under a second)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = import_bake(args.file, args.skeleton, args.dest, args.name,
                         audio=False if args.no_audio else args.audio,
                         level_sequence=not args.no_level_sequence, curve_prefix=args.prefix,
                         keep_zero=args.keep_zero, fps=args.fps)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
