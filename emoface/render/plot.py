"""`emoface plot`: the main curves stacked under the waveform, to check a line without an engine.

An animator or writer reads lip sync against the audio (jaw opens on vowels, lips close on b/p/m), brows and
blinks against the delivery, gaze and head for drift. Every rig is retargeted to the Live Link curves first,
so a plot of a MetaHuman .txt and one of an ARKit .json mean the same thing.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from emoface import formats
from emoface.animation import Animation
from emoface.errors import InputError
from emoface.render.inputs import check_lengths, read_animation, source_audio
from emoface.rigs import CANONICAL_RIG, retarget

log = logging.getLogger("emoface")

DPI = 100  # a PNG is width x DPI pixels wide
WIDTH = (2.0, 200.0)  # inches: narrower and the panels collapse, wider than 20,000 px is no longer a preview
SUFFIXES = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_UNIT = (-0.05, 1.05)  # blendshape panels share one scale so heights compare across panels
# (panel, height ratio, y-limits or None for degrees)
_LAYOUT = {"jaw": (1.0, _UNIT), "mouth": (1.6, _UNIT), "brows": (1.0, _UNIT), "eyes": (1.0, _UNIT),
           "gaze (deg)": (1.0, None), "head (deg)": (1.0, None)}


def panel_series(anim: Animation) -> dict[str, dict[str, np.ndarray]]:
    """What plot_animation draws, panel -> {label: per-frame values}; separate so tests can check the data."""
    a = retarget(anim, CANONICAL_RIG)

    def mean(base):  # the two sides move together in speech; one line per pair keeps the panels readable
        return (a[base + "Left"] + a[base + "Right"]) / 2

    return {
        "jaw": {"JawOpen": a["JawOpen"], "MouthClose": a["MouthClose"]},
        "mouth": {"Funnel": a["MouthFunnel"], "Pucker": a["MouthPucker"], "Smile": mean("MouthSmile"),
                  "Frown": mean("MouthFrown"), "LowerDown": mean("MouthLowerDown"),
                  "UpperUp": mean("MouthUpperUp"), "Press": mean("MouthPress")},
        "brows": {"BrowInnerUp": a["BrowInnerUp"], "BrowDown": mean("BrowDown"), "BrowOuterUp": mean("BrowOuterUp")},
        "eyes": {"EyeBlinkLeft": a["EyeBlinkLeft"], "EyeBlinkRight": a["EyeBlinkRight"], "EyeWide": mean("EyeWide")},
        "gaze (deg)": {"eye yaw": a["LeftEyeYaw"] * 180, "eye pitch": a["LeftEyePitch"] * 180},
        "head (deg)": {"yaw": a["HeadYaw"] * 180, "pitch": a["HeadPitch"] * 180, "roll": a["HeadRoll"] * 180},
    }


def _title(anim: Animation) -> str | None:
    parts = [Path(str(anim.metadata["source"])).name] if anim.metadata.get("source") else []
    if anim.metadata.get("emotion"):
        parts.append(str(anim.metadata["emotion"]))
    return " - ".join(parts) or None


def _envelope(samples: np.ndarray, rate: float, buckets: int = 4000):
    """Min/max per bucket: a 30-minute line stays a few thousand points yet keeps its peaks."""
    step = max(1, len(samples) // buckets)
    n = len(samples) // step * step
    blocks = samples[:n].reshape(-1, step)
    return np.arange(len(blocks)) * step / rate, blocks.min(axis=1), blocks.max(axis=1)


def plot_animation(anim: Animation, path, samples: np.ndarray | None = None, rate: float | None = None,
                   title: str | None = None, width: float = 12.0) -> Path:
    """Draw panel_series (under the waveform when samples are given) to a .png/.svg/.pdf, written atomically."""
    # Figure + Agg canvas, not pyplot: no global state and no display backend needed
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: unknown plot suffix (use {', '.join(SUFFIXES)})")
    if samples is not None and not rate:
        raise ValueError("samples need their rate")
    panels = panel_series(anim)
    names = (["waveform"] if samples is not None else []) + list(panels)
    ratios = [_LAYOUT.get(n, (0.8, None))[0] for n in names]
    fig = Figure(figsize=(width, 0.25 + 1.3 * sum(ratios)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    axes = np.atleast_1d(axes)
    end = anim.duration
    if samples is not None:
        samples = np.asarray(samples, np.float32)
        t, lo, hi = _envelope(samples, rate)
        if len(t) < len(samples):
            axes[0].fill_between(t, lo, hi, color="0.35", linewidth=0.5)
        else:
            axes[0].plot(t, samples, color="0.35", linewidth=0.5)
        axes[0].set_ylabel("waveform")
        end = max(end, len(samples) / rate)
    times = anim.times  # the audio clock: frame i at i / fps
    for ax, name in zip(axes[len(names) - len(panels):], panels):
        for label, values in panels[name].items():
            ax.plot(times, values, linewidth=1, label=label)
        ylim = _LAYOUT[name][1]
        if ylim:
            ax.set_ylim(*ylim)
        ax.set_ylabel(name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="x-small", frameon=False,
                  borderaxespad=0.2, handlelength=1.2, labelspacing=0.2)
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.margins(x=0)
    axes[-1].set_xlim(0, end or 1 / anim.fps)
    axes[-1].set_xlabel("time (s)")
    title = title or _title(anim)
    if title:
        fig.suptitle(title)
    with formats.atomic_output(path, what="the plot") as tmp:
        fig.savefig(tmp, format=kind, dpi=DPI)
    return path


def add_parser(sub) -> None:
    from emoface.options import ARTICULATION, FPS, INTENSITY, number, output

    p = sub.add_parser("plot", help="draw the main curves under the waveform (png, svg, pdf)",
                       description="Plot a baked animation, or an audio line animated now, as curves over time.")
    p.add_argument("input", type=Path, help="baked animation (.json, .csv, .txt, .npz, .glb) or audio to animate")
    p.add_argument("-o", "--output", type=output, required=True, help="image: .png, .svg or .pdf")
    p.add_argument("--audio", type=Path,
                   help="waveform to draw (default: the animation's source audio if it exists, or the input audio)")
    p.add_argument("--emotion", help="audio input: emotion, blend or auto, as for bake (default neutral)")
    p.add_argument("--intensity", type=INTENSITY, help="audio input: 0-1, scales --emotion (default 1)")
    p.add_argument("--articulation", type=ARTICULATION,
                   help="audio input: how far the mouth moves for speech, 0-2, as for bake (default 1)")
    p.add_argument("--text", help="audio input: transcript")
    p.add_argument("--fps", type=FPS,
                   help="audio input: frame rate, 1-240 (default 60); a .txt or Live Link CSV: its rate if not "
                        "what the file says (a .txt says none: 60; other files keep their own)")
    p.add_argument("--title", help="default: source file and emotion from the animation")
    p.add_argument("--width", type=number(*WIDTH), default=12.0,
                   help=f"inches, {WIDTH[0]:g}-{WIDTH[1]:g} (default 12; png at {DPI} dpi)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on success")
    p.set_defaults(func=cmd_plot)


def cmd_plot(args) -> int:
    from emoface.audio import AUDIO_SUFFIXES, SAMPLE_RATE, load_audio

    if args.output.suffix.lower() not in SUFFIXES:
        raise InputError(args.output, f"unknown plot suffix (use {', '.join(SUFFIXES)})")
    if not args.input.exists():
        raise InputError(args.input, "file not found")
    formats.check_writable(args.output, "the plot")
    is_audio = args.input.suffix.lower() in AUDIO_SUFFIXES
    audio = None
    if is_audio:
        from emoface.animator import Animator
        from emoface.batch import line_emotion

        audio = load_audio(args.input)
        emotion = line_emotion(args.emotion, 1.0 if args.intensity is None else args.intensity, audio)
        anim = Animator(fps=args.fps or 60.0, articulation=1.0 if args.articulation is None else
                        args.articulation).animate(audio, emotion, args.text)
    else:
        for flag in ("emotion", "intensity", "articulation", "text"):
            if getattr(args, flag) is not None:
                raise InputError(f"--{flag}", "applies to an audio input only")
        anim = read_animation(args.input, args.fps)
    if args.audio:
        audio = load_audio(args.audio)
    elif audio is None and (source := source_audio(anim, args.input)):
        try:
            audio = load_audio(source)
        except InputError as exc:  # the waveform is a convenience: plot the curves anyway
            log.warning("%s; plotting without the waveform", exc)
    if audio is not None and not is_audio:
        check_lengths(args.input, anim, audio.duration, audio.source)
    plot_animation(anim, args.output, None if audio is None else audio.samples, SAMPLE_RATE, args.title, args.width)
    if not args.quiet:
        print(f"plotted {anim.n_frames} frames to {args.output}", file=sys.stderr)
    return 0
