"""FaceNet's forward pass in numpy: what bakes, previews and live links run, so none of them imports torch
(1.5 s of every process's start-up and ~200 MB). Training and the optional pretrained backbones stay on torch
(emoface.model.net); the two agree to float rounding (tests/test_model.py).

Time-major arrays ([frames, channels]); a convolution is its taps' shifted rows side by side times one weight
matrix, which BLAS runs faster than torch's conv1d on one core (179 lines: 3.0 s against 3.7 s).
"""

from __future__ import annotations

import functools

import numpy as np

from emoface.model.config import N_EMOTIONS, NetConfig

LAYER_NORM_EPS = np.float32(1e-5)  # torch.nn.LayerNorm's default, which FaceNet uses
# values up to which GELU takes scipy's erf (one call) rather than the approximation's dozen numpy calls, whose
# overhead outweighs their arithmetic on a streaming step's row or two (~10 us a layer). Small enough that a bake's
# last block never does: importing scipy costs a bake 0.2-0.5 s (a 112-channel network's 60 s line: 0.46 s -> 0.31)
SMALL = 1024


class NumpyNet:
    """A FaceNet's weights laid out for numpy, from a state dict of arrays (emoface.model.pt_reader, or a torch
    model's via from_torch). Refuses weights whose names or shapes do not fit the config."""

    backbone = None  # a pretrained speech encoder needs torch: such checkpoints load as FaceNet

    def __init__(self, config: NetConfig, state: dict, card: dict | None = None):
        _check_shapes(config, state)
        a = {k: np.ascontiguousarray(v, np.float32) for k, v in state.items()}
        self.config, self.card = config, card or {}
        self.mel_mean, self.mel_std = a["mel_mean"], a["mel_std"]
        self.emotions = a["emotions.weight"]
        self.mlp = (a["emotion_mlp.0.weight"].T.copy(), a["emotion_mlp.0.bias"],
                    a["emotion_mlp.2.weight"].T.copy(), a["emotion_mlp.2.bias"])
        span = config.stem_kernel - 1
        stem = _conv(a, "stem.conv", 1, (span - config.stem_lookahead, config.stem_lookahead), config.stride)
        self.convs = [stem] + [_conv(a, f"blocks.{i}.conv.conv", d, (2 * d - la, la))
                               for i, (d, la) in enumerate(config.blocks)]
        self.blocks = [(a[f"{p}.norm.weight"], a[f"{p}.norm.bias"], LAYER_NORM_EPS, a[f"{p}.film.weight"].T.copy(),
                        a[f"{p}.film.bias"], a[f"{p}.mix.weight"][:, :, 0].T.copy(), a[f"{p}.mix.bias"])
                       for p in (f"blocks.{i}" for i in range(len(config.blocks)))]
        self.head = (a["head.weight"].T.copy(), a["head.bias"])

    @classmethod
    def from_torch(cls, model) -> "NumpyNet":
        state = {k: v.detach().float().numpy() for k, v in model.state_dict().items() if not k.startswith("backbone.")}
        return cls(model.config, state, getattr(model, "card", {}))

    def embed_emotion(self, weights: np.ndarray) -> np.ndarray:
        """[t, 7] weight x intensity -> [t, emotion_dim]."""
        w1, b1, w2, b2 = self.mlp
        h = np.asarray(weights, np.float32) @ self.emotions @ w1 + b1
        return np.where(h >= 0, h, np.float32(0.2) * h) @ w2 + b2  # LeakyReLU(0.2)

    def __call__(self, mel: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """mel [t, n_mels] (log-mel), weights [t, 7] -> curves [t, n_out] in 0..1, with each layer's zero padding
        at both ends of these t frames (as FaceNet.forward on one line)."""
        stride = self.config.stride
        if len(weights) > 1 and (weights == weights[:1]).all():
            weights = weights[:1]  # one emotion all along: its FiLM once, broadcast over the frames
        else:
            weights = weights[::stride]  # the emotion at each trunk frame
        emo = self.embed_emotion(weights)
        x = self.convolve(0, (mel - self.mel_mean) / self.mel_std)
        for i, block in enumerate(self.blocks):
            x = finish(block, x, self.convolve(i + 1, x), film_terms(block, emo))
        return self.squash(upsample(self.logits(x), stride, len(mel)))

    def logits(self, h: np.ndarray) -> np.ndarray:
        """Last block's features [t, c] -> the head's output before the sigmoid."""
        head_w, head_b = self.head
        return h @ head_w + head_b

    @staticmethod
    def squash(z: np.ndarray) -> np.ndarray:
        """The sigmoid, to curves in 0..1, as 0.5 (1 + tanh(z / 2)), which never overflows (exp(-z) does, with a
        warning, for z < -88 in float32)."""
        return (np.float32(0.5) * (1 + np.tanh(np.float32(0.5) * z))).astype(np.float32)

    def convolve(self, layer: int, x: np.ndarray) -> np.ndarray:
        """Convolution `layer` (0 = the stem, every stride-th frame) over all of x [t, c], zero-padded as the
        layer's look-ahead says."""
        weight, bias, taps, dilation, (left, ahead), stride = self.convs[layer]
        zeros = np.zeros((max(left, ahead), x.shape[1]), np.float32)
        padded = np.concatenate([zeros[:left], x, zeros[:ahead]])
        return taps_product(padded, weight, bias, taps, dilation, -(-len(x) // stride), stride)


def taps_product(padded: np.ndarray, weight: np.ndarray, bias: np.ndarray, taps: int, dilation: int, n: int,
                 stride: int = 1):
    """Outputs 0..n-1 of a convolution from its padded input: the taps side by side times [taps x in, out]."""
    return side_by_side(padded, taps, dilation, n, stride) @ weight + bias


def side_by_side(padded: np.ndarray, taps: int, dilation: int, n: int, stride: int = 1) -> np.ndarray:
    """The inputs of outputs 0..n-1, each tap's rows beside the others' ([n, taps x in])."""
    span = stride * (n - 1) + 1
    return np.concatenate([padded[k * dilation: k * dilation + span: stride] for k in range(taps)], axis=1)


def upsample(z: np.ndarray, stride: int, n: int) -> np.ndarray:
    """net.upsample on [j, k] rows: row stride x j + r lies r / stride of the way from trunk row j to j + 1."""
    if stride == 1:
        return z
    nxt = np.concatenate([z[1:], z[-1:]])
    frac = (np.arange(stride, dtype=np.float32) / np.float32(stride))[None, :, None]
    return (z[:, None] + frac * (nxt - z)[:, None]).reshape(-1, z.shape[1])[:n]


def film_terms(block, emo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A block's FiLM for an emotion embedding ([t, e], or one row for all frames), with the layer norm's gain and
    bias folded in: (scale, shift) to apply to the normalised features. A steady emotion needs them once."""
    gain, bias, _, film_w, film_b, _, _ = block
    c = gain.shape[0]
    film = emo @ film_w + film_b
    grow = 1 + film[:, :c]
    return gain * grow, bias * grow + film[:, c:]


def finish(block, x: np.ndarray, y: np.ndarray, terms: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """net._Block.finish on [t, c] arrays: layer norm, FiLM (film_terms: one scale and one shift), GELU, 1x1 mix,
    residual."""
    _, _, eps, _, _, mix_w, mix_b = block
    scale, shift = terms
    c = y.shape[1]
    h = y - y.sum(axis=1, keepdims=True) / c
    h *= 1 / np.sqrt(np.einsum("ij,ij->i", h, h)[:, None] / c + eps)
    h *= scale
    h += shift
    g = h * np.float32(0.7071067811865476)  # exact GELU: h (1 + erf(h / sqrt 2)) / 2
    g = erf(g) if g.size > SMALL else _special_erf()(g)
    g += 1
    h *= g
    h *= np.float32(0.5)
    out = h @ mix_w
    out += mix_b
    out += x
    return out


@functools.cache
def _special_erf():
    """scipy's erf, imported on a streaming step's first small block: its import (0.2-0.5 s) is a third of a
    short bake's time, and a bake's blocks are large."""
    from scipy.special import erf

    return erf


_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(v) for v in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


def erf(x: np.ndarray) -> np.ndarray:
    """erf to within 6e-7 (Abramowitz & Stegun 7.1.26) in float32, 8x faster than scipy.special.erf, which
    computes float32 in float64 and was most of the network's time outside its matrix products."""
    ax = np.abs(x)
    t = ax * _ERF_P
    t += 1
    np.reciprocal(t, out=t)
    poly = _ERF_A[0] * t
    for a in _ERF_A[1:]:
        poly += a
        poly *= t
    np.square(ax, out=ax)
    np.negative(ax, out=ax)
    np.exp(ax, out=ax)
    poly *= ax
    np.subtract(1, poly, out=poly)
    return np.copysign(poly, x, out=poly)


def _conv(a: dict, prefix: str, dilation: int, pad: tuple[int, int], stride: int = 1):
    weight = a[f"{prefix}.weight"]  # [out, in, taps]
    flat = weight.transpose(2, 1, 0).reshape(-1, weight.shape[0]).copy()  # [taps x in, out]
    return flat, a[f"{prefix}.bias"], weight.shape[2], dilation, pad, stride


def _check_shapes(c: NetConfig, state: dict) -> None:
    """Every weight FaceNet(c) has, with its shape; nothing else but the training-only phone head."""
    e, ch, n_out = c.emotion_dim, c.channels, len(c.out_names)
    want = {"mel_mean": (c.n_mels,), "mel_std": (c.n_mels,), "emotions.weight": (N_EMOTIONS, e),
            "emotion_mlp.0.weight": (e, e), "emotion_mlp.0.bias": (e,), "emotion_mlp.2.weight": (e, e),
            "emotion_mlp.2.bias": (e,), "stem.conv.weight": (ch, c.n_mels, c.stem_kernel), "stem.conv.bias": (ch,),
            "head.weight": (n_out, ch), "head.bias": (n_out,)}
    for i in range(len(c.blocks)):
        p = f"blocks.{i}"
        want |= {f"{p}.conv.conv.weight": (ch, ch, 3), f"{p}.conv.conv.bias": (ch,), f"{p}.norm.weight": (ch,),
                 f"{p}.norm.bias": (ch,), f"{p}.film.weight": (2 * ch, e), f"{p}.film.bias": (2 * ch,),
                 f"{p}.mix.weight": (ch, ch, 1), f"{p}.mix.bias": (ch,)}
    if c.n_phones:
        want |= {"phone_head.weight": (c.n_phones, ch), "phone_head.bias": (c.n_phones,)}
    wrong = sorted(k for k in want.keys() | state.keys() if k not in state or k not in want
                   or tuple(np.shape(state[k])) != want[k])
    if wrong:
        raise ValueError(f"weights do not match the network ({wrong[:3]})")
