"""What previews start from: an audio line animated now, or a baked animation file and its source audio."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from emoface import formats
from emoface.animation import Animation
from emoface.errors import InputError
from emoface.rigs import CANONICAL_RIG, load_rig, retarget

log = logging.getLogger("emoface")


MOUTH_SHAPES = ("visemes", "rhubarb")  # formats that hold mouth shapes, not curves a face can be driven by
RATE_UNSAID = ("emoface-txt", "livelink-csv")  # a .txt records no rate; a CSV's timecodes only a whole one, past 1 s


def read_animation(path: Path, fps: float | None = None) -> Animation:
    """Any baked file of curves -> Animation; one InputError for every way a file can fail to be one.
    fps: the rate of a .txt (it records none: 60 otherwise) or a Live Link CSV (its timecodes say a whole rate, and
    only once they pass a second: 60 otherwise); any other file keeps its own and refuses another."""
    name = formats.for_suffix(path)
    if name in MOUTH_SHAPES:
        raise InputError(path, "holds mouth shapes (visemes), not rig curves: give the audio, or a curve bake of it "
                               "(.json, .csv, .txt, .npz, .glb)")
    if name is None:
        raise InputError(path, "not an emoface animation file (suffix is not one of "
                         f"{', '.join(sorted({m.SUFFIX for n, m in formats.FORMATS.items() if n not in MOUTH_SHAPES}))}"
                         " or audio)")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(path, "is empty (0 bytes)")
    try:
        # retarget here so an unknown or mismatched rig fails naming the file
        if fps and name in RATE_UNSAID:
            anim = retarget(formats.checked_read(formats.get(name).read(path, fps), path), CANONICAL_RIG)
        else:
            anim = retarget(formats.read(path), CANONICAL_RIG)
    except InputError as exc:
        if exc.source == str(path):  # the reader's own line about this file (fps, frames, a damaged glTF)
            raise InputError(path, exc.problem) from None
        raise InputError(path, f"not an emoface animation file ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - json, csv, numpy and zip each raise their own kinds
        reason = str(exc).removeprefix(f"{path}: ").splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"not an emoface animation file ({reason})") from None
    if fps and abs(anim.fps - fps) > 1e-6:
        raise InputError("--fps", f"{path.name} records its own frame rate ({anim.fps:g} fps); --fps is for a .txt or "
                                  "a Live Link CSV, which do not")
    rig = load_rig(CANONICAL_RIG)
    span = rig.hi - rig.lo
    wild = (anim.values < rig.lo - span) | (anim.values > rig.hi + span)  # a little past its range is drawn clipped
    if wild.any():
        frame, curve = np.argwhere(wild)[0]
        raise InputError(path, f"frame {frame}, curve {anim.names[curve]} is {anim.values[frame, curve]:.6g}, far "
                               f"outside its range {rig.lo[curve]:g} to {rig.hi[curve]:g} (not curves a bake wrote)")
    return anim


def source_audio(anim: Animation, anim_path: Path) -> Path | None:
    """The baked line's audio, wherever the bake ran from and wherever the file has moved since.

    Bakes record metadata "source" as given (often relative to the folder baked from) and "source_abs".
    Tried in order: the source relative to the current folder, the absolute path, the source relative to
    the baked file's folder and each folder above it (a project moved as a whole, its bake folder inside it),
    then a file of that name beside the baked file.
    """
    from emoface.audio import AUDIO_SUFFIXES

    source, absolute = anim.metadata.get("source"), anim.metadata.get("source_abs")
    if not isinstance(source, str) or not source or Path(source).suffix.lower() not in AUDIO_SUFFIXES:
        from emoface.capture.imports import sound_beside

        return sound_beside(Path(anim_path))  # a .csv or .txt records none: paired as the take importer pairs it
    here = Path(anim_path).absolute().parent
    candidates = [Path(source)]
    if isinstance(absolute, str) and absolute:
        candidates.append(Path(absolute))
    if not Path(source).is_absolute():
        candidates += [folder / source for folder in (here, *here.parents)]
    candidates.append(here / Path(source).name)
    return next((p for p in candidates if p.is_file()), None)


def check_lengths(path: Path, anim: Animation, audio_s: float, audio_path) -> None:
    """A baked file and a sound of other lengths (another line's sound, or a .txt or CSV baked at a rate it does not
    record) make a face out of step with its voice: said in one line."""
    if abs(anim.duration - audio_s) <= max(2 / anim.fps, 0.1):
        return
    hint = (f" (read at {anim.fps:g} fps: a .txt records no frame rate and a Live Link CSV only a whole one; if it "
            "was baked at another, give --fps)" if formats.for_suffix(path) in RATE_UNSAID else "")
    log.warning("%s lasts %.2f s but its sound %s %.2f s: the face is out of step with it%s", path.name,
                anim.duration, Path(audio_path).name, audio_s, hint)
