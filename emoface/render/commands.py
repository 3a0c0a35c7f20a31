"""Command line for previews: `emoface render` (MP4, emotion grid, GLB export) and `emoface plot`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from emoface.errors import InputError

log = logging.getLogger("emoface")
AUDIO_ONLY = ("--emotion", "--intensity", "--articulation", "--text", "--seed", "--engine",
              "--checkpoint")  # animate audio


def add_parsers(sub) -> None:
    from emoface.engines import DEFAULT_ENGINE, ENGINES
    from emoface.options import ARTICULATION, FPS, INTENSITY, SEED, output
    from emoface.render import plot

    p = sub.add_parser("render", help="a face mesh animated to MP4 with the audio (no GPU needed)",
                       description="Render a line to an MP4 preview: the default head or your own blendshape mesh.")
    p.add_argument("input", type=Path, help="audio to animate, or a baked animation (.json, .csv, .txt, .npz, .glb)")
    p.add_argument("-o", "--output", type=output, required=True, help="the .mp4 to write")
    p.add_argument("--emotion", help="audio input: emotion, blend or auto, as for bake (default neutral)")
    p.add_argument("--intensity", type=INTENSITY,
                   help="audio input: 0-1, scales --emotion or --grid emotions (default 1)")
    p.add_argument("--articulation", type=ARTICULATION,
                   help="audio input: how far the mouth moves for speech, 0-2, as for bake (default 1)")
    p.add_argument("--text", help="audio input: transcript (forced alignment)")
    p.add_argument("--mesh", default="default",
                   help="'default' (the head built in) or a blendshape .npz, e.g. ICT FaceKit's (docs/RENDER.md)")
    p.add_argument("--grid", choices=["emotions"], help="the same line in all 7 emotions side by side, labelled")
    p.add_argument("--size", type=int, default=512, help="pixels per side of each view (default 512)")
    p.add_argument("--no-shadows", dest="shadows", action="store_false",
                   help="no cast shadows (the nose's on the cheek, the jaw's on the neck): flatter, about 1.5x faster")
    p.add_argument("--fps", type=FPS, help="audio input: frame rate, 1-240 (default 30); a baked .txt or Live Link "
                                           "CSV: its rate if not what the file says (a .txt says none: 60; other "
                                           "files keep their own)")
    p.add_argument("--seed", type=SEED,
                   help="audio input: seed for blinks, gaze and head motion, 0 or more (default 0)")
    p.add_argument("--engine", choices=sorted(ENGINES),
                   help=f"audio input: neural, the trained network, or phonetic (default {DEFAULT_ENGINE})")
    p.add_argument("--checkpoint", help="audio input: network checkpoint for --engine neural (default: the shipped "
                                        "one)")
    p.add_argument("--audio", type=Path, help="baked input: the sound track (default: its recorded source)")
    p.add_argument("--export", type=Path, metavar="FILE.glb", help="also write the mesh and animation as glTF")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary on success")
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
    from emoface.audio import AUDIO_SUFFIXES, load_audio
    from emoface.batch import line_emotion
    from emoface.engines import DEFAULT_ENGINE
    from emoface.emotion.spec import EMOTIONS
    from emoface.render import video
    from emoface.render.drive import mesh_motion
    from emoface.render.inputs import check_lengths, read_animation, source_audio
    from emoface.render.renderer import FaceRenderer, check_pyopengl

    if args.output.suffix.lower() != ".mp4":
        suffix = args.output.suffix.lower()
        hint = ("for glTF: bake --format glb" if suffix in (".glb", ".gltf") else
                "a folder is not a video" if args.output.is_dir() else
                f"a {suffix} is audio; -o names the video to write" if suffix in (".wav", ".flac", ".mp3", ".ogg") else
                f"not {suffix or 'a name without a suffix'}")
        raise InputError(args.output, f"render writes one .mp4 video ({hint})")
    if args.export and args.export.suffix.lower() != ".glb":
        raise InputError(args.export, "--export writes a .glb")
    if args.export and args.grid:  # it had written the first tile's (angry) alone, unsaid
        raise InputError("--export", "writes one animation; --grid emotions animates seven: give one or the other")
    if args.export and args.export.exists() and args.input.exists() and args.export.samefile(args.input):
        raise InputError(args.export, "is the input: --export would write over the animation being rendered")
    if not 64 <= args.size <= 2048:
        raise InputError("--size", f"{args.size} is outside 64-2048")
    if args.size % 2:
        raise InputError("--size", f"{args.size} is odd: H.264 video (yuv420p) has even sides; give {args.size + 1}")
    if not args.input.exists():
        raise InputError(args.input, "file not found")
    if not args.input.is_file():  # a folder (an empty argument is the current one) had been read as a baked file
        raise InputError(args.input, "is a folder: give an audio file or a baked animation")
    for out, what in ((args.output, "the video"), (args.export, "the glTF")):
        if out is not None:  # before any frame is drawn, not after
            formats.check_writable(out, what)
    is_audio = args.input.suffix.lower() in AUDIO_SUFFIXES
    if is_audio and args.audio is not None:
        raise InputError("--audio", f"is the sound of a baked input; {args.input.name} is audio, its own sound track")
    if args.grid and not is_audio:
        raise InputError(args.input, "--grid emotions animates the line 7 times: give the audio, not a baked file")
    if args.grid and args.emotion is not None:
        raise InputError("--emotion", "--grid emotions shows all seven (at --intensity): give one or the other")
    if not is_audio:  # a baked file is already animated: these would be silently ignored
        for flag in AUDIO_ONLY:
            if getattr(args, flag.lstrip("-").replace("-", "_")) is not None:
                raise InputError(flag, f"applies to an audio input only ({args.input.name} is already animated: "
                                       "bake it again, or render its audio)")
    check_pyopengl()  # before the line is animated, not after
    mesh = _mesh(args.mesh)
    audio_path = args.audio
    if is_audio:
        from emoface.animator import Animator
        from emoface.cli import check_engine_options

        args.engine = args.engine or DEFAULT_ENGINE
        check_engine_options(args)
        audio = load_audio(args.input)
        animator = Animator(engine=args.engine, fps=args.fps or 30.0, seed=args.seed or 0, checkpoint=args.checkpoint,
                            articulation=1.0 if args.articulation is None else args.articulation)
        emotions = list(EMOTIONS) if args.grid else [args.emotion]
        intensity = 1.0 if args.intensity is None else args.intensity
        anims = [animator.animate(audio, line_emotion(e, intensity, audio), args.text) for e in emotions]
        audio_path = audio_path or args.input
    else:
        anims = [read_animation(args.input, args.fps)]
        audio_path = audio_path or source_audio(anims[0], args.input)
        if audio_path is None:
            log.warning("%s: no source audio found (give --audio); the video is silent", args.input)
        else:  # a bad sound track fails here, before any frame is drawn
            check_lengths(args.input, anims[0], load_audio(audio_path).duration, audio_path)
    motions = [mesh_motion(a, mesh.shape_names) for a in anims]
    if not motions[0].matched:
        raise InputError(args.mesh, "no blendshape of this mesh has an ARKit name (eyeBlinkLeft, jawOpen, ...)")
    with FaceRenderer(mesh, args.size, shadows=args.shadows) as renderer:
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
        from emoface.rigs import CANONICAL_RIG, retarget

        formats.write_atomic(formats.get("glb"), retarget(anims[0], CANONICAL_RIG), args.export, mesh=mesh)
    if not args.quiet:
        print(f"rendered {n} frames ({n / motions[0].fps:.2f} s at {motions[0].fps:g} fps) to {args.output}",
              file=sys.stderr)
    return 0

