"""Where checkpoints live: checkpoints/ in the repository, emoface._checkpoints in the wheel."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from emoface.errors import InputError

DEFAULT_NAME = "emoface-default.pt"
DEFAULT = resources.files("emoface._checkpoints") / DEFAULT_NAME


@lru_cache(maxsize=4)
def _load(path: str, speech_encoder: str | None):
    from emoface.model.net import load

    return load(path, speech_encoder)


def load_checkpoint(path=None, speech_encoder=None):
    """The shipped default, or a checkpoint file a user names (e.g. the optional non-commercial one)."""
    target = Path(str(path)) if path else Path(str(DEFAULT))
    if not target.is_file():
        raise InputError(target, "checkpoint not found" if path else
                         "the default checkpoint is missing from this installation (train it: make train)")
    try:
        return _load(str(target), str(speech_encoder) if speech_encoder else None)
    except (ValueError, RuntimeError, KeyError, EOFError, OSError) as exc:
        raise InputError(target, f"not a usable emoface checkpoint ({exc})") from None
