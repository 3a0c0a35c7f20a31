"""The camera's perspective: found from a turning head and taken out, so a turn does not read as expression."""

import numpy as np
import pytest

from emoface.capture.basis import load_basis
from emoface.capture.camera import EYES_APART_M, focal_length, unproject
from emoface.capture.landmarks import EYE_CORNERS
from emoface.capture.pose import RIGID, rigid_fit, to_face_axes
from emoface.render.drive import rotation

CENTRE = (640.0, 360.0)  # a 1280 x 720 webcam picture
FOCAL = 900.0


def _face_in_metres() -> np.ndarray:
    """The shipped basis's neutral face (face axes), centred and scaled to an adult's eyes 63 mm apart."""
    face = load_basis().neutral.astype(np.float64)
    face -= face[RIGID].mean(0)
    eyes = [face[list(pair)].mean(0) for pair in EYE_CORNERS]
    return face * EYES_APART_M / np.linalg.norm(eyes[0] - eyes[1])


def _filmed(face: np.ndarray, yaw_deg: np.ndarray, pitch_deg: np.ndarray, distance: float) -> np.ndarray:
    """What a landmarker reports of the face turned by yaw and pitch, `distance` metres in front of a pinhole
    camera: picture pixels, y down, and depth away from the camera in the face's pixel scale."""
    out = []
    for yaw, pitch in zip(yaw_deg, pitch_deg):
        p = face @ rotation(yaw, pitch).T
        away = distance - p[:, 2]  # the camera looks down -z of the face axes
        out.append(np.stack([CENTRE[0] + FOCAL * p[:, 0] / away, CENTRE[1] - FOCAL * p[:, 1] / away,
                             -p[:, 2] * FOCAL / distance], axis=1))
    return np.array(out)


def _misfit_after_pose(points: np.ndarray, face: np.ndarray) -> float:
    """Largest distance of any landmark from the true face once the head pose is undone, in eye distances."""
    worst = 0.0
    for frame in to_face_axes(points):
        r, s, t = rigid_fit(frame[RIGID], face[RIGID])
        worst = max(worst, float(np.abs(s * frame @ r.T + t - face).max()))
    return worst / EYES_APART_M


@pytest.mark.parametrize("distance", [0.35, 1.0])
def test_a_turning_heads_camera_distance_is_found_and_its_perspective_undone(distance):
    face = _face_in_metres()
    t = np.linspace(0, 2 * np.pi, 90)
    seen = _filmed(face, 20 * np.sin(t), 10 * np.sin(2 * t), distance)
    focal, found = focal_length(seen, CENTRE)
    assert found == pytest.approx(distance, rel=0.2)
    assert focal == pytest.approx(FOCAL, rel=0.2)
    before, after = _misfit_after_pose(seen, face), _misfit_after_pose(unproject(seen, CENTRE, focal), face)
    assert after < 0.25 * before
    assert after < 0.02  # under 1.3 mm: a lid's travel is about 10 mm


def test_a_still_head_guesses_no_camera():
    """A head that barely moves cannot tell the camera's distance (and barely needs it): none is guessed."""
    face = _face_in_metres()
    t = np.linspace(0, 2 * np.pi, 60)
    assert focal_length(_filmed(face, 2 * np.sin(t), 1.5 * np.cos(t), 0.5), CENTRE) is None
