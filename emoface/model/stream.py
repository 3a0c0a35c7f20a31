"""Streaming inference: audio arrives in chunks, curves leave as soon as their look-ahead has arrived.

Gives the same numbers as the batch pass (emoface.model.infer): a mel frame is computed once the 25 ms
window around it is complete (the batch STFT's zero padding at the start is reproduced), and every layer
runs incrementally with the batch pass's zero padding at both ends, computing only the frames its input now
allows. Latency = look-ahead (60 ms) + half an STFT window (16 ms) + chunking.
"""

from __future__ import annotations

import numpy as np
import torch

from emoface.features import FRAME_RATE, HOP, N_FFT, WIN, _mel_basis, _window

_PAD = N_FFT // 2  # batch STFT centres frame k on sample k * HOP


class _ConvStream:
    """One padded convolution run incrementally: its input arrives a few frames at a time, and output t is
    computed once input t + look-ahead has arrived (at the end, from the batch pass's zero padding)."""

    def __init__(self, conv, channels: int):
        self.left, self.ahead = conv.pad
        # the convolution as one matrix product over the kernel's taps: a step is a frame or two, where conv1d's
        # set-up costs several times the arithmetic (the same sums, to float rounding)
        c = conv.conv
        self.taps, self.dilation = c.kernel_size[0], c.dilation[0]
        self.weight = c.weight.detach().permute(0, 2, 1).reshape(c.out_channels, -1).contiguous()
        self.bias = c.bias.detach()[:, None]
        self.buf = torch.zeros(channels, self.left)  # the batch pass's left zero padding
        self.first = -self.left  # frame index of buf[:, 0]
        self.n_in = self.n_out = 0

    def add(self, x: torch.Tensor) -> None:  # x [c, k]
        self.buf = torch.cat([self.buf, x], dim=1)
        self.n_in += x.shape[1]

    def step(self, final: bool):
        """(conv output, the inputs at the same frames, first frame index) for every output now possible."""
        m = self.n_in if final else self.n_in - self.ahead
        if m <= self.n_out:
            return None
        t0 = self.n_out
        seg = self.buf[:, t0 - self.left - self.first: m + self.ahead - self.first]
        missing = (m - t0) + self.left + self.ahead - seg.shape[1]
        if missing > 0:  # end of stream: the right zero padding
            seg = torch.cat([seg, seg.new_zeros(seg.shape[0], missing)], dim=1)
        n = m - t0
        y = torch.addmm(self.bias, self.weight,
                        torch.cat([seg[:, k * self.dilation: k * self.dilation + n] for k in range(self.taps)]))
        centre = self.buf[:, t0 - self.first: m - self.first]
        self.n_out = m
        keep = m - self.left - self.first
        self.buf, self.first = self.buf[:, keep:], self.first + keep
        return y, centre, t0


class StreamingNet:
    """Each layer keeps the few frames its kernel still needs and computes only new frames, so a 60 fps
    step costs a couple of frames per layer instead of the whole receptive field."""

    def __init__(self, model):
        if model.backbone is not None:
            raise ValueError("a pretrained backbone hears the whole line: it cannot stream")
        self.model = model
        self.reset()

    def reset(self) -> None:
        c = self.model.config
        self.audio = np.zeros(_PAD, np.float32)  # the batch STFT's left zero padding
        self.audio_start = -_PAD  # sample index of self.audio[0]
        self.n_mel = 0  # mel frames computed so far
        self.n_out = 0  # output frames emitted so far
        self.weights = np.zeros((0, 7), np.float32)  # emotion weights per mel frame (for flush)
        self.layers = [_ConvStream(self.model.stem, c.n_mels)] + \
            [_ConvStream(block.conv, c.channels) for block in self.model.blocks]
        self.emo = torch.zeros(0, c.emotion_dim)  # emotion embedding per frame from emo_first
        self.emo_first = 0

    def _new_mel(self, k_last: int | None = None) -> np.ndarray:
        """Every mel frame whose window is complete (up to frame k_last)."""
        end = self.audio_start + len(self.audio)
        if k_last is None:
            k_last = (end - (N_FFT - _PAD)) // HOP  # frame k spans samples k*HOP - 256 .. k*HOP + 256
        if k_last < self.n_mel:
            return np.zeros((0, self.model.config.n_mels), np.float32)
        lo = self.n_mel * HOP - _PAD - self.audio_start
        seg = torch.from_numpy(self.audio[lo: (k_last * HOP + N_FFT - _PAD) - self.audio_start])
        spec = torch.stft(seg, N_FFT, HOP, WIN, _window(), center=False, return_complex=True)
        mel = torch.log(torch.matmul(_mel_basis(), spec.abs() ** 2) + 1e-6).T.numpy()
        self.n_mel += len(mel)
        need = self.n_mel * HOP - _PAD - self.audio_start  # the next frame's first sample
        if need > 0:
            self.audio, self.audio_start = self.audio[need:], self.audio_start + need
        return mel

    def push(self, samples: np.ndarray, weights) -> np.ndarray:
        """Add audio (16 kHz float) with the emotion in force: a 7-vector, or a function of frame times (s)
        giving one per frame (an EmotionTrack's `at`). Returns the new 100 Hz outputs."""
        self.audio = np.concatenate([self.audio, np.asarray(samples, np.float32)])
        before = self.n_mel
        mel = self._new_mel()
        return self._run(mel, self._weights(weights, before), final=False)

    def flush(self, weights=None) -> np.ndarray:
        """End of audio: the last frames, with the batch pass's zero padding as their look-ahead."""
        n = self.audio_start + len(self.audio)
        before = self.n_mel
        self.audio = np.concatenate([self.audio, np.zeros(N_FFT - _PAD, np.float32)])
        mel = self._new_mel(k_last=n // HOP)  # the batch STFT's last frame
        if weights is None:
            weights = self.weights[-1] if len(self.weights) else np.zeros(7, np.float32)
        return self._run(mel, self._weights(weights, before), final=True)

    def _weights(self, weights, before: int) -> np.ndarray:
        if callable(weights):
            new = weights(np.arange(before, self.n_mel) / FRAME_RATE)
        else:
            new = np.repeat(np.asarray(weights, np.float32)[None], self.n_mel - before, 0)
        new = np.asarray(new, np.float32).reshape(-1, 7)
        self.weights = new[-1:] if len(new) else self.weights
        return new

    @torch.inference_mode()
    def _run(self, mel: np.ndarray, weights: np.ndarray, final: bool) -> np.ndarray:
        model = self.model
        if len(mel):
            self.layers[0].add(model.normalize(torch.from_numpy(mel)).T)
            self.emo = torch.cat([self.emo, model.embed_emotion(torch.from_numpy(weights))])
        out = self.layers[0].step(final)
        if out is not None:
            self.layers[1].add(out[0])
        rows = np.zeros((0, len(model.config.out_names)), np.float32)
        for block, layer, nxt in zip(model.blocks, self.layers[1:], self.layers[2:] + [None]):
            out = layer.step(final)
            if out is None:
                break
            y, centre, t0 = out
            emo = self.emo[t0 - self.emo_first: t0 - self.emo_first + y.shape[1]]
            h = block.finish(centre[None], y[None], emo[None])[0]
            if nxt is not None:
                nxt.add(h)
            else:
                rows = model.decode(h.T[None])[0].numpy()
                self.n_out += len(rows)
        drop = min(layer.n_out for layer in self.layers[1:]) - self.emo_first  # no block needs these any more
        if drop > 0:
            self.emo, self.emo_first = self.emo[drop:], self.emo_first + drop
        return rows
