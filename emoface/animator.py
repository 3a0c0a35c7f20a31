"""The Animator composes the stages once; the CLI (and later the live server and renderer) call it.

audio -> prosody -> engine (canonical curves) -> emotion layer -> articulation -> smoothing -> head, accents, gaze,
blinks -> rig
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from emoface import __version__
from emoface.animation import Animation, frame_count
from emoface.articulation import articulate, check as check_articulation
from emoface.audio import SILENCE_PEAK, Audio
from emoface.emotion import layer as emotion_layer
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.engines import DEFAULT_ENGINE, get_engine
from emoface.post import accents, blinks, gaze, head, smoothing
from emoface.prosody import analyse
from emoface.rigs import CANONICAL_RIG, canonical_names, load_rig, retarget

log = logging.getLogger("emoface")


@dataclass
class Animator:
    engine: str = DEFAULT_ENGINE
    rig: str = CANONICAL_RIG
    fps: float = 60.0
    seed: int = 0
    blinks: bool = True
    gaze: bool = True
    head: bool = True
    accents: bool = True  # brows and lids on accented syllables, the tongue on TH (emoface.post.accents)
    smooth: bool = True
    recognizer: str = "loop"  # phonetic engine without a transcript: phone loop, or words then alignment
    checkpoint: str | None = None  # neural engine: None = the shipped default
    speech_encoder: str | None = None  # neural engine: local directory of the checkpoint's backbone, if any
    articulation: float = 1.0  # how far the mouth moves for speech, 0-2 (emoface.articulation); a line may differ

    def __post_init__(self):
        if not 1 <= self.fps <= 240:
            raise ValueError(f"fps {self.fps} is outside 1-240")
        self.articulation = check_articulation(self.articulation)
        self._engine = get_engine(self.engine, recognizer=self.recognizer, checkpoint=self.checkpoint,
                                  speech_encoder=self.speech_encoder)
        self._rig = load_rig(self.rig)

    def animate(self, audio: Audio, emotion: EmotionTrack | None = None, text: str | None = None,
                articulation: float | None = None) -> Animation:
        """One line of speech -> an Animation on this animator's rig (articulation: this line's, if not the
        animator's)."""
        anim = retarget(self.animate_canonical(audio, emotion, text, articulation), self._rig)
        return accents.tongue_tip(anim) if self.accents else anim

    def animate_canonical(self, audio: Audio, emotion=None, text=None, articulation: float | None = None) -> Animation:
        emotion = emotion or EmotionTrack.constant(parse_emotion("neutral"))
        n = frame_count(audio.duration, self.fps)
        prosody = analyse(audio.samples, n, self.fps)
        weights = emotion.weights(n, self.fps)

        anim = self._engine.run(audio, prosody, n, self.fps, text, emotion)
        if audio.is_silent:
            self._say_silent(audio, anim, text)
        if not self._engine.handles_emotion:
            anim = emotion_layer.apply(anim, weights, prosody)
        amount = self.articulation if articulation is None else check_articulation(articulation)
        if amount != 1.0:
            articulate(anim, amount, self.emotion_face(weights, prosody))
            anim.metadata["articulation"] = amount
        if self.smooth and not self._engine.smooths:
            anim = smoothing.savgol(anim)

        anim = self._post(anim, prosody, weights)
        anim.values = load_rig(CANONICAL_RIG).clip(anim.values)
        anim.metadata = {
            "source": audio.source,  # as given; source_abs finds the audio from anywhere (render, plot)
            **({"source_abs": os.path.abspath(audio.source)} if os.path.isfile(audio.source) else {}),
            "emotion": emotion.summary(), "seed": self.seed, "engine": self.engine,
            "version": __version__, "duration_s": round(audio.duration, 6), **anim.metadata,
        }
        return anim

    def emotion_face(self, weights: np.ndarray, prosody) -> np.ndarray:
        """The face the emotion alone makes at each frame, no speech ([frames, canonical curves]): what
        articulation scales the speech about. The network's own face for it in silence, or the emotion layer
        on the rest pose (breathing with this line's voice, as the layer does)."""
        if self._engine.handles_emotion:
            return self._engine.rest(weights)
        rest = Animation.zeros(canonical_names(), self.fps, len(weights), CANONICAL_RIG)
        return emotion_layer.apply(rest, weights, prosody).values

    @staticmethod
    def _say_silent(audio: Audio, anim: Animation, text: str | None) -> None:
        """A line under SILENCE_PEAK: say what was written. The network animates a quiet line as speech (its
        features reach far below -60 dBFS); the phonetic engine writes an idle face. Neither aligns a transcript
        there: the warning and the metadata's transcript_rejected say so, rather than dropping it unsaid."""
        peak = max(float(np.max(np.abs(audio.samples), initial=0.0)), 0.0)
        level = f"peak {20 * np.log10(peak):.1f} dBFS" if peak > 0 else "no signal"
        animated = peak > 0 and anim.metadata.get("phoneme_source") not in ("silent", None)
        said = (f"audio is very quiet ({level}); animating it as speech" if animated
                else f"audio is silent ({level}); writing an idle animation")
        if text and text.strip() and anim.metadata.get("phoneme_source") != "aligned":
            why = f"audio below {20 * np.log10(SILENCE_PEAK):.0f} dBFS ({level}) is not aligned to a transcript"
            anim.metadata.setdefault("transcript_rejected", why)
            said += "; its transcript is not used"
        log.warning("%s: %s", audio.source, said)

    def _post(self, anim: Animation, prosody, weights: np.ndarray) -> Animation:
        """Head, accents, gaze, then blinks (which like to land on the gaze shifts and speech pauses)."""
        n = anim.n_frames
        head_rng, gaze_rng, blink_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(3))
        # the syllables the head nods on are the ones the brows accent: found once
        stressed = head.stressed_syllables(prosody, anim.fps) if self.head or self.accents else None
        if self.head:
            anim = head.apply(anim, prosody, weights, head_rng, stressed)
        if self.accents:
            anim = accents.apply(anim, prosody, weights, stressed)
            if self._engine.handles_emotion:  # the emotion layer already breathes with the voice
                anim = accents.breathe(anim, prosody, weights)
        shifts = np.zeros(0, int)
        if self.gaze:
            yaw, pitch, shifts = gaze.plan(n, self.fps, weights, gaze_rng)
            anim = gaze.write(anim, yaw, pitch)
        if self.blinks:
            pauses = np.flatnonzero(np.diff(prosody.speech.astype(int)) == -1) + 1  # speech -> pause
            anchors = np.sort(np.concatenate([pauses, shifts])) / self.fps
            plan = blinks.plan(n, self.fps, weights, anchors, blink_rng)
            anim = blinks.write(anim, blinks.openness(plan, n, self.fps), weights)
        elif blinks.droop(weights).any():  # the emotion's heavy lids are expression, not blinking
            anim = blinks.write(anim, np.ones(n), weights)
        return anim
