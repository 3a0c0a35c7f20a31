"""Preview rendering speed on this CPU: frames per second at 512x512 for the default head and ICT FaceKit.

    python tools/benchmark_render.py --shared ../shared -o docs/RENDER_BENCHMARK.md

Two figures per head: rendering alone (shapes -> pixels, the renderer's loop), and the whole `emoface render`
path to an MP4 (H.264 encoding in ffmpeg's own process beside it), on a real animated line.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emoface.allocator import keep_freed_memory  # noqa: E402
from emoface.animator import Animator  # noqa: E402
from emoface.audio import load_audio  # noqa: E402
from emoface.emotion.spec import EmotionTrack, parse_emotion  # noqa: E402
from emoface.render import video  # noqa: E402
from emoface.render.default_head import default_head  # noqa: E402
from emoface.render.drive import mesh_motion  # noqa: E402
from emoface.render.mesh import load_mesh  # noqa: E402
from emoface.render.renderer import FaceRenderer  # noqa: E402

LINE = "They are coming from the north. We have to move now, before the bridge falls!"


def measure(mesh, motion, size: int, out_dir: Path, audio_path: Path) -> dict:
    with FaceRenderer(mesh, size) as renderer:
        renderer.render(motion.weights[0], motion.head[0], motion.eyes[0])  # shaders compile once
        start = time.perf_counter()
        for _ in video.frames(renderer, motion):
            pass
        render_s = time.perf_counter() - start
        start = time.perf_counter()
        video.write_mp4(video.frames(renderer, motion), motion.n_frames, motion.fps, (size, size),
                        out_dir / "bench.mp4", audio_path, progress=False)
        mp4_s = time.perf_counter() - start
    return {"frames": motion.n_frames, "render_fps": motion.n_frames / render_s, "mp4_fps": motion.n_frames / mp4_s,
            "vertices": mesh.n_vertices, "triangles": len(mesh.triangles)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    keep_freed_memory()  # as every emoface command does first

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wav = tmp / "line.wav"
        subprocess.run(["espeak-ng", "-v", "en-gb", "-s", "160", "-w", str(wav), LINE], check=True)
        audio = load_audio(wav)
        anim = Animator(fps=args.fps).animate(audio, EmotionTrack.constant(parse_emotion("fear", 0.9)))
        heads = [("default head (built in)", default_head())]
        ict = args.shared / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"
        if ict.is_file():
            heads.append(("ICT FaceKit (`--mesh` the shared npz)", load_mesh(ict)))
        rows = [(name, measure(mesh, mesh_motion(anim, mesh.shape_names), args.size, tmp, wav))
                for name, mesh in heads]

    cpu = platform.processor() or platform.machine()
    lines = [
        "# Preview rendering speed", "",
        f"`python {' '.join(sys.argv)}` on {os.cpu_count()} CPU cores ({cpu}), no GPU: pyrender on OSMesa "
        f"(llvmpipe), {args.size}x{args.size}, a {audio.duration:.1f} s line at {args.fps:g} fps "
        f"({rows[0][1]['frames']} frames).", "",
        "| head | vertices | triangles | render only (fps) | render + H.264/AAC MP4 (fps) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        lines.append(f"| {name} | {r['vertices']:,} | {r['triangles']:,} | {r['render_fps']:.1f} | "
                     f"{r['mp4_fps']:.1f} |")
    lines += ["", "Render only: shape weights -> posed vertices and normals -> upload -> the key light's shadow map -> "
              "draw -> read back pixels (a preview's default; `--no-shadows` skips the map). The MP4 column adds "
              "ffmpeg's libx264 (preset veryfast) running beside it on the same cores.", ""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
