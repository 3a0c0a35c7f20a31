#!/usr/bin/env python3
"""How far the network moves a mouth against the references, and what --articulation changes.

    .venv/bin/python tools/evaluate_articulation.py [--shared ../shared] [--cache data_cache] [-o table.md]

The references of `emoface eval` (held-out speech-en speakers' silver labels, FACEGOOD's held-out studio capture,
GRID s1's held-out clips captured from video), the default network at each articulation, neutral, no transcript.
Per set, means over clips: JawOpen r and mouth-curve r (as `emoface eval`), the network's spread of JawOpen
against the reference's (standard deviation and 95th percentile, network / reference: 1 moves as far), the
same spread over the other mouth curves (median over curves), and the mouth curves' velocity error. r barely
depends on articulation (a scale about a near-constant face); the spreads show how far a face moves, what a
person watching sees.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AMOUNTS = (1.0, 1.25, 1.5)


def spreads(pred: np.ndarray, ref, names) -> tuple[float, float, float]:
    """(JawOpen std ratio, JawOpen p95 ratio, median std ratio of the other mouth curves the reference moves)."""
    from emoface.evaluate import MOUTH

    n = min(len(pred), len(ref.labels))
    pred, target = pred[:n], np.asarray(ref.labels[:n], np.float32)
    jaw = names.index("JawOpen")
    others = [names.index(c) for c in MOUTH[1:] if ref.mask[names.index(c)] and target[:, names.index(c)].std() > 1e-3]
    ratio = [pred[:, c].std() / target[:, c].std() for c in others]
    return (pred[:, jaw].std() / target[:, jaw].std(),
            np.percentile(pred[:, jaw], 95) / max(np.percentile(target[:, jaw], 95), 1e-6),
            float(np.median(ratio)) if ratio else float("nan"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--cache", type=Path, default=ROOT / "data_cache")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    from emoface.animator import Animator
    from emoface.evaluate import FRAME_RATE, references, score
    from emoface.rigs import canonical_names

    names = list(canonical_names())
    animator = Animator(engine="neural", fps=FRAME_RATE, blinks=False, gaze=False, head=False, accents=False)
    rows: dict = {}
    for group, audio, ref, phones in references(args.shared, args.cache):
        for amount in AMOUNTS:
            pred = animator.animate_canonical(audio, articulation=amount).values
            s = score(pred, ref, None)
            cell = rows.setdefault(group, {}).setdefault(amount, [])
            cell.append((s["jaw_r"], s["mouth_r"], *spreads(pred, ref, names), s["vel_err"]))
    lines = [f"Command: `python tools/evaluate_articulation.py` ({time.strftime('%Y-%m-%d')}); default network, "
             "neutral, no transcript.", "",
             "| set | clips | articulation | JawOpen r | mouth curves r | JawOpen spread (std / p95), network / "
             "reference | other mouth curves' spread (median) | velocity error (/s) |",
             "|---|---|---|---|---|---|---|---|"]
    for group, by_amount in rows.items():
        for amount, cells in by_amount.items():
            m = np.nanmean(np.array(cells, np.float64), axis=0)
            lines.append(f"| {group} | {len(cells)} | {amount:g} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.2f} / {m[3]:.2f} "
                         f"| {m[4]:.2f} | {m[5]:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
