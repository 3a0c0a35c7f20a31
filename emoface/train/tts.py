"""espeak-ng speech with exact phoneme timing (its C API's phoneme events), for silver-label training data.

Unlike forced alignment, the phone boundaries here are the synthesiser's own: exact by construction.
Voices, rates and pitches vary so the network hears many (synthetic) speakers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

import numpy as np
import soxr

from emoface.phonetic.recognize import Phone, ipa_to_arpabet

AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS, INIT_PHONEME_IPA = 0x1, 0x2
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_END, EVENT_PHONEME = 0, 1, 5, 7
RATE, PITCH, RANGE = 1, 3, 4
POS_CHARACTER, CHARS_UTF8 = 1, 1
VOICES = ["en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc"]
VARIANTS = ["", "+f1", "+f2", "+f3", "+f4", "+m1", "+m2", "+m3", "+m4", "+m5", "+m7"]


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Espeak:
    def __init__(self):
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        self.lib = ctypes.CDLL(name)
        self.rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                               INIT_PHONEME_EVENTS | INIT_PHONEME_IPA)
        if self.rate <= 0:
            raise RuntimeError("espeak-ng did not initialise")
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, str]] = []
        self._cb = _CALLBACK(self._on_synth)  # keep a reference: the library calls back into it
        self.lib.espeak_SetSynthCallback(self._cb)

    def _on_synth(self, wav, n, events):
        if n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            if events[i].type == EVENT_PHONEME:
                self.events.append((events[i].audio_position, events[i].id.string.decode("utf-8", "replace")))
            i += 1
        return 0

    def say(self, text: str, voice: str, rate: int, pitch: int):
        self.chunks, self.events = [], []
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        self.lib.espeak_SetParameter(RATE, rate, 0)
        self.lib.espeak_SetParameter(PITCH, pitch, 0)
        data = text.encode("utf-8") + b"\0"
        self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        return audio, list(self.events)


@lru_cache(maxsize=1)
def _engine() -> _Espeak:
    return _Espeak()


def synthesize(text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50) -> tuple[np.ndarray, list[Phone]]:
    """16 kHz audio and its phones (ARPAbet), timed by the synthesiser."""
    eng = _engine()
    audio, events = eng.say(text, voice, rate, pitch)
    audio = soxr.resample(audio, eng.rate, 16000).astype(np.float32)
    duration = len(audio) / 16000
    phones: list[Phone] = []
    for k, (ms, ipa) in enumerate(events):
        start = ms / 1000.0
        end = events[k + 1][0] / 1000.0 if k + 1 < len(events) else duration
        arpa = ipa_to_arpabet(ipa) if ipa.strip() else []
        if end <= start:
            continue
        if not arpa:  # pauses and stress marks: silence
            phones.append(Phone("SIL", start, end))
            continue
        step = (end - start) / len(arpa)  # a diphthong or affricate written as one event
        phones += [Phone(p, start + i * step, start + (i + 1) * step) for i, p in enumerate(arpa)]
    return audio, phones
