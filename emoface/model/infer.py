"""Running the network over a whole line: log-mel at 100 frames/s in, canonical curves at any fps out."""

from __future__ import annotations

import functools

import numpy as np

from emoface.animation import Animation
from emoface.emotion.spec import EmotionTrack
from emoface.features import FRAME_RATE, HOP as SAMPLES_PER_ROW, log_mel_frames_np, n_frames as n_mel_frames
from emoface.filters1d import symmetric_filter1d
from emoface.model.config import SEALED
from emoface.model.numpy_net import NumpyNet
from emoface.phonetic.animate import seal_lips
from emoface.rigs import CANONICAL_RIG, canonical_names

SEAL_FROM, SEAL_SPAN = 0.25, 0.16  # seal probability 0.25 -> no effect, 0.41 and above -> fully sealed
SEAL_JAW = 0.5  # at a seal the jaw goes half way to shut and MouthClose does the rest (docs/EVALUATION.md)
BLOCK_ROWS = 1000  # network rows (10 s) per block on long lines
INTERP_BLOCK = 1 << 14  # output frames interpolated at once


def smooth_rows(rows: np.ndarray, half: int = 3) -> np.ndarray:
    """The network's own smoothing: a triangle over its 100 Hz rows, `half` rows each side (the default
    network's +-30 ms, measured to cut jitter without blunting closures; live streams wait that long for it)."""
    if half <= 0:
        return rows
    kernel = np.concatenate([np.arange(1, half + 2), np.arange(half, 0, -1)]).astype(np.float32) / (half + 1) ** 2
    return symmetric_filter1d(rows, kernel, axis=0, mode="nearest")


class RowSmoother:
    """smooth_rows for rows arriving a few at a time: the same numbers, `half` rows later."""

    def __init__(self, n_out: int, half: int = 3):
        self.half = half
        self.buf = np.zeros((0, n_out), np.float32)
        self.first = self.n_in = self.n_out = 0  # row index of buf[0]; rows in; rows smoothed

    def push(self, rows: np.ndarray, final: bool = False) -> np.ndarray:
        half = self.half
        self.buf = np.concatenate([self.buf, rows])
        self.n_in += len(rows)
        stop = self.n_in if final else self.n_in - half
        if stop <= self.n_out:
            return self.buf[:0]
        lo, hi = max(0, self.n_out - half), min(self.n_in, stop + half)
        # a slice starting at row 0 or ending at the last row has the batch pass's edge handling
        out = smooth_rows(self.buf[lo - self.first: hi - self.first], half)[self.n_out - lo: stop - lo]
        self.n_out = stop
        keep = max(0, stop - half) - self.first
        self.buf, self.first = self.buf[keep:], self.first + keep
        return out


def predict_100hz(model, samples: np.ndarray, emotion: EmotionTrack, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """Network rows at 100 Hz. A log-mel network runs block_rows rows at a time, each block with the
    receptive field around it (zero padding only at the true ends, as in one pass): the same rows as one
    pass, while one pass over 30 minutes holds ~1 GB of activations. A pretrained backbone hears the line whole.
    model: a NumpyNet (what emoface.model.checkpoints.load_network gives), or a torch FaceNet."""
    n = n_mel_frames(len(samples))
    weights = emotion.weights(n, FRAME_RATE)
    if not isinstance(model, NumpyNet):
        return _predict_torch(model, samples, weights, block_rows)
    floor = model.config.mel_floor
    # one BLAS thread, as on torch: threads split the sums, so the last bits would be the machine's, not the line's
    with _blas().limit(limits=1, user_api="blas"):
        return _in_blocks(lambda lo, hi: model(log_mel_frames_np(samples, lo, hi, floor), weights[lo:hi]),
                          n, model.config, block_rows)


@functools.cache
def _blas():
    """numpy's BLAS libraries, found once: threadpool_limits looks for them again on every call (0.5 ms a line,
    2% of a folder bake)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _in_blocks(run, n: int, config, block_rows: int) -> np.ndarray:
    """run(lo, hi) -> the network's rows over frames lo..hi-1, a block at a time with its receptive field."""
    past, ahead = config.receptive_past, config.lookahead
    out = np.empty((n, len(config.out_names)), np.float32)
    for a in range(0, n, block_rows):
        b = min(n, a + block_rows)
        lo, hi = max(0, a - past), min(n, b + ahead)
        lo -= lo % config.stride  # on the trunk's frames, as in one pass
        out[a:b] = run(lo, hi)[a - lo: b - lo]
    return out


def _predict_torch(model, samples: np.ndarray, weights: np.ndarray, block_rows: int) -> np.ndarray:
    """predict_100hz with a torch FaceNet (training's models, and checkpoints on a pretrained backbone), on one
    thread: threads split the convolutions' sums, which changes their last bits between machines."""
    import torch

    from emoface.features import log_mel, log_mel_frames

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            w, floor = torch.from_numpy(weights), model.config.mel_floor
            if model.backbone is not None:
                audio = torch.from_numpy(np.asarray(samples, np.float32))[None]
                return model(log_mel(samples, floor)[None], w[None], audio)[0].numpy()
            def run(lo, hi):
                return model(log_mel_frames(samples, lo, hi, floor)[None], w[None, lo:hi])[0].numpy()

            return _in_blocks(run, len(weights), model.config, block_rows)
    finally:
        torch.set_num_threads(threads)


def predict(model, samples: np.ndarray, emotion: EmotionTrack, n_frames: int, fps: float) -> Animation:
    """Curves at frame i = i / fps s, linearly interpolated from the 100 Hz network output."""
    out = smooth_rows(predict_100hz(model, samples, emotion), model.config.row_half)
    return frames_from_rows(model.config.out_names, out, np.arange(len(out)) / FRAME_RATE,
                            np.arange(n_frames) / fps, fps)


def silent_face(model, weights: np.ndarray) -> np.ndarray:
    """The canonical face the network makes for one emotion ([7] weights) in silence: a row of a silent stretch
    just long enough that the row hears nothing but silence (no line's edge). What articulation scales about."""
    c = model.config
    rows = c.receptive_past + c.lookahead + 2 * c.row_half + 2 * c.stride + 3
    anim = predict(model, np.zeros(rows * SAMPLES_PER_ROW, np.float32), EmotionTrack.constant(weights), rows,
                   FRAME_RATE)
    return anim.values[c.receptive_past + c.row_half + c.stride + 1].copy()


def frames_from_rows(out_names, rows: np.ndarray, row_times: np.ndarray, times: np.ndarray, fps: float) -> Animation:
    """Network rows (100 Hz) -> canonical frames at `times`, with the lips sealed where the network hears
    them sealed. Batch and live streaming both come through here, so they agree."""
    anim = Animation.zeros(canonical_names(), fps, len(times), CANONICAL_RIG)
    curves = interp_columns(times, row_times, rows)
    names = list(out_names)
    sealed = curves[:, names.index(SEALED)] if SEALED in names else None
    keep = [j for j, name in enumerate(names) if name != SEALED]
    anim.values[:, [anim.index(names[j]) for j in keep]] = curves[:, keep]
    if sealed is not None:  # where the network hears closed lips, close them for real
        seal_lips(anim, np.clip((sealed - SEAL_FROM) / SEAL_SPAN, 0.0, 1.0), SEAL_JAW)
    return anim


def interp_columns(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """np.interp(x, xp, fp[:, k]) for every column k at once, with np.interp's own float64 arithmetic (so the
    same numbers): a live frame's 42 curves in a few calls instead of 42 (xp increasing, no NaN)."""
    x, xp = np.asarray(x, np.float64), np.asarray(xp, np.float64)
    if len(xp) < 2:
        fp = np.asarray(fp, np.float64)
        return np.stack([np.interp(x, xp, fp[:, k]) for k in range(fp.shape[1])], 1).reshape(len(x), fp.shape[1])
    if len(x) > INTERP_BLOCK:  # a long line a block of frames at a time: its temporaries were 200 MB at 30 minutes
        out = np.empty((len(x), np.shape(fp)[1]))
        for a in range(0, len(x), INTERP_BLOCK):
            out[a:a + INTERP_BLOCK] = interp_columns(x[a:a + INTERP_BLOCK], xp, fp)
        return out
    fp = np.asarray(fp)
    j = np.searchsorted(xp, x, side="right") - 1  # the last xp <= x, as np.interp's binary search
    at = np.clip(j, 0, len(xp) - 2)
    lo = fp[at].astype(np.float64)
    slope = (fp[at + 1] - lo) / (xp[at + 1] - xp[at])[:, None]
    out = slope * (x - xp[at])[:, None] + lo
    out[j < 0] = fp[0]
    out[j >= len(xp) - 1] = fp[-1]
    return out
