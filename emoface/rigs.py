"""Rigs as data: each rig names its curves and says how to make them from emoface's canonical curves.

Canonical curves are the 61 Live Link Face curves (ARKit 52 + head/eye rotations). A rig is either
- weighted: every curve a weighted sum of canonical curves (ARKit, Live Link, CTRL_expressions, a user's
  JSON profile), or
- board: MetaHuman face-board controls over a weighted rig of CTRL_expressions curves, where a 2D control
  (range -1..1) carries two opposite curves: positive values drive one, negative values the other.
Built-in rigs live in rigs/*.json (emoface._rigs in the wheel); `--rig path.json` loads a user's profile.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from emoface.animation import Animation
from emoface.errors import InputError
from emoface.jsonio import read_json

CANONICAL_RIG = "livelink"


def _builtin_dir():
    return resources.files("emoface._rigs")


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".json"))


def _alias_key(name: str) -> str:
    """Loose key so user profiles may write ARKit names any common way (jawOpen, JawOpen, eyeBlink_L)."""
    key = re.sub(r"_L$", "Left", re.sub(r"_R$", "Right", name))
    return key.replace("_", "").lower()


class Rig:
    name: str
    names: tuple[str, ...]
    description: str
    lo: np.ndarray
    hi: np.ndarray

    def from_canonical(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def to_canonical(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def clip(self, values: np.ndarray) -> np.ndarray:
        return np.clip(values, self.lo, self.hi).astype(np.float32)

    def describe(self) -> dict:
        return {"name": self.name, "description": self.description, "curves": len(self.names)}


class WeightedRig(Rig):
    def __init__(self, name: str, description: str, curves: list[dict], canonical: tuple[str, ...], source="rig"):
        self.name, self.description = name, description
        self.names = tuple(c["name"] for c in curves)
        if len(set(self.names)) != len(self.names):
            raise InputError(source, "curve names repeat")
        lookup = {_alias_key(n): i for i, n in enumerate(canonical)}
        self.weights = np.zeros((len(curves), len(canonical)), np.float64)
        ranges = []
        for r, curve in enumerate(curves):
            for src, w in curve.get("from", {}).items():
                col = lookup.get(_alias_key(src))
                if col is None:
                    raise InputError(source, f"curve {curve['name']!r} uses unknown canonical curve {src!r}")
                self.weights[r, col] += float(w)
            ranges.append(curve.get("range", [0.0, 1.0]))
        self.lo, self.hi = (np.array(x, np.float32) for x in zip(*ranges)) if ranges else (np.zeros(0),) * 2
        self._pinv = None

    def from_canonical(self, values):
        return self.clip(values @ self.weights.T)

    def to_canonical(self, values):
        """Least-squares inverse: exact for values the rig can express (its weights have full column rank)."""
        if self._pinv is None:
            self._pinv = np.linalg.pinv(self.weights)
        return (np.asarray(values, np.float64) @ self._pinv.T).astype(np.float32)


class BoardRig(Rig):
    """Face-board controls: value = positive curve - negative curve (direction of the range's max)."""

    def __init__(self, name: str, description: str, controls: list[dict], expressions: WeightedRig):
        self.name, self.description, self.expressions = name, description, expressions
        self.names = tuple(c["name"] for c in controls)
        self.lo = np.array([min(c["range"]) for c in controls], np.float32)
        self.hi = np.array([max(c["range"]) for c in controls], np.float32)
        self.sign = np.array([1.0 if c["range"][1] >= c["range"][0] else -1.0 for c in controls], np.float32)
        index = {n: i for i, n in enumerate(expressions.names)}
        self.pos = [[index[n] for n in c["positive"]] for c in controls]
        self.neg = [[index[n] for n in c["negative"]] for c in controls]
        # A control shared by several curves (the centre eye moves both eyes) takes their common part first;
        # the per-side controls on the same curves keep the rest.
        self.order = sorted(range(len(controls)), key=lambda i: -len(self.pos[i]))

    def from_canonical(self, values):
        return self.from_expressions(self.expressions.from_canonical(values))

    def from_expressions(self, expr: np.ndarray) -> np.ndarray:
        expr = np.array(expr, np.float32)
        out = np.zeros((expr.shape[0], len(self.names)), np.float32)
        for i in self.order:
            pos = expr[:, self.pos[i]].mean(axis=1) if self.pos[i] else 0.0
            neg = expr[:, self.neg[i]].mean(axis=1) if self.neg[i] else 0.0
            net = pos - neg
            if len(self.pos[i]) > 1:  # shared: move the common part and leave the remainder to per-side controls
                common_pos = np.minimum.reduce([expr[:, j] for j in self.pos[i]]) if self.pos[i] else 0.0
                common_neg = np.minimum.reduce([expr[:, j] for j in self.neg[i]]) if self.neg[i] else 0.0
                net = common_pos - common_neg
                for j in self.pos[i]:
                    expr[:, j] -= np.maximum(net, 0)
                for j in self.neg[i]:
                    expr[:, j] -= np.maximum(-net, 0)
            out[:, i] = net * self.sign[i]
        return self.clip(out)

    def to_expressions(self, board: np.ndarray) -> np.ndarray:
        board = np.asarray(board, np.float32)
        expr = np.zeros((board.shape[0], len(self.expressions.names)), np.float32)
        for i in range(len(self.names)):
            v = board[:, i] * self.sign[i]
            for j in self.pos[i]:
                expr[:, j] += np.maximum(v, 0)
            for j in self.neg[i]:
                expr[:, j] += np.maximum(-v, 0)
        return expr

    def to_canonical(self, values):
        return self.expressions.to_canonical(self.to_expressions(values))

    def describe(self):
        return {**super().describe(), "expressions": self.expressions.name}


def _from_data(data: dict, source: str) -> Rig:
    if not isinstance(data, dict) or "name" not in data:
        raise InputError(source, "a rig file is a JSON object with a name and curves")
    if data.get("kind") == "board":
        return BoardRig(data["name"], data.get("description", ""), data["controls"], load_rig(data["expressions"]))
    curves = data.get("curves")
    if isinstance(curves, dict):  # user profiles may write {"theirName": {"JawOpen": 1.0}, ...}
        curves = [{"name": k, "from": v} for k, v in curves.items()]
    if not isinstance(curves, list) or not curves:
        raise InputError(source, "rig profile has no curves")
    for c in curves:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not isinstance(c.get("from", {}), dict):
            raise InputError(source, f"bad curve entry {c!r}: expected name and a 'from' map of weights")
    canonical = canonical_names() if data["name"] != CANONICAL_RIG else tuple(c["name"] for c in curves)
    return WeightedRig(data["name"], data.get("description", f"user rig profile {source}"), curves, canonical, source)


@lru_cache(maxsize=None)
def _load_builtin(name: str) -> Rig:
    return _from_data(json.loads((_builtin_dir() / f"{name}.json").read_text()), name)


def load_rig(name_or_path) -> Rig:
    """A built-in rig by name, or a JSON rig profile by path."""
    text = str(name_or_path)
    if text in builtin_names():
        return _load_builtin(text)
    path = Path(text)
    if path.suffix.lower() == ".json" or path.exists():
        return _from_data(read_json(path, "rig profile"), str(path))
    raise InputError(text, f"unknown rig (built-in rigs: {', '.join(builtin_names())}, or a .json profile)")


@lru_cache(maxsize=None)
def canonical_names() -> tuple[str, ...]:
    return _load_builtin(CANONICAL_RIG).names


def retarget(anim: Animation, rig: Rig | str) -> Animation:
    """Re-express an animation's curves on another rig, going through the canonical curves by name."""
    target = rig if isinstance(rig, Rig) else load_rig(rig)
    if anim.rig == target.name and anim.names == target.names:
        return anim
    if anim.rig == CANONICAL_RIG:
        canon = _reorder(anim, canonical_names())
    else:
        canon = load_rig(anim.rig).to_canonical(_reorder(anim, load_rig(anim.rig).names))
    return Animation(target.names, anim.fps, target.from_canonical(canon), target.name, dict(anim.metadata))


def _reorder(anim: Animation, names: tuple[str, ...]) -> np.ndarray:
    missing = [n for n in names if n not in anim]
    if missing:
        raise ValueError(f"animation on rig {anim.rig!r} lacks curves {missing[:5]}")
    return np.stack([anim[n] for n in names], axis=1) if names != anim.names else anim.values
