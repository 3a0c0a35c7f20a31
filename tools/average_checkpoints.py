"""Average the weights of network checkpoints fine-tuned from one start (a "model soup"), to test whether
runs that differ only in seed or augmentation are better together than alone (docs/EVALUATION.md).

    .venv/bin/python tools/average_checkpoints.py OUT.pt A.pt B.pt [...]

The checkpoints must share their network shape; the first one's card is kept, with the inputs named in it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from emoface.errors import InputError
from emoface.model.checkpoints import read_checkpoint


def average(paths: list[Path]) -> dict:
    checkpoints = [read_checkpoint(p, "emoface.facenet/1", "emoface checkpoint") for p in paths]
    first = checkpoints[0]
    for path, c in zip(paths[1:], checkpoints[1:]):
        if c.get("config") != first.get("config") or c["state_dict"].keys() != first["state_dict"].keys():
            raise ValueError(f"{path}: not the same network as {paths[0]}")
    state = {k: sum(c["state_dict"][k] for c in checkpoints) / len(checkpoints)
             if torch.is_floating_point(v) else v for k, v in first["state_dict"].items()}
    card = dict(first.get("card", {}), averaged_from=[str(p) for p in paths])
    return {**first, "state_dict": state, "card": card}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("checkpoints", type=Path, nargs="+")
    args = ap.parse_args()
    try:
        torch.save(average(args.checkpoints), args.out)
    except (InputError, OSError, ValueError) as exc:
        print(f"average_checkpoints: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} (the mean of {len(args.checkpoints)} networks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
