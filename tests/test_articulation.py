"""--articulation: how far the mouth moves for speech. Scaled about the emotion's own face, so the emotion stays;
p/b/m stay shut at any amount; per line in a dialogue sheet; a changed amount bakes a line again."""

import json

import numpy as np
import pytest
import soundfile as sf

from emoface import formats
from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.cli import main
from emoface.emotion.spec import EmotionTrack, parse_emotion

BOB = "Bob popped the big map"
SHUT = 0.05  # docs/EVALUATION.md's closure: a lip gap under this


def animate(line, engine="neural", emotion="neutral", text=BOB, **kw):
    animator = Animator(engine=engine, fps=60, blinks=False, gaze=False, head=False, accents=False)
    return animator.animate_canonical(load_audio(line), EmotionTrack.constant(parse_emotion(emotion)), text, **kw)


def lip_gap_at(anim, phones):
    gap = anim["JawOpen"] - anim["MouthClose"]
    return [float(gap[int(s * anim.fps): int(e * anim.fps) + 1].min())
            for name, s, e in anim.metadata["phonemes"] if name in phones]


@pytest.mark.parametrize("engine", ["neural", "phonetic"])
def test_more_articulation_opens_the_jaw_further_and_keeps_p_b_m_shut(bob, engine):
    plain, loud, soft = (animate(bob, engine, articulation=a) for a in (1.0, 1.5, 0.5))
    jaw = plain["JawOpen"]
    speech = (jaw > 0.05) & (jaw < 0.45)  # below the soft ceiling, where the scaling is exact
    assert speech.sum() > 20
    # the neural engine's silent face is near 0 for neutral: the jaw's speech scales about it
    assert np.allclose(loud["JawOpen"][speech], 1.5 * jaw[speech], atol=0.02)
    assert np.allclose(soft["JawOpen"][speech], 0.5 * jaw[speech], atol=0.02)
    assert loud["JawOpen"].max() <= 1.0 and loud["JawOpen"].max() > jaw.max()
    for anim in (plain, loud, soft, animate(bob, engine, articulation=2.0), animate(bob, engine, articulation=0.0)):
        gaps = lip_gap_at(anim, ("P", "B", "M"))
        assert len(gaps) >= 4 and max(gaps) < SHUT, (anim.metadata.get("articulation"), gaps)
    assert loud.metadata["articulation"] == 1.5 and "articulation" not in plain.metadata


def test_the_emotion_stays_whatever_the_articulation(bob, tmp_path):
    """A happy line at 0 keeps its smile and loses its lip sync; at 2 the smile is no wider before the words."""
    samples, rate = sf.read(bob, dtype="float32")
    line = tmp_path / "pause_first.wav"
    sf.write(line, np.concatenate([np.zeros(rate, np.float32), samples]), rate)  # a second before the words
    still = animate(line, emotion="happy", articulation=0.0)
    plain = animate(line, emotion="happy")
    assert np.ptp(still["JawOpen"]) < 0.01  # no speech left on the jaw
    assert np.ptp(still["MouthSmileLeft"]) < 0.01 and still["MouthSmileLeft"].mean() > 0.4  # the smile stays
    loud = animate(line, emotion="happy", articulation=2.0)
    before = slice(32, 42)  # past the line's first edge, and before the network (250 ms ahead) hears the words
    for anim in (still, loud):
        assert np.allclose(anim["MouthSmileLeft"][before], plain["MouthSmileLeft"][before], atol=0.01)
    assert np.ptp(loud["JawOpen"]) > 1.5 * np.ptp(plain["JawOpen"])


def test_articulation_one_is_the_animation_as_before(bob):
    a = animate(bob)
    b = animate(bob, articulation=1.0)
    assert np.array_equal(a.values, b.values) and a.metadata == b.metadata


def test_bad_articulation_is_one_line(bob, tmp_path, capsys):
    for bad in ("loud", "nan", "2.5", "-0.1"):
        with pytest.raises(SystemExit) as stop:
            main(["bake", str(bob), "-o", str(tmp_path / "x.json"), "--articulation", bad])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--articulation" in err
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="articulation"):
        Animator(articulation=3)


def test_a_sheet_sets_each_lines_articulation_and_a_change_bakes_it_again(bob, tmp_path, capsys):
    (tmp_path / bob.name).write_bytes(bob.read_bytes())
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"audio,emotion,articulation,out\n{bob.name},neutral,1.6,loud\n{bob.name},neutral,,plain\n"
                     f"{bob.name},neutral,9,bad\n")
    out = tmp_path / "out"

    def bake(*extra):
        return main(["bake", "--manifest", str(sheet), "-o", str(out), "--format", "json", "--no-gaze",
                     "--no-blinks", "--no-head", "-q", *extra])

    assert bake("--articulation", "0.8") == 1  # the bad row fails alone
    err = capsys.readouterr().err
    assert "sheet.csv:4: articulation '9' must be 0-2" in err
    loud, plain = (json.loads((out / f"{n}.json").read_text()) for n in ("loud", "plain"))
    assert loud["metadata"]["articulation"] == 1.6 and plain["metadata"]["articulation"] == 0.8
    jaw = {n: formats.read(out / f"{n}.json")["JawOpen"] for n in ("loud", "plain")}
    assert jaw["loud"].max() > 1.4 * jaw["plain"].max()

    stamp = {n: (out / f"{n}.json").stat().st_mtime_ns for n in ("loud", "plain")}
    assert bake("--articulation", "0.8") == 1
    assert {n: (out / f"{n}.json").stat().st_mtime_ns for n in ("loud", "plain")} == stamp  # up to date
    assert bake("--articulation", "1.2") == 1  # the sheet's own 1.6 still holds for `loud`
    assert (out / "loud.json").stat().st_mtime_ns == stamp["loud"]
    assert (out / "plain.json").stat().st_mtime_ns != stamp["plain"]
    assert json.loads((out / "plain.json").read_text())["metadata"]["articulation"] == 1.2


def test_render_refuses_articulation_for_a_baked_line(bob, tmp_path, capsys):
    baked = tmp_path / "bob.json"
    assert main(["bake", str(bob), "-o", str(baked), "-q"]) == 0
    assert main(["render", str(baked), "-o", str(tmp_path / "x.mp4"), "--articulation", "1.5"]) != 0
    err = capsys.readouterr().err.strip()
    assert "--articulation" in err and "audio input only" in err and not (tmp_path / "x.mp4").exists()


def test_plot_animates_audio_at_an_articulation_and_refuses_it_for_a_baked_line(bob, tmp_path, capsys):
    assert main(["plot", str(bob), "-o", str(tmp_path / "loud.png"), "--articulation", "1.5", "-q"]) == 0
    assert (tmp_path / "loud.png").stat().st_size > 0
    baked = tmp_path / "bob.json"
    assert main(["bake", str(bob), "-o", str(baked), "-q"]) == 0
    capsys.readouterr()
    assert main(["plot", str(baked), "-o", str(tmp_path / "x.png"), "--articulation", "1.5"]) != 0
    assert "--articulation" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
