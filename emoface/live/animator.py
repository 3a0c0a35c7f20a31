"""The streaming animator: audio chunks in, finished frames out as soon as their look-ahead has arrived.

Same stages as a bake (emoface.animator), run incrementally: the network streams (emoface.model.stream),
its 100 Hz rows become frames at the stream's fps through the same code as batch, Savitzky-Golay smoothing
runs on a sliding window (it waits for half a window), then live blinks/gaze/head (emoface.live.idle),
clipping and the rig. With blinks, gaze and head off, the frames equal `emoface bake`'s.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_coeffs, savgol_filter

from emoface.animation import Animation, frame_count
from emoface.animator import Animator
from emoface.audio import SAMPLE_RATE
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.features import FRAME_RATE, N_FFT
from emoface.live.idle import LiveIdle
from emoface.model.infer import frames_from_rows
from emoface.model.stream import StreamingNet
from emoface.post.smoothing import SAVGOL_ORDER, savgol_window
from emoface.prosody import FLOOR_DB
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


class StreamingAnimator:
    """push(samples) -> new frames; finish() -> the rest. Frame i is the face at audio time i / fps."""

    def __init__(self, animator: Animator, emotion: EmotionTrack | None = None, rig=None):
        if animator.engine != "neural":
            raise ValueError("live streaming needs the neural engine (its look-ahead is bounded)")
        self.animator = animator
        self.model = animator._engine.model
        self.net = StreamingNet(self.model)
        self.fps = animator.fps
        self.rig = load_rig(rig) if rig is not None else animator._rig
        self.canon_rig = load_rig(CANONICAL_RIG)
        self.window = savgol_window(self.fps) if animator.smooth else 1
        self.half = self.window // 2
        self.coeffs = savgol_coeffs(self.window, SAVGOL_ORDER, use="dot") if self.window > SAVGOL_ORDER else None
        self.idle = LiveIdle(self.fps, animator.seed, animator.blinks, animator.gaze, animator.head)
        self.start_emotion = emotion or EmotionTrack.constant(parse_emotion("neutral"))
        self.reset()

    def reset(self) -> None:
        """Start a new line: the clock returns to 0."""
        self.net.reset()
        self.idle.reset()
        self.loudness = LiveLoudness()
        self.emotion = self.start_emotion
        self.samples_in = 0
        self.rows = np.zeros((0, len(self.model.config.out_names)), np.float32)
        self.rows_first = 0  # 100 Hz index of rows[0]
        self.raw = np.zeros((0, len(canonical_names())), np.float32)  # frames before smoothing
        self.raw_first = 0  # frame index of raw[0]
        self.n_raw = 0  # frames made before smoothing
        self.n_out = 0  # frames finished
        self.audio = np.zeros(0, np.float32)  # recent samples, for loudness
        self.audio_first = 0
        self.speaking = False  # the last finished frame was speech

    def warm_up(self) -> None:
        """Run the network once before the clock starts (the first pass allocates), then start afresh."""
        self.push(np.zeros(SAMPLE_RATE // 2, np.float32))
        self.reset()

    @property
    def time(self) -> float:
        """Audio received so far, in seconds: the stream's clock."""
        return self.samples_in / SAMPLE_RATE

    @property
    def latency_s(self) -> float:
        """Audio needed after a frame's time before the frame can leave (worst case, chunking aside)."""
        c = self.model.config
        return 1 / FRAME_RATE + c.lookahead / FRAME_RATE + (N_FFT / 2) / SAMPLE_RATE + self.half / self.fps

    def set_emotion(self, vec: np.ndarray) -> None:
        """Ease into a new emotion from now (audio time)."""
        self.emotion = self.emotion.then(self.time, vec)

    def push(self, samples: np.ndarray) -> Animation:
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.samples_in += len(samples)
        self.audio = np.concatenate([self.audio, samples])
        self._add_rows(self.net.push(samples, self.emotion.at))
        # frame i needs row ceil(i * 100 / fps)
        last_row = self.rows_first + len(self.rows) - 1
        n_ready = int(np.floor(last_row * self.fps / FRAME_RATE + 1e-9)) + 1 if last_row >= 0 else 0
        return self._advance(n_ready, final=False)

    def finish(self) -> Animation:
        """End of the line: the frames through the end of its audio (frame_count(duration, fps) in all)."""
        self._add_rows(self.net.flush(self.emotion.at))
        n_total = frame_count(self.samples_in / SAMPLE_RATE, self.fps)
        return self._advance(n_total, final=True)

    def _add_rows(self, rows: np.ndarray) -> None:
        if len(rows):
            self.rows = np.concatenate([self.rows, rows])

    def _advance(self, n_ready: int, final: bool) -> Animation:
        if n_ready > self.n_raw:
            times = np.arange(self.n_raw, n_ready) / self.fps
            row_times = np.arange(self.rows_first, self.rows_first + len(self.rows)) / FRAME_RATE
            new = frames_from_rows(self.model.config.out_names, self.rows, row_times, times, self.fps).values
            self.raw = np.concatenate([self.raw, new])
            self.n_raw = n_ready
            keep = min(len(self.rows), max(0, int(np.floor(self.n_raw / self.fps * FRAME_RATE)) - 1) - self.rows_first)
            if keep > 0 and not final:
                self.rows, self.rows_first = self.rows[keep:], self.rows_first + keep
        smoothed = self._smooth(final)
        out = Animation(canonical_names(), self.fps, smoothed, CANONICAL_RIG)
        if out.n_frames:
            first = self.n_out
            self.n_out += out.n_frames
            loud, speech = self._loudness(first, out.n_frames)
            self.speaking = bool(speech[-1])
            emotion = self.emotion.at(np.arange(first, self.n_out) / self.fps)
            self.idle.apply(out, first, emotion, loud, speech)
            out.values = self.canon_rig.clip(out.values)
        return retarget(out, self.rig)

    def _smooth(self, final: bool) -> np.ndarray:
        """Frames n_out.. that smoothing can finish now (the batch filter's result, edges included)."""
        w, h, R, r0 = self.window, self.half, self.raw, self.raw_first
        if self.coeffs is None:
            done = R[self.n_out - r0:]
        elif final and self.n_raw < w:  # too short to smooth: batch leaves it as it is
            done = R[self.n_out - r0:]
        elif self.n_raw < w:
            return R[:0]
        else:
            stop = self.n_raw if final else self.n_raw - h
            parts = []
            j = self.n_out
            if j < h:  # the start: the batch filter fits one polynomial to the first window
                head = savgol_filter(R[:w], w, SAVGOL_ORDER, axis=0, mode="interp")
                parts.append(head[j:min(h, stop)])
                j = min(h, stop)
            interior_stop = min(stop, self.n_raw - h)
            if j < interior_stop:
                idx = np.arange(j, interior_stop)[:, None] + np.arange(-h, h + 1)[None, :] - r0
                parts.append(np.einsum("k,nkc->nc", self.coeffs, R[idx]))
                j = interior_stop
            if final and j < stop:  # the end: one polynomial over the last window
                tail = savgol_filter(R[self.n_raw - w - r0:], w, SAVGOL_ORDER, axis=0, mode="interp")
                parts.append(tail[j - (self.n_raw - w):])
            done = np.concatenate(parts) if parts else R[:0]
        keep = max(0, self.n_out + len(done) - w) - r0
        if keep > 0:
            self.raw, self.raw_first = self.raw[keep:], r0 + keep
        return np.asarray(done, np.float32)

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

