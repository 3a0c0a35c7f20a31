"""Running the network over a whole line: log-mel at 100 frames/s in, canonical curves at any fps out."""

from __future__ import annotations

import numpy as np
import torch

from emoface.animation import Animation
from emoface.emotion.spec import EmotionTrack
from emoface.features import FRAME_RATE, log_mel
from emoface.phonetic.animate import seal_lips
from emoface.rigs import CANONICAL_RIG, canonical_names
from emoface.model.net import SEALED

SEAL_FROM, SEAL_SPAN = 0.25, 0.2  # seal probability 0.25 -> no effect, 0.45 and above -> fully sealed


@torch.inference_mode()
def predict_100hz(model, samples: np.ndarray, emotion: EmotionTrack) -> np.ndarray:
    mel = log_mel(samples)
    weights = torch.from_numpy(emotion.weights(mel.shape[0], FRAME_RATE))
    audio = torch.from_numpy(np.asarray(samples, np.float32))[None] if model.backbone is not None else None
    return model(mel[None], weights[None], audio)[0].numpy()


def predict(model, samples: np.ndarray, emotion: EmotionTrack, n_frames: int, fps: float) -> Animation:
    """Curves at frame i = i / fps s, linearly interpolated from the 100 Hz network output."""
    out = predict_100hz(model, samples, emotion)
    return frames_from_rows(model.config.out_names, out, np.arange(len(out)) / FRAME_RATE,
                            np.arange(n_frames) / fps, fps)


def frames_from_rows(out_names, rows: np.ndarray, row_times: np.ndarray, times: np.ndarray, fps: float) -> Animation:
    """Network rows (100 Hz) -> canonical frames at `times`, with the lips sealed where the network hears
    them sealed. Batch and live streaming both come through here, so they agree."""
    anim = Animation.zeros(canonical_names(), fps, len(times), CANONICAL_RIG)
    sealed = None
    for j, name in enumerate(out_names):
        curve = np.interp(times, row_times, rows[:, j])
        if name == SEALED:
            sealed = curve
        else:
            anim[name] = curve
    if sealed is not None:  # where the network hears closed lips, close them for real
        seal_lips(anim, np.clip((sealed - SEAL_FROM) / SEAL_SPAN, 0.0, 1.0))
    return anim
