"""Frames -> MP4 (H.264 + AAC) through imageio-ffmpeg's bundled ffmpeg, and the labelled emotion grid.

Frame i shows time i / fps of the audio, and the audio starts at 0, so sound and picture stay in sync.
The file is written under a temporary name and renamed (formats.atomic_output): no partial video.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emoface.formats import atomic_output
from emoface.progress import show_progress
from emoface.render.drive import MeshMotion
from emoface.render.renderer import FaceRenderer


def frames(renderer: FaceRenderer, motion: MeshMotion):
    for i in range(motion.n_frames):
        yield renderer.render(motion.weights[i], motion.head[i], motion.eyes[i])


def grid_frames(renderer: FaceRenderer, motions: list[MeshMotion], labels: list[str], columns: int = 4,
                caption: str = ""):
    """Each motion in its own labelled tile, same frame index side by side (shorter ones hold their last)."""
    from PIL import Image, ImageDraw

    size = renderer.size
    rows = -(-len(motions) // columns)
    font = _font(max(12, size // 14))
    small = _font(max(10, size // 22))
    n = max(m.n_frames for m in motions)
    for i in range(n):
        canvas = Image.new("RGB", (columns * size, rows * size), (24, 26, 31))
        draw = ImageDraw.Draw(canvas)
        for k, (m, label) in enumerate(zip(motions, labels)):
            j = min(i, m.n_frames - 1)
            tile = renderer.render(m.weights[j], m.head[j], m.eyes[j])
            x, y = (k % columns) * size, (k // columns) * size
            canvas.paste(Image.fromarray(tile), (x, y))
            draw.text((x + size // 2, y + size - size // 40), label, font=font, fill=(240, 240, 240),
                      anchor="md", stroke_width=2, stroke_fill=(0, 0, 0))
        if caption and len(motions) < rows * columns:
            k = len(motions)
            draw.text(((k % columns) * size + size // 2, (k // columns) * size + size // 2), caption, font=small,
                      fill=(200, 200, 200), anchor="mm", align="center")
        yield np.asarray(canvas)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed size
        return ImageFont.load_default()


def write_mp4(images, n_frames: int, fps: float, size: tuple[int, int], path, audio_path=None,
              progress: bool = True, desc: str = "rendering") -> Path:
    """Encode RGB frames (an iterable of [h, w, 3] uint8) to H.264, with the audio file as AAC if given (cut at the
    video's end: a longer sound would go on under a still face)."""
    import imageio_ffmpeg

    path = Path(path)
    with atomic_output(path, suffix=".mp4", what="the video") as tmp:  # ffmpeg picks the container from the suffix
        writer = imageio_ffmpeg.write_frames(
            tmp, size, fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p", quality=None,
            macro_block_size=2, ffmpeg_log_level="error", audio_path=str(audio_path) if audio_path else None,
            audio_codec="aac" if audio_path else None,
            output_params=["-preset", "veryfast", "-crf", "20", "-movflags", "+faststart",
                           *(["-t", f"{n_frames / fps:.6f}"] if audio_path else [])])  # a longer sound: cut
        writer.send(None)
        try:
            for image in tqdm(images, total=n_frames, desc=desc, unit="frame", disable=not show_progress(progress),
                              leave=False):
                writer.send(np.ascontiguousarray(image))
        except BaseException:
            # ffmpeg killed before the half-written file is removed: closed as the generator is collected, it had
            # gone on to finish a file no longer there (Ctrl-C printed "Error writing trailer" and the like)
            with contextlib.suppress(BaseException):
                writer.throw(KeyboardInterrupt)  # imageio-ffmpeg's "stop now": it kills ffmpeg, not waits on it
            raise
        writer.close()
    return path
