"""Engines turn audio into canonical curves. The phonetic engine is the first; the network plugs in here."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from emoface.animation import Animation
from emoface.audio import Audio
from emoface.emotion.spec import EmotionTrack
from emoface.prosody import Prosody

log = logging.getLogger("emoface")
SILENT_FACES = 4096  # emotions whose silent face NeuralEngine.rest keeps (~1 MB)


class PhoneticEngine:
    """pocketsphinx phones (aligned to a transcript when one is given) -> visemes with coarticulation."""

    name = "phonetic"
    handles_emotion = False  # the emotion layer adds expression and changes articulation afterwards
    smooths = False  # the animator's Savitzky-Golay smooths its curves

    def __init__(self, recognizer: str = "loop"):
        from emoface.phonetic.recognize import RECOGNIZERS

        if recognizer not in RECOGNIZERS:
            raise ValueError(f"unknown recognizer {recognizer!r} (choose from {', '.join(RECOGNIZERS)})")
        self.recognizer = recognizer

    def run(self, audio: Audio, prosody: Prosody, n_frames: int, fps: float, text: str | None,
            emotion: EmotionTrack) -> Animation:
        from emoface.phonetic.animate import animate
        from emoface.phonetic.recognize import timed_phones

        phones, how, measures = ([], "silent", None) if audio.is_silent else timed_phones(
            audio.samples, text, audio.source, self.recognizer)
        anim = animate(phones, prosody, n_frames, fps)
        anim.metadata["phoneme_source"] = how
        if measures is not None:
            anim.metadata["alignment"] = measures
        anim.metadata["phonemes"] = [[p.name, round(p.start, 3), round(p.end, 3)] for p in phones]
        return anim


class NeuralEngine:
    """The trained network (checkpoints/): log-mel + emotion track -> canonical face curves, any fps out.

    With a transcript, the line is also force-aligned and p/b/m closures are enforced on the network's
    lips, so baked dialogue keeps exact closures.
    """

    name = "neural"
    handles_emotion = True
    smooths = True  # the network's rows are smoothed in emoface.model.infer; no Savitzky-Golay on top

    def __init__(self, checkpoint=None, recognizer: str = "loop", speech_encoder=None):
        from emoface.model import checkpoints

        self.model = checkpoints.load_network(checkpoint, speech_encoder)
        self.checkpoint = str(checkpoint or checkpoints.DEFAULT)
        self._silent: dict[tuple, np.ndarray] = {}  # emotion (rounded) -> the network's face for it in silence

    def rest(self, weights: np.ndarray) -> np.ndarray:
        """The network's face in silence for each frame's emotion ([frames, 7] -> [frames, canonical curves]):
        the centre articulation scales speech about. Each emotion (weights rounded to 0.05) is run once, on a
        short silent stretch, and kept: a live character pays for it once per emotion it shows."""
        from emoface.model.infer import silent_face

        steps = np.round(np.asarray(weights, np.float64) * 20).astype(np.int64)
        distinct, which = np.unique(steps, axis=0, return_inverse=True)
        faces = []
        for row in distinct:
            key = tuple(row.tolist())
            if key not in self._silent:
                if len(self._silent) >= SILENT_FACES:  # a server up for weeks meets every blend: start afresh
                    self._silent.clear()
                self._silent[key] = silent_face(self.model, row.astype(np.float32) / 20)
            faces.append(self._silent[key])
        return np.stack(faces)[np.ravel(which)]

    def run(self, audio: Audio, prosody: Prosody, n_frames: int, fps: float, text: str | None,
            emotion: EmotionTrack) -> Animation:
        from emoface.model.infer import predict
        from emoface.phonetic.animate import close_bilabials
        from emoface.phonetic.long_align import aligned_phones
        from emoface.phonetic.recognize import checked_align

        anim = predict(self.model, audio.samples, emotion, n_frames, fps)
        anim.metadata["checkpoint"] = Path(self.checkpoint).name
        anim.metadata["phoneme_source"] = "network"
        if text and text.strip() and audio.samples.any():  # a quiet line aligns too (-64 dBFS did)
            try:
                phones, measures = checked_align(audio.samples, text, audio.source)
            except RuntimeError as exc:
                log.warning("%s: forced alignment failed (%s); using the network alone", audio.source, exc)
                anim.metadata["transcript_rejected"] = str(exc)
            else:
                close_bilabials(anim, aligned_phones(phones, measures))  # the phone loop's p/b/m are not sure
                anim.metadata["phoneme_source"] = "aligned"
                anim.metadata["alignment"] = measures
                anim.metadata["phonemes"] = [[p.name, round(p.start, 3), round(p.end, 3)] for p in phones]
        return anim


ENGINES = {"phonetic": PhoneticEngine, "neural": NeuralEngine}
DEFAULT_ENGINE = "neural"


def get_engine(name: str, **options):
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r} (available: {', '.join(ENGINES)})")
    if name != "neural":
        options.pop("checkpoint", None)
        options.pop("speech_encoder", None)
    return ENGINES[name](**options)
