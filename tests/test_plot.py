"""`emoface plot`: curves under the waveform, from any baked format or straight from audio."""

import numpy as np
import pytest
import soundfile as sf
from matplotlib.image import imread

from emoface import formats
from emoface.animation import Animation
from emoface.cli import main
from emoface.render.plot import DPI, panel_series, plot_animation
from emoface.rigs import canonical_names, retarget

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def baked(tmp_path, with_wav=True) -> tuple:
    """Two seconds at 60 fps: a jaw bump at 0.5 s, a blink at 1.2 s, and a sine burst as its source audio."""
    wav = tmp_path / "line.wav"
    if with_wav:
        t = np.arange(32000) / 16000
        sf.write(wav, (0.5 * np.sin(2 * np.pi * 220 * t) * ((t > 0.3) & (t < 0.8))).astype(np.float32), 16000)
    anim = Animation.zeros(canonical_names(), 60, 120, "livelink", {"source": str(wav), "emotion": "happy:1.00"})
    times = anim.times
    anim["JawOpen"] = 0.8 * np.exp(-((times - 0.5) / 0.1) ** 2)
    anim["EyeBlinkLeft"] = anim["EyeBlinkRight"] = (np.abs(times - 1.2) < 0.05).astype(np.float32)
    anim["HeadYaw"] = 5 / 180  # 5 degrees
    return anim, formats.write_atomic(formats.get("json"), anim, tmp_path / "line.json"), wav


def png_pixels(path) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_MAGIC
    return imread(path)


def test_plot_json_with_source_wav(tmp_path, capsys):
    _, path, _ = baked(tmp_path)
    out = tmp_path / "curves.png"
    assert main(["plot", str(path), "-o", str(out), "--width", "10"]) == 0
    pixels = png_pixels(out)
    assert pixels.shape[1] == 10 * DPI
    assert pixels[..., :3].std() > 0.05  # not a blank image
    assert capsys.readouterr().err.strip() == f"plotted 120 frames to {out}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "line.json", "line.wav"]  # no temp left


def test_panel_series_are_the_curves():
    anim = Animation.zeros(canonical_names(), 60, 120, "livelink")
    anim["JawOpen"] = np.linspace(0, 1, 120)
    anim["MouthSmileLeft"], anim["MouthSmileRight"] = 0.2, 0.6
    anim["HeadPitch"] = 0.05
    panels = panel_series(anim)
    assert list(panels) == ["jaw", "mouth", "brows", "eyes", "gaze (deg)", "head (deg)"]
    np.testing.assert_array_equal(panels["jaw"]["JawOpen"], anim["JawOpen"])
    np.testing.assert_allclose(panels["mouth"]["Smile"], 0.4, atol=1e-6)
    np.testing.assert_allclose(panels["head (deg)"]["pitch"], 9.0, atol=1e-4)


def test_plot_animation_writes_svg_and_pdf_without_audio(tmp_path):
    anim, _, _ = baked(tmp_path, with_wav=False)
    assert plot_animation(anim, tmp_path / "a.svg", title="x").read_text().lstrip().startswith("<?xml")
    assert plot_animation(anim, tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="suffix"):
        plot_animation(anim, tmp_path / "a.gif")


def test_metahuman_txt_plots_and_keeps_the_jaw(tmp_path):
    anim, _, wav = baked(tmp_path)
    txt = formats.write_atomic(formats.get("emoface-txt"), retarget(anim, "metahuman"), tmp_path / "line.txt")
    out = tmp_path / "mh.png"
    assert main(["plot", str(txt), "-o", str(out), "--audio", str(wav)]) == 0
    assert png_pixels(out).shape[1] == 12 * DPI
    jaw = panel_series(formats.read(txt))["jaw"]["JawOpen"]
    assert abs(int(np.argmax(jaw)) - 30) <= 1 and jaw.max() > 0.5  # the bump survives the board round trip


@pytest.mark.parametrize("case", ["missing", "corrupt", "suffix"])
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, capsys, case):
    src = tmp_path / "line.json"
    out = tmp_path / "curves.png"
    if case == "corrupt":
        src.write_text('{"schema": "emoface.animation/1", "frames": [[0.1, ')
    elif case == "suffix":
        baked(tmp_path, with_wav=False)
        out = tmp_path / "curves.gif"
    assert main(["plot", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    named = out if case == "suffix" else src
    assert len(err) == 1 and err[0].startswith(f"emoface: error: {named}: "), err
    if case == "corrupt":
        assert "not an emoface animation file" in err[0]
    assert not out.exists() and not list(tmp_path.glob(".*part"))


def test_audio_input_is_animated_and_plotted(tmp_path, capsys, bob):
    wav = bob
    out = tmp_path / "bob.png"
    assert main(["plot", str(wav), "-o", str(out), "--emotion", "happy", "--fps", "30"]) == 0
    assert png_pixels(out)[..., :3].std() > 0.05
    frames = int(capsys.readouterr().err.split()[1])
    assert abs(frames - sf.info(wav).duration * 30) <= 1
