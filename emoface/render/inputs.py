"""What previews start from: an audio line animated now, or a baked animation file and its source audio."""

from __future__ import annotations

from pathlib import Path

from emoface import formats
from emoface.animation import Animation
from emoface.errors import InputError
from emoface.rigs import CANONICAL_RIG, retarget


def read_animation(path: Path) -> Animation:
    """Any baked file -> Animation; one InputError for every way a file can fail to be one."""
    if formats.for_suffix(path) is None:
        raise InputError(path, "not an emoface animation file (suffix is not one of "
                         f"{', '.join(sorted({m.SUFFIX for m in formats.FORMATS.values()}))} or audio)")
    try:
        # retarget here so an unknown or mismatched rig fails naming the file
        return retarget(formats.read(path), CANONICAL_RIG)
    except InputError as exc:
        raise InputError(path, f"not an emoface animation file ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - json, csv, numpy and zip each raise their own kinds
        reason = str(exc).removeprefix(f"{path}: ").splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"not an emoface animation file ({reason})") from None


def source_audio(anim: Animation, anim_path: Path) -> Path | None:
    """The baked line's audio, as recorded at bake time (absolute, relative to cwd, or beside the file)."""
    from emoface.batch import AUDIO_SUFFIXES

    source = anim.metadata.get("source")
    if not isinstance(source, str) or Path(source).suffix.lower() not in AUDIO_SUFFIXES:
        return None
    return next((p for p in (Path(source), anim_path.parent / source) if p.is_file()), None)
