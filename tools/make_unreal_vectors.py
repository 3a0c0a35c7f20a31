"""Record the shared test vectors of the Unreal plugin from a real `emoface serve` session.

    python tools/make_unreal_vectors.py

Writes unreal_plugin/tests/vectors/: one message of each kind (header per rig, frame, emotion, state, error),
session.jsonl (the session in order, frames thinned so the file stays small), edge_cases.jsonl (hand-made
messages the plugin must survive), the subject updates the plugin must push for each (expected_*.json), and
character_urls.json (the URL the plugin connects to for a Character).
tests/test_unreal_plugin.py checks them against a live server; the plugin's automation test replays them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_unreal_plugin import CHARACTER_URLS, VECTORS, capture, character_url, replay  # noqa: E402

FRAMES_KEPT = 8  # frames kept after each header, and around the loudest point of the speech


def thin(messages: list[dict]) -> list[dict]:
    """Every non-frame message; a few frames after each header and while the jaw is most open."""
    keep, since_header = [], FRAMES_KEPT
    jaw = messages[0]["names"].index("JawOpen")
    speech = [m for m in messages if m["type"] == "frame" and len(m["values"]) == len(messages[0]["names"])]
    peak = max(speech, key=lambda m: m["values"][jaw])["frame"]
    for m in messages:
        if m["type"] == "header":
            since_header = 0
        if m["type"] != "frame":
            keep.append(m)
        elif since_header < FRAMES_KEPT or (abs(m["frame"] - peak) < FRAMES_KEPT // 2 and m["stream"] == speech[0]["stream"]
                                             and len(m["values"]) == len(speech[0]["values"])):
            keep.append(m)
            since_header += 1
    return keep


def edge_cases(session: list[dict]) -> list[dict]:
    header = dict(next(m for m in session if m["type"] == "header"), stream="edge0001", names=["JawOpen", "MouthClose"])
    good = {"type": "frame", "stream": "edge0001", "frame": 0, "time": 0.0, "values": [0.5, 0.1]}
    return [
        {"type": "frame", "stream": "edge0001", "frame": 0, "time": 0.0, "values": [0.5, 0.1]},  # before any header
        header,
        good,
        {"type": "frame", "stream": "someone-else", "frame": 1, "time": 1 / 60, "values": [0.2, 0.0]},  # stale
        {"type": "frame", "stream": "edge0001", "frame": 2, "time": 2 / 60, "values": [0.2]},  # wrong count
        {"type": "telemetry", "stream": "edge0001", "cpu": 0.4},  # unknown kind: ignored
        dict(header, version=2, fps=29.97),  # a newer schema: used, with a warning
        {"type": "frame", "stream": "edge0001", "frame": 3, "time": 3 / 29.97, "values": [0.3, 0.2]},
    ]


def main() -> int:
    import argparse

    argparse.ArgumentParser(description=__doc__.strip().splitlines()[0]).parse_args()  # --help: say, write nothing
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "bob.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), "Bob popped the big map."], check=True)
        messages = capture(wav)
    session = thin(messages)
    VECTORS.mkdir(parents=True, exist_ok=True)
    singles = {
        "header_livelink": next(m for m in session if m["type"] == "header" and m["rig"] == "livelink"),
        "header_metahuman_expressions": next(m for m in session if m["type"] == "header"
                                             and m["rig"] == "metahuman-expressions"),
        "frame_livelink": next(m for m in session if m["type"] == "frame" and len(m["values"]) == 61),
        "emotion": next(m for m in session if m["type"] == "emotion"),
        "state": next(m for m in session if m["type"] == "state"),
        "error": next(m for m in session if m["type"] == "error"),
    }
    for name, message in singles.items():
        (VECTORS / f"{name}.json").write_text(json.dumps(message, indent=1) + "\n")
    edges = edge_cases(session)
    for name, msgs in (("session", session), ("edge_cases", edges)):
        (VECTORS / f"{name}.jsonl").write_text("".join(json.dumps(m, separators=(",", ":")) + "\n" for m in msgs))
    (VECTORS / "expected_subject.json").write_text(json.dumps(replay(session), separators=(",", ":")) + "\n")
    urls = [{"url": url, "character": name, "expected": character_url(url, name)} for url, name in CHARACTER_URLS]
    (VECTORS / "character_urls.json").write_text(json.dumps(urls, indent=1) + "\n")
    (VECTORS / "expected_edge_cases.json").write_text(json.dumps(replay(edges), indent=1) + "\n")
    print(f"{len(session)} session messages ({len(messages)} recorded) -> {VECTORS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
