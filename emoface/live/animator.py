"""Live animators: audio chunks in, finished frames out as soon as their look-ahead has arrived.

Same stages as a bake (emoface.animator), run incrementally: the network streams (emoface.model.stream),
its 100 Hz rows are smoothed as in batch (emoface.model.infer.RowSmoother, the network's row_half later) and
become frames at the stream's fps through the same code, are articulated about the network's silent face for
their emotion as a bake's are (emoface.articulation), then live blinks/gaze/head (emoface.live.idle), clipping
and the rig. With blinks, gaze and head off, the frames equal a bake's with the same network. Without
a network the phonetic engine runs on pieces cut at pauses (PhoneticStreamer): seconds behind, but alive.
"""

from __future__ import annotations

import numpy as np

from emoface.animation import Animation, frame_count
from emoface.animator import Animator
from emoface.articulation import articulate, check as check_articulation
from emoface.audio import SAMPLE_RATE, from_array, is_silent
from emoface.emotion import layer as emotion_layer
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.features import FRAME_RATE, N_FFT
from emoface.live.idle import LiveIdle
from emoface.model.infer import RowSmoother, frames_from_rows
from emoface.model.stream import StreamingNet
from emoface.prosody import FLOOR_DB, analyse
from emoface.rigs import CANONICAL_RIG, canonical_names, load_rig, retarget


class LiveLoudness:
    """Per-frame loudness 0..1 against a running speech level (batch uses the whole line's 95th percentile)."""

    def __init__(self):
        self.level = -30.0

    def step(self, window: np.ndarray) -> tuple[float, bool]:
        db = 10 * np.log10(np.mean(np.asarray(window, np.float64) ** 2) + 1e-10)
        if db > self.level:
            self.level += 0.1 * (db - self.level)
        elif db > self.level - 30.0:
            self.level -= 0.002 * (self.level - db)
        self.level = max(self.level, -60.0)
        loud = float(np.clip((db - (self.level + FLOOR_DB)) / -FLOOR_DB, 0.0, 1.0))
        return loud, bool(db > self.level - 30.0 and db > -60.0)


class LiveAnimator:
    """What every live engine shares: the audio clock, the emotion, live blinks/gaze/head, clipping, the rig.
    push(samples) -> new frames; finish() -> the rest. Frame i is the face at audio time i / fps."""

    IDLE_AFTER_S = 0.8  # `speaking` holds through pauses shorter than this (word gaps), so idle means idle
    ARTICULATION_EASE_S = 0.4  # a new articulation eases in over this much audio, as a new emotion does

    def __init__(self, animator: Animator, emotion: EmotionTrack | None = None, rig=None, seed: int | None = None):
        """seed: of blinks, gaze and head (default the animator's); characters on one server each have their own."""
        self.animator = animator
        self.fps = animator.fps
        self.rig = load_rig(rig) if rig is not None else animator._rig
        self.canon_rig = load_rig(CANONICAL_RIG)
        self.idle = LiveIdle(self.fps, animator.seed if seed is None else seed, animator.blinks, animator.gaze,
                             animator.head, animator.accents)
        self.start_emotion = emotion or EmotionTrack.constant(parse_emotion("neutral"))
        self.articulation = animator.articulation  # this character's: set_articulation changes it, not the animator's
        self.reset()

    def reset(self) -> None:
        """Start a new line: the clock returns to 0."""
        self.idle.reset()
        self.loudness = LiveLoudness()
        self.emotion = self.start_emotion
        self.samples_in = 0
        self.n_out = 0  # frames finished
        self.audio = np.zeros(0, np.float32)  # recent samples (loudness; the phonetic engine's segment)
        self.audio_first = 0
        self.last_speech = -10 ** 9  # the last finished frame that was speech
        self.speaking = False  # speech in the last IDLE_AFTER_S: starts at once, ends only at a real pause
        self._articulation_from, self._articulation_since = self.articulation, -np.inf  # a setting: it stays

    def warm_up(self) -> None:
        """Run the engine once before the clock starts (the first pass allocates, and its last small steps import
        scipy's erf: emoface.model.numpy_net), then start afresh."""
        self.push(np.zeros(SAMPLE_RATE, np.float32))
        self.finish()
        self.reset()

    @property
    def time(self) -> float:
        """Audio received so far, in seconds: the stream's clock."""
        return self.samples_in / SAMPLE_RATE

    def set_emotion(self, vec: np.ndarray) -> None:
        """Ease into a new emotion from now (audio time)."""
        self.emotion = self.emotion.then(self.time, vec)

    def set_articulation(self, amount: float) -> None:
        """Ease into a new articulation (0-2, emoface.articulation; ValueError outside it) from now (audio time):
        the frames still to come of audio already received keep the old one. Before a line's first audio, the
        whole line is at it."""
        amount = check_articulation(amount)
        start = float(self.articulation_at(np.array([self.time]))[0]) if self.samples_in else amount
        self._articulation_from, self._articulation_since, self.articulation = start, self.time, amount

    def articulation_at(self, times: np.ndarray) -> np.ndarray:
        """The articulation at audio times (s): the last one set, eased in over ARTICULATION_EASE_S."""
        a = np.clip((np.asarray(times, np.float64) - self._articulation_since) / self.ARTICULATION_EASE_S, 0.0, 1.0)
        eased = self._articulation_from + (self.articulation - self._articulation_from) * (a * a * (3 - 2 * a))
        return np.where(a >= 1.0, self.articulation, eased)  # exactly the setting once eased in

    def _articulate(self, out: Animation, times: np.ndarray) -> None:
        """The network's frames at `times` (canonical, in place) articulated as a bake articulates them: about
        the network's face in silence for each frame's emotion. Frames at 1 are not touched."""
        amounts = self.articulation_at(times)
        moving = amounts != 1.0
        if not out.n_frames or not moving.any():
            return
        part = Animation(out.names, out.fps, out.values[moving], out.rig)
        articulate(part, amounts[moving], self.animator._engine.rest(self.emotion.at(times[moving])))
        out.values[moving] = part.values

    def _receive(self, samples) -> np.ndarray:
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.samples_in += len(samples)
        self.audio = np.concatenate([self.audio, samples])
        return samples

    def _finish_frames(self, out: Animation) -> Animation:
        """Engine frames n_out.. (canonical) -> live blinks/gaze/head, clipped, on the rig."""
        if out.n_frames:
            first = self.n_out
            self.n_out += out.n_frames
            loud, speech = self._loudness(first, out.n_frames)
            if speech.any():
                self.last_speech = first + int(np.flatnonzero(speech)[-1])
            self.speaking = (self.n_out - 1 - self.last_speech) / self.fps < self.IDLE_AFTER_S
            self.idle.apply(out, first, self.emotion.at(np.arange(first, self.n_out) / self.fps), loud, speech)
            out.values = self.canon_rig.clip(out.values)  # non-finite values are stopped at the Frame (sinks)
        return retarget(out, self.rig)

    def _loudness(self, first: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        loud, speech = np.zeros(n, np.float32), np.zeros(n, bool)
        half = 200  # 25 ms window around the frame's time
        for j in range(n):
            c = int(round((first + j) / self.fps * SAMPLE_RATE)) - self.audio_first
            loud[j], speech[j] = self.loudness.step(self.audio[max(0, c - half): max(0, c + half)] if c > 0 else
                                                    np.zeros(1, np.float32))
        drop = int(round(self.n_out / self.fps * SAMPLE_RATE)) - half - self.audio_first
        if drop > 0:
            self.audio, self.audio_first = self.audio[drop:], self.audio_first + drop
        return loud, speech


class StreamingAnimator(LiveAnimator):
    """The network, streamed: frames leave latency_s after their audio time (look-ahead, smoothing and the STFT's
    half window: 306 ms for the default network, look-ahead 25 rows and row_half 3; 56 ms for the live one, 2 and
    1; the session's delay_s adds its lead, step and margin to these)."""

    def __init__(self, animator: Animator, emotion: EmotionTrack | None = None, rig=None, seed: int | None = None):
        if animator.engine != "neural":
            raise ValueError("StreamingAnimator runs the neural engine; PhoneticStreamer the phonetic one")
        self.model = animator._engine.model
        self.net = StreamingNet(self.model)
        super().__init__(animator, emotion, rig, seed)

    def reset(self) -> None:
        super().reset()
        self.net.reset()
        self.smoother = RowSmoother(len(self.model.config.out_names), self.model.config.row_half)
        self.rows = np.zeros((0, len(self.model.config.out_names)), np.float32)
        self.rows_first = 0  # 100 Hz index of rows[0]

    @property
    def latency_s(self) -> float:
        """Audio needed after a frame's time before the frame can leave (worst case, chunking aside)."""
        c = self.model.config
        return (1 + c.lookahead + c.row_half) / FRAME_RATE + (N_FFT / 2) / SAMPLE_RATE

    def push(self, samples: np.ndarray) -> Animation:
        self.feed(samples)
        return self.collect(self.net.run())

    def feed(self, samples: np.ndarray) -> None:
        """push's first half: the audio in, the network's input ready. A server with many characters runs their
        networks together (emoface.model.stream.run_together) and hands each its rows (collect)."""
        self.net.feed(self._receive(samples), self.emotion.at)

    def collect(self, rows: np.ndarray) -> Animation:
        """push's second half: the network's new rows -> the frames they complete."""
        self._add_rows(self.smoother.push(rows))
        # frame i needs row ceil(i * 100 / fps)
        last_row = self.rows_first + len(self.rows) - 1
        n_ready = int(np.floor(last_row * self.fps / FRAME_RATE + 1e-9)) + 1 if last_row >= 0 else 0
        return self._advance(n_ready, final=False)

    def finish(self) -> Animation:
        """End of the line: the frames through the end of its audio (frame_count(duration, fps) in all)."""
        self._add_rows(self.smoother.push(self.net.flush(self.emotion.at), final=True))
        n_total = frame_count(self.samples_in / SAMPLE_RATE, self.fps)
        return self._advance(n_total, final=True)

    def _add_rows(self, rows: np.ndarray) -> None:
        if len(rows):
            self.rows = np.concatenate([self.rows, rows])

    def _advance(self, n_ready: int, final: bool) -> Animation:
        out = Animation.zeros(canonical_names(), self.fps, 0, CANONICAL_RIG)
        if n_ready > self.n_out:
            first = self.n_out
            times = np.arange(first, n_ready) / self.fps
            row_times = np.arange(self.rows_first, self.rows_first + len(self.rows)) / FRAME_RATE
            out = frames_from_rows(self.model.config.out_names, self.rows, row_times, times, self.fps)
            self._articulate(out, times)
            keep = min(len(self.rows), int(np.floor(n_ready / self.fps * FRAME_RATE)) - 1 - self.rows_first)
            if keep > 0 and not final:  # rows the next frames no longer need
                self.rows, self.rows_first = self.rows[keep:], self.rows_first + keep
        return self._finish_frames(out)



class PhoneticStreamer(LiveAnimator):
    """The phonetic engine live, for when there is no network: its phone loop needs a stretch of speech, so
    the stream is cut at pauses (at most every SEGMENT_S) and each piece is animated whole with the batch
    engine (at the articulation set when the piece is cut: no ease). Frames leave about SEGMENT_S + processing
    after their audio (the network: 0.12 s)."""

    SEGMENT_S, PAUSE_S, MIN_S = 2.0, 0.25, 0.6

    def __init__(self, animator: Animator, emotion: EmotionTrack | None = None, rig=None, seed: int | None = None):
        if animator.engine != "phonetic":
            raise ValueError("PhoneticStreamer runs the phonetic engine")
        self.batch = Animator(engine="phonetic", fps=animator.fps, blinks=False, gaze=False, head=False, accents=False,
                              smooth=animator.smooth, recognizer=animator.recognizer)
        super().__init__(animator, emotion, rig, seed)

    @property
    def latency_s(self) -> float:
        return self.SEGMENT_S + 0.4  # the longest piece, and the phone loop's time on it

    def push(self, samples: np.ndarray) -> Animation:
        self._receive(samples)
        start = int(round(self.n_out / self.fps * SAMPLE_RATE))
        have = self.samples_in - start
        cut = None
        if have >= self.SEGMENT_S * SAMPLE_RATE:
            cut = start + int(self.SEGMENT_S * SAMPLE_RATE)
        elif have >= self.MIN_S * SAMPLE_RATE:
            tail = self.audio[len(self.audio) - int(self.PAUSE_S * SAMPLE_RATE):]
            db = 10 * np.log10(np.mean(tail.astype(np.float64) ** 2) + 1e-10)
            if db < self.loudness.level - 25.0:  # a pause: cut in its middle, between words
                cut = self.samples_in - int(self.PAUSE_S / 2 * SAMPLE_RATE)
        if cut is None:
            return self._finish_frames(Animation.zeros(canonical_names(), self.fps, 0, CANONICAL_RIG))
        return self._animate(int(np.floor(cut / SAMPLE_RATE * self.fps + 1e-9)))

    def finish(self) -> Animation:
        return self._animate(frame_count(self.samples_in / SAMPLE_RATE, self.fps), final=True)

    def _animate(self, k1: int, final: bool = False) -> Animation:
        """Frames n_out .. k1 - 1 from the audio between their times, animated as one line."""
        n = k1 - self.n_out
        vals = np.zeros((max(n, 0), len(canonical_names())), np.float32)
        s0 = int(round(self.n_out / self.fps * SAMPLE_RATE)) - self.audio_first
        s1 = len(self.audio) if final else int(round(k1 / self.fps * SAMPLE_RATE)) - self.audio_first
        piece = self.audio[max(0, s0): s1]
        t0 = self.n_out / self.fps
        if n > 0 and not is_silent(piece):
            track = self.emotion.shifted(t0)
            anim = self.batch.animate_canonical(from_array(piece, SAMPLE_RATE, "live"), track,
                                                articulation=self.articulation).values[:n]
            vals[: len(anim)] = anim
            vals[len(anim):] = anim[-1] if len(anim) else 0
        elif n > 0:  # silence: the rest pose with the emotion's expression (no phone recognition to run)
            rest = Animation(canonical_names(), self.fps, vals, CANONICAL_RIG)
            weights = self.emotion.at(t0 + np.arange(n) / self.fps)
            vals = emotion_layer.apply(rest, weights, analyse(np.zeros(max(1, len(piece)), np.float32), n,
                                                              self.fps)).values
        # the live loudness also feeds on these frames (head nods, blinks at pauses)
        return self._finish_frames(Animation(canonical_names(), self.fps, vals, CANONICAL_RIG))
