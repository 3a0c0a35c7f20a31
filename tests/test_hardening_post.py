"""Issue 11, post-processing: head, gaze and blinks stay human for any line length and emotion."""

import numpy as np
import pytest

from emoface.animator import Animator
from emoface.audio import from_array
from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion
from emoface.post import blinks

MAX_HEAD_DEG = 15.0  # drift (3 sigma) + nods + the strongest emotion pose stay well inside this
MAX_GAZE_DEG = 20.0


@pytest.fixture(scope="module")
def animator():
    return Animator(engine="phonetic")  # head, gaze and blinks are the same for both engines


# 6: lines under ~0.5 s turned the head +-180 degrees
@pytest.mark.parametrize("n_samples", [1, 160, 267, 1000, 3000, 8000])
def test_head_gaze_and_blinks_are_bounded_for_short_lines(animator, n_samples):
    rng = np.random.default_rng(n_samples)
    for seed in range(8):
        animator.seed = seed
        audio = from_array((0.1 * rng.standard_normal(n_samples)).astype(np.float32), 16000)
        anim = animator.animate_canonical(audio, EmotionTrack.constant(parse_emotion("fear")))
        assert anim.n_frames >= 1 and np.isfinite(anim.values).all()
        for name in ("HeadYaw", "HeadPitch", "HeadRoll"):
            assert np.abs(anim[name]).max() * 180 <= MAX_HEAD_DEG, (name, seed, anim[name])
        for name in ("LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch"):
            assert np.abs(anim[name]).max() * 180 <= MAX_GAZE_DEG, (name, seed)
        for name in ("EyeBlinkLeft", "EyeBlinkRight"):
            assert 0.0 <= anim[name].min() and anim[name].max() <= 1.0


def test_long_line_head_drift_keeps_its_size(animator):
    """The fix scales the drift by its filter, not by the sample: long lines still move a few degrees."""
    audio = from_array(np.zeros(16000 * 60, np.float32), 16000)
    animator.seed = 3
    anim = animator.animate_canonical(audio)
    yaw = anim["HeadYaw"] * 180
    assert 0.8 < np.std(yaw) < 3.5 and np.abs(yaw).max() <= 6.0


# 23: fear blinked 37-44 times a minute, above the 10-30 people blink at while talking
@pytest.mark.parametrize("emotion", EMOTIONS)
def test_blink_rate_is_human_for_every_emotion(emotion):
    fps, minutes = 60, 10
    n = fps * 60 * minutes
    weights = np.repeat(parse_emotion(emotion)[None], n, axis=0)
    rates = []
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        anchors = np.sort(rng.uniform(0, 60 * minutes, 30 * minutes))  # pauses and saccades, ~30/min
        rates.append(len(blinks.plan(n, fps, weights, anchors, np.random.default_rng(seed))) / minutes)
    assert 10 <= np.mean(rates) <= 30, (emotion, rates)
