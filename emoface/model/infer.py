"""Running the network over a whole line: log-mel at 100 frames/s in, canonical curves at any fps out."""

from __future__ import annotations

import numpy as np
import torch

from emoface.animation import Animation
from emoface.emotion.spec import EmotionTrack
from emoface.features import FRAME_RATE, log_mel
from emoface.rigs import CANONICAL_RIG, canonical_names


@torch.inference_mode()
def predict_100hz(model, samples: np.ndarray, emotion: EmotionTrack) -> np.ndarray:
    mel = log_mel(samples)
    weights = torch.from_numpy(emotion.weights(mel.shape[0], FRAME_RATE))
    audio = torch.from_numpy(np.asarray(samples, np.float32))[None] if model.backbone is not None else None
    return model(mel[None], weights[None], audio)[0].numpy()


def predict(model, samples: np.ndarray, emotion: EmotionTrack, n_frames: int, fps: float) -> Animation:
    """Curves at frame i = i / fps s, linearly interpolated from the 100 Hz network output."""
    out = predict_100hz(model, samples, emotion)
    names = canonical_names()
    anim = Animation.zeros(names, fps, n_frames, CANONICAL_RIG)
    t_net = np.arange(len(out)) / FRAME_RATE
    t = np.arange(n_frames) / fps
    for j, name in enumerate(model.config.out_names):
        anim[name] = np.interp(t, t_net, out[:, j])
    return anim
