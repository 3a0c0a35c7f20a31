"""Where checkpoints live (checkpoints/ in the repository, emoface._checkpoints in the wheel), and reading one
safely: a checkpoint is a user's file like any other, so anything wrong with it is one InputError line."""

from __future__ import annotations

import pickle
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path

from emoface.errors import InputError, missing_file, need_torch

DEFAULT_NAME = "emoface-default.pt"
DEFAULT = resources.files("emoface._checkpoints") / DEFAULT_NAME
LIVE_NAME = "emoface-live.pt"  # the low-latency network `stream` and `serve` use when it is there
LIVE = resources.files("emoface._checkpoints") / LIVE_NAME


def read_checkpoint(path, fmt: str, what: str, arrays: bool = False) -> dict:
    """torch.load with weights_only (a crafted pickle never runs), then the format tag; InputError otherwise.
    arrays: the tensors as numpy arrays, read without importing torch (emoface.model.pt_reader)."""
    path = Path(str(path))
    if not path.is_file():
        raise missing_file(path, what)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = _read_arrays(path) if arrays else _torch_load(path)
    except InputError:  # torch is needed (an old-format file) and not installed
        raise
    except pickle.UnpicklingError:  # what weights_only raises for garbage and for pickles that would run code
        raise InputError(path, f"not a readable {what} (not plain tensors: garbage, or code, which is never run)"
                         ) from None
    except Exception as exc:  # noqa: BLE001 - truncation, a zip that is not torch's: all "not a checkpoint"
        raise InputError(path, f"not a readable {what} ({first_line(exc)})") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise InputError(path, f"not an {what} (no {fmt!r} format tag)")
    return data


def _torch_load(path: Path):
    return need_torch(path).load(path, map_location="cpu", weights_only=True)


def _read_arrays(path: Path):
    import zipfile

    from emoface.model import pt_reader

    if not zipfile.is_zipfile(path):  # torch's pre-1.6 format, or no checkpoint at all: torch.load says which
        return _torch_load(path)
    return pt_reader.read(path)


def build(path, what: str, make):
    """make() builds the model from a checkpoint's config and weights; any failure names the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return make()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a config or weights that do not fit: the file is unusable
        raise InputError(path, f"not a usable {what} ({first_line(exc)})") from None


def first_line(exc: Exception) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return text[:160]


@lru_cache(maxsize=4)
def _load(path: str, speech_encoder: str | None):
    need_torch(path)
    from emoface.model.net import load

    return load(path, speech_encoder)


@lru_cache(maxsize=4)
def _load_network(path: str, speech_encoder: str | None):
    from emoface.model.config import NetConfig
    from emoface.model.numpy_net import NumpyNet

    data = read_checkpoint(path, "emoface.facenet/1", "emoface checkpoint", arrays=True)
    config = build(path, "emoface checkpoint", lambda: checked_config(NetConfig(**data["config"])))
    if config.speech_encoder:  # a pretrained backbone runs on torch
        return _load(path, speech_encoder)
    return build(path, "emoface checkpoint", lambda: NumpyNet(config, data["state_dict"], data.get("card", {})))


def checked_config(config):
    """A checkpoint's NetConfig, its sizes bounded: a crafted config must not eat memory."""
    sizes = (config.n_mels, config.channels, config.emotion_dim, config.stem_kernel, len(config.blocks),
             len(config.out_names), config.n_phones)
    if not all(isinstance(v, int) and 0 <= v <= 4096 for v in sizes):
        raise ValueError(f"network sizes {sizes} are out of range")
    if not (isinstance(config.stride, int) and 1 <= config.stride <= 8):
        raise ValueError(f"network stride {config.stride!r} is out of range")
    if not (isinstance(config.mel_floor, float) and 0.0 < config.mel_floor < 1.0):
        raise ValueError(f"mel floor {config.mel_floor!r} is out of range")
    return config


def _target(path):
    target = Path(str(path)) if path else Path(str(DEFAULT))
    if not target.is_file():
        raise missing_file(target, "checkpoint") if path else InputError(
            target, "the default checkpoint is missing from this installation (train it: make train)")
    return target


def load_checkpoint(path=None, speech_encoder=None):
    """The shipped default, or a checkpoint file a user names, as a torch FaceNet (training, fine-tuning)."""
    return _load(str(_target(path)), str(speech_encoder) if speech_encoder else None)


def load_network(path=None, speech_encoder=None):
    """The same checkpoint for inference: a NumpyNet, read without torch (a bake, a preview or a live link never
    imports it), or a FaceNet when the checkpoint runs on a pretrained backbone."""
    return _load_network(str(_target(path)), str(speech_encoder) if speech_encoder else None)


def own_parameters(state_dict: dict) -> int:
    """Parameters of the network itself: not the log-mel front end's buffers nor an optional speech backbone."""
    return sum(v.numel() for k, v in state_dict.items() if not k.startswith(("mel_", "backbone.")))
