"""Streaming inference: audio arrives in chunks, curves leave as soon as their look-ahead has arrived.

Gives the same numbers as the batch pass (emoface.model.infer): a mel frame is computed once the 25 ms
window around it is complete (the batch STFT's zero padding at the start is reproduced), and every layer
runs incrementally with the batch pass's zero padding at both ends, computing only the frames its input now
allows. Latency = look-ahead (60 ms) + half an STFT window (16 ms) + chunking.
"""

from __future__ import annotations

import numpy as np

from emoface.features import FRAME_RATE, HOP, N_FFT, mel_of_windows
from emoface.model.numpy_net import NumpyNet, film_terms, finish, side_by_side, taps_product, upsample

_PAD = N_FFT // 2  # batch STFT centres frame k on sample k * HOP


def numpy_net(model) -> NumpyNet:
    """The network as numpy arrays: a NumpyNet as it is, a torch FaceNet's weights laid out once per model."""
    if isinstance(model, NumpyNet):
        return model
    cached = getattr(model, "_numpy_net", None)
    if cached is None:  # once per loaded model, shared by every character streaming from it
        cached = NumpyNet.from_torch(model)
        model._numpy_net = cached
    return cached


class _ConvStream:
    """One padded convolution run incrementally: its input arrives a few frames at a time, and output t is
    computed once input t + look-ahead has arrived (at the end, from the batch pass's zero padding); with a
    stride, output j is the one at input stride x j. Time-major ([frames, channels]): new frames are appended
    rows, and the taps sit side by side."""

    def __init__(self, conv, channels: int):
        self.weight, self.bias, self.taps, self.dilation, (self.left, self.ahead), self.stride = conv
        self.buf = np.zeros((self.left, channels), np.float32)  # the batch pass's left zero padding
        self.first = -self.left  # frame index of buf[0]
        self.n_in = self.n_out = 0

    def add(self, x: np.ndarray) -> None:  # x [k, c]
        self.buf = np.concatenate([self.buf, x])
        self.n_in += len(x)

    def take(self, final: bool):
        """The input of every output now possible, advancing the layer: (padded input, outputs, the inputs at
        the same frames, first frame index), or None when none is possible yet. The product is the caller's
        (run_together: one for many streams)."""
        s = self.stride
        reach = self.n_in if final else self.n_in - self.ahead  # inputs whose output may be computed
        m = -(-reach // s) if reach > 0 else 0  # outputs 0..m-1 lie at inputs 0, s, ..., s (m - 1) < reach
        if m <= self.n_out:
            return None
        t0 = self.n_out
        lo, hi = s * t0 - self.left, s * (m - 1) + self.ahead + 1  # the inputs they read
        seg = self.buf[lo - self.first: hi - self.first]
        missing = (hi - lo) - len(seg)
        if missing > 0:  # end of stream: the right zero padding
            seg = np.concatenate([seg, np.zeros((missing, seg.shape[1]), np.float32)])
        centre = self.buf[t0 - self.first: m - self.first]  # (a block's residual input; blocks have stride 1)
        self.n_out = m
        keep = s * m - self.left - self.first
        self.buf, self.first = self.buf[keep:], self.first + keep
        return seg, m - t0, centre, t0


class StreamingNet:
    """Each layer keeps the few frames its kernel still needs and computes only new frames, so a 60 fps
    step costs a couple of frames per layer instead of the whole receptive field."""

    def __init__(self, model):
        if model.backbone is not None:
            raise ValueError("a pretrained backbone hears the whole line: it cannot stream")
        self.w = numpy_net(model)
        self.reset()

    def reset(self) -> None:
        c = self.w.config
        self.audio = np.zeros(_PAD, np.float32)  # the batch STFT's left zero padding
        self.audio_start = -_PAD  # sample index of self.audio[0]
        self.n_mel = 0  # mel frames computed so far
        self.n_out = 0  # output frames emitted so far
        self.weights = np.zeros((0, 7), np.float32)  # emotion weights per mel frame (for flush)
        self.layers = [_ConvStream(self.w.convs[0], c.n_mels)] + \
            [_ConvStream(conv, c.channels) for conv in self.w.convs[1:]]
        # the head's output per trunk frame from trunk frame z_first, while 100 Hz rows still lie between them
        self.z = np.zeros((0, len(c.out_names)), np.float32)
        self.z_first = 0
        self.emo = np.zeros((0, c.emotion_dim), np.float32)  # emotion embedding per frame from emo_first
        self.emo_first = 0
        # the emotion since frame steady_from (a live character's mostly holds for seconds): its weights, its
        # embedding row, and each block's FiLM, made once instead of every 10 ms step
        self.steady_from, self.steady_weights, self.steady_emo, self.steady_terms = 0, None, None, None

    def _new_mel(self, k_last: int | None = None) -> np.ndarray:
        """Every mel frame whose window is complete (up to frame k_last)."""
        end = self.audio_start + len(self.audio)
        if k_last is None:
            k_last = (end - (N_FFT - _PAD)) // HOP  # frame k spans samples k*HOP - 256 .. k*HOP + 256
        if k_last < self.n_mel:
            return np.zeros((0, self.w.config.n_mels), np.float32)
        lo = self.n_mel * HOP - _PAD - self.audio_start
        seg = self.audio[lo: (k_last * HOP + N_FFT - _PAD) - self.audio_start]
        mel = mel_of_windows(np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP], self.w.config.mel_floor)
        self.n_mel += len(mel)
        need = self.n_mel * HOP - _PAD - self.audio_start  # the next frame's first sample
        if need > 0:
            self.audio, self.audio_start = self.audio[need:], self.audio_start + need
        return mel

    def push(self, samples: np.ndarray, weights) -> np.ndarray:
        """Add audio (16 kHz float) with the emotion in force: a 7-vector, or a function of frame times (s)
        giving one per frame (an EmotionTrack's `at`). Returns the new 100 Hz outputs."""
        self.feed(samples, weights)
        return self.run()

    def feed(self, samples: np.ndarray, weights) -> None:
        """push's first half: the audio's new mel frames and emotion, ready for run (or run_together)."""
        self.audio = np.concatenate([self.audio, np.asarray(samples, np.float32)])
        before = self.n_mel
        mel = self._new_mel()
        self._add(mel, self._weights(weights, before))

    def flush(self, weights=None) -> np.ndarray:
        """End of audio: the last frames, with the batch pass's zero padding as their look-ahead."""
        n = self.audio_start + len(self.audio)
        before = self.n_mel
        self.audio = np.concatenate([self.audio, np.zeros(N_FFT - _PAD, np.float32)])
        mel = self._new_mel(k_last=n // HOP)  # the batch STFT's last frame
        if weights is None:
            weights = self.weights[-1] if len(self.weights) else np.zeros(7, np.float32)
        self._add(mel, self._weights(weights, before))
        return self.run(final=True)

    def _weights(self, weights, before: int) -> np.ndarray:
        if callable(weights):
            new = weights(np.arange(before, self.n_mel) / FRAME_RATE)
        else:
            new = np.repeat(np.asarray(weights, np.float32)[None], self.n_mel - before, 0)
        new = np.asarray(new, np.float32).reshape(-1, 7)
        self.weights = new[-1:] if len(new) else self.weights
        return new

    def _embed(self, weights: np.ndarray) -> np.ndarray:
        """Embedding rows for the new frames' emotion weights [k, 7], noting where the emotion last changed."""
        first = self.n_mel - len(weights)
        if self.steady_weights is not None and (weights == self.steady_weights).all():
            return np.broadcast_to(self.steady_emo, (len(weights), self.steady_emo.shape[1]))
        emo = self.w.embed_emotion(weights)
        same = (weights == weights[-1]).all(axis=1)
        start = len(weights) - int(np.argmin(same[::-1])) if not same.all() else 0  # the last run of one emotion
        self.steady_from, self.steady_weights = first + start, weights[-1].copy()
        self.steady_emo, self.steady_terms = emo[-1:].copy(), None
        return emo

    def _terms(self, i: int, block, t0: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Block i's FiLM for trunk frames t0..t0+n (at mel frames stride x t0, ...)."""
        s = self.w.config.stride
        if s * t0 >= self.steady_from:
            if self.steady_terms is None:
                self.steady_terms = [film_terms(b, self.steady_emo) for b in self.w.blocks]
            return self.steady_terms[i]
        lo = s * t0 - self.emo_first
        return film_terms(block, self.emo[lo: lo + s * (n - 1) + 1: s])

    def _rows(self, z: np.ndarray, final: bool) -> np.ndarray:
        """The 100 Hz curves that the head's new trunk rows z allow: with a stride, a row between two trunk frames
        waits for the later one (at the end, the last is held, as in the batch pass)."""
        s = self.w.config.stride
        if s == 1:
            self.n_out += len(z)
            return self.w.squash(z)
        self.z = np.concatenate([self.z, z])
        n_trunk = self.z_first + len(self.z)
        stop = self.n_mel if final else s * (n_trunk - 1) + 1
        if stop <= self.n_out or not len(self.z):
            return np.zeros((0, self.z.shape[1]), np.float32)
        j = self.n_out // s
        out = upsample(self.z[j - self.z_first:], s, stop - s * j)[self.n_out - s * j:]
        self.n_out = stop
        keep = stop // s - self.z_first  # the trunk row the next 100 Hz row starts from
        self.z, self.z_first = self.z[keep:], self.z_first + keep
        return self.w.squash(out)

    def _add(self, mel: np.ndarray, weights: np.ndarray) -> None:
        if len(mel):
            self.layers[0].add((mel - self.w.mel_mean) / self.w.mel_std)
            self.emo = np.concatenate([self.emo, self._embed(weights)])

    def run(self, final: bool = False) -> np.ndarray:
        """The new 100 Hz outputs that the fed audio allows (final: the end, with the batch pass's zero padding)."""
        return run_together([self], final)[0]

    def _trim(self) -> None:
        # no block needs these any more
        drop = self.w.config.stride * min(layer.n_out for layer in self.layers[1:]) - self.emo_first
        if drop > 0:
            self.emo, self.emo_first = self.emo[drop:], self.emo_first + drop


def run_together(nets: list[StreamingNet], final: bool = False) -> list[np.ndarray]:
    """run() for several streams of one network at once (the characters of a server, each fed its audio): each
    layer's new frames of every stream go through one matrix product and one finish, so the weights are read
    once per tick rather than once per character, and numpy's per-call cost is paid once. The same numbers
    as each stream's own run() to float rounding (the products' shapes differ)."""
    if not nets:
        return []
    w = nets[0].w
    if any(net.w is not w for net in nets):
        raise ValueError("run_together needs streams of one network")
    rows = [np.zeros((0, len(w.config.out_names)), np.float32) for _ in nets]
    active = list(range(len(nets)))
    for layer in range(len(w.convs)):
        takes = [(k, nets[k].layers[layer].take(final)) for k in active]
        takes = [(k, got) for k, got in takes if got is not None]
        if not takes:
            break
        active = [k for k, _ in takes]
        weight, bias, taps, dilation, _, stride = w.convs[layer]
        block = w.blocks[layer - 1] if layer else None  # a block: norm, FiLM (each stream's emotion), GELU, mix
        if len(takes) == 1:  # one stream (a live stream, a server's one talking character): nothing to gather
            k, (seg, n, centre, t0) = takes[0]
            y = taps_product(seg, weight, bias, taps, dilation, n, stride)
            if block is not None:
                y = finish(block, centre, y, nets[k]._terms(layer - 1, block, t0, n))
        else:
            y = np.concatenate([side_by_side(seg, taps, dilation, n, stride)
                                for _, (seg, n, _, _) in takes]) @ weight + bias
            if block is not None:
                y = finish(block, np.concatenate([centre for _, (_, _, centre, _) in takes]), y,
                           _gathered_terms(nets, layer - 1, block, takes))
        if layer == len(w.convs) - 1:
            y = w.logits(y)
        start = 0
        for k, (_, n, _, _) in takes:
            part, start = y[start: start + n], start + n
            if layer < len(w.convs) - 1:
                nets[k].layers[layer + 1].add(part)
            else:
                rows[k] = nets[k]._rows(part, final)
    for k, net in enumerate(nets):
        if final and w.config.stride > 1 and net.n_out < net.n_mel:  # the last rows, past the last trunk frame
            rows[k] = np.concatenate([rows[k], net._rows(net.z[:0], final)])
        net._trim()
    return rows


def _gathered_terms(nets, i: int, block, takes) -> tuple[np.ndarray, np.ndarray]:
    """Block i's FiLM (scale, shift) for the rows of several streams stacked in `takes`' order."""
    terms = [nets[k]._terms(i, block, t0, n) for k, (_, n, _, t0) in takes]
    counts = [n for _, (_, n, _, _) in takes]
    if all(len(scale) == 1 for scale, _ in terms):  # steady emotions: one row each, repeated over its frames
        return tuple(np.repeat(np.concatenate(part), counts, axis=0) for part in zip(*terms))
    return tuple(np.concatenate([np.broadcast_to(t, (n, t.shape[1])) for t, n in zip(part, counts)])
                 for part in zip(*terms))
