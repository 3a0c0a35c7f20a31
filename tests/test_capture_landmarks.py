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
