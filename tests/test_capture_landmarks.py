"""Face landmarks from real video (issue 12's first step): the shipped face-mesh models on LiteRT."""

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert", reason="the capture extra is not installed (make installs it)")

from emoface.audio import load_audio  # noqa: E402
from emoface.capture.landmarks import FaceLandmarker  # noqa: E402

CLIPS = ("bbaf2n", "bbaf3s", "bbaf4p", "bbal6n", "bbal7s")


def frames(path):
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    w, h = next(reader)["size"]
    for raw in reader:
        yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)


def test_the_mouth_is_measured_on_real_speech(shared):
    """GRID s1: a face in every frame, points on the frame, and the inner-lip gap opening and closing with the
    speech (against loudness, the one independent measure at hand: the lips also close inside loud words)."""
    rs = []
    for clip in CLIPS:
        path = shared / "data" / "grid-s1" / "video" / f"{clip}.mp4"
        tracker, gaps = FaceLandmarker(), []
        for frame in frames(path):
            found = tracker(frame)
            assert found is not None, clip
            h, w = frame.shape[:2]
            assert (found.points[:, 0] > -5).all() and (found.points[:, 0] < w + 5).all()
            assert (found.points[:, 1] > -5).all() and (found.points[:, 1] < h + 5).all()
            gaps.append(found.lip_gap)
        gaps = np.array(gaps)
        assert gaps.max() > 4 * max(gaps.min(), 0.1), (clip, gaps.min(), gaps.max())  # shut and open both seen
        audio = load_audio(path).samples
        hop = len(audio) / len(gaps)
        db = [10 * np.log10(np.mean(audio[int(i * hop): int((i + 1) * hop)] ** 2) + 1e-10) for i in range(len(gaps))]
        rs.append(np.corrcoef(gaps, db)[0, 1])
    assert np.mean(rs) > 0.35, rs


def test_no_face_is_none():
    tracker = FaceLandmarker()
    rng = np.random.default_rng(0)
    assert tracker(np.full((256, 200, 3), 90, np.uint8)) is None
    assert tracker(rng.integers(0, 255, (256, 200, 3), dtype=np.uint8)) is None


def test_a_large_picture_without_a_face_is_not_searched_every_frame(monkeypatch):
    """Where the whole picture shows no face, squares of it are searched for a small one: dozens of detector
    runs, so a long video with no face (the wrong file) must not pay them on every frame: after 8 frames in a
    row (a face lost for a moment is looked for at once), the searches thin out (after 8 frames, then 16, 32, and
    every 64)."""
    tracker = FaceLandmarker()
    searched, frame_no = [], [0]
    real = tracker.detect_small
    monkeypatch.setattr(tracker, "detect_small", lambda frame: searched.append(frame_no[0]) or real(frame))
    blank = np.full((720, 1280, 3), 90, np.uint8)
    for frame_no[0] in range(400):
        assert tracker(blank) is None
    assert searched == [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 192, 256, 320, 384]


def _rotation(yaw, pitch, roll):
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), np.sin(r), 0], [-np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (20, 0, 0), (0, -15, 0), (0, 0, 10), (-25, 12, -8)])
def test_head_pose_recovers_known_rotations(yaw, pitch, roll):
    """Pose math on its own: a face turned by known angles (and moved, and scaled) comes back exactly, with
    emoface's signs (yaw toward the character's left, chin up, tilt toward the left shoulder all positive)."""
    from emoface.capture.pose import head_pose, reference

    face = np.random.default_rng(1).normal(size=(468, 3)) * [40, 50, 20]
    ref = reference(face[None])
    moved = 1.7 * face @ _rotation(yaw, pitch, roll).T + [100, -30, 5]
    got, undone = head_pose(moved, ref)
    assert np.allclose(got, (yaw, pitch, roll), atol=1e-6)
    neutral_got, neutral_face = head_pose(face, ref)
    assert np.allclose(undone, neutral_face, atol=1e-6)  # the pose undone: the same face as unmoved


def test_forward_vector_conventions():
    """Turning toward the character's left moves the nose toward image right (+x); raising the chin, up."""
    from emoface.capture.pose import to_face_axes

    nose_in_image = np.array([[10.0, -5.0, -30.0]])  # right of centre, above it, nearer the camera
    x, y, z = to_face_axes(nose_in_image)[0]
    assert x > 0 and y > 0 and z > 0


def test_head_pose_of_a_real_take_is_small_and_smooth(shared):
    from emoface.capture.pose import head_pose, reference, to_face_axes

    tracker = FaceLandmarker()
    meshes = np.stack([to_face_axes(tracker(f).points) for f in frames(shared / "data" / "grid-s1" / "video" /
                                                                          "bbaf2n.mp4")])
    ref = reference(meshes)
    poses = np.array([head_pose(m, ref)[0] for m in meshes])
    assert np.abs(poses).max() < 15, np.abs(poses).max(axis=0)  # GRID speakers face the camera, reading
    assert np.abs(np.diff(poses, axis=0)).max() < 3, np.abs(np.diff(poses, axis=0)).max(axis=0)  # 25 fps: no jumps


def test_irises_sit_in_the_eyes(shared):
    """Every frame of a real take: each iris centre lies between its eye's corners, its rim around it."""
    from emoface.capture.landmarks import EYE_CORNERS

    tracker = FaceLandmarker()
    for frame in frames(shared / "data" / "grid-s1" / "video" / "bbal6n.mp4"):
        found = tracker(frame)
        for eye, (outer, inner) in enumerate(EYE_CORNERS):
            a, b = found.points[outer, :2], found.points[inner, :2]
            centre = found.iris[eye, 0, :2]
            along = np.dot(centre - a, b - a) / np.dot(b - a, b - a)
            assert 0.2 < along < 0.8, (eye, along)
            assert abs(centre[1] - (a[1] + b[1]) / 2) < 0.25 * np.linalg.norm(b - a)
            radius = np.linalg.norm(found.iris[eye, 1:, :2] - centre, axis=1)
            assert (radius > 0.5).all() and (radius < 0.5 * np.linalg.norm(b - a)).all()


def test_refined_lids_follow_a_real_blink(shared):
    """GRID s1 clips with a blink: the lids refined from the iris model's eye contour come much closer at the
    closed eye than the coarse mesh's own lids, which stay most of the open eye's distance apart."""
    from emoface.capture.lids import lid_opening
    from emoface.capture.pose import to_face_axes

    ratios = {True: [], False: []}
    for clip in ("bwba7a", "pgid7a", "sbig5s"):  # each blinks (seen by eye)
        path = shared / "data" / "grid-s1" / "video" / f"{clip}.mp4"
        trackers = {refined: FaceLandmarker(refine_lids=refined) for refined in ratios}
        points = {refined: [] for refined in ratios}
        for frame in frames(path):
            for refined, tracker in trackers.items():
                points[refined].append(to_face_axes(tracker(frame).points))
        for refined, seen in points.items():
            opening = sum(lid_opening(np.stack(seen), side) for side in ("Left", "Right"))
            ratios[refined].append(opening.min() / np.median(opening))
    assert max(ratios[True]) < 0.35 and min(ratios[False]) > 0.55, ratios


def test_the_actor_is_the_largest_face_and_is_looked_for_where_it_was_lost():
    """Which face a take follows: the nearest the camera at first sight; once lost, only a face where it was,
    until LOST_S has passed (then the largest anywhere, flagged as elsewhere); a face back where the actor was
    lost is theirs again."""
    from emoface.capture.landmarks import LOST_S

    tracker = FaceLandmarker(fps=25.0)
    behind, actor = (0.99, np.array([500.0, 200.0]), 80.0, 0.0), (0.7, np.array([150.0, 220.0]), 200.0, 0.0)
    assert tracker._choose([behind, actor])[0][1] == 200.0  # the larger, though less sure
    tracker.actor, tracker.lost = (np.array([150.0, 220.0]), 200.0), 5
    assert tracker._choose([behind]) == (None, "")
    back = (0.8, np.array([190.0, 230.0]), 190.0, 0.0)
    assert tracker._choose([behind, back]) == (back[1:], "")
    tracker.lost = int(LOST_S * 25.0)
    assert tracker._choose([behind]) == (behind[1:], "elsewhere")
    tracker._taken("elsewhere")  # the other face is followed now; where the actor was lost is remembered
    tracker.actor, tracker.lost = (behind[1], behind[2]), 3
    assert tracker.moved == [0] and tracker._choose([back, behind]) == (back[1:], "home")
    tracker._taken("home")
    assert tracker.home is None and tracker.returned == [0]
