"""Proof that capture measures what it claims: known curves rendered on a head to video, captured back, and
compared curve by curve (Pearson r over the frames where the curve moves)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoface.animation import Animation
from emoface.rigs import CANONICAL_RIG, retarget

# what the issue holds capture to, and the derived lip opening (ARKit's mouthClose closes the lips against
# the jaw: what shows is their difference)
KEY_CURVES = ("JawOpen", "LipOpening", "MouthFunnel", "MouthPucker", "MouthSmileLeft", "MouthSmileRight",
              "EyeBlinkLeft", "EyeBlinkRight")
MOVES = 0.02  # a curve whose standard deviation is below this did not move enough to correlate
REST_S = 1.0  # each take opens with a relaxed face, as an actor gives before a take: capture's --neutral
NEUTRAL_AT_S = REST_S / 2


def with_rest(anim: Animation, seconds: float = REST_S) -> Animation:
    """The take with `seconds` of a still, relaxed face before it."""
    rest = np.zeros((int(round(seconds * anim.fps)), len(anim.names)), np.float32)
    return anim.copy(np.concatenate([rest, anim.values]))


def render_video(anim: Animation, mesh, path: Path, size: int = 384, fps: float = 30.0) -> Path:
    """The animation on `mesh`, silent, at `fps`."""
    from emoface.render import video
    from emoface.render.drive import mesh_motion
    from emoface.render.renderer import FaceRenderer

    motion = mesh_motion(anim.resampled(fps) if anim.fps != fps else anim, mesh.shape_names)
    with FaceRenderer(mesh, size, frame="face") as renderer:
        video.write_mp4(video.frames(renderer, motion), motion.n_frames, fps, (size, size), path, progress=False)
    return path


def with_lip_opening(anim: Animation) -> dict[str, np.ndarray]:
    canon = retarget(anim, CANONICAL_RIG)
    curves = {n: canon[n] for n in canon.names}
    curves["LipOpening"] = canon["JawOpen"] - canon["MouthClose"]
    return curves


def compare(truth: Animation, captured: Animation) -> dict[str, float]:
    """Per-curve r of the captured curves against the truth, for curves that move in the truth."""
    return compare_takes([truth], [captured])


def compare_takes(truths, captures) -> dict[str, float]:
    """The same over several takes, their frames end to end (each capture resampled to its truth's rate)."""
    a: dict[str, list] = {}
    b: dict[str, list] = {}
    for truth, captured in zip(truths, captures):
        t, c = with_lip_opening(truth), with_lip_opening(captured.resampled(truth.fps))
        n = min(len(t["JawOpen"]), len(c["JawOpen"]))
        for name in t:
            a.setdefault(name, []).append(t[name][:n])
            b.setdefault(name, []).append(c[name][:n])
    out = {}
    for name in a:
        x, y = np.concatenate(a[name]), np.concatenate(b[name])
        if x.std() >= MOVES:
            out[name] = float(np.corrcoef(x, y)[0, 1]) if y.std() > 1e-9 else 0.0
    return out


EXERCISED = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthSmile*", "MouthFrown*", "MouthStretch*",
             "MouthLowerDown*", "MouthUpperUp*", "MouthPress*", "MouthRollLower", "MouthShrugUpper", "CheekSquint*",
             "NoseSneer*", "EyeBlink*", "EyeSquint*", "EyeWide*", "BrowInnerUp", "BrowDown*", "BrowOuterUp*")


CROSS_TALK = ("MouthPucker", "MouthFunnel", "MouthSmileLeft", "MouthStretchLeft", "MouthClose")


def jaw_alone(fps: float = 30.0, seconds: float = 10.0, cycles: int = 8, top: float = 0.6) -> Animation:
    """A take where only the jaw moves (0..top, `cycles` times), after a second of rest: whatever else capture
    reads in it is cross-talk, the solve explaining another face's jaw with other shapes."""
    from emoface.rigs import canonical_names

    t = np.arange(int(round(seconds * fps))) / fps
    anim = Animation.zeros(canonical_names(), fps, len(t), CANONICAL_RIG, {"source": "jaw alone"})
    anim["JawOpen"] = top / 2 * (1 - np.cos(2 * np.pi * cycles * t / seconds))
    return with_rest(anim)


POSE_MOVES = (("turning", "HeadYaw", 20.0), ("nodding", "HeadPitch", 12.0), ("tilting", "HeadRoll", 12.0))
POSE_OWN = ("Head", "LeftEye", "RightEye", "EyeLook")  # the pose and gaze curves themselves


def head_alone(fps: float = 30.0, seconds: float = 4.0) -> Animation:
    """A relaxed, still face whose head turns (yaw +-20 degrees), then nods (pitch +-12), then tilts (roll +-12),
    `seconds` each, after a second of rest: whatever expression capture reads in it is the pose's, not the face's
    (actors move their heads all the time)."""
    from emoface.rigs import canonical_names

    n = int(round(seconds * fps))
    anim = Animation.zeros(canonical_names(), fps, n * len(POSE_MOVES), CANONICAL_RIG, {"source": "head alone"})
    swing = np.sin(2 * np.pi * np.arange(n) / n)
    for k, (_, curve, degrees) in enumerate(POSE_MOVES):
        anim[curve][k * n:(k + 1) * n] = degrees * swing / 180
    return with_rest(anim)


def _move_frames(fps: float, seconds: float) -> dict[str, slice]:
    """The frames of each head move of a head_alone take (`seconds` each, after its rest)."""
    n, rest = int(round(seconds * fps)), int(round(REST_S * fps))
    return {move: slice(rest + k * n, rest + (k + 1) * n) for k, (move, _, _) in enumerate(POSE_MOVES)}


def pose_talk(captured: Animation, fps: float = 30.0, seconds: float = 4.0) -> dict[str, dict[str, float]]:
    """Per head move of a head_alone take: each expression curve's peak-to-peak over it (0 for a perfect
    capture), the largest first."""
    values = captured.resampled(fps).values
    out = {}
    for move, frames in _move_frames(fps, seconds).items():
        part = values[frames]
        spans = {name: float(np.ptp(part[:, j])) for j, name in enumerate(captured.names)
                 if not name.startswith(POSE_OWN)} if len(part) else {}
        out[move] = dict(sorted(spans.items(), key=lambda kv: -kv[1]))
    return out


def gaze_swing(captured: Animation, fps: float = 30.0, seconds: float = 4.0) -> dict[str, tuple[float, float]]:
    """Per head move of a head_alone take: the captured eyes' yaw and pitch peak-to-peak, degrees. The eyes stay
    put in the head, so both would be 0 for a perfect capture."""
    a = captured.resampled(fps)
    return {move: tuple(float(np.ptp(part)) * 180 if len(part) else 0.0
                        for part in (a["LeftEyeYaw"][frames], a["LeftEyePitch"][frames]))
            for move, frames in _move_frames(fps, seconds).items()}


def cross_talk(captured: Animation) -> dict[str, tuple[float, float]]:
    """Per mouth curve: (r with the captured jaw, peak-to-peak) -- on a jaw-alone take both should be ~0."""
    jaw = captured["JawOpen"]
    return {n: (float(np.corrcoef(jaw, captured[n])[0, 1]) if captured[n].std() > 1e-9 else 0.0,
                float(np.ptp(captured[n]))) for n in CROSS_TALK}


def exercise(fps: float = 30.0, seed: int = 0) -> Animation:
    """A range-of-motion take, as an actor gives before a session: each shape alone (a 1.2 s rise and fall to
    0.8), then 20 s of random overlapping activations, with the head and eyes moving throughout; a second
    of rest first."""
    from emoface.animation import expand_sides
    from emoface.rigs import canonical_names

    rng = np.random.default_rng(seed)
    hump = np.sin(np.linspace(0, np.pi, int(1.2 * fps))) ** 2 * 0.8
    solo = len(EXERCISED) * len(hump)
    n = solo + int(20 * fps)
    anim = Animation.zeros(canonical_names(), fps, n, CANONICAL_RIG, {"source": "exercise"})
    for k, group in enumerate(EXERCISED):
        for name in expand_sides({group: 1.0}):
            if name == "MouthClose":  # only means something with the jaw open: hold the jaw at the hump's peak
                anim["JawOpen"][k * len(hump):(k + 1) * len(hump)] = 0.5
            anim[name][k * len(hump):(k + 1) * len(hump)] += hump * (0.5 if name == "MouthClose" else 1.0)
    t = np.arange(n - solo)
    for group in EXERCISED:
        names = list(expand_sides({group: 1.0}))
        level = np.zeros(len(t))
        for start in rng.uniform(0, len(t), 4):
            width = rng.uniform(0.4, 1.5) * fps
            level += rng.uniform(0.2, 0.7) * np.exp(-0.5 * ((t - start) / (width / 2)) ** 2)
        for name in names:
            anim[name][solo:] = np.clip(level * (1.0 if len(names) == 1 else rng.uniform(0.85, 1.0)), 0, 1)
    anim["MouthClose"][solo:] = np.minimum(anim["MouthClose"][solo:], anim["JawOpen"][solo:])
    time = np.arange(n) / fps
    anim["HeadYaw"] = 6 * np.sin(2 * np.pi * 0.13 * time) / 180
    anim["HeadPitch"] = 4 * np.sin(2 * np.pi * 0.21 * time + 1) / 180
    anim["HeadRoll"] = 3 * np.sin(2 * np.pi * 0.17 * time + 2) / 180
    from emoface.post import gaze

    yaw, pitch = 12 * np.sin(2 * np.pi * 0.3 * time), 8 * np.sin(2 * np.pi * 0.23 * time + 0.5)
    return with_rest(gaze.write(anim, yaw, pitch))


def exercise_moving(fps: float = 30.0, seed: int = 0) -> Animation:
    """The range-of-motion take with the head turning +-20 degrees and nodding +-10 as it goes, as an actor who
    moves does: what the face does must still read as the face's while the pose's leak comes out
    (emoface.capture.pose_leak)."""
    anim = exercise(fps, seed)
    rest = int(round(REST_S * fps))
    time = np.arange(rest, anim.n_frames) / fps
    anim["HeadYaw"][rest:] = 20 * np.sin(2 * np.pi * 0.07 * time) / 180
    anim["HeadPitch"][rest:] = 10 * np.sin(2 * np.pi * 0.11 * time + 1) / 180
    return anim


def crop_agreement(video: Path, passes: int, curves, nudge: float = 0.03,
                   neutral_frame: int | None = None) -> dict[str, float]:
    """r per curve between two captures of one video whose crops all lie `nudge` of their side to the left and to
    the right: what they disagree on is the crop's, not the face's (nan where a capture holds a curve still)."""
    from emoface.capture.landmarks import FaceLandmarker
    from emoface.capture.take import solve_take, track

    got = []
    for shift in (-nudge, nudge):
        tracker = FaceLandmarker(passes=passes)
        tracker.crops = [(dx + shift, dy, zoom) for dx, dy, zoom in tracker.crops]
        fps, found = track(video, tracker=tracker)
        got.append(solve_take(found, fps, neutral_frame=neutral_frame))
    return {c: float(np.corrcoef(got[0][c], got[1][c])[0, 1]) if min(np.std(got[0][c]), np.std(got[1][c])) > 1e-4
            else float("nan") for c in curves}
