"""A face video -> an Animation on the canonical rig: landmarks, head pose, the actor's neutral, the solve,
gaze from the irises, and smoothing that keeps the lips' closures.

Frames where the landmarker loses the face are bridged from their neighbours; a take where it sees a face in
under half the frames is refused. Head angles are relative to the actor's mean pose in the take (what an avatar
needs: the actor's own rest is the avatar's rest); gaze likewise is relative to the actor's median gaze.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoface.animation import Animation
from emoface.audio import picture_seconds
from emoface.capture.basis import Basis, load_basis
from emoface.capture.camera import focal_length, unproject
from emoface.capture.landmarks import (EYE_CORNERS, LOST_S, LOWER_LIP, PASSES, UPPER_LIP, FaceLandmarker,
                                      _roll)
from emoface.capture.lids import lid_curves, lid_opening
from emoface.capture.pose import RIGID, angles, reference, rigid_fit, to_face_axes
from emoface.capture.pose_leak import fitted_axes, without_pose
from emoface.capture.solve import CHEEKS_NOSE_CHIN, LIPS, UPPER_SHAPES, Solver
from emoface.errors import InputError
from emoface.filters1d import gaussian_filter1d
from emoface.post.gaze import look_curves
from emoface.progress import show_progress
from emoface.rigs import CANONICAL_RIG, canonical_names

log = logging.getLogger("emoface")

MIN_FOUND = 0.5  # the share of frames that must show a face
MOUTH_CORNERS = (61, 291)
SHUT_SHARE = 0.08  # lips shut: inner-lip gap within 8% of the way from the take's closed to its open lips
OPEN_QUANTILE = 0.9
VALLEY_S, VALLEY_SHARE, VALLEY_CEILING = 0.12, 0.7, 0.5  # a valley: under 70% of the openings 120 ms around
PARTING = ("MouthLowerDown", "MouthUpperUp", "MouthFunnel")  # shapes that part the lips by themselves
CLOSED_SHARE = 0.1  # the neutral mouth: the median of the take's most closed tenth
REFERENCE_FRAMES = 300
NEUTRAL_REACH_S = 0.2  # --neutral T: the median face over T +- this
SMOOTH_S = 0.02  # Gaussian sigma, seconds: landmark jitter out, speech kept
EYE_WIDTH_PER_RADIUS = 2.4  # palpebral fissure (~29 mm) over eyeball radius (~12 mm): iris shift -> angle
MOUTH_CURVES = ("Jaw", "Mouth", "Cheek")
LIDS_OPEN = 0.6  # gaze is held from the frames around where the lids are under 60% of their usual opening
# the gaze that explains a lid's fall is held wherever the lids are under 85% open: a lid part-way down pulls the
# iris model's centre down with it, and that look down would explain the blink away
LIDS_OPEN_FOR_LOOKS = 0.85
ANGLES = ("yaw", "pitch", "roll")
# a picture this much shorter than its stream's header says is a file cut short (a copy or an upload that stopped)
TRUNCATED_S, TRUNCATED_SHARE = 0.5, 0.1
SIDEWAYS_DEG = 60.0  # a head rolled this far most of a take: a sideways video (a portrait take without its tag)


def probe(path: Path) -> tuple[int, int, float]:
    """(width, height, average frames per second or 0 if ffmpeg names none) of a video's picture, or one clear
    error: missing, unreadable, no video stream."""
    import subprocess

    from emoface.audio import ffmpeg_exe

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "video not found")
    text = subprocess.run([ffmpeg_exe() or "ffmpeg", "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, text=True, errors="replace").stderr
    size = re.search(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})(.*)", text)
    if size:
        rate = re.search(r" (\d+(?:\.\d+)?) fps", size.group(3))
        return int(size.group(1)), int(size.group(2)), float(rate.group(1)) if rate else 0.0
    if re.search(r"Stream #\S+.*?: Audio:", text):
        raise InputError(path, "has no video stream (a sound file?)")
    if "Input #0" in text:
        raise InputError(path, "the video has 0 frames (no streams)")
    last = [ln.strip() for ln in text.splitlines() if ln.strip()]
    reason = re.sub(r"^\[[^]]*\]\s*", "", last[-1]).removeprefix(f"{path}: ") if last else "ffmpeg could not open it"
    raise InputError(path, f"not a readable video ({reason})")


def _not_the_rotation(record: logging.LogRecord) -> bool:
    """imageio-ffmpeg warns that a phone's portrait take (stored sideways, tagged to turn) is read at the turned
    size: it is turned upright as it should be, and a user has nothing to do about it."""
    return not record.getMessage().startswith("The frame size for reading")


def read_video(path: Path):
    """(frames per second, iterator of RGB frames, upright as a player shows them) from any file ffmpeg reads;
    one clear error otherwise."""
    import imageio_ffmpeg

    logging.getLogger("imageio_ffmpeg").addFilter(_not_the_rotation)  # once: a filter is added only once
    rate = probe(path)[2]
    seconds = picture_seconds(path) or 0.0  # what the picture's header says, for a file cut short
    # a phone records at a variable rate: frames come at exactly the average rate (repeated over a gap, dropped
    # where they crowd), so frame i is the picture at i / fps and the curves stay with the sound; ffmpeg's own
    # choice (the stream's base rate, 30 for a phone's 24.2 average) ran a take's curves 24% long
    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24",
                                            output_params=["-r", f"{rate:g}"] if rate > 0 else None)
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "ffmpeg could not read it"
        raise InputError(path, f"not a readable video ({reason})") from None
    fps = rate or float(meta.get("fps") or 0)
    if not meta.get("size") or fps <= 0:
        raise InputError(path, "has no video stream")
    w, h = meta["size"]

    def frames():
        count = 0
        try:
            for raw in reader:
                count += 1
                yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        except (OSError, RuntimeError) as exc:
            raise InputError(path, f"video data is corrupt ({str(exc).strip().splitlines()[-1]})") from None
        finally:
            reader.close()
        if count and seconds - count / fps > max(TRUNCATED_S, TRUNCATED_SHARE * seconds):  # a copy cut short
            raise InputError(path, f"video data ends at {count / fps:.2f} s but its header says {seconds:.2f} s "
                                   "(truncated file?)")

    return fps, frames()


def track(path: Path, progress: bool = False, tracker: FaceLandmarker | None = None) -> tuple[float, list]:
    """(fps, a Landmarks or None per frame) of a video (`tracker`: a landmarker set up otherwise)."""
    from tqdm import tqdm

    fps, frames = read_video(path)
    tracker = tracker or FaceLandmarker()
    tracker.fps = fps
    show = show_progress(progress)  # a bar is for a person watching, not for a log
    found = [tracker(f) for f in tqdm(frames, desc=f"tracking {Path(path).name}", unit="frame", disable=not show,
                                      leave=False)]
    for start in tracker.moved:  # each stretch where another face was followed, to the actor's return if any
        end = next((f for f in tracker.returned if f > start), None)
        stretch = f"from {start / fps:.2f} s on" if end is None else f"from {start / fps:.2f} to {end / fps:.2f} s"
        log.warning("%s: the face was lost for %.0f s or more, and %s a face elsewhere in the picture was followed: "
                    "if that is someone else, those curves are theirs", path, LOST_S, stretch)
    if not found:
        raise InputError(path, "the video has 0 frames")
    seen = sum(f is not None for f in found)
    if seen == 0:
        raise InputError(path, f"no face found in any of its {len(found)} frames")
    if seen < MIN_FOUND * len(found):
        raise InputError(path, f"a face is found in only {seen} of {len(found)} frames (needs half)")
    return fps, found


def _bridge(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Frames without a face take values interpolated from the nearest frames with one."""
    if ok.all():
        return values
    flat = values.reshape(len(values), -1)
    idx = np.flatnonzero(ok)
    out = np.stack([np.interp(np.arange(len(values)), idx, flat[idx, k]) for k in range(flat.shape[1])], 1)
    return out.reshape(values.shape)


def _smooth(weights: np.ndarray, names, shut: np.ndarray, fps: float) -> np.ndarray:
    """Gaussian in time; where the lips were seen shut, the mouth keeps its raw frame (a closure must not blur
    open)."""
    sigma = SMOOTH_S * fps
    if sigma < 0.3 or len(weights) < 3:
        return weights
    out = gaussian_filter1d(weights, sigma, axis=0, mode="nearest")
    mouth = np.array([n.startswith(MOUTH_CURVES) for n in names])
    out[np.ix_(shut, mouth)] = weights[np.ix_(shut, mouth)]
    return out


def shut_frames(gap: np.ndarray, fps: float) -> np.ndarray:
    """Frames whose lips are shut, from the inner-lip gap: near the take's own closed level, or a clear valley
    between openings (a /p b m/ lasts 2-3 frames at 25 fps, and a landmarker rarely brings pressed lips
    all the way to its closed level)."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    closed = np.median(gap[gap <= np.quantile(gap, CLOSED_SHARE)])
    span = np.quantile(gap, OPEN_QUANTILE) - closed
    near_closed = gap - closed < SHUT_SHARE * span
    reach = max(1, int(round(VALLEY_S * fps)))
    around = maximum_filter1d(gap, 2 * reach + 1, mode="nearest")
    valley = (gap <= minimum_filter1d(gap, 3, mode="nearest")) & (gap - closed < VALLEY_SHARE * (around - closed))
    return near_closed | (valley & (gap - closed < VALLEY_CEILING * span))


def _close_lips(weights: np.ndarray, names, shut: np.ndarray) -> np.ndarray:
    """Where the lips are seen shut, the curves say so too: ARKit's mouthClose holds them together against
    the jaw (a /b/ with the jaw dropped), and shapes that part the lips by themselves are off."""
    index = {n: k for k, n in enumerate(names)}
    if "JawOpen" in index and "MouthClose" in index:
        weights[shut, index["MouthClose"]] = weights[shut, index["JawOpen"]]
    for name, k in index.items():
        if name.startswith(PARTING):
            weights[shut, k] = 0.0
    return weights


def _gaze(iris: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conjugate gaze (yaw, pitch degrees per frame) from iris centres [n, 2, 3] and eye corners [n, 2, 2, 3]
    (pose-free), relative to the actor's median gaze over the take."""
    mid = corners.mean(axis=2)
    width = np.linalg.norm(corners[:, :, 0] - corners[:, :, 1], axis=-1)[..., None]
    offset = ((iris - mid) / np.maximum(width, 1e-9))[..., :2].mean(axis=1)  # both eyes: [n, (x, y)]
    offset -= np.median(offset, axis=0)
    deg = np.degrees(np.arcsin(np.clip(offset * EYE_WIDTH_PER_RADIUS, -1.0, 1.0)))
    return deg[:, 0], deg[:, 1]


@dataclass
class PoseFree:
    """A take's landmarks with the camera's perspective and the head's pose taken out."""
    points: np.ndarray  # [frames, 468, 3] face axes, in the take's reference face's place and scale
    irises: np.ndarray  # [frames, 2, 3] the iris centres, likewise
    head: np.ndarray  # [frames, 3] yaw, pitch, roll (degrees) against the reference
    ok: np.ndarray  # [frames] a face was found (the others are bridged from their neighbours)
    gap: np.ndarray  # [frames] inner-lip gap as a share of the mouth's median width
    reference: np.ndarray  # the rigid points of the take's mean face
    camera: dict  # the camera found, for the metadata ({} where none was taken out)


def pose_free(found: list) -> PoseFree:
    """Landmarks per frame (None where no face) -> the face's own motion."""
    ok = np.array([f is not None for f in found])
    first = next(f for f in found if f is not None)
    seen = np.stack([np.concatenate([f.points, f.iris[:, 0]]) if f is not None else
                     np.zeros((len(first.points) + 2, 3), np.float32) for f in found]).astype(np.float64)
    pick = np.flatnonzero(ok)
    camera = {}
    if min(first.frame) > 0:  # the picture's size is known: the camera's perspective out, if the take tells it
        centre = (first.frame[0] / 2, first.frame[1] / 2)
        found_camera = focal_length(seen[pick], centre)
        if found_camera is not None:
            focal, distance = found_camera
            seen[pick] = unproject(seen[pick], centre, focal)
            camera = {"focal_px": round(focal, 1), "camera_m": round(distance, 2)}
    points, irises = to_face_axes(seen[:, :-2]), to_face_axes(seen[:, -2:])
    ref = reference(points[pick[np.linspace(0, len(pick) - 1, min(len(pick), REFERENCE_FRAMES)).astype(int)]])
    undone, iris_undone = np.zeros_like(points), np.zeros_like(irises)
    head = np.zeros((len(found), 3))
    for i in pick:
        r, s, t = rigid_fit(ref, points[i, RIGID])
        undone[i] = ((points[i] - t) @ r) / s
        iris_undone[i] = ((irises[i] - t) @ r) / s
        head[i] = angles(r)
    undone, iris_undone, head = _bridge(undone, ok), _bridge(iris_undone, ok), _bridge(head, ok)
    width = np.linalg.norm(undone[:, MOUTH_CORNERS[0]] - undone[:, MOUTH_CORNERS[1]], axis=1)
    gap = np.linalg.norm(undone[:, UPPER_LIP, :2] - undone[:, LOWER_LIP, :2], axis=1) / np.median(width)
    return PoseFree(undone, iris_undone, head, ok, gap, ref, camera)


def actor_neutral(face: PoseFree, fps: float, neutral_frame: int | None = None) -> np.ndarray:
    """The actor's relaxed face [468, 3]: the frames around `neutral_frame`, or else the take's median face with
    the mouth of its most closed frames."""
    if neutral_frame is not None:
        reach = max(1, int(round(NEUTRAL_REACH_S * fps)))
        around = [i for i in range(neutral_frame - reach, neutral_frame + reach + 1)
                  if 0 <= i < len(face.ok) and face.ok[i]]
        return np.median(face.points[around], axis=0)
    neutral = np.median(face.points, axis=0)
    closed = face.gap <= np.quantile(face.gap, CLOSED_SHARE)
    mouth = LIPS + CHEEKS_NOSE_CHIN
    neutral[mouth] = np.median(face.points[closed][:, mouth], axis=0)
    return neutral


def solve_take(found: list, fps: float, basis: Basis | None = None, neutral_frame: int | None = None,
               source: str = "") -> Animation:
    """Landmarks per frame (None where no face) -> canonical Animation at the video's frame rate."""
    basis = basis or load_basis()
    face = pose_free(found)
    undone, iris_undone, head, ok, gap = face.points, face.irises, face.head, face.ok, face.gap
    neutral = actor_neutral(face, fps, neutral_frame)
    solver = Solver(basis, face.reference)
    shut = shut_frames(gap, fps)
    # the head's angles from the take's usual pose (not the neutral's: an actor settles into a pose to speak, and
    # all the speech would go with it): what they alone put into a curve is not the face's
    moved = head - np.median(head[ok], axis=0)
    floor_angles = [ANGLES[k] for k in fitted_axes(moved, fps)]
    weights = _close_lips(_smooth(without_pose(solver(undone, neutral), moved, fps), solver.names, shut, fps),
                          solver.names, shut)

    anim = Animation.zeros(canonical_names(), fps, len(found), CANONICAL_RIG, {
        "source": source, **({"source_abs": os.path.abspath(source)} if source and os.path.isfile(source) else {}),
        "engine": "capture",
        "capture": {"frames": len(found), "face_found": round(float(ok.mean()), 4), "video_fps": fps, **face.camera,
                    **({"pose_floor": floor_angles} if floor_angles else {})},
    })
    for k, name in enumerate(solver.names):
        anim[name] = weights[:, k]
    corners = np.stack([undone[:, list(pair)] for pair in EYE_CORNERS], axis=1)  # [n, 2 eyes, 2, 3]
    gaze = np.stack(_gaze(iris_undone, corners), axis=1)
    opening = sum(lid_opening(undone, side) for side in ("Left", "Right")) / 2
    opening = opening / np.median(opening[ok])  # as a share of the lids' usual distance
    yaw, pitch = _held_gaze(gaze, ok & (opening > LIDS_OPEN), fps)
    # the lids, less what the lower face's shapes do to them (a smile's cheeks narrow the eye) and what the gaze
    # does (an eye looking down takes its upper lid with it, and the look shapes written below bring it down again
    # on a rig); those are solved without the eyes' points, while the brows' weights (solved on them) already hold
    # part of a blink
    looks = _gaze_curves(*_held_gaze(gaze, ok & (opening > LIDS_OPEN_FOR_LOOKS), fps))
    lids = lid_curves(undone, neutral, basis, {n: w for n, w in zip(solver.names, weights.T)
                                               if not n.startswith(UPPER_SHAPES)} | looks)
    smoothed = _smooth(without_pose(np.stack(list(lids.values()), axis=1), moved, fps), tuple(lids),
                       np.zeros(len(undone), bool), fps)
    for k, name in enumerate(lids):
        anim[name] = smoothed[:, k]
    head = _smooth(head, ("Head",) * 3, np.zeros(len(head), bool), fps)
    for k, name in enumerate(("HeadYaw", "HeadPitch", "HeadRoll")):
        anim[name] = np.clip(head[:, k] / 180.0, -1.0, 1.0)
    for name, value in _gaze_curves(yaw, pitch).items():
        anim[name] = value
    return anim


def _held_gaze(gaze: np.ndarray, seen: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaze [n, (yaw, pitch)] held across the frames not `seen` (an iris under a closing lid reads low), smoothed."""
    held = _bridge(gaze, seen) if seen.any() else gaze
    return _smooth(held, ("Eye",) * 2, np.zeros(len(held), bool), fps).T


def _gaze_curves(yaw: np.ndarray, pitch: np.ndarray) -> dict[str, np.ndarray]:
    """Measured gaze as the look shapes (0..1) and eye rotations the post-processor writes (without its lid
    coupling: the lids are measured too)."""
    return {name: value if name.endswith(("Yaw", "Pitch")) else np.clip(value, 0.0, 1.0)
            for name, value in look_curves(yaw, pitch).items()}


def capture(path: Path, fps: float | None = None, basis: Basis | None = None, neutral_s: float | None = None,
            progress: bool = False, passes: int = PASSES) -> Animation:
    """A face video -> its canonical Animation, at the video's frame rate or `fps` (`passes`: crops landmarked
    per frame and averaged; fewer is faster and noisier)."""
    video_fps, found = track(path, progress, FaceLandmarker(passes=passes))
    neutral = None if neutral_s is None else int(neutral_s * video_fps + 1e-6)  # the frame shown at that time
    if neutral is not None and neutral >= len(found):
        raise InputError("--neutral", f"{neutral_s} s is past the end of {Path(path).name} "
                                      f"({len(found) / video_fps:.2f} s long)")
    if neutral is not None and found[neutral] is None:
        raise InputError("--neutral", f"{neutral_s} s is not a frame of {Path(path).name} with a face")
    anim = solve_take(found, video_fps, basis, neutral, str(path))
    rolls = [abs(_roll(*(lm.points[eye[0], :2] for eye in EYE_CORNERS))) for lm in found if lm is not None]
    roll = float(np.degrees(np.median(rolls))) if rolls else 0.0  # in the picture (HeadRoll is from the neutral)
    if roll > SIDEWAYS_DEG:  # the mouth still reads; the lids, seen from the side of the landmarker's crop, do not
        log.warning("%s: the face is not upright in the picture (turned %.0f degrees): its eyes are not read "
                    "reliably; turn the video upright first (ffmpeg -vf transpose=1, or 2)", path, roll)
    return anim if fps is None else anim.resampled(fps)

