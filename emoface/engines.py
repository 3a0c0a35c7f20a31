"""Engines turn audio into canonical curves. The phonetic engine is the first; the network plugs in here."""

from __future__ import annotations

from emoface.animation import Animation
from emoface.audio import Audio
from emoface.prosody import Prosody


class PhoneticEngine:
    """pocketsphinx phones (aligned to a transcript when one is given) -> visemes with coarticulation."""

    name = "phonetic"
    handles_emotion = False  # the emotion layer adds expression and changes articulation afterwards

    def __init__(self, recognizer: str = "loop"):
        from emoface.phonetic.recognize import RECOGNIZERS

        if recognizer not in RECOGNIZERS:
            raise ValueError(f"unknown recognizer {recognizer!r} (choose from {', '.join(RECOGNIZERS)})")
        self.recognizer = recognizer

    def run(self, audio: Audio, prosody: Prosody, n_frames: int, fps: float, text: str | None) -> Animation:
        from emoface.phonetic.animate import animate
        from emoface.phonetic.recognize import timed_phones

        phones, how = ([], "silent") if audio.is_silent else timed_phones(audio.samples, text, audio.source,
                                                                                  self.recognizer)
        anim = animate(phones, prosody, n_frames, fps)
        anim.metadata["phoneme_source"] = how
        anim.metadata["phonemes"] = [[p.name, round(p.start, 3), round(p.end, 3)] for p in phones]
        return anim


ENGINES = {"phonetic": PhoneticEngine}


def get_engine(name: str, **options):
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r} (available: {', '.join(ENGINES)})")
    return ENGINES[name](**options)
