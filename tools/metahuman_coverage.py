"""How much of the MetaHuman face board emoface drives: writes docs/METAHUMAN.md.

    python tools/metahuman_coverage.py [--audio line.wav] [-o docs/METAHUMAN.md]

Bakes one line of real speech (espeak-ng saying LINE, or --audio) in each of the 7 emotions through the shipped
default model, retargets it to `metahuman` (174 face-board controls) and `metahuman-expressions` (the
CTRL_expressions curves the board drives), and counts what moves: a control moves when its largest |value| over
the line exceeds MOVES (1%) of its range's span (0.02 on a -1..1 control, 0.01 on a 0..1 slider). It also checks
that every value lies inside its control's range, and that each left/right pair agrees (both move or neither).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emoface.animation import Animation  # noqa: E402
from emoface.animator import Animator  # noqa: E402
from emoface.audio import load_audio  # noqa: E402
from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion  # noqa: E402
from emoface.rigs import Rig, load_rig, retarget  # noqa: E402

LINE = "Well, I never thought we would see the harbour lights again, but look at them, shining over the water."
MOVES = 0.01  # fraction of a control's span its largest |value| must pass to count as driven
BOARD, EXPRESSIONS = "metahuman", "metahuman-expressions"
# Why nothing maps to a control or curve (tools/build_rigs.py leaves it out): the first pattern matching its name.
UNMAPPED = [
    (r"lookAtSwitch|Correctives|parallelLook|ParallelLook", "a rig setting, not an expression"),
    (r"teeth", "the teeth ride on the jaw joint; their controls are per-character corrections"),
    (r"ear_up|earUp", "human ears barely move with speech or emotion"),
    (r"eyelashes", "lash-shape tweakers an animator sets per character"),
    (r"swallow|Swallow|throat|Throat|digastric|Digastric",
     "swallowing and breathing (throat and hyoid) muscles: no canonical curve carries them"),
    (r"openExtreme|OpenExtreme", "beyond speech (a yawn, a scream): a linear map has no threshold to start it at"),
    (r"tongue|Tongue", "the tongue's sideways, press and roll: TongueOut is the only canonical tongue curve"),
    (r"lipShift|LipShift", "the lips shifted sideways: only MouthLeft/Right, which move the whole mouth"),
]


def speak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return path


def moving(anim: Animation, rig: Rig) -> np.ndarray:
    """Per curve: does its largest |value| pass MOVES of its range's span?"""
    return np.abs(anim.values).max(axis=0) > MOVES * (rig.hi - rig.lo)


def out_of_range(anim: Animation, rig: Rig) -> list[str]:
    v = anim.values
    bad = ((v < rig.lo - 1e-6) | (v > rig.hi + 1e-6)).any(axis=0)
    return [n for n, b in zip(anim.names, bad) if b]


# controls whose mirror image is the other side's opposite: a head turn contracts one side's muscle, and
# converging eyes look opposite ways
MIRROR_FLIPS = ("neck_mastoidContract", "_eye-translateX")


def side_pairs(rig: Rig) -> list[tuple[int, int]]:
    """(left, right) column pairs: board controls CTRL_L_x/CTRL_R_x; expression curves the twins drive. Left
    out: the head-turn muscles (turning left contracts only the right one) and the eyes' own horizontal
    controls (vergence turns them opposite ways)."""
    board = load_rig(BOARD)
    index = {n: i for i, n in enumerate(rig.names)}
    symmetric = [n for n in board.names if n.startswith("CTRL_L_") and not any(t in n for t in MIRROR_FLIPS)]
    if rig.name == BOARD:
        return [(index[n], index[n.replace("CTRL_L_", "CTRL_R_", 1)]) for n in symmetric]
    pairs = []
    for c in board.controls:
        if c["name"] in symmetric:
            twin = board.controls[board.names.index(c["name"].replace("CTRL_L_", "CTRL_R_", 1))]
            for a, b in zip(c["positive"] + c["negative"], twin["positive"] + twin["negative"]):
                pairs.append((index[a], index[b]))
    return pairs


def measure(anim: Animation, rig: Rig) -> dict:
    moves = moving(anim, rig)
    pairs = side_pairs(rig)
    lr_gap = max(float(np.abs(anim.values[:, a] - anim.values[:, b]).max()) for a, b in pairs)
    return {"moving": int(moves.sum()), "of": len(rig.names), "moves": moves, "out_of_range": out_of_range(anim, rig),
            "pairs": len(pairs), "pairs_agree": sum(moves[a] == moves[b] for a, b in pairs), "lr_gap": lr_gap}


def why_still(name: str, rig: Rig) -> str:
    """Why a control or curve never moved: structure, what feeds it (measured on the line), or why nothing does."""
    board = load_rig(BOARD)
    expr = board.expressions
    if re.search(r"CTRL_[LR]_eye-translate", name):
        return "per-eye vertical gaze: the centre eye control carries the shared gaze, the eyes' own the vergence"
    control = board.controls[board.names.index(name)] if rig.name == BOARD else None
    curves = control["positive"] + control["negative"] if control else [name]
    weights = np.zeros(len(expr.weights[0]))
    for c in curves:
        weights += np.abs(expr.weights[expr.names.index(c)])
    sources = [n for n, w in zip(load_rig("livelink").names, weights) if w > 0]
    if sources:
        return f"driven from {' and '.join(sources)} only, below the threshold on speech"
    for c in board.controls:
        for mine, other in ((c["positive"], c["negative"]), (c["negative"], c["positive"])):
            driven = [expr.names.index(o) for o in other if expr.weights[expr.names.index(o)].any()]
            if name in mine and any(not expr.derived[i] for i in driven):
                return ("the other pole of a 2D control Epic's pose drives: the control carries one value, so "
                        "driving both poles would lose Epic's curve on the way back to canonical curves")
            if name in mine and driven:
                return "the other pole of a 2D control we drive one way: no canonical shape calls for it"
    return next((why for pattern, why in UNMAPPED if re.search(pattern, name)), "no canonical curve maps to it")


def bake_all(audio_path: Path, fps: float, seed: int) -> dict:
    animator = Animator(fps=fps, seed=seed)
    audio = load_audio(audio_path)
    canonical = {e: animator.animate_canonical(audio, EmotionTrack.constant(parse_emotion(e))) for e in EMOTIONS}
    return {e: {r: retarget(a, r) for r in (BOARD, EXPRESSIONS)} for e, a in canonical.items()}


def report(baked: dict, command: str, audio: str) -> str:
    rigs = {r: load_rig(r) for r in (BOARD, EXPRESSIONS)}
    results = {e: {r: measure(baked[e][r], rigs[r]) for r in rigs} for e in baked}
    lines = [
        "# MetaHuman coverage", "",
        f"Command: `{command}`", "",
        f"Audio: {audio}; the shipped default model, intensity 1, blinks/gaze/head on. A control or curve *moves* "
        f"when its largest |value| over the line passes {MOVES:.0%} of its range's span (0.02 on a -1..1 control, "
        "0.01 on a 0..1 slider). *In range*: every value within the control's [min, max] (reference CSV). "
        "*L/R agree*: of the left/right pairs, how many move on both sides or on neither; *max |L-R|* is the "
        "largest left/right difference over the line (the network's own small asymmetry); the head-turn muscles "
        "(`neck_mastoidContract`, one side per turn direction) and each eye's horizontal control (the eyes "
        "converge on the listener, so they turn opposite ways) are left out of both.", "",
        "For comparison: a captured MetaHuman take of one emotional line drives 165 of the 174 controls (issue 13).",
        "",
        "How the board is driven (tools/build_rigs.py): the canonical ARKit curves go through Epic's "
        "mh_arkit_mapping_pose (kept where left/right symmetric) plus SOLVER, our table of what a MetaHuman's own "
        "solver moves for speech and emotion (cheek raise, face scrunch, nasolabial fold, lateral brows, lip rolls, "
        "sticky lips and lips together on closures, lip push/pull, jaw clench on a shut jaw, tongue tip, the "
        "sternocleidomastoid on the side that turns the head, ...). "
        "SOLVER's own curves are marked derived: reading a baked board back to canonical curves ignores them, so "
        "that stays exact. Both sides of every board control share one sign (the reference CSV).",
        "", "| emotion | board controls moving | CTRL_expressions moving | in range | L/R agree: board, expressions "
            "| max abs(L-R), board |",
        "|---|---|---|---|---|---|",
    ]
    for e, r in results.items():
        b, x = r[BOARD], r[EXPRESSIONS]
        in_range = "yes" if not b["out_of_range"] and not x["out_of_range"] else \
            "NO: " + ", ".join((b["out_of_range"] + x["out_of_range"])[:5])
        lines.append(f"| {e} | {b['moving']} / {b['of']} | {x['moving']} / {x['of']} | {in_range} | "
                     f"{b['pairs_agree']} / {b['pairs']}, {x['pairs_agree']} / {x['pairs']} | {b['lr_gap']:.3f} |")
    for r, rig in rigs.items():
        ever = np.any([results[e][r]["moves"] for e in results], axis=0)
        still = [n for n, m in zip(rig.names, ever) if not m]
        some = [n for n, m in zip(rig.names, ever) if m and not all(results[e][r]["moves"][rig.names.index(n)]
                                                                    for e in results)]
        lines += ["", f"## `{r}`: never moving in any emotion ({len(still)} of {len(rig.names)})", ""]
        by_reason: dict[str, list[str]] = {}
        for n in still:
            by_reason.setdefault(why_still(n, rig), []).append(n)
        lines += [f"- {why}: {', '.join(f'`{n}`' for n in names)}" for why, names in by_reason.items()]
        lines += ["", f"Moving in some emotions only ({len(some)}): " + ", ".join(
            f"`{n}` ({'/'.join(e for e in results if results[e][r]['moves'][rig.names.index(n)])})" for n in some)]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--audio", type=Path, help=f"speech to bake (default: espeak-ng saying {LINE!r})")
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", type=Path, default=Path("docs/METAHUMAN.md"))
    args = ap.parse_args()
    command = " ".join(["python tools/metahuman_coverage.py", *sys.argv[1:]])
    with tempfile.TemporaryDirectory() as tmp:
        audio = args.audio or speak(LINE, Path(tmp) / "line.wav")
        baked = bake_all(audio, args.fps, args.seed)
    text = report(baked, command, f"`{args.audio}`" if args.audio else f'espeak-ng (en-us, 150 wpm): "{LINE}"')
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
