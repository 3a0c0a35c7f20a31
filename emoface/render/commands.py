"""Command line for previews: `emoface render` (MP4, emotion grid, GLB export) and `emoface plot`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from emoface.errors import InputError

log = logging.getLogger("emoface")


def add_parsers(sub) -> None:
    from emoface.engines import DEFAULT_ENGINE, ENGINES
    from emoface.render import plot

    p = sub.add_parser("render", help="a face mesh animated to MP4 with the audio (no GPU needed)",
                       description="Render a line to an MP4 preview: the default head or your own blendshape mesh.")
    p.add_argument("input", type=Path, help="audio to animate, or a baked animation (.json, .csv, .txt, .npz, .glb)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .mp4 to write")
    p.add_argument("--emotion", default="neutral", help="audio input: emotion or blend, as for bake")
    p.add_argument("--intensity", type=float, default=1.0)
    p.add_argument("--text", help="audio input: transcript (forced alignment)")
    p.add_argument("--mesh", default="default",
                   help="'default' (the head built in) or a blendshape .npz, e.g. ICT FaceKit's (docs/RENDER.md)")
    p.add_argument("--grid", choices=["emotions"], help="the same line in all 7 emotions side by side, labelled")
    p.add_argument("--size", type=int, default=512, help="pixels per side of each view (default 512)")
    p.add_argument("--fps", type=float, help="audio input: frame rate (default 30); a baked file keeps its own")
    p.add_argument("--seed", type=int, default=0, help="seed for blinks, gaze and head motion")
    p.add_argument("--engine", default=DEFAULT_ENGINE, choices=sorted(ENGINES))
    p.add_argument("--checkpoint", help="network checkpoint for --engine neural")
    p.add_argument("--audio", type=Path, help="baked input: the sound track (default: its recorded source)")
    p.add_argument("--export", type=Path, metavar="FILE.glb", help="also write the mesh and animation as glTF")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_render)
    plot.add_parser(sub)


def _mesh(spec: str):
    if spec == "default":
        from emoface.render.default_head import default_head

        return default_head()
    from emoface.render.mesh import load_mesh

    return load_mesh(spec)


def cmd_render(args) -> int:
    from emoface import formats
    from emoface.audio import load_audio
    from emoface.batch import AUDIO_SUFFIXES
    from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion
    from emoface.render import video
    from emoface.render.drive import mesh_motion
    from emoface.render.inputs import read_animation, source_audio
    from emoface.render.renderer import FaceRenderer

    if args.output.suffix.lower() != ".mp4":
        raise InputError(args.output, "render writes .mp4 (use bake --format glb for glTF)")
    if args.export and args.export.suffix.lower() != ".glb":
        raise InputError(args.export, "--export writes a .glb")
    if not 64 <= args.size <= 2048:
        raise InputError("--size", f"{args.size} is outside 64-2048")
    if not args.input.exists():
        raise InputError(args.input, "file not found")
    mesh = _mesh(args.mesh)
    is_audio = args.input.suffix.lower() in AUDIO_SUFFIXES
    if args.grid and not is_audio:
        raise InputError(args.input, "--grid emotions animates the line 7 times: give the audio, not a baked file")
    audio_path = args.audio
    if is_audio:
        from emoface.animator import Animator

        audio = load_audio(args.input)
        animator = Animator(engine=args.engine, fps=args.fps or 30.0, seed=args.seed, checkpoint=args.checkpoint)
        emotions = list(EMOTIONS) if args.grid else [args.emotion]
        anims = [animator.animate(audio, EmotionTrack.constant(parse_emotion(e, args.intensity)), args.text)
                 for e in emotions]
        audio_path = audio_path or args.input
    else:
        if args.audio:
            load_audio(args.audio)  # a bad sound track fails before any frame is drawn
        anims = [read_animation(args.input)]
        audio_path = audio_path or source_audio(anims[0], args.input)
        if audio_path is None:
            log.warning("%s: no source audio found (give --audio); the video is silent", args.input)
    motions = [mesh_motion(a, mesh.shape_names) for a in anims]
    if not motions[0].matched:
        raise InputError(args.mesh, "no blendshape of this mesh has an ARKit name (eyeBlinkLeft, jawOpen, ...)")
    with FaceRenderer(mesh, args.size) as renderer:
        if args.grid:
            columns = 4
            size = (columns * args.size, 2 * args.size)
            images = video.grid_frames(renderer, motions, list(emotions), columns, caption=args.input.name)
        else:
            size = (args.size, args.size)
            images = video.frames(renderer, motions[0])
        n = max(m.n_frames for m in motions)
        video.write_mp4(images, n, motions[0].fps, size, args.output, audio_path, progress=not args.quiet)
    if args.export:
        formats.write_atomic(formats.get("glb"), anims[0], args.export, mesh=mesh)
    if not args.quiet:
        print(f"rendered {n} frames ({n / motions[0].fps:.2f} s at {motions[0].fps:g} fps) to {args.output}",
              file=sys.stderr)
    return 0
