"""Captured takes as one dataset: speech audio paired with measured face curves on the canonical rig.

Four layouts are recognised in a folder (each searched recursively):
- emoface capture outputs, or any curve file emoface reads (.json, .npz, Live Link .csv, EmoFace .txt) with a
  sound file or video of the same name beside it;
- Live Link Face takes: the iPhone app's CSV (Timecode, BlendshapeCount, 61 curves) with its .mov or .wav;
- EmoFace's layout: WAV/<name>.wav with VALID_CTR/<name>.txt, 174 MetaHuman controls (at 60 fps, or the common
  rate that makes them as long as their audio, as for any .txt), mapped back to the canonical rig;
- FACEGOOD (curves_30fps.npz, clips/, arkit_map.csv): only the curves its map marks valid are measured.
A pair whose audio and curves disagree in length, or that cannot be read, is reported in one line and skipped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from emoface import formats
from emoface.animation import Animation
from emoface.audio import Audio, load_audio, load_track
from emoface.capture.commands import VIDEO_SUFFIXES
from emoface.errors import EmofaceError, InputError
from emoface.rigs import CANONICAL_RIG, canonical_names, retarget

SOUND = (".wav", ".flac", ".ogg", ".mp3")
VIDEO = VIDEO_SUFFIXES  # what capture reads, found beside curves as their sound
CURVES = (".json", ".npz", ".csv", ".txt")
LENGTH_SLACK_S, LENGTH_SLACK = 0.25, 0.05  # audio and curves may differ by this much (or this share)
COMMON_FPS = (24, 25, 30, 48, 50, 60, 100, 120)
MIN_TAKE_S = 0.5  # shorter takes (a stray frame or two) are refused
MEASURED_BY_CAPTURE = ("Jaw", "Mouth", "Cheek", "Nose", "Brow", "Eye", "Head", "LeftEye", "RightEye")


@dataclass
class Take:
    name: str
    audio: Audio
    anim: Animation  # canonical rig
    measured: np.ndarray  # [canonical curves] bool: which curves the capture really measured


def read_takes(folder: Path) -> Iterator[Take | tuple[str, str]]:
    """Every take under `folder`, or (label, reason) for one that cannot be used. A FACEGOOD or EmoFace set is
    recognised at any depth (an actor's folder of sets); every other file pairs with the sound beside it."""
    folder = Path(folder)
    if not folder.is_dir():
        yield str(folder), "capture folder not found"
        return
    sets = [d for d in (folder, *sorted(p for p in folder.rglob("*") if p.is_dir())) if _layout(d)]
    sets = [d for d in sets if not any(o != d and o in d.parents for o in sets)]  # the outermost of nested ones
    found = False
    for root in sets:
        found = True
        yield from (_facegood if _layout(root) == "facegood" else _emoface_layout)(root)
    for curves in sorted(p for p in folder.rglob("*") if p.suffix.lower() in CURVES and p.is_file()):
        if any(root == curves.parent or root in curves.parents for root in sets):
            continue  # read with its set
        sound = sound_beside(curves)
        if sound is None and (curves.suffix.lower() == ".txt" or not _is_curves(curves)):
            continue  # a stray text, JSON or CSV file (notes, a sheet, metadata), not a take
        found = True
        yield _paired(curves, sound)
    if not found:
        yield str(folder), "no takes found (curve files with a sound file or video of the same name)"


def sound_beside(curves: Path) -> Path | None:
    """The sound of a curve file that records none: a sound file or video of its name beside it (a Live Link Face
    take's .mov, a capture's .wav)."""
    return next((curves.with_suffix(s) for s in SOUND + VIDEO if curves.with_suffix(s).is_file()), None)


def _layout(folder: Path) -> str | None:
    if (folder / "curves_30fps.npz").is_file() and (folder / "clips").is_dir():
        return "facegood"
    if (folder / "WAV").is_dir() and (folder / "VALID_CTR").is_dir():
        return "emoface"
    return None


def _paired(curves: Path, sound: Path | None) -> Take | tuple[str, str]:
    label = str(curves)
    try:
        if sound is None:
            raise InputError(curves, "no audio beside it (a .wav, .flac or video of the same name)")
        audio = load_track(sound) if sound.suffix.lower() in VIDEO else load_audio(sound)
        anim = _read_curves(curves, audio.duration)
        return _checked(curves.stem, audio, anim, label)
    except EmofaceError as exc:
        return label, str(exc).removeprefix(f"{curves}: ")


def _read_curves(path: Path, duration: float) -> Animation:
    """A curve file on the canonical rig. EmoFace's .txt does not say its frame rate: the one that makes it as
    long as its audio, if that is a common rate or a whole one, else EmoFace's 60."""
    try:
        anim = formats.read(path)
        if path.suffix.lower() == ".txt" and duration > 0:
            rate = anim.n_frames / duration
            common = min(COMMON_FPS, key=lambda f: abs(f - rate))
            if abs(common - rate) >= 0.03 * common:  # `capture --fps 15`: a whole rate, if one fits as well
                common = max(1, round(rate))
            if abs(common - rate) < 0.03 * common:
                anim = anim.copy(fps=float(common))
    except Exception as exc:  # noqa: BLE001 - json, csv, numpy and zip (a cut .npz) each raise their own kinds
        reason = str(exc).removeprefix(f"{path}: ").splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"not a curve file emoface reads ({reason})") from None
    return retarget(anim, CANONICAL_RIG)


def _is_curves(path: Path) -> bool:
    """Whether a file is an animation emoface reads (a take that lost its sound), not some other JSON or CSV."""
    try:
        formats.read(path)
    except Exception:  # noqa: BLE001 - whatever it is, it is not curves
        return False
    return True


def _checked(name: str, audio: Audio, anim: Animation, label: str, measured=None) -> Take:
    if audio.duration < MIN_TAKE_S:  # nothing to learn from, and held out it would score as 0
        raise InputError(label, f"is {audio.duration:.2f} s long: a take needs at least {MIN_TAKE_S:g} s")
    gap = abs(audio.duration - anim.duration)
    if gap > max(LENGTH_SLACK_S, LENGTH_SLACK * audio.duration):
        raise InputError(label, f"audio is {audio.duration:.2f} s but the curves are {anim.duration:.2f} s: "
                                "not a pair")
    if measured is None:
        engine = anim.metadata.get("engine")
        names = canonical_names()
        measured = np.array([n.startswith(MEASURED_BY_CAPTURE) and (engine != "capture" or n != "TongueOut")
                             for n in names])
    return Take(name, audio, anim, measured)


def _emoface_layout(folder: Path) -> Iterator[Take | tuple[str, str]]:
    wavs = {p.stem: p for p in (folder / "WAV").iterdir() if p.suffix.lower() in SOUND}
    ctrls = {p.stem: p for p in (folder / "VALID_CTR").iterdir() if p.suffix.lower() == ".txt"}
    for stem in sorted(set(wavs) | set(ctrls)):
        label = str(ctrls.get(stem) or wavs[stem])
        if stem not in ctrls or stem not in wavs:
            yield label, f"no {'controls (VALID_CTR/)' if stem not in ctrls else 'audio (WAV/)'} for {stem}"
            continue
        try:
            audio = load_audio(wavs[stem])
            yield _checked(stem, audio, _read_curves(ctrls[stem], audio.duration), label)
        except EmofaceError as exc:
            yield label, str(exc).removeprefix(f"{label}: ")


def _facegood(folder: Path) -> Iterator[Take | tuple[str, str]]:
    """FACEGOOD's own curve names, mapped to ARKit by its arkit_map.csv; invalid ones are not measured."""
    try:
        curves = np.load(folder / "curves_30fps.npz")
        names = [str(n) for n in curves["names"]]
        with open(folder / "arkit_map.csv", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["valid"] == "True" and r["source_expression"]]
    except Exception as exc:  # noqa: BLE001 - a cut npz, a missing or foreign map: the folder, in one line
        yield str(folder), f"not a whole FACEGOOD folder ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        return
    canon = canonical_names()
    lookup = {n.lower(): i for i, n in enumerate(canon)}
    for clip in (k for k in curves.files if k != "names"):
        label = str(folder / "clips" / f"{clip}.flac")
        try:
            values = curves[clip]
            anim = Animation.zeros(canon, 30.0, len(values), CANONICAL_RIG, {"source": label})
            measured = np.zeros(len(canon), bool)
            for row in rows:
                col = lookup[row["arkit"].lower()]
                anim.values[:, col] = facegood_expression(row["source_expression"], names, values)
                measured[col] = True
            yield _checked(clip, load_audio(label), anim, label, measured)
        except EmofaceError as exc:
            yield label, str(exc).removeprefix(f"{label}: ")


def facegood_expression(expr: str, names: list[str], values: np.ndarray) -> np.ndarray:
    """One ARKit curve from FACEGOOD's: a channel name, or max(a, b, ...)."""
    expr = expr.strip()
    if expr.startswith("max("):
        parts = [p.strip() for p in expr[4:-1].split(",")]
        return np.max(np.stack([values[:, names.index(p)] for p in parts], axis=1), axis=1)
    return values[:, names.index(expr)]
