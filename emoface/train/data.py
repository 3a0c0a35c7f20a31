"""The data engine: real speech with silver labels, FACEGOOD capture, and emotion targets made on the fly.

Clips are labelled once and cached (npz per clip under the cache directory):
- speech-en (permissive licences): the phonetic engine with the transcript (forced alignment) as teacher,
  at 100 frames/s, neutral; the emotion layer is applied at training time for a random emotion so the
  emotion encoder learns a controllable style;
- espeak-ng TTS of the training transcripts in many voices, rates and pitches, labelled by the phonetic
  engine from the synthesiser's own phoneme timing (exact, no alignment);
- FACEGOOD (MIT): captured mouth/jaw curves mapped to ARKit; only the valid curves count in the loss;
- GRID s1 (CC BY 4.0): one real speaker on video, captured by `emoface capture`; the mouth curves capture
  measures well (CAPTURE_TRUSTED) replace the silver labels of the clip's transcript, the rest stay silver.
Validation speakers are never training speakers; one FACEGOOD clip and every tenth GRID clip are held out.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from emoface.audio import load_audio
from emoface.features import FRAME_RATE
from emoface.rigs import canonical_names

log = logging.getLogger("emoface")
VALID_SPEAKERS = {"p226", "p228", "aew", "libri_61", "so762_9639", "so762_9624", "so762_9619", "so762_9601",
                  "so762_3023", "so762_2917", "so762_2897", "so762_2892"}
VALID_FACEGOOD = "facegood_3_16"
GRID_HELD_OUT_EVERY = 10  # every tenth GRID s1 clip (in name order) is held out for evaluation
PERMISSIVE_FOLDERS = ("cmu_arctic", "cmu_arctic_extra", "kathleen_cc0", "ljspeech", "misc_male", "speechocean762",
                      "vctk", "vctk_extra")
# curves the network predicts: the face minus what the post-processors own (gaze, blinks, head, eye rotation)
OUTPUT_CURVES = tuple(n for n in canonical_names()[:52] if not n.startswith(("EyeLook", "EyeBlink")))
# one more output (SEALED): are the lips sealed (p/b/m, or closed at rest)? Inference enforces the seal.
SEALED_GAP = 0.03


@dataclass
class Clip:
    key: str
    audio: np.ndarray  # float32 16 kHz
    labels: np.ndarray  # [frames @100 Hz, len(canonical)] float32
    mask: np.ndarray  # [len(canonical)] bool: which curves are real targets
    prosody: dict  # loudness, f0, voiced, speech per frame (speech-en only)
    speaker: str
    source: str  # "speech-en" | "facegood" | "tts"
    phones: np.ndarray | None = None  # [frames] index into PHONES of the teacher's phone, -1 unknown
    capture: np.ndarray | None = None  # [frames, len(canonical)] captured curves (GRID), beside the labels
    held_out: bool = False  # kept for validation (speakers, or GRID clips, see GRID_HELD_OUT_EVERY)


def phone_frames(phones, n: int) -> np.ndarray:
    """The teacher's phone at each 100 Hz frame's time, as an index into PHONES (-1 where none)."""
    from emoface.phonetic.visemes import PHONES

    out = np.full(n, -1, np.int8)
    for name, start, end in phones:
        if name in PHONES:
            out[int(round(start * FRAME_RATE)): int(round(end * FRAME_RATE))] = PHONES.index(name)
    return out


def speaker_id(name: str) -> str:
    return re.sub(r"^(vctk_|arctic_)", "", name)


def speech_en_items(shared: Path):
    for folder in PERMISSIVE_FOLDERS:
        base = shared / "data" / "speech-en" / folder
        with open(base / "transcripts.tsv", encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                yield f"{folder}/{Path(row['file']).stem}", base / row["file"], row["text"], speaker_id(row["speaker"])


def grid_items(shared: Path, held_out: bool | None = None):
    """(clip, video, transcript) of GRID s1 (CC BY 4.0); held_out picks the evaluation or the training clips."""
    base = shared / "data" / "grid-s1"
    with open(base / "transcripts.tsv", encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f, delimiter="\t"), key=lambda r: r["clip"])
    for k, row in enumerate(rows):
        if held_out is None or held_out == (k % GRID_HELD_OUT_EVERY == 0):
            yield row["clip"], base / "video" / f"{row['clip']}.mp4", row["text"]


def silver_labels(audio, text: str, speaker: str, source: str = "speech-en") -> dict | None:
    """The phonetic engine with the transcript as teacher: neutral canonical curves at 100 frames/s."""
    from emoface.animator import Animator
    from emoface.prosody import analyse

    animator = Animator(engine="phonetic", fps=FRAME_RATE, blinks=False, gaze=False, head=False, accents=False,
                        smooth=True)
    anim = animator.animate_canonical(audio, None, text)
    if anim.metadata.get("phoneme_source") != "aligned":
        return None
    pro = analyse(audio.samples, anim.n_frames, FRAME_RATE)
    return dict(audio=(audio.samples * 32767).astype(np.int16), labels=anim.values.astype(np.float16),
                loudness=pro.loudness, f0=pro.f0.astype(np.float32), voiced=pro.voiced, speech=pro.speech,
                speaker=speaker, source=source, phones=phone_frames(anim.metadata["phonemes"], anim.n_frames))


def clip_from(key: str, data: dict) -> Clip:
    canon_n = len(canonical_names())
    return Clip(key, np.asarray(data["audio"]).astype(np.float32) / 32767, np.asarray(data["labels"], np.float32),
                np.asarray(data["mask"]) if "mask" in data else np.ones(canon_n, bool),
                {k: np.asarray(data[k]) for k in ("loudness", "f0", "voiced", "speech") if k in data},
                str(data["speaker"]), str(data["source"]), np.asarray(data["phones"]) if "phones" in data else None,
                np.asarray(data["capture"], np.float32) if "capture" in data else None,
                bool(data["held_out"]) if "held_out" in data else False)


# what capture measures well enough to outrank the phonetic engine's silver labels (docs/CAPTURE.md)
CAPTURE_TRUSTED = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthSmileLeft", "MouthSmileRight",
                   "MouthStretchLeft", "MouthStretchRight", "MouthLowerDownLeft", "MouthLowerDownRight",
                   "MouthUpperUpLeft", "MouthUpperUpRight")
# crops averaged per frame in the training captures: twice a user's default, because labels are made once and a
# faint curve's noise is learnt as if it were the face (docs/CAPTURE.md, "Where the crop falls")
GRID_PASSES = 8


def _grid_one(item):
    """A GRID clip: silver labels from its transcript, with the curves capture measures well replaced by the
    captured ones (both kept: eval scores against the capture)."""
    from emoface.audio import load_track
    from emoface.capture.basis import shipped_digest
    from emoface.capture.take import capture

    clip, video, text, held_out = item
    audio = load_track(video)
    data = silver_labels(audio, text, "grid_s1", source="grid")
    if data is None:
        return f"grid/{clip}", None
    values = label_frames(capture(video, passes=GRID_PASSES), len(data["labels"]))
    labels = data["labels"].astype(np.float32)
    for name in CAPTURE_TRUSTED:
        col = canonical_names().index(name)
        labels[:, col] = values[:, col]
    return f"grid/{clip}", dict(data, labels=labels.astype(np.float16), capture=values.astype(np.float16),
                                held_out=held_out, basis=shipped_digest(GRID_PASSES))


def label_frames(anim, n: int) -> np.ndarray:
    """An animation's values at the label rate (100 frames/s), exactly n frames (the last one held)."""
    values = anim.resampled(FRAME_RATE).values
    out = np.empty((n, values.shape[1]), np.float32)
    m = min(n, len(values))
    out[:m] = values[:m]
    out[m:] = values[m - 1]
    return out


def grid_cache_items(shared: Path):
    if not (shared / "data" / "grid-s1").is_dir():
        return []
    held = {clip for clip, _, _ in grid_items(shared, held_out=True)}
    return [(clip, video, text, clip in held) for clip, video, text in grid_items(shared)]


def _label_one(item):
    key, path, text, speaker = item
    return key, silver_labels(load_audio(path), text, speaker)


TTS_LINES = 800


def _tts_one(item):
    from emoface.phonetic.animate import animate
    from emoface.post.smoothing import savgol
    from emoface.prosody import analyse
    from emoface.train.tts import synthesize

    key, text, voice, rate, pitch = item
    samples, phones = synthesize(text, voice, rate, pitch)
    if len(samples) < 1600 or not phones:
        return key, None
    n = int(np.ceil(len(samples) / 16000 * FRAME_RATE))
    pro = analyse(samples, n, FRAME_RATE)
    labels = savgol(animate(phones, pro, n, FRAME_RATE)).values
    return key, dict(audio=(np.clip(samples, -1, 1) * 32767).astype(np.int16), labels=labels.astype(np.float16),
                     loudness=pro.loudness, f0=pro.f0.astype(np.float32), voiced=pro.voiced, speech=pro.speech,
                     speaker=f"tts_{voice}", source="tts",
                     phones=phone_frames([(p.name, p.start, p.end) for p in phones], n))


def tts_items(shared: Path, n: int = TTS_LINES, seed: int = 0):
    """Sentences from the training speakers' transcripts, each spoken by a random espeak-ng voice."""
    from emoface.train.tts import VARIANTS, VOICES

    rng = np.random.default_rng(seed)
    texts = sorted({t for _, _, t, spk in speech_en_items(shared) if spk not in VALID_SPEAKERS})
    for k in range(n):
        voice = str(rng.choice(VOICES)) + str(rng.choice(VARIANTS))
        yield (f"tts/{k:04d}", str(texts[rng.integers(len(texts))]), voice, int(rng.integers(120, 230)),
               int(rng.integers(25, 75)))


def _run_pool(fn, items, cache: Path, workers: int, desc: str) -> int:
    from tqdm import tqdm

    from emoface.progress import show_progress

    failed = 0
    with Pool(workers) as pool:
        for key, data in tqdm(pool.imap_unordered(fn, items, chunksize=4), total=len(items), desc=desc,
                              unit="clip", disable=not show_progress()):
            path = cache / (key.replace("/", "__") + ".npz")
            if data is None:
                failed += 1
                save_whole(path, skip=True)
            else:
                save_whole(path, **data)
    return failed


def save_whole(path: Path, **arrays) -> None:
    """np.savez to path, whole or not at all: a labelling or capture run stopped mid-write (Ctrl-C, the machine
    going down) had left a truncated .npz that every later run failed to read."""
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as f:
        np.savez(f, **arrays)
    part.replace(path)


def build_cache(shared: Path, cache: Path, workers: int = 2, tts: int = TTS_LINES) -> None:
    """Label every permissive speech-en clip, speak and label TTS lines, convert FACEGOOD (cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    items = [i for i in speech_en_items(shared) if _needs_labels(cache / (i[0].replace("/", "__") + ".npz"))]
    failed = _run_pool(_label_one, items, cache, workers, "labelling speech-en")
    if failed:
        log.info("%d clips skipped: their transcripts did not align", failed)
    spoken = [i for i in tts_items(shared, tts) if _needs_labels(cache / (i[0].replace("/", "__") + ".npz"))]
    _run_pool(_tts_one, spoken, cache, workers, "speaking TTS lines")
    build_facegood(shared, cache)
    build_grid(shared, cache, workers)


def build_grid(shared: Path, cache: Path, workers: int = 2, held_out_only: bool = False) -> None:
    """GRID s1 captured by `emoface capture` (CC BY 4.0), cached per clip; clips captured with another basis
    are captured again."""
    from emoface.capture.basis import shipped_digest

    cache.mkdir(parents=True, exist_ok=True)
    digest = shipped_digest(GRID_PASSES)
    items = [i for i in grid_cache_items(shared) if (i[3] or not held_out_only)
             and _stale_capture(cache / f"grid__{i[0]}.npz", digest)]
    if items:
        _run_pool(_grid_one, items, cache, workers, "capturing GRID s1")


def _stale_capture(path: Path, digest: str) -> bool:
    if not path.exists():
        return True
    with np.load(path) as z:
        return "skip" not in z.files and ("basis" not in z.files or str(z["basis"]) != digest)


def _needs_labels(path: Path) -> bool:
    """Not cached yet, or cached by an older emoface without the teacher's phones."""
    if not path.exists():
        return True
    with np.load(path) as z:
        return "skip" not in z.files and "phones" not in z.files


def build_facegood(shared: Path, cache: Path) -> None:
    """FACEGOOD's captured curves -> canonical labels at 100 Hz beside their audio (eval uses them too)."""
    from emoface.capture.imports import facegood_expression

    cache.mkdir(parents=True, exist_ok=True)  # `emoface eval --cache new/folder` must not fail minutes in
    base = shared / "data" / "facegood"
    curves = np.load(base / "curves_30fps.npz")
    names = [str(n) for n in curves["names"]]
    canon = canonical_names()
    lookup = {n.lower(): i for i, n in enumerate(canon)}
    rows = list(csv.DictReader(open(base / "arkit_map.csv")))
    for clip in (k for k in curves.files if k != "names"):
        out = cache / f"facegood__{clip}.npz"
        if out.exists():
            continue
        values = curves[clip]
        audio = load_audio(base / "clips" / f"{clip}.flac")
        n = int(np.ceil(audio.duration * FRAME_RATE))
        labels = np.zeros((n, len(canon)), np.float32)
        mask = np.zeros(len(canon), bool)
        src_t = np.arange(len(values)) / 30.0
        t = np.arange(n) / FRAME_RATE
        for row in rows:
            if row["valid"] != "True" or not row["source_expression"]:
                continue
            col = lookup[row["arkit"].lower()]
            labels[:, col] = np.interp(t, src_t, facegood_expression(row["source_expression"], names, values))
            mask[col] = True
        save_whole(out, audio=(audio.samples * 32767).astype(np.int16), labels=labels.astype(np.float16), mask=mask,
                   speaker=clip, source="facegood")


def seal_bilabials(labels: np.ndarray, phones: np.ndarray) -> np.ndarray:
    """Capture at 25 frames/s can miss most of a 60 ms closure that the aligned transcript times to 10 ms:
    over each p/b/m of a captured clip the lips are sealed (MouthClose holds them against the captured jaw,
    shapes that part them are off), so real capture never teaches open bilabials."""
    from emoface.capture.take import PARTING
    from emoface.phonetic.visemes import PHONES

    names = canonical_names()
    bilabial = np.isin(phones, [PHONES.index(p) for p in ("P", "B", "M")])
    labels[bilabial, names.index("MouthClose")] = labels[bilabial, names.index("JawOpen")]
    for k, name in enumerate(names):
        if name.startswith(PARTING):
            labels[bilabial, k] = 0.0
    return labels


def load_cache(cache: Path) -> tuple[list[Clip], list[Clip]]:
    """(train, validation) clips."""
    train, valid = [], []
    for path in sorted(cache.glob("*.npz")):
        with np.load(path) as z:
            if "skip" in z.files:
                continue
            clip = clip_from(path.stem, {k: z[k] for k in z.files})
        if clip.source == "grid" and clip.phones is not None:
            clip.labels = seal_bilabials(clip.labels, clip.phones)
        held_out = clip.speaker in VALID_SPEAKERS or clip.speaker == VALID_FACEGOOD or clip.held_out
        (valid if held_out else train).append(clip)
    return train, valid
