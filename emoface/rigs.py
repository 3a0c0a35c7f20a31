"""Rigs as data: each rig names its curves and says how to make them from emoface's canonical curves.

Canonical curves are the 61 Live Link Face curves (ARKit 52 + head/eye rotations). A rig is either
- weighted: every curve a weighted sum of canonical curves (ARKit, Live Link, CTRL_expressions, a user's
  JSON profile), or
- board: MetaHuman face-board controls over a weighted rig of CTRL_expressions curves, where a 2D control
  (range -1..1) carries two opposite curves: positive values drive one, negative values the other.
Built-in rigs live in rigs/*.json (emoface._rigs in the wheel); `--rig path.json` loads a user's profile.
A weighted curve marked "derived" is made from the others for the face's look (the MetaHuman solver's lip push/pull,
sticky lips, jaw clench): reading back to canonical curves ignores it, so the inverse stays exact.
Every definition goes through one validator (_from_data): a bad field is one InputError naming the file, never
NaN in the output. An animation on a user's rig carries the checked profile in its metadata (PROFILE_KEY), so
a baked file reads back (render, plot, retarget) without the profile file.
"""

from __future__ import annotations

import json
import math
import re
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from emoface.animation import Animation
from emoface.errors import InputError
from emoface.jsonio import read_json

CANONICAL_RIG = "livelink"
PROFILE_KEY = "rig_profile"  # metadata entry: a user rig's definition, so files baked on it read back
LIMIT = 1e6  # largest weight or range end a profile may give (beyond it float32 curves lose meaning)
_CURVE_KEYS = {"name", "from", "range", "derived"}
_CONTROL_KEYS = {"name", "type", "range", "positive", "negative"}
_PROFILE_KEYS = {"name", "description", "kind", "curves", "expressions", "controls"}


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
    builtin: bool = False  # shipped in rigs/; a user profile is False and travels in metadata (PROFILE_KEY)

    def from_canonical(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def to_canonical(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def clip(self, values: np.ndarray) -> np.ndarray:
        return np.clip(values, self.lo, self.hi).astype(np.float32)

    def describe(self) -> dict:
        return {"name": self.name, "description": self.description, "curves": len(self.names)}

    def definition(self) -> dict:
        """The profile as JSON data, checked and resolved: _from_data(definition()) is the same rig. A baked
        file on a user's rig carries it in its metadata, so it reads back without the profile file."""
        raise NotImplementedError


class WeightedRig(Rig):
    def __init__(self, name: str, description: str, curves: list[dict], canonical: "WeightedRig | None"):
        """`curves` as _weighted_curves makes them; `canonical` None for the canonical rig itself."""
        self.name, self.description, self.curves = name, description, curves
        self.names = tuple(c["name"] for c in curves)
        columns = canonical.names if canonical is not None else self.names
        index = {n: i for i, n in enumerate(columns)}
        self.weights = np.zeros((len(curves), len(columns)), np.float64)
        for r, curve in enumerate(curves):
            for src, w in curve["from"].items():
                self.weights[r, index[src]] += w
        self.lo = np.array([c["range"][0] for c in curves], np.float32)
        self.hi = np.array([c["range"][1] for c in curves], np.float32)
        self.derived = np.array([bool(c.get("derived")) for c in curves])
        self._pinv = None

    @cached_property
    def _definition(self) -> dict:
        return {"name": self.name, "description": self.description,
                "curves": [{"name": c["name"], "from": dict(c["from"]), "range": list(c["range"]),
                            **({"derived": True} if c.get("derived") else {})} for c in self.curves]}

    def definition(self) -> dict:
        return self._definition

    def from_canonical(self, values):
        return self.clip(values @ self.weights.T)

    def to_canonical(self, values):
        """Least-squares inverse through the curves that are not derived: exact for values the rig can express
        (those weights have full column rank). A derived curve may be gated or netted on a board control, so
        it would only pull the answer off; a rig of derived curves alone is inverted through all of them."""
        if self._pinv is None:
            basis = ~self.derived if (~self.derived).any() else np.ones(len(self.names), bool)
            self._pinv = np.zeros(self.weights.T.shape)
            self._pinv[:, basis] = np.linalg.pinv(self.weights[basis])
        return (np.asarray(values, np.float64) @ self._pinv.T).astype(np.float32)


class BoardRig(Rig):
    """Face-board controls: value = positive curve - negative curve (direction of the range's max)."""

    def __init__(self, name: str, description: str, controls: list[dict], expressions: WeightedRig):
        self.name, self.description, self.expressions = name, description, expressions
        self.controls = controls
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

    def definition(self) -> dict:
        return self._definition

    @cached_property
    def _definition(self) -> dict:
        expressions = self.expressions.name if self.expressions.builtin else self.expressions.definition()
        return {"name": self.name, "description": self.description, "kind": "board", "expressions": expressions,
                "controls": [{**c, "range": list(c["range"])} for c in self.controls]}


def _from_data(data, source: str, builtin: bool = False) -> Rig:
    """Build a rig from its JSON definition, validating every field: one InputError naming the file."""
    if not isinstance(data, dict):
        raise InputError(source, "a rig profile is a JSON object with a name and curves")
    unknown = sorted(set(data) - _PROFILE_KEYS)
    if unknown:  # a misspelt "descripton" or "curvs" must not pass unseen, as a curve's "rnage" does not
        raise InputError(source, f"unknown key {unknown[0]!r} (a rig profile has {', '.join(sorted(_PROFILE_KEYS))})")
    name = _text(data.get("name"), "name", source)
    if not builtin and name in builtin_names():
        raise InputError(source, f"name {name!r} is a built-in rig's: give your rig its own name")
    description = data.get("description", f"user rig profile {source}")
    if not isinstance(description, str):
        raise InputError(source, f"description must be a string (got {_show(description)})")
    if data.get("kind", "weighted") == "board":
        rig = _board_from_data(name, description, data, source)
    elif data.get("kind", "weighted") == "weighted":
        canonical = None if name == CANONICAL_RIG else _load_builtin(CANONICAL_RIG)
        rig = WeightedRig(name, description, _weighted_curves(data, source, canonical), canonical)
    else:
        raise InputError(source, f"kind must be 'weighted' or 'board' (got {_show(data.get('kind'))})")
    rig.builtin = builtin
    return rig


def _weighted_curves(data: dict, source: str, canonical: "WeightedRig | None") -> list[dict]:
    """Profile curves -> [{name, from: {canonical name: weight}, range: (lo, hi)}], all checked.

    The map form {"theirName": {"JawOpen": 1.0}} is a curve with weights only; {"theirName": {"from": {...},
    "range": [lo, hi]}} and the list form [{"name", "from", "range"}] say the range too. Without a range a
    curve that can only be positive is a blend shape weight, clipped to 0-1; one whose weights can make it
    negative is not clipped: it spans what its weights reach ({"HeadYaw": 180} gives -180..180 degrees).
    "derived": true marks a curve that reading back ignores (see WeightedRig.to_canonical).
    """
    curves = data.get("curves")
    if isinstance(curves, dict):
        curves = [{**v, "name": k} if isinstance(v, dict) and ("from" in v or "range" in v) else {"name": k, "from": v}
                  for k, v in curves.items()]
    if not isinstance(curves, list) or not curves:
        raise InputError(source, "rig profile has no curves (give 'curves': a map or list of your curve names)")
    names = canonical.names if canonical is not None else tuple(
        c.get("name") if isinstance(c, dict) else None for c in curves)
    lookup = {_alias_key(n): n for n in names if isinstance(n, str)}
    out = []
    for name, where, c in _entries(curves, "curve", _CURVE_KEYS, source):
        if "from" not in c:  # it would bake 0 in every frame; an explicit "from": {} says that on purpose
            raise InputError(source, f"{where} has no 'from': give the canonical curves it is made of "
                                     '(e.g. "from": {"JawOpen": 1.0}), or "from": {} for a curve that stays at 0')
        weights = c["from"]
        if not isinstance(weights, dict):
            raise InputError(source, f"{where}: expected a map of canonical curve names to weights "
                                     f"(got {_show(weights)})")
        resolved: dict[str, float] = {}
        for src, w in weights.items():
            target = lookup.get(_alias_key(src))
            if target is None:
                raise InputError(source, f"{where} uses unknown canonical curve {src!r}")
            resolved[target] = resolved.get(target, 0.0) + _number(w, f"{where}: weight of {src!r}", source)
        if "range" in c:
            span = _span(c["range"], f"{where}: range", source)
        elif canonical is None:
            span = (0.0, 1.0)
        else:
            span = _default_range(resolved, canonical)
        derived = c.get("derived", False)
        if not isinstance(derived, bool):
            raise InputError(source, f"{where}: derived must be true or false (got {_show(derived)})")
        out.append({"name": name, "from": resolved, "range": span, **({"derived": True} if derived else {})})
    return out


def _default_range(weights: dict[str, float], canonical: "WeightedRig") -> tuple[float, float]:
    """0-1 for a curve that cannot go negative (a blend shape weight); else the span its weights reach."""
    index = {n: i for i, n in enumerate(canonical.names)}
    lo = hi = 0.0
    for src, w in weights.items():
        a, b = w * float(canonical.lo[index[src]]), w * float(canonical.hi[index[src]])
        lo, hi = lo + min(a, b), hi + max(a, b)
    return (0.0, 1.0) if lo >= 0 else (lo, hi)


def _board_from_data(name: str, description: str, data: dict, source: str) -> "BoardRig":
    spec = data.get("expressions")
    if isinstance(spec, dict):  # embedded (a baked file's copy of a board profile over a custom rig)
        expressions = _from_data(spec, f"{source} expressions")
    elif isinstance(spec, str) and spec:
        try:
            expressions = load_rig(spec)
        except InputError as exc:
            raise InputError(source, f"expressions: {exc}") from None
    else:
        raise InputError(source, "a board rig names its 'expressions' rig")
    if not isinstance(expressions, WeightedRig):
        raise InputError(source, f"expressions rig {expressions.name!r} must be a weighted rig")
    controls = data.get("controls")
    if not isinstance(controls, list) or not controls:
        raise InputError(source, "board rig has no controls (give 'controls': a list)")
    known = set(expressions.names)
    out = []
    for cname, where, c in _entries(controls, "control", _CONTROL_KEYS, source):
        if "range" not in c:
            raise InputError(source, f"{where} has no range")
        entry = {"name": cname, "range": _span(c["range"], f"{where}: range", source, ordered=False)}
        for side in ("positive", "negative"):
            curves = c.get(side, [])
            if not isinstance(curves, list) or not all(isinstance(n, str) for n in curves):
                raise InputError(source, f"{where}: {side} must be a list of curve names")
            missing = [n for n in curves if n not in known]
            if missing:
                raise InputError(source, f"{where}: {side} names unknown curve {missing[0]!r} "
                                         f"of rig {expressions.name!r}")
            entry[side] = list(curves)
        if "type" in c:
            entry["type"] = _text(c["type"], f"{where}: type", source)
        out.append(entry)
    return BoardRig(name, description, out, expressions)


def _entries(items: list, kind: str, keys: set, source: str):
    """(name, "curve 'x'", entry) for each entry of a curve or control list: an object with a unique
    non-empty name and no key outside `keys` (a misspelt "rnage" must not pass as a default)."""
    seen = set()
    for k, entry in enumerate(items, 1):
        if not isinstance(entry, dict):
            raise InputError(source, f"{kind} {k}: expected an object with {', '.join(sorted(keys))} "
                                     f"(got {_show(entry)})")
        name = _text(entry.get("name"), f"{kind} {k} name", source)
        where = f"{kind} {name!r}"
        if name.casefold() in seen:  # Unreal's names (FName) ignore case: Blink and blink would be one curve there
            raise InputError(source, f"{where} appears twice ({kind} names repeat; engines compare them "
                                     "regardless of case)")
        seen.add(name.casefold())
        unknown = sorted(set(entry) - keys)
        if unknown:
            raise InputError(source, f"{where}: unknown key {unknown[0]!r} (a {kind} has "
                                     f"{', '.join(sorted(keys))})")
        yield name, where, entry


def _show(value) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list, str)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value, what: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(source, f"{what} must be a non-empty string (got {_show(value)})")
    return value


def _number(value, what: str, source: str) -> float:
    """A finite JSON number within +-LIMIT: NaN, Infinity, strings and true/false are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(source, f"{what} must be a number (got {_show(value)})")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InputError(source, f"{what} must be a finite number (got {_show(value)})")
    if abs(number) > LIMIT:
        raise InputError(source, f"{what} must lie within -{LIMIT:.0f}..{LIMIT:.0f} (got {_show(value)})")
    return number


def _span(value, what: str, source: str, ordered: bool = True) -> tuple[float, float]:
    """[lo, hi] of finite numbers, lo < hi (board controls may run high to low: lo != hi)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(source, f"{what} must be [low, high] (got {_show(value)})")
    lo, hi = (float(np.float32(_number(v, what, source))) for v in value)  # as the rig holds them
    if lo == hi:
        raise InputError(source, f"{what} needs two different ends (got {_show(list(value))}, as float32 numbers)")
    if ordered and lo > hi:
        raise InputError(source, f"{what} must have low < high (got {_show(list(value))}; a reversed curve "
                                 "takes a negative weight)")
    return lo, hi


@lru_cache(maxsize=None)
def _load_builtin(name: str) -> Rig:
    return _from_data(json.loads((_builtin_dir() / f"{name}.json").read_text()), name, builtin=True)


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


def rig_of(anim: Animation) -> Rig:
    """The rig an animation is on: a built-in one, or the user profile its metadata carries (PROFILE_KEY)."""
    if anim.rig in builtin_names():
        return _load_builtin(anim.rig)
    profile = anim.metadata.get(PROFILE_KEY)
    if isinstance(profile, dict) and profile.get("name") == anim.rig:
        return _from_data(profile, f"rig profile {anim.rig!r} in the metadata")
    raise InputError(anim.rig, "unknown rig: not a built-in one, and the animation carries no rig profile in its "
                               f"metadata ({PROFILE_KEY!r}): bake it again to embed it")


def retarget(anim: Animation, rig: Rig | str) -> Animation:
    """Re-express an animation's curves on another rig, going through the canonical curves by name. An
    animation on a user's rig carries the profile in metadata[PROFILE_KEY] (see Rig.definition)."""
    target = rig if isinstance(rig, Rig) else load_rig(rig)
    metadata = {k: v for k, v in anim.metadata.items() if k != PROFILE_KEY}
    if not target.builtin:
        metadata[PROFILE_KEY] = target.definition()  # cached: live sinks retarget every frame
    if anim.rig == target.name and anim.names == target.names:
        return anim if metadata == anim.metadata else anim.copy(metadata=metadata)
    if anim.rig == CANONICAL_RIG:
        canon = _reorder(anim, canonical_names())
    else:
        source = rig_of(anim)
        canon = source.to_canonical(_reorder(anim, source.names))
    return Animation(target.names, anim.fps, _by_blocks(target.from_canonical, canon), target.name, metadata)


def _by_blocks(per_frame, values: np.ndarray, block: int = 10000) -> np.ndarray:
    """per_frame(values) a block of frames at a time (it works frame by frame): a 30-minute take on the
    MetaHuman board otherwise holds ~500 MB of float64 intermediates."""
    if len(values) <= block:
        return per_frame(values)
    first = np.asarray(per_frame(values[:block]), np.float32)
    out = np.empty((len(values), first.shape[1]), np.float32)
    out[:block] = first
    for i in range(block, len(values), block):
        out[i:i + block] = per_frame(values[i:i + block])
    return out


def _reorder(anim: Animation, names: tuple[str, ...]) -> np.ndarray:
    missing = [n for n in names if n not in anim]
    if missing:
        raise ValueError(f"animation on rig {anim.rig!r} lacks curves {missing[:5]}")
    return np.stack([anim[n] for n in names], axis=1) if names != anim.names else anim.values
