"""`emoface eval`: the network against the phonetic engine and a loudness baseline on held-out speech.

References: silver labels (phonetic engine with the transcript) for held-out speech-en speakers, the
held-out FACEGOOD clip's captured mouth curves, and held-out GRID s1 clips captured from video by
`emoface capture` (the mouth curves it measures well, CAPTURE_TRUSTED). Systems see no transcript.
Everything at 100 frames/s, neutral emotion, no blinks/gaze/head/accents (they are not what is measured here).
With `channels`, every clip is also heard through a few recording channels (a phone line, bright, dull and thin
microphones, a quiet one): a user's lines come from any microphone, and the face must not depend on which.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from emoface.filters1d import gaussian_filter1d

from emoface.animator import Animator
from emoface.audio import Audio, load_audio
from emoface.features import FRAME_RATE
from emoface.metrics import CLOSED_GAP, bilabial_closures, closed_elsewhere, pearson
from emoface.phonetic.recognize import align
from emoface.prosody import analyse
from emoface.rigs import canonical_names
from emoface.train.augment import coloured, keep_loudness, mixed_below, pinkish, reverb, world_voice
from emoface.train.data import CAPTURE_TRUSTED, VALID_FACEGOOD, VALID_SPEAKERS, build_facegood, build_grid, \
    clip_from, grid_items, silver_labels, speech_en_items

MOUTH = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthSmileLeft", "MouthStretchLeft",
         "MouthLowerDownLeft", "MouthUpperUpLeft", "MouthRollLower", "MouthPressLeft")
ROUNDING = ("MouthPucker", "MouthFunnel")  # what rounded lips show on the rig


def references(shared: Path, cache: Path):
    """(name, audio, reference curves [frames, 61], valid-curve mask, reference phones or None) per clip."""
    for key, path, text, speaker in speech_en_items(shared):
        if speaker not in VALID_SPEAKERS:
            continue
        audio = load_audio(path)
        data = silver_labels(audio, text, speaker)
        if data is None:
            continue
        phones = [[p.name, p.start, p.end] for p in align(audio.samples, text)]  # the teacher's own timing
        yield "speech-en (held-out speakers)", audio, clip_from(key, data), phones
    build_facegood(shared, cache)
    with np.load(cache / f"facegood__{VALID_FACEGOOD}.npz") as z:
        clip = clip_from(VALID_FACEGOOD, {k: z[k] for k in z.files})
    audio = load_audio(shared / "data" / "facegood" / "clips" / f"{VALID_FACEGOOD}.flac")
    yield f"FACEGOOD capture ({VALID_FACEGOOD})", audio, clip, None
    yield from grid_references(shared, cache)


def grid_references(shared: Path, cache: Path):
    """Held-out GRID s1 clips: the captured curves as reference, the transcript's alignment for closures."""
    from dataclasses import replace

    if not (shared / "data" / "grid-s1").is_dir():
        return
    build_grid(shared, cache, held_out_only=True)
    names = canonical_names()
    mask = np.array([n in CAPTURE_TRUSTED for n in names])
    for clip, _, text in grid_items(shared, held_out=True):
        path = cache / f"grid__{clip}.npz"
        with np.load(path) as z:
            if "skip" in z.files:
                continue
            ref = clip_from(clip, {k: z[k] for k in z.files})
        audio = Audio(ref.audio, f"grid-s1/{clip}", 16000)
        phones = [[p.name, p.start, p.end] for p in align(audio.samples, text)]
        yield "GRID s1 capture (held-out clips)", audio, replace(ref, labels=ref.capture, mask=mask), phones


def _band(samples: np.ndarray, low: float, high: float | None = None) -> np.ndarray:
    """Band-pass (or high-pass without `high`), loudness (RMS) kept."""
    from scipy.signal import butter, sosfilt

    sos = butter(6, [low, high], "band", fs=16000, output="sos") if high else \
        butter(4, low, "high", fs=16000, output="sos")
    return keep_loudness(sosfilt(sos, samples), samples)


CHANNELS = {  # the held-out audio heard through other recording chains (fixed filters, the same every run)
    "as recorded": None,
    "phone line (300-3400 Hz)": lambda x: _band(x, 300.0, 3400.0),
    "bright mic (+4 dB/octave)": lambda x: coloured(x, lambda octaves: 4.0 * octaves),
    "dull mic (-4 dB/octave)": lambda x: coloured(x, lambda octaves: -4.0 * octaves),
    "thin mic (high-pass 500 Hz)": lambda x: _band(x, 500.0),
    "quiet (-24 dB)": lambda x: x * 10 ** (-24 / 20),  # a low-gain or distant microphone
    "noisy room (pink noise, 15 dB below)":
        lambda x: mixed_below(x, pinkish(np.random.default_rng(0).standard_normal(len(x))), 15.0),
    "talkers behind (15 dB below)": lambda x: mixed_below(x, _talkers(x), 15.0),
    "music behind (10 dB below)": lambda x: mixed_below(x, band(len(x), len(x)), 10.0),  # each clip its own tune
    "echoing room (RT60 0.6 s)": lambda x: reverb(x, np.random.default_rng(0), rt60=(0.6, 0.6)),
}


VOICES = {  # GRID s1's talker (a man, median pitch ~115 Hz) made another's voice: (median pitch Hz, formant ratio)
    "as recorded": None,
    "deeper (90 Hz, formants x0.9)": (90.0, 0.9),
    "a woman's (210 Hz, x1.18)": (210.0, 1.18),
    "a child's (280 Hz, x1.3)": (280.0, 1.3),
    "pitch alone (210 Hz)": (210.0, 1.0),
    "formants alone (x1.18)": (None, 1.18),
}


def revoiced(audio, voice: str):
    """The clip as another talker would say it, by the WORLD vocoder (emoface.train.augment.world_voice): the pitch
    contour scaled to the voice's median, the spectral envelope and aperiodicity warped in frequency by the formant
    ratio, timing kept. Training says the captured speakers in these voices' range (85-300 Hz) by resampling and
    warping (augment.voice), an analysis and synthesis of its own, so that a network which learnt one transform's
    traces does not score for them; it uses WORLD only for voices raised above 280 Hz."""
    if VOICES[voice] is None:
        return audio
    pitch, formants = VOICES[voice]
    return Audio(world_voice(audio.samples, pitch, formants, extra="eval"), audio.source, audio.original_rate)


def _talkers(x: np.ndarray) -> np.ndarray:
    """Three talkers' worth of speech that is not the line's: the line itself reversed in time, at three offsets
    (time-reversed speech keeps a voice's spectrum and rhythm without its words, the classic speech-like masker
    of hearing research), so every clip gets its own background and the same one every run."""
    back = x[::-1]
    return sum(np.roll(back, k * len(x) // 3) for k in range(3))


def band(n: int, seed: int = 0) -> np.ndarray:
    """n samples of a small band, the same for the same seed: a square-wave bass on a I-V-vi-IV progression, an
    FM-synthesis arpeggio over it and a hi-hat on the eighths, 120-150 bpm. Made unlike the music training mixes
    in (emoface.train.augment.music: additive notes, chords, drums, glides), so that what is scored is hearing a
    voice apart from music, not that synthesiser."""
    rng = np.random.default_rng(seed)
    sr, out = 16000, np.zeros(n)
    eighth = 60.0 / rng.uniform(120, 150) / 2
    key = 55.0 * 2 ** (rng.integers(0, 12) / 12)
    for k in range(int(n / sr / eighth) + 1):
        at, m = int(k * eighth * sr), int(eighth * sr)
        m = min(m, n - at)
        if m <= 0:
            break
        t = np.arange(m) / sr
        root = key * 2 ** ((0, 7, 9, 5)[(k // 8) % 4] / 12)
        bass = sum(np.sin(2 * np.pi * root * h * t) / h for h in (1, 3, 5, 7))  # a square wave's first partials
        out[at:at + m] += 0.5 * bass * np.exp(-t * 3)
        note = root * 4 * 2 ** ((0, 4, 7, 12)[k % 4] / 12)
        index = 3.0 * np.exp(-t * 8)  # the modulation fades: a struck, bell-like attack
        out[at:at + m] += 0.3 * np.sin(2 * np.pi * note * t + index * np.sin(2 * np.pi * 2 * note * t)) * np.exp(-t * 5)
        hat = np.diff(np.diff(rng.standard_normal(m + 2)))
        out[at:at + m] += 0.05 * hat * np.exp(-t * 80)
    return out


def through(audio, channel: str):
    """The clip as heard through a channel of CHANNELS (the filters keep its loudness; `quiet` does not)."""
    if CHANNELS[channel] is None:
        return audio
    y = CHANNELS[channel](audio.samples.astype(np.float64))
    return Audio(np.clip(y, -1.0, 1.0).astype(np.float32), audio.source, audio.original_rate)


def loudness_baseline(audio, n: int) -> np.ndarray:
    out = np.zeros((n, len(canonical_names())), np.float32)
    loud = analyse(audio.samples, n, FRAME_RATE).loudness
    out[:, canonical_names().index("JawOpen")] = gaussian_filter1d(loud, 4)
    return out


def score(pred: np.ndarray, ref, phones) -> dict:
    names = canonical_names()
    n = min(len(pred), len(ref.labels))
    pred, target = pred[:n], ref.labels[:n]
    cols = [names.index(c) for c in MOUTH if ref.mask[names.index(c)]]
    jaw = names.index("JawOpen")
    per_curve = {names[c]: pearson(pred[:, c], target[:, c]) for c in cols if np.std(target[:, c]) > 1e-4}
    vel = np.abs(np.diff(pred[:, cols], axis=0) - np.diff(target[:, cols], axis=0)).mean() * FRAME_RATE
    out = {"jaw_r": pearson(pred[:, jaw], target[:, jaw]), "mouth_r": float(np.mean(list(per_curve.values()))),
           "vel_err": float(vel), "per_curve": [per_curve]}
    if phones:
        from emoface.animation import Animation

        anim = Animation(names, FRAME_RATE, pred, "livelink")
        out["closed"] = list(bilabial_closures(anim, phones) < CLOSED_GAP)
        out["shut_vowels"] = [closed_elsewhere(anim, phones)]
        out["rounding"] = rounding(pred, target, phones)
    return out


def rounding(pred: np.ndarray, target: np.ndarray, phones) -> list:
    """[(system, reference)] each [curve, (rounded phones, spread vowels)]: ROUNDING's means on a clip's rounded
    phones and on its spread vowels (none when the clip lacks either). A speaker's 'oo' must purse the lips and his
    'ee' must not, which a correlation over the whole clip does not show."""
    from emoface.capture.rounding import ROUNDED, SPREAD, phone_mask

    groups = [phone_mask(phones, len(pred), FRAME_RATE, names) for names in (ROUNDED, SPREAD)]
    if not all(g.any() for g in groups):
        return []
    cols = [canonical_names().index(c) for c in ROUNDING]
    return [tuple(np.array([[x[g][:, c].mean() for g in groups] for c in cols]) for x in (pred, target))]


def run(shared: Path, cache: Path, checkpoint=None, channels: bool = False, voices: bool = False) -> dict:
    """{group: {system: scores}}; with `channels`, also {"channels": {group: {channel: {system: scores}}}}; with
    `voices`, {"voices": {group: {voice: {system: scores}}}} for the GRID clips (a real face under another voice)."""
    systems = {
        "network (no transcript)": Animator(engine="neural", checkpoint=checkpoint, fps=FRAME_RATE, blinks=False,
                                            gaze=False, head=False, accents=False),
        "phonetic engine (no transcript)": Animator(engine="phonetic", fps=FRAME_RATE, blinks=False, gaze=False,
                                                    head=False, accents=False),
    }
    results: dict = {}
    heard: dict = {}
    revoiced_by: dict = {}
    for group, audio, ref, phones in references(shared, cache):
        if voices and group.startswith("GRID"):
            for voice in list(VOICES)[1:]:
                _add_rs(revoiced_by, group, voice, _predict_and_score(systems, revoiced(audio, voice), ref, phones))
        for channel in CHANNELS if channels else ("as recorded",):
            scores = _predict_and_score(systems, through(audio, channel), ref, phones)
            _add_rs(heard, group, channel, scores)
            if channel != "as recorded":
                continue
            for name, s in scores.items():
                bucket = results.setdefault(group, {}).setdefault(name, {
                    "jaw_r": [], "mouth_r": [], "vel_err": [], "closed": [], "shut_vowels": [], "clips": 0,
                    "per_curve": [], "rounding": []})
                for k, v in s.items():
                    bucket[k] += v if k in ("closed", "shut_vowels", "per_curve", "rounding") else [v]
                bucket["clips"] += 1
    if channels:
        results["channels"] = heard
    if voices:
        for group, by_voice in revoiced_by.items():
            by_voice["as recorded"] = heard[group]["as recorded"]
        results["voices"] = revoiced_by
    return results


def _add_rs(into: dict, group: str, condition: str, scores: dict) -> None:
    """Each system's JawOpen r and mouth-curve r for one clip, under into[group][condition][system]."""
    for name, s in scores.items():
        one = into.setdefault(group, {}).setdefault(condition, {}).setdefault(name, {"jaw_r": [], "mouth_r": []})
        one["jaw_r"].append(s["jaw_r"])
        one["mouth_r"].append(s["mouth_r"])


def _predict_and_score(systems: dict, audio, ref, phones) -> dict:
    preds = {name: a.animate_canonical(audio).values for name, a in systems.items()}
    preds["loudness baseline (jaw = smoothed RMS)"] = loudness_baseline(audio, len(ref.labels))
    return {name: score(pred, ref, phones) for name, pred in preds.items()}


def markdown(results: dict, command: str) -> str:
    lines = ["# Evaluation: network vs phonetic engine vs loudness baseline", "",
             f"Command: `{command}` ({time.strftime('%Y-%m-%d')}). No system sees a transcript; neutral emotion; "
             "100 frames/s; blinks, gaze, head and accents off.", "",
             "- References: **silver labels** (the phonetic engine *with* the transcript, forced-aligned) for the "
             "held-out speech-en speakers, the **captured** mouth curves of the held-out FACEGOOD clip "
             "(only its valid jaw/mouth curves are scored), and **GRID s1 captured from video** by `emoface "
             "capture` for its held-out clips (every tenth by name; the mouth curves capture measures well are "
             "scored, closures against the aligned transcript; a real face, not the teacher's shapes).",
             f"- **JawOpen r**, **mouth curves r**: Pearson correlation per clip, averaged; mouth curves = "
             f"{', '.join(MOUTH)} (those the reference has).",
             "- **Velocity error**: mean |d(pred)/dt - d(ref)/dt| over those curves (units per second): jitter "
             "and sluggishness both raise it.",
             f"- **Lip closure**: share of the reference's p/b/m phones with lip gap < {CLOSED_GAP} at some frame.",
             "- **Lips shut on vowels**: share of vowel frames (more than 60 ms from any p/b/m) with the lips "
             "closed: what closing too often costs.",
             ""]
    heard = results.get("channels")
    for group, systems in ((g, s) for g, s in results.items() if g not in ("channels", "voices")):
        lines += [f"### {group}", "", "| system | clips | JawOpen r | mouth curves r (mean) | velocity error (/s) | "
                  "lip closure at p/b/m | lips shut on vowels |", "|---|---|---|---|---|---|---|"]
        for name, b in systems.items():
            closed = f"{100 * np.mean(b['closed']):.1f}% of {len(b['closed'])}" if b["closed"] else "-"
            shut, frames = np.sum(b["shut_vowels"], axis=0) if b["shut_vowels"] else (0, 0)
            shut = f"{100 * shut / frames:.1f}% of {frames}" if frames else "-"
            lines.append(f"| {name} | {b['clips']} | {np.mean(b['jaw_r']):.3f} | {np.mean(b['mouth_r']):.3f} | "
                         f"{np.mean(b['vel_err']):.3f} | {closed} | {shut} |")
        lines += ["", "Mean r per mouth curve (clips where the reference moves):", "",
                  "| system | " + " | ".join(MOUTH) + " |", "|---|" + "---|" * len(MOUTH)]
        for name, b in systems.items():
            cells = [np.mean([d[c] for d in b["per_curve"] if c in d]) if any(c in d for d in b["per_curve"])
                     else None for c in MOUTH]
            lines.append(f"| {name} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in cells) + " |")
        lines.append("")
        lines += rounding_markdown(systems)
    if heard:
        lines += channel_markdown(heard)
    if results.get("voices"):
        lines += voice_markdown(results["voices"])
    lines += ["How well `emoface capture` itself measures a face (rendered heads with known curves, GRID against its "
              "aligned transcripts): [CAPTURE.md](CAPTURE.md). Fine-tuning on one actor's captured takes, before "
              "and after: [FINETUNE.md](FINETUNE.md). The mouth in shouted, sobbed and whispered lines (RAVDESS's "
              "actors, eight emotions said normally and strongly): [EMOTIONAL_SPEECH.md](EMOTIONAL_SPEECH.md).", ""]
    return "\n".join(lines)


def rounding_markdown(systems: dict) -> list[str]:
    """The rounding table of one set: each system's and the reference's ROUNDING on rounded vs spread phones."""
    from emoface.capture.rounding import ROUNDED, SPREAD

    first = next(iter(systems.values()))["rounding"]
    if not first:
        return []
    rows = [("reference", np.mean([ref for _, ref in first], axis=0))]
    rows += [(name, np.mean([own for own, _ in b["rounding"]], axis=0)) for name, b in systems.items()]
    return [f"Rounding: mean over the {len(first)} clips that have both of each curve on the rounded phones "
            f"({' '.join(ROUNDED)}) / on the spread vowels ({' '.join(SPREAD)}):", "",
            "| system | " + " | ".join(f"{c} rounded / spread" for c in ROUNDING) + " |",
            "|---|" + "---|" * len(ROUNDING)] + \
        [f"| {name} | " + " | ".join(f"{r:.3f} / {s:.3f}" for r, s in m) + " |" for name, m in rows] + [""]


def voice_markdown(heard: dict) -> list[str]:
    """JawOpen r and mouth-curve r on GRID's held-out clips per system and voice."""
    lines = ["### In other voices", "",
             "GRID s1's held-out clips said by other voices, the face being the speaker's own (captured): the "
             "WORLD vocoder moves his pitch (a median of about 115 Hz) and his formants (the vocal tract's "
             "resonances) and keeps the timing. Every talker but GRID's is taught by the phonetic engine's shapes; "
             "what the network learnt from a real face must reach them too. JawOpen r / mouth curves r (mean):", ""]
    return lines + _condition_rows(heard, list(VOICES))


def _condition_rows(heard: dict, conditions: list[str]) -> list[str]:
    lines = ["| set | system | " + " | ".join(conditions) + " |", "|---|---|" + "---|" * len(conditions)]
    for group, by_condition in heard.items():
        for k, system in enumerate(by_condition["as recorded"]):
            cells = [f"{np.mean(by_condition[c][system]['jaw_r']):.3f} / "
                     f"{np.mean(by_condition[c][system]['mouth_r']):.3f}" for c in conditions]
            lines.append(f"| {group if k == 0 else ''} | {system} | " + " | ".join(cells) + " |")
    return lines + [""]


def channel_markdown(heard: dict) -> list[str]:
    """JawOpen r and mouth-curve r per held-out group, system and recording channel."""
    channels = list(CHANNELS)
    lines = ["### Through other recording channels", "",
             "The same held-out clips heard through other microphones and rooms before any system hears them "
             "(filters and the room keep the level; noise and talkers are mixed in below it, the talkers being "
             "the line itself reversed in time at three offsets: a voice's spectrum and rhythm without words): "
             + "; ".join(channels[1:]) + ". A line's face should not depend on the microphone or the room it was "
             "recorded in. JawOpen r / mouth curves r (mean), as above:", ""]
    return lines + _condition_rows(heard, channels)
