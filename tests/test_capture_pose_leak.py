"""What a head's own moves leave in captured curves is taken out per take (emoface.capture.pose_leak), without
taking the face's own expressions with it."""

import numpy as np

from emoface.capture.pose_leak import STILL_DEG, pose_floor, without_pose

FPS = 30.0


def _take(seconds=40.0, yaw_deg=25.0, pitch_deg=15.0, seed=0, squint=0.6):
    """Head angles swinging through a take, a face whose expression comes and goes in bumps, and what a landmarker
    reads: the expression plus a leak that grows with the turn (the far eye's squint) and with the nod (small within
    STILL_DEG, where it stays)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FPS)) / FPS
    head = np.stack([yaw_deg * np.sin(2 * np.pi * 0.09 * t), pitch_deg * np.sin(2 * np.pi * 0.13 * t + 1),
                     np.zeros_like(t)], axis=1)
    face = np.zeros((len(t), 2))
    for c in range(2):
        for start in rng.uniform(0, seconds, 8):
            face[:, c] += rng.uniform(0.3, 0.8) * np.exp(-0.5 * ((t - start) / 0.4) ** 2)
    face = np.clip(face, 0, 1)
    leak = np.stack([squint * (np.maximum(head[:, 0], 0) / yaw_deg) ** 2,
                     0.5 * (np.maximum(-head[:, 1], 0) / pitch_deg) ** 2], axis=1)
    return head, face, np.clip(face + leak, 0, 1)


def test_the_floor_a_turn_and_a_nod_put_into_curves_comes_out_and_the_expressions_stay():
    head, face, seen = _take()
    got = without_pose(seen, head, FPS)
    for c in range(2):
        assert np.corrcoef(seen[:, c], face[:, c])[0, 1] < 0.85  # the leak muddles the expression as read
        assert np.corrcoef(got[:, c], face[:, c])[0, 1] > 0.98
    still = face.max(axis=1) < 0.02  # frames where the face does nothing: what is left there is leak
    assert seen[still].max() > 0.45 and got[still].max() < 0.1
    bumps = face > 0.3  # the expressions keep their height wherever the head is
    assert np.median(got[bumps] / face[bumps]) > 0.85


def test_a_talkers_sway_leaves_the_curves_as_they_are():
    """Nods and sway within a few degrees go with the speech's stresses, in time with the jaw and brows: a fit
    there would take the speech out with them."""
    t = np.arange(int(20 * FPS)) / FPS
    jaw = np.clip(np.sin(2 * np.pi * 3 * t), 0, 1)
    head = np.stack([0.9 * STILL_DEG * jaw, 0.5 * STILL_DEG * np.sin(2 * np.pi * 0.3 * t), 0 * t], axis=1)
    values = np.stack([jaw, 0.5 * jaw], axis=1)
    assert not pose_floor(values, head, FPS).any()
    assert np.array_equal(without_pose(values, head, FPS), values)


def test_an_expression_held_through_one_pass_of_a_turn_is_kept():
    """The floor is a low quantile over every pass of the head through an angle: a smile at one of them is the
    face's."""
    head, face, seen = _take(seed=3, squint=0.4)
    peak = int(np.argmax(head[:, 0]))  # the head's furthest turn to one side, the leak's largest
    smile = 0.6 * np.exp(-0.5 * ((np.arange(len(head)) - peak) / (0.5 * FPS)) ** 2)
    seen[:, 0] = np.clip(seen[:, 0] + smile, 0, 1)
    got = without_pose(seen, head, FPS)[peak, 0] - face[peak, 0]
    assert seen[peak, 0] - face[peak, 0] > 0.95  # the smile and the turn's leak together
    assert 0.5 < got < 0.75, got  # the smile


def test_a_few_frames_turned_the_other_way_keep_their_expression():
    """A head that turns far one way for a while and only for a moment the other: that moment's smile is not fitted
    as the pose's (a handful of frames would be fitted exactly)."""
    t = np.arange(int(30 * FPS)) / FPS
    yaw = 3 * np.sin(2 * np.pi * 0.5 * t)
    yaw[(t > 10) & (t < 15)] = 15.0  # a long look to one side
    moment = (t > 20) & (t < 20.6)
    yaw[moment] = -8.0  # a glance the other way, smiling
    head = np.stack([yaw, 0 * t, 0 * t], axis=1)
    smile = np.where(moment, 0.7, 0.0)
    got = without_pose(np.stack([smile, 0.02 * np.ones_like(t)], axis=1), head, FPS)
    assert got[moment, 0].min() > 0.6


def test_a_head_lifted_for_a_moment_keeps_the_speech_under_it():
    """A chin lifted on one emphatic phrase, the mouth open all through it: too short to tell a pose's floor from the
    speech, so nothing is taken out (fitted, a surprised line's jaw r fell 0.97 -> 0.78 on a rendered head)."""
    t = np.arange(int(4 * FPS)) / FPS
    lifted = (t > 2.0) & (t < 2.5)
    pitch = np.where(lifted, 8.0, 1.5 * np.sin(2 * np.pi * 0.7 * t))
    head = np.stack([0 * t, pitch, 0 * t], axis=1)
    jaw = np.clip(0.3 + 0.3 * np.sin(2 * np.pi * 4 * t), 0, 1) * (t > 1.0)
    jaw[lifted] = np.maximum(jaw[lifted], 0.4)  # an open vowel held under the lift
    values = np.stack([jaw, 0.2 * jaw], axis=1)
    assert lifted.mean() >= 0.1  # often enough by share alone
    assert np.array_equal(without_pose(values, head, FPS), values)
