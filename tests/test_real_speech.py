"""Real recordings from ../shared/data (skipped when it is absent): the engine on human speech."""

import csv

import numpy as np

from emoface.cli import main
from emoface import formats
from emoface.metrics import CLOSED_GAP, bilabial_closures


def ravdess_clip(shared, emotion="happy"):
    rows = [r for r in csv.DictReader(open(shared / "data" / "ravdess" / "labels.csv")) if r["emotion"] == emotion]
    row = rows[0]
    return shared / "data" / "ravdess" / "clips" / f"{row['file']}.flac", row["text"]


def speech_en_clips(shared, folder="vctk", n=3):
    base = shared / "data" / "speech-en" / folder
    rows = list(csv.DictReader(open(base / "transcripts.tsv", encoding="utf-8"), delimiter="\t"))[:n]
    return [(base / r["file"], r["text"]) for r in rows]


def test_ravdess_line_with_transcript_and_emotion(shared, tmp_path):
    audio, text = ravdess_clip(shared, "happy")
    out = tmp_path / "r.json"
    assert main(["bake", str(audio), "-o", str(out), "--text", text, "--emotion", "happy", "-q"]) == 0
    anim = formats.read(out)
    meta = anim.metadata
    assert meta["phoneme_source"] == "aligned"
    assert [p[0] for p in meta["phonemes"] if p[0] == "B"] == ["B"]  # "by the door"
    assert np.all(bilabial_closures(anim, meta["phonemes"]) < CLOSED_GAP)
    assert anim["MouthSmileLeft"].mean() > 0.3


def test_speech_en_manifest_to_metahuman(shared, tmp_path):
    sheet = tmp_path / "lines.csv"
    clips = speech_en_clips(shared)
    with open(sheet, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["audio", "emotion", "text"])
        for path, text in clips:
            w.writerow([str(path), "neutral", text])
    out = tmp_path / "baked"
    assert main(["bake", "--manifest", str(sheet), "-o", str(out), "--format", "emoface-txt", "-q"]) == 0
    files = sorted(out.glob("*.txt"))
    assert len(files) == len(clips)
    for f in files:
        values = np.loadtxt(f, delimiter=",")
        assert values.shape[1] == 174
        jaw = values[:, 4]  # CTRL_C_jaw-translateY
        assert jaw.max() > 0.2 and jaw.min() >= 0.0
