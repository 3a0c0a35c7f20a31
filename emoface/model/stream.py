"""Streaming inference: audio arrives in chunks, curves leave as soon as their look-ahead has arrived.

Gives the same numbers as the batch pass (emoface.model.infer): a mel frame is computed once the 25 ms
window around it is complete (the batch STFT's zero padding at the start is reproduced), and each output
frame is computed from a window holding its full receptive field and look-ahead, so the network's own
edge padding never reaches it. Latency = look-ahead (60 ms) + half an STFT window (12.5 ms) + chunking.
"""

from __future__ import annotations

import numpy as np
import torch

from emoface.features import FRAME_RATE, HOP, N_FFT, WIN, _mel_basis, _window

_PAD = N_FFT // 2  # batch STFT centres frame k on sample k * HOP


class StreamingNet:
    def __init__(self, model):
        if model.backbone is not None:
            raise ValueError("a pretrained backbone hears the whole line: it cannot stream")
        self.model = model
        c = model.config
        self.past, self.ahead = c.receptive_past, c.lookahead
        self.reset()

    def reset(self) -> None:
        self.audio = np.zeros(_PAD, np.float32)  # the batch STFT's left zero padding
        self.audio_start = -_PAD  # sample index of self.audio[0]
        self.mel = np.zeros((0, self.model.config.n_mels), np.float32)
        self.weights = np.zeros((0, 7), np.float32)
        self.mel_start = 0  # frame index of self.mel[0]
        self.n_mel = 0  # mel frames computed so far
        self.n_out = 0  # output frames emitted so far

    def _new_mel(self, k_last: int | None = None) -> None:
        """Compute every mel frame whose window is complete (up to frame k_last)."""
        end = self.audio_start + len(self.audio)
        if k_last is None:
            k_last = (end - (N_FFT - _PAD)) // HOP  # frame k spans samples k*HOP - 256 .. k*HOP + 256
        if k_last < self.n_mel:
            return
        lo = self.n_mel * HOP - _PAD - self.audio_start
        seg = torch.from_numpy(self.audio[lo: (k_last * HOP + N_FFT - _PAD) - self.audio_start])
        spec = torch.stft(seg, N_FFT, HOP, WIN, _window(), center=False, return_complex=True)
        mel = torch.log(torch.matmul(_mel_basis(), spec.abs() ** 2) + 1e-6).T.numpy()
        self.mel = np.concatenate([self.mel, mel])
        self.n_mel += len(mel)

    def push(self, samples: np.ndarray, weights) -> np.ndarray:
        """Add audio (16 kHz float) with the emotion in force: a 7-vector, or a function of frame times (s)
        giving one per frame (an EmotionTrack's `at`). Returns the new 100 Hz outputs."""
        self.audio = np.concatenate([self.audio, np.asarray(samples, np.float32)])
        before = self.n_mel
        self._new_mel()
        self._add_weights(weights, before)
        return self._emit(self.n_mel - 1 - self.ahead)

    def _add_weights(self, weights, before: int) -> None:
        if callable(weights):
            new = weights(np.arange(before, self.n_mel) / FRAME_RATE)
        else:
            new = np.repeat(np.asarray(weights, np.float32)[None], self.n_mel - before, 0)
        self.weights = np.concatenate([self.weights, np.asarray(new, np.float32).reshape(-1, 7)])

    def flush(self, weights=None) -> np.ndarray:
        """End of audio: the last frames, with the batch pass's zero padding as their look-ahead."""
        n = self.audio_start + len(self.audio)
        before = self.n_mel
        self.audio = np.concatenate([self.audio, np.zeros(N_FFT - _PAD, np.float32)])
        self._new_mel(k_last=n // HOP)  # the batch STFT's last frame
        if weights is None:
            weights = self.weights[-1] if len(self.weights) else np.zeros(7, np.float32)
        self._add_weights(weights, before)
        return self._emit(self.n_mel - 1, final=True)

    @torch.inference_mode()
    def _emit(self, last: int, final: bool = False) -> np.ndarray:
        if last < self.n_out:
            return np.zeros((0, len(self.model.config.out_names)), np.float32)
        lo = max(0, self.n_out - self.past)
        hi = self.n_mel if final else last + self.ahead + 1
        a, b = lo - self.mel_start, hi - self.mel_start
        out = self.model(torch.from_numpy(self.mel[a:b])[None], torch.from_numpy(self.weights[a:b])[None])[0]
        result = out[self.n_out - lo: last - lo + 1].numpy()
        self.n_out = last + 1
        self._trim()
        return result

    def _trim(self) -> None:
        """Keep only what future frames can still need."""
        keep_from = max(0, self.n_out - self.past - 1)
        drop = keep_from - self.mel_start
        if drop > 0:
            self.mel, self.weights = self.mel[drop:], self.weights[drop:]
            self.mel_start = keep_from
        need = self.n_mel * HOP - _PAD - self.audio_start  # the next frame's first sample
        if need > 0:
            self.audio = self.audio[need:]
            self.audio_start += need
