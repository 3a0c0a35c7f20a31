"""`emoface capture VIDEO... -o OUT`: face videos -> curve files on any rig and format, each with its audio
track beside it (a capture is a training pair), and optionally a side-by-side preview to check by eye."""

from __future__ import annotations

import sys
from pathlib import Path

from emoface.errors import EmofaceError, InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".mts", ".m2ts",
                  ".3gp")


def add_parsers(sub) -> None:
    from emoface import formats
    from emoface.capture.landmarks import PASSES
    from emoface.options import FPS, number, output

    p = sub.add_parser("capture", help="face video -> rig curves (and its audio): capture an actor, no iPhone",
                       description="Measure the face in videos: head pose, blendshapes, blinks and gaze, as curves.")
    p.add_argument("inputs", nargs="+", metavar="VIDEO", help="video files, directories or globs (any container "
                                                              "ffmpeg reads)")
    p.add_argument("-o", "--output", type=output, required=True, help="output file (one video) or directory")
    p.add_argument("--format", choices=list(formats.FORMATS), help="default: from -o's suffix, else json")
    p.add_argument("--rig", help="arkit, livelink, metahuman, metahuman-expressions, or a rig profile .json "
                                 "(default: what the format needs: metahuman for .txt, arkit for .glb; else livelink)")
    p.add_argument("--fps", type=FPS, help="frame rate of the curves, 1-240 (default: the video's; 60 for EmoFace's "
                                           ".txt, which records none and is read at 60)")
    p.add_argument("--basis", metavar="NPZ", help="what each shape looks like to the landmarker: a blendshape head "
                                                  "(.npz), 'default' (the built-in head) or a saved basis "
                                                  "(default: the shipped one, from a scanned human head)")
    p.add_argument("--neutral", type=float, metavar="SECONDS", help="time of a frame with a relaxed face, closed "
                                                                     "mouth (default: estimated from the take)")
    p.add_argument("--passes", type=number(1, 16, integer=True), default=PASSES, metavar="N",
                   help=f"crops landmarked per frame and averaged, 1-16 (default {PASSES}: two captures of a faint "
                        "motion such as a smile disagree about half as much as from 1, which is 2.3 times faster)")
    p.add_argument("--no-audio", dest="audio", action="store_false",
                   help="capture videos without a sound track (no .wav is written)")
    p.add_argument("--preview", type=Path, metavar="MP4", help="the video beside the built-in head driven by the "
                                                               "capture (one video: a .mp4; several: a folder)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary on success")
    p.set_defaults(func=cmd_capture)


def cmd_capture(args) -> int:
    from tqdm import tqdm

    from emoface import formats
    from emoface.batch import expand_inputs
    from emoface.capture.basis import load_basis
    from emoface.cli import _check_output_folder, _resolve_format_and_rig
    from emoface.progress import show_progress
    from emoface.rigs import load_rig, retarget

    fmt, rig = _resolve_format_and_rig(args)
    if fmt.NAME == "emoface-txt" and args.fps is None:
        args.fps = 60.0  # a .txt does not say its rate: EmoFace's tools (and emoface) play it at 60
    load_rig(rig)  # a bad --rig is one error (exit 2) now, as in bake, not a failure per video after its tracking
    if args.neutral is not None and not 0 <= args.neutral < float("inf"):
        raise InputError("--neutral", f"{args.neutral} is not a time in the video (seconds from its start)")
    videos = expand_inputs(args.inputs, VIDEO_SUFFIXES)
    if not videos:
        raise InputError(" ".join(args.inputs), "no videos found")
    out = args.output  # an OutputPath: it knows a trailing slash
    if out.suffix.lower() in (".wav", ".flac"):
        raise InputError(out, "-o names the curves (or a folder of them); each take's sound is written beside its "
                              "curves as a .wav")
    single = len(videos) == 1 and formats.for_suffix(out) is not None and not out.is_dir()
    if out.exists() and out.resolve() in {video.resolve() for video, _ in videos}:
        raise InputError(out, "is one of the videos being captured: capture never writes over a take (-o names "
                              "the curves, or a folder of them)")
    if not single:
        _check_output_folder(out, "capture", one_input=len(videos) == 1)
    if args.preview:
        if len(videos) == 1 and args.preview.suffix.lower() != ".mp4":
            raise InputError(args.preview, "--preview writes a .mp4")
        if len(videos) > 1 and args.preview.suffix:
            raise InputError(args.preview, "with several videos --preview names a folder")
    plan = []  # (video, curves, preview) per video
    for video, rel in videos:
        preview = None if not args.preview else args.preview if len(videos) == 1 else \
            args.preview / rel.with_suffix(".mp4")
        plan.append((video, out if single else out / rel.with_suffix(fmt.SUFFIX), preview))
    takes = {video.resolve() for video, _ in videos}
    for video, target, preview in plan:  # a take cannot be shot again: nothing of it is ever written over
        for path in (target, target.with_suffix(".wav") if args.audio else None, preview):
            if path is not None and path.resolve() in takes:
                raise InputError(path, "is one of the videos being captured: capture never writes over a take "
                                       "(choose another -o or --preview)")
    basis = load_basis(args.basis)
    failed, written, seen = [], 0, {}
    for video, target, preview in tqdm(plan, desc="capturing", unit="video",
                                       disable=not show_progress(not args.quiet) or len(videos) < 2, leave=False):
        kept = []  # what this video has written: removed again if the rest of it fails
        try:
            if target.resolve() in seen:
                raise InputError(video, f"output {target} would overwrite the one from {seen[target.resolve()]}")
            seen[target.resolve()] = video
            _check_outputs(target, args.audio, preview)  # before the minutes of tracking, not after
            anim = capture_one(video, target, args, basis)
            if "audio" in anim.metadata:
                kept.append(target.with_suffix(".wav"))
            formats.write_atomic(fmt, retarget(anim, rig), target)
            kept.append(target)
            if preview is not None:  # a pair and its preview are written whole or not at all
                write_preview(video, anim, preview, args.audio, progress=not args.quiet)
            kept.clear()
            written += 1
        except EmofaceError as exc:
            failed.append((str(video), str(exc).removeprefix(f"{video}: ")))
            tqdm.write(f"emoface: error: {exc}", file=sys.stderr)
        except OSError as exc:  # what atomic_output does not cover: the folder capture_one makes for the pair
            failed.append((str(video), f"cannot write the output ({exc.strerror or exc})"))
            tqdm.write(f"emoface: error: {video}: cannot write the output ({exc.strerror or exc})", file=sys.stderr)
        finally:
            for path in kept:
                path.unlink(missing_ok=True)
    if (len(videos) > 1 and failed) or (not args.quiet and not failed):
        print(f"captured {written} of {len(videos)} video(s) to {out} ({fmt.NAME}, rig "
              f"{getattr(fmt, 'CARRIES', rig)})", file=sys.stderr)
    if failed and len(videos) > 1:
        print(f"{len(failed)} failed:", file=sys.stderr)
        for label, reason in failed:
            print(f"  {label}: {reason}", file=sys.stderr)
    return 1 if failed else 0


def capture_one(video: Path, target: Path, args, basis):
    """One video -> its canonical Animation; its audio track written as <target>.wav first (a bad track fails
    before the minutes of tracking)."""
    import soundfile as sf

    from emoface.audio import SAMPLE_RATE, load_track, native_path
    from emoface.capture.take import capture, probe
    from emoface.formats import atomic_output

    probe(video)  # a video at all, before its sound
    audio = None
    if args.audio:
        try:
            audio = load_track(video)
        except InputError as exc:
            if "has no audio track" in str(exc):
                raise InputError(video, "has no audio track (give --no-audio to capture the face alone)") from None
            raise
    anim = capture(video, fps=args.fps, basis=basis, neutral_s=args.neutral, progress=not args.quiet,
                   passes=args.passes)
    if audio is not None:
        wav = target.with_suffix(".wav")
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(wav, suffix=".wav", what="the sound track") as tmp:
            sf.write(native_path(tmp), fitted_sound(video, audio.samples, anim.duration), SAMPLE_RATE,
                     subtype="PCM_16", format="WAV")
        anim.metadata["audio"] = wav.name
    return anim


def fitted_sound(video: Path, samples, seconds: float):
    """A take's sound as long as its picture's curves, so that the two are a pair (a camera's sound track may
    start or end apart from its picture): past the picture cut, short of it padded with silence, and said."""
    import logging

    import numpy as np

    from emoface.audio import SAMPLE_RATE

    n = int(round(seconds * SAMPLE_RATE))
    gap = (len(samples) - n) / SAMPLE_RATE
    if abs(gap) > 0.1:
        logging.getLogger("emoface").warning(
            "%s: the sound track is %.2f s, the picture %.2f s: the sound is %s", video, len(samples) / SAMPLE_RATE,
            seconds, "cut at the picture's end" if gap > 0 else "padded with silence to the picture's end")
    return samples[:n] if len(samples) >= n else np.concatenate([samples, np.zeros(n - len(samples), np.float32)])


def _check_outputs(target: Path, audio: bool, preview: Path | None) -> None:
    """A video's outputs, checked before it is tracked: each can be written, and a .wav there already is a sound
    track capture wrote (16 kHz mono), never an actor's own recording of the take that shares its name."""
    from emoface import formats

    formats.check_writable(target, "the curves")
    if preview is not None:
        formats.check_writable(preview, "the preview")
    wav = target.with_suffix(".wav")
    if audio and wav.is_file():
        import soundfile as sf

        from emoface.audio import SAMPLE_RATE, native_path

        try:
            info = sf.info(native_path(wav))
            ours = info.samplerate == SAMPLE_RATE and info.channels == 1 and info.subtype == "PCM_16"
        except (RuntimeError, OSError):  # not a sound file libsndfile reads
            ours = False
        if not ours:
            raise InputError(wav, "is not a sound track capture wrote (16 kHz mono): capture writes the take's "
                                  "sound there, so it is left alone; move it, or choose another -o")


def write_preview(video: Path, anim, path: Path, with_audio: bool, size: int = 384, progress: bool = True):
    """The source video (scaled to the head's height) beside the built-in head driven by the capture."""
    import numpy as np
    from PIL import Image

    from emoface.capture.take import read_video
    from emoface.render import video as mp4
    from emoface.render.default_head import default_head
    from emoface.render.drive import mesh_motion
    from emoface.render.renderer import FaceRenderer

    fps, frames = read_video(video)
    canon = anim.resampled(fps) if anim.fps != fps else anim
    mesh = default_head()
    motion = mesh_motion(canon, mesh.shape_names)

    def pictures(renderer):
        for i, frame in enumerate(frames):
            if i >= motion.n_frames:
                break
            h, w = frame.shape[:2]
            width = int(round(w * size / h / 2)) * 2
            left = np.asarray(Image.fromarray(frame).resize((width, size), Image.Resampling.BILINEAR))
            head = renderer.render(motion.weights[i], motion.head[i], motion.eyes[i])
            yield np.concatenate([left, head], axis=1)

    first_w, first_h = _frame_size(video)
    width = int(round(first_w * size / first_h / 2)) * 2 + size
    path.parent.mkdir(parents=True, exist_ok=True)
    with FaceRenderer(mesh, size) as renderer:
        mp4.write_mp4(pictures(renderer), motion.n_frames, fps, (width, size), path,
                      audio_path=video if with_audio else None, progress=progress, desc="preview")


def _frame_size(video: Path) -> tuple[int, int]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video))
    try:
        return next(reader)["size"]
    finally:
        reader.close()
