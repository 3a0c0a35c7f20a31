"""The one data type passed between stages: named curves sampled at a fixed frame rate."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def frame_count(duration_s: float, fps: float) -> int:
    """Frames covering the audio: ceil(duration x fps), frame i at i / fps seconds."""
    return max(1, int(math.ceil(round(duration_s * fps, 6))))


@dataclass
class Animation:
    names: tuple[str, ...]
    fps: float
    values: np.ndarray  # float32 [frames, curves]
    rig: str
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.names = tuple(self.names)
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise ValueError(f"values shape {self.values.shape} does not match {len(self.names)} curve names")
        self._index = _index_of(self.names)

    @classmethod
    def zeros(cls, names, fps: float, n_frames: int, rig: str, metadata: dict | None = None) -> "Animation":
        return cls(tuple(names), fps, np.zeros((n_frames, len(names)), np.float32), rig, dict(metadata or {}))

    @property
    def n_frames(self) -> int:
        return self.values.shape[0]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.n_frames) / self.fps

    def index(self, name: str) -> int:
        """The column of a curve."""
        return self._index[name]

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> np.ndarray:
        """A curve by name (a view: writing to it changes the animation)."""
        return self.values[:, self._index[name]]

    def __setitem__(self, name: str, curve) -> None:
        self.values[:, self._index[name]] = curve

    def copy(self, values: np.ndarray | None = None, **changes) -> "Animation":
        return Animation(
            changes.get("names", self.names),
            changes.get("fps", self.fps),
            self.values.copy() if values is None else values,
            changes.get("rig", self.rig),
            dict(changes.get("metadata", self.metadata)),
        )

    def resampled(self, fps: float) -> "Animation":
        """The same motion at another frame rate (linear in time; a capture at the camera's rate -> --fps)."""
        if fps == self.fps:
            return self.copy()
        times = np.arange(frame_count(self.duration, fps)) / fps
        values = np.stack([np.interp(times, self.times, self.values[:, k]) for k in range(len(self.names))], 1)
        return self.copy(values.astype(np.float32), fps=float(fps))


_INDEXES: dict = {}  # names -> {name: column}: a live stream makes a few small animations every frame


def _index_of(names: tuple) -> dict:
    index = _INDEXES.get(names)
    if index is None:
        index = {n: i for i, n in enumerate(names)}
        if len(index) != len(names):
            raise ValueError("curve names must be unique")
        if len(_INDEXES) < 64:
            _INDEXES[names] = index
    return index


def expand_sides(curves: dict) -> dict:
    """{'MouthSmile*': v} -> {'MouthSmileLeft': v, 'MouthSmileRight': v}; other names pass through, summed."""
    out: dict = {}
    for name, value in curves.items():
        for full in ((name[:-1] + "Left", name[:-1] + "Right") if name.endswith("*") else (name,)):
            out[full] = out.get(full, 0.0) + value
    return out
