"""Face landmarks per video frame, without MediaPipe's runtime.

MediaPipe's face mesh is three small Apache-2.0 networks: BlazeFace (short range) finds the face, the
468-point mesh is fitted in a 192x192 crop around it, and the iris model finds each iris in a 64x64 eye crop.
Its Python package needs numpy<2 and jax; the networks alone need neither, so emoface ships the .tflite files
(emoface/capture/models/, from the mediapipe 0.10.21 wheel, LICENSE there) and runs them on LiteRT
(`ai-edge-litert`, the optional `capture` extra). Like MediaPipe, a face found in one frame is tracked from its
own landmarks in the next; the detector runs again only when the mesh loses it. Like MediaPipe too, every crop
is turned with the head's roll (the line through the eyes: the detector's eye keypoints, then the last frame's
eye corners), so the networks see an upright face: with square crops a head tilted 15 degrees lost most of
what capture reads (docs/CAPTURE.md).

Each frame is landmarked in several crops a few percent apart, and the answers averaged: the mesh's answer for
a faint motion (a smile, a stretch, lips pressed shut) depends on where exactly the crop falls as much as on the
face: on GRID s1, two captures whose crops lay 6% of their side apart agreed on those curves at r 0.43-0.56 from
one crop a frame, 0.60-0.72 from four averaged (docs/CAPTURE.md, "Where the crop falls").
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

from emoface.errors import InputError

DETECTOR, MESH, IRIS = "face_detection_short_range.tflite", "face_landmark.tflite", "iris_landmark.tflite"
DETECT_SIZE, MESH_SIZE, IRIS_SIZE = 128, 192, 64
MIN_DETECTION, MIN_PRESENCE = 0.5, 0.5
CROP_SCALE = 1.5  # the mesh's crop: the face box widened by half, as MediaPipe does
PASSES = 4  # crops landmarked per frame and averaged
PASS_SHIFT, PASS_ZOOM = 0.025, 0.03  # how far the passes' crops lie from the tracked one: a share of its side
SMALLEST_SQUARE = 192  # pixels: detect_small looks no smaller (faces of about 40 px and up: smaller ones
# tell the mesh little, and a 1080p picture searched down to 96 px squares took 2 s a search, not 0.4)
REACH = 1.0  # face sides: a face found again after the actor was lost is the actor if it lies this near where
# they were last seen; another face in the picture (someone passing, a colleague behind) is not taken for them
LOST_S = 2.0  # seconds: after this long without the actor, the largest face anywhere is (they may have moved), and
# the take's capture warns of it
HOME_EVERY_S = 0.5  # seconds: while that other face is followed, how often the picture is searched for a face back
# where the actor was lost (they came back: followed again)
SEARCH_EVERY, SEARCH_AT_MOST_EVERY = 8, 64  # a small face lost is searched for on this many frames in a row, then
# after this many frames, twice as many after each search that finds none, up to the second figure (a video with
# no face at all would otherwise cost dozens of detector runs a frame)


def tracker(passes: int = PASSES) -> str:
    """What a capture's crops are: captures cached for training are redone when it changes."""
    return f"crops turned with the head's roll, {passes} averaged"


UPPER_LIP, LOWER_LIP = 13, 14  # inner-lip midpoints of the 468-point mesh
# eye corners (outer, inner): the character's right eye (image left), then left; the iris model knows a
# right eye, so the left one is mirrored for it (as MediaPipe does)
EYE_CORNERS = ((33, 133), (263, 362))
EYE_CROP_SCALE = 2.3  # eye crop side / corner distance (MediaPipe's)
# the mesh points of each eye's lid contour, in the order the iris model returns its first 16 contour points
# (lower lid corner to corner, then the upper lid between the corners). MediaPipe's refinement
# (refine_landmarks) moves them onto the iris model's contour, which follows a closing lid much further: on
# GRID s1's closed eyes the mesh's lids stay 64-75% of their usual distance apart, the contour's 12-45%. The
# corners (None) stay the mesh's: they anchor the head pose, which the mouth's solve depends on.
EYE_CONTOURS = ((None, 7, 163, 144, 145, 153, 154, 155, None, 246, 161, 160, 159, 158, 157, 173),
                (None, 249, 390, 373, 374, 380, 381, 382, None, 466, 388, 387, 386, 385, 384, 398))
LID_SLOTS = [k for k, index in enumerate(EYE_CONTOURS[0]) if index is not None]  # the contour points used
LID_POINTS = [[contour[k] for k in LID_SLOTS] for contour in EYE_CONTOURS]  # their mesh points, per eye


@dataclass
class Landmarks:
    points: np.ndarray  # [468, 3] float32: x, y in frame pixels; z in the same pixel scale (depth, relative)
    presence: float  # the mesh's own face-presence probability (0..1)
    iris: np.ndarray | None = None  # [2 eyes (character's right, left), 5 (centre, then the rim), 3], pixels
    frame: tuple[int, int] = (0, 0)  # the picture's width and height: its centre is the camera's axis

    @property
    def lip_gap(self) -> float:
        """Inner-lip opening in pixels: the simplest measure of an open mouth."""
        return float(np.linalg.norm(self.points[UPPER_LIP, :2] - self.points[LOWER_LIP, :2]))


def _interpreter(name: str):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise InputError("capture", "face tracking needs the capture extra: pip install 'emoface[capture]'") from None
    from emoface.audio import quiet_stderr

    with quiet_stderr():  # LiteRT announces its CPU delegate on stderr, in the middle of our progress bars
        interpreter = Interpreter(model_path=str(resources.files("emoface.capture") / "models" / name),
                                  num_threads=1)
        interpreter.allocate_tensors()
    return interpreter


def _run(interpreter, image: np.ndarray) -> list[np.ndarray]:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None].astype(np.float32))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def _anchors() -> np.ndarray:
    """BlazeFace short range's 896 anchor centres (0..1): 2 per cell of a 16x16 grid, 6 per cell of 8x8."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = DETECT_SIZE // stride
        grid = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1).reshape(-1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres)


def _crop(frame: np.ndarray, centre: np.ndarray, size: float, out: int, angle: float = 0.0):
    """A square out x out crop of side `size` pixels around centre, turned by `angle` (radians, the way the
    image's x axis turns toward its y axis; zero outside the frame), and the map back to the frame's pixels
    (to_frame)."""
    from PIL import Image  # here: every command's parser reads PASSES from this module

    scale = size / out
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    half = out / 2
    # frame_xy = centre + R (crop_xy - half) scale
    matrix = np.array([[c, -s, centre[0] - (c - s) * half], [s, c, centre[1] - (s + c) * half]])
    img = Image.fromarray(frame).transform((out, out), Image.Transform.AFFINE, tuple(matrix.ravel()),
                                           Image.Resampling.BILINEAR)
    return np.asarray(img, np.float32), matrix


def to_frame(matrix: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Crop pixel coordinates [..., 2] -> the frame's, through a crop's map (_crop)."""
    return xy @ matrix[:, :2].T + matrix[:, 2]


def pass_crops(passes: int) -> list[tuple[float, float, float]]:
    """(x shift, y shift, zoom) of each pass's crop relative to the tracked one: one pass takes the tracked crop
    itself; more lie evenly round it (shifted diagonally, zoomed in and out in turn), centred on it on average."""
    if passes < 1:
        raise ValueError(f"{passes} passes: a frame needs at least one crop")
    if passes == 1:
        return [(0.0, 0.0, 1.0)]
    angles = 2 * np.pi * np.arange(passes) / passes + np.pi / 4
    zoom = 1 + PASS_ZOOM * np.cos(2 * np.pi * np.arange(passes) * (passes // 2) / passes)
    return [(PASS_SHIFT * np.cos(a), PASS_SHIFT * np.sin(a), z) for a, z in zip(angles, zoom)]


def _near(faces: list, place):
    """The face nearest `place` ((centre, side)) if it lies within REACH of it, else None."""
    if place is None or not faces:
        return None
    centre, side = place
    away = [float(np.linalg.norm(f[1] - centre)) / side for f in faces]
    k = int(np.argmin(away))
    return faces[k] if away[k] <= REACH else None


def _distinct(faces: list) -> list:
    """One entry per face, the most confident first: the detector's anchors that overlap a more confident one's
    box by more than half its side are the same face."""
    kept = []
    for face in sorted(faces, key=lambda f: -f[0]):
        if all(np.linalg.norm(face[1] - k[1]) > 0.5 * max(face[2], k[2]) for k in kept):
            kept.append(face)
    return kept


def _turn(angle: float) -> np.ndarray:
    """The 2x2 rotation by `angle` in image axes (x toward y)."""
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _roll(right: np.ndarray, left: np.ndarray) -> float:
    """The image angle of the line from the character's right eye (image left) to its left eye."""
    d = np.asarray(left, np.float64) - np.asarray(right, np.float64)
    return float(np.arctan2(d[1], d[0]))


class FaceLandmarker:
    """RGB frames (uint8 [h, w, 3]) in order -> Landmarks, or None where no face is seen.

    One actor per take: the largest face when it is first seen, then that face, tracked. Lost (a hand, a turn
    away), it is looked for again where it was; other faces in the picture are passed over for LOST_S, then the
    largest is taken and the frame listed in `moved`. While that face is followed, a face back where the actor was
    lost is taken again, and the frame listed in `returned` (a take's capture warns of both)."""

    def __init__(self, refine_lids: bool = True, passes: int = PASSES, fps: float = 30.0):
        self.detector, self.mesh, self.iris = _interpreter(DETECTOR), _interpreter(MESH), _interpreter(IRIS)
        self.refine_lids = refine_lids  # False: the coarse mesh's lids (docs/CAPTURE.md compares the two)
        self.crops = pass_crops(passes)
        self.anchors = _anchors()
        self.previous: Landmarks | None = None
        self._search_wait = 0  # frames before the next search in squares (detect_small) while no face is found
        self._searches_missed = 0  # searches in squares in a row that found no face
        self.fps = fps  # the take's: how many frames LOST_S is
        self.actor: tuple[np.ndarray, float] | None = None  # (centre, face side) in pixels where last seen
        self.lost = 0  # frames since the actor was last seen
        self.frames = 0  # frames landmarked so far
        self.moved: list[int] = []  # frames where a face away from where the actor was lost was taken up
        self.returned: list[int] = []  # frames where a face back where the actor was lost was taken up again
        self.home: tuple[np.ndarray, float] | None = None  # (centre, side) where the actor was lost, while another
        # face is followed

    def detect(self, frame: np.ndarray) -> list[tuple[float, np.ndarray, float, float]]:
        """(score, face centre in pixels, box side in pixels, roll in radians) of each face in the whole picture."""
        h, w = frame.shape[:2]
        return self._detect_in(frame, np.array([w / 2, h / 2]), max(h, w))

    def _choose(self, faces) -> tuple[tuple[np.ndarray, float, float] | None, str]:
        """(centre, side, roll) of the face that is the actor's, or None; and where it lies: "" where the face
        followed was last seen, "home" where the actor was lost while another face is followed, "elsewhere"."""
        if not faces:
            return None, ""
        if self.actor is None:  # first sight: the face nearest the camera
            return max(faces, key=lambda f: f[2])[1:], ""
        for place, where in ((self.home, "home"), (self.actor, "")):
            near = _near(faces, place)
            if near is not None:
                return near[1:], where
        return (max(faces, key=lambda f: f[2])[1:], "elsewhere") if self.lost >= LOST_S * self.fps else (None, "")

    def _taken(self, where: str) -> None:
        """A face taken up by _choose's answer: note it where it is not the one followed before."""
        if where == "elsewhere":
            self.home = self.home or self.actor
            self.moved.append(self.frames)
        elif where == "home":
            self.home = None
            self.returned.append(self.frames)

    def _back_home(self, frame: np.ndarray, followed: Landmarks) -> Landmarks:
        """While another face is followed: the actor's face instead, where one is back where they were lost."""
        here = self._box_of(followed)[0]
        face = _near([f for f in self.detect(frame) if np.linalg.norm(f[1] - here) > REACH * self.home[1]],
                     self.home)
        back = None if face is None else self._mesh(frame, face[1], face[2] * CROP_SCALE, face[3])
        if back is None:
            return followed
        self._taken("home")
        return back

    def _search_small(self, frame: np.ndarray) -> Landmarks | None:
        """Where the whole picture shows no face the mesh accepts, a face too small for the whole picture
        (an actor across the room from a webcam, a phone's 1080p on a tripod): detect_small, then the mesh. After
        SEARCH_EVERY frames in a row without one, the searches thin out (after SEARCH_EVERY frames, twice as many
        after each miss, up to SEARCH_AT_MOST_EVERY): the squares are dozens of detector runs, and the detector's
        false finds in a faceless picture are many."""
        if self._search_wait > 0:
            self._search_wait -= 1
            return None
        box, where = self._choose(self.detect_small(frame))
        found = None if box is None else self._mesh(frame, box[0], box[1] * CROP_SCALE, box[2])
        if found is not None:
            self._taken(where)
        self._searches_missed = 0 if found is not None else self._searches_missed + 1
        if self._searches_missed > SEARCH_EVERY:  # not a face lost for a moment (a blink, a hand): thin out
            thinned = self._searches_missed - SEARCH_EVERY - 1
            self._search_wait = min(SEARCH_EVERY << thinned, SEARCH_AT_MOST_EVERY) - 1
        return found

    def detect_small(self, frame: np.ndarray) -> list[tuple[float, np.ndarray, float, float]]:
        """detect in overlapping squares of the picture (half a square apart), from its shorter side down by
        halves to SMALLEST_SQUARE pixels: a face of a tenth of the picture is 13 px to the detector in the whole
        of it, too small for BlazeFace's short-range model, which finds faces of a fifth of its input and more."""
        h, w = frame.shape[:2]
        side = float(min(h, w))
        while side >= SMALLEST_SQUARE:
            xs = np.linspace(side / 2, w - side / 2, max(1, int(np.ceil(2 * (w - side) / side)) + 1))
            ys = np.linspace(side / 2, h - side / 2, max(1, int(np.ceil(2 * (h - side) / side)) + 1))
            found = _distinct([f for y in ys for x in xs for f in self._detect_in(frame, np.array([x, y]), side)])
            if found:
                return found
            side /= 2
        return []

    def _detect_in(self, frame: np.ndarray, centre: np.ndarray, side: float):
        """[(score, face centre, box side, roll)] of each face in the square of `side` pixels around `centre`
        (zero beyond the picture) at MIN_DETECTION or more, the most confident first."""
        square, _ = _crop(frame, centre, side, DETECT_SIZE)
        boxes, scores = _run(self.detector, square / 127.5 - 1.0)
        score = 1 / (1 + np.exp(-np.clip(scores[0, :, 0], -80, 80)))
        corner = centre - side / 2
        faces = []
        for k in np.flatnonzero(score >= MIN_DETECTION):
            at = (self.anchors[k] + boxes[0, k, :2] / DETECT_SIZE) * side + corner
            # keypoints after the box: the character's right eye, then its left (x, y offsets from the anchor)
            right, left = ((self.anchors[k] + boxes[0, k, 4 + 2 * j: 6 + 2 * j] / DETECT_SIZE) * side + corner
                           for j in (0, 1))
            faces.append((float(score[k]), at, float(max(boxes[0, k, 2:4]) / DETECT_SIZE * side), _roll(right, left)))
        return _distinct(faces)

    def __call__(self, frame: np.ndarray) -> Landmarks | None:
        frame = np.ascontiguousarray(frame, np.uint8)
        found = None
        if self.previous is not None:  # track: the crop follows last frame's mesh
            found = self._mesh(frame, *self._box_of(self.previous))
            every = max(1, round(HOME_EVERY_S * self.fps))
            if found is not None and self.home is not None and self.frames % every == 0:
                found = self._back_home(frame, found)
        if found is None:
            box, where = self._choose(self.detect(frame))
            found = None if box is None else self._mesh(frame, box[0], box[1] * CROP_SCALE, box[2])
            if found is not None:
                self._taken(where)
        if found is None:
            found = self._search_small(frame)
        if found is not None:
            found.frame = (frame.shape[1], frame.shape[0])
            centre, side, _ = self._box_of(found)
            self.actor, self.lost = (centre, side / CROP_SCALE), 0
        else:
            self.lost += 1
        self.previous = found
        self.frames += 1
        return found

    @staticmethod
    def _box_of(landmarks: Landmarks) -> tuple[np.ndarray, float, float]:
        """(centre, side, roll) of the next frame's crop: the landmarks' box in the face's own upright axes."""
        roll = _roll(*(landmarks.points[eye[0], :2] for eye in EYE_CORNERS))  # the outer corners
        turn = _turn(roll)
        upright = landmarks.points[:, :2] @ turn  # rows turned by -roll
        lo, hi = upright.min(0), upright.max(0)
        centre = turn @ ((lo + hi) / 2)
        return centre, float(max(hi - lo)) * CROP_SCALE, roll

    def _mesh(self, frame: np.ndarray, centre: np.ndarray, size: float, roll: float = 0.0) -> Landmarks | None:
        """The face in a crop, averaged over the passes' crops round it (None: the mesh sees no face)."""
        turn = _turn(roll)
        found = [self._one_mesh(frame, centre + turn @ np.array([dx, dy]) * size, size * zoom, roll)
                 for dx, dy, zoom in self.crops]
        found = [f for f in found if f is not None]
        if 2 * len(found) < len(self.crops):  # a face in at least half the crops (so never none)
            return None
        return Landmarks(np.mean([f.points for f in found], axis=0), float(np.mean([f.presence for f in found])),
                         np.mean([f.iris for f in found], axis=0))

    def _one_mesh(self, frame: np.ndarray, centre: np.ndarray, size: float, roll: float) -> Landmarks | None:
        crop, matrix = _crop(frame, centre, size, MESH_SIZE, roll)
        points, presence = _run(self.mesh, crop / 255.0)
        presence = float(1 / (1 + np.exp(-presence.ravel()[0])))
        if presence < MIN_PRESENCE:
            return None
        points = points.reshape(-1, 3)
        pts = np.concatenate([to_frame(matrix, points[:, :2]), points[:, 2:] * (size / MESH_SIZE)], axis=1)
        iris = self._eyes(frame, pts)
        return Landmarks(pts.astype(np.float32), presence, iris)

    def _eyes(self, frame: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Each eye's iris [2, 5, 3] from the iris model; its lid contour replaces the mesh's in `pts` (x, y;
        the mesh's depth is kept), as MediaPipe refines them."""
        out = np.zeros((2, 5, 3), np.float32)
        for eye, (outer, inner) in enumerate(EYE_CORNERS):
            centre = (pts[outer, :2] + pts[inner, :2]) / 2
            size = EYE_CROP_SCALE * float(np.linalg.norm(pts[outer, :2] - pts[inner, :2]))
            # turned so that the corners lie level (the right eye's outer corner is on the image's left)
            roll = _roll(pts[outer, :2], pts[inner, :2]) if eye == 0 else _roll(pts[inner, :2], pts[outer, :2])
            crop, matrix = _crop(frame, centre, size, IRIS_SIZE, roll)
            mirrored = eye == 1
            contour, iris = _run(self.iris, (crop[:, ::-1] if mirrored else crop) / 255.0)
            iris = iris.reshape(5, 3).copy()
            lids = contour.reshape(-1, 3)[LID_SLOTS, :2]
            if mirrored:
                iris[:, 0] = IRIS_SIZE - iris[:, 0]
                lids[:, 0] = IRIS_SIZE - lids[:, 0]
            if self.refine_lids:
                pts[LID_POINTS[eye], :2] = to_frame(matrix, lids)
            out[eye, :, :2] = to_frame(matrix, iris[:, :2])
            # the iris model's depth is its eye crop's, not the face's (its centre sat from 0.11 eye widths behind
            # the eye corners to 0.36 in front, clip to clip, on one speaker): the iris takes its lids' mean depth,
            # as MediaPipe's refinement gives it, keeping the model's rim around it. A wrong depth turns with the
            # head and reads as gaze: a 20-degree head turn read as 27 degrees of eye yaw, now 14
            out[eye, :, 2] = pts[LID_POINTS[eye], 2].mean() + (iris[:, 2] - iris[0, 2]) * (size / IRIS_SIZE)
        return out
