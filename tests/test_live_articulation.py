"""Articulation live (`--articulation`, the `articulation` control): a stream moves the mouth as a bake at the same
articulation does, a change eases in, and one character's articulation is its own."""

import asyncio
import json

import numpy as np
import pytest

from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.live.animator import PhoneticStreamer, StreamingAnimator
from tests.test_characters import _jaw, _listen
from tests.test_live import _serve, stream_in_chunks

QUIET = dict(blinks=False, gaze=False, head=False, accents=False)


@pytest.fixture(scope="module")
def live_animator():
    from emoface.model.checkpoints import LIVE

    return Animator(checkpoint=LIVE, **QUIET)


def _emotion():
    return EmotionTrack(np.array([0.0, 0.8]), np.stack([parse_emotion("happy"), parse_emotion("angry:0.6")]))


@pytest.mark.parametrize("amount", [0.4, 1.7])
def test_a_stream_at_an_articulation_equals_the_bake_at_it(bob, live_animator, amount):
    audio = load_audio(bob)
    baked = live_animator.animate(audio, _emotion(), articulation=amount)
    streamer = StreamingAnimator(live_animator, _emotion())
    streamer.set_articulation(amount)  # before any audio: the whole line at it
    streamed = stream_in_chunks(streamer, audio.samples)
    assert streamed.shape == baked.values.shape
    np.testing.assert_allclose(streamed, baked.values, atol=1e-4)
    as_engine = live_animator.animate(audio, _emotion()).values
    jaw = baked.names.index("JawOpen")
    assert np.abs(streamed[:, jaw] - as_engine[:, jaw]).max() > 0.05  # the articulation did move the jaw


def test_articulation_1_leaves_every_frame_as_it_was(bob, live_animator):
    samples = load_audio(bob).samples
    plain = stream_in_chunks(StreamingAnimator(live_animator, _emotion()), samples)
    streamer = StreamingAnimator(live_animator, _emotion())
    streamer.set_articulation(1)
    assert np.array_equal(stream_in_chunks(streamer, samples), plain)


def test_the_animators_articulation_is_the_streams_start(bob):
    from emoface.model.checkpoints import LIVE

    samples = load_audio(bob).samples
    quiet = Animator(checkpoint=LIVE, articulation=0.5, **QUIET)
    set_later = StreamingAnimator(Animator(checkpoint=LIVE, **QUIET))
    set_later.set_articulation(0.5)
    assert StreamingAnimator(quiet).articulation == 0.5
    np.testing.assert_array_equal(stream_in_chunks(StreamingAnimator(quiet), samples),
                                  stream_in_chunks(set_later, samples))


def test_a_new_articulation_eases_in_from_the_audio_not_yet_received(bob, live_animator):
    """Frames of audio received before the change are as they were; 0.4 s of audio later the stream is the one
    at the new articulation all along; in between the jaw goes from one to the other, without a jump."""
    samples = load_audio(bob).samples
    at = 8000  # 0.5 s in: the change comes with the audio after it
    one = stream_in_chunks(StreamingAnimator(live_animator), samples)
    high = StreamingAnimator(live_animator)
    high.set_articulation(1.8)
    high = stream_in_chunks(high, samples)
    streamer = StreamingAnimator(live_animator)
    changed = [streamer.push(samples[:at]).values]
    streamer.set_articulation(1.8)
    changed += [streamer.push(samples[at:]).values, streamer.finish().values]
    changed = np.concatenate(changed)
    fps, t = live_animator.fps, at / 16000
    before, after = int(np.ceil(t * fps - 1e-9)), int(np.ceil((t + 0.4) * fps))
    np.testing.assert_allclose(changed[:before], one[:before], atol=1e-5)  # other chunks: float rounding
    np.testing.assert_allclose(changed[after:], high[after:], atol=1e-5)
    jaw = live_animator._rig.names.index("JawOpen")
    lo, hi = np.minimum(one, high)[before:after, jaw], np.maximum(one, high)[before:after, jaw]
    assert np.all(changed[before:after, jaw] >= lo - 1e-5) and np.all(changed[before:after, jaw] <= hi + 1e-5)
    assert (hi - lo).max() > 0.02  # speech during the ease: there was something to ease


@pytest.mark.parametrize("bad", ["loud", float("nan"), 3, -1, None])
def test_a_bad_articulation_is_refused_and_the_old_one_stays(live_animator, bad):
    streamer = StreamingAnimator(live_animator)
    streamer.set_articulation(0.7)
    with pytest.raises(ValueError, match="articulation"):
        streamer.set_articulation(bad)
    assert streamer.articulation == 0.7


def test_the_phonetic_stream_animates_at_its_articulation(speech_line):
    x = load_audio(speech_line).samples
    animator = Animator(engine="phonetic", **QUIET)
    plain = stream_in_chunks(PhoneticStreamer(animator), x)
    mumbled = PhoneticStreamer(animator)
    mumbled.set_articulation(0.3)
    mumbled = stream_in_chunks(mumbled, x)
    from_animator = stream_in_chunks(PhoneticStreamer(Animator(engine="phonetic", articulation=0.3, **QUIET)), x)
    np.testing.assert_array_equal(mumbled, from_animator)
    jaw = animator._rig.names.index("JawOpen")
    assert mumbled[:, jaw].max() < 0.7 * plain[:, jaw].max() and plain[:, jaw].max() > 0.2


def test_stream_and_serve_take_articulation(monkeypatch):
    from emoface.cli import build_parser
    from emoface.live import commands

    made = []
    monkeypatch.setattr(commands, "_run", lambda runner, source, hub, args: made.append(runner) or 0)
    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "0", "--articulation", "1.4", "--engine", "phonetic"])
    assert args.func(args) == 0
    assert made[0].characters["default"].session.streamer.articulation == 1.4
    assert parser.parse_args(["stream", "x.wav", "--to", "livelink://127.0.0.1:9"]).articulation == 1.0
    for bad in ("2.5", "-0.1", "nan", "much"):
        with pytest.raises(SystemExit):
            parser.parse_args(["stream", "x.wav", "--articulation", bad])


def test_each_character_has_its_own_articulation(bob):
    """npc_a mumbles (0.3), npc_b speaks as the engine does, both hearing the same line at once; npc_a's bad
    articulation messages get one error each naming it, and change nothing."""
    from websockets.asyncio.client import connect

    pcm = (np.clip(load_audio(bob).samples, -1, 1) * 32767).astype("<i2").tobytes()
    bad = [{"type": "articulation", "articulation": "1.5"}, {"type": "articulation", "articulation": 3},
           {"type": "articulation", "articulation": -1}, {"type": "articulation"},
           {"type": "articulation", "articulation": True}]

    async def speaker(url, character, articulation):
        async with connect(f"{url}/?character={character}") as ws:
            got = []
            if articulation is not None:
                await ws.send(json.dumps({"type": "articulation", "articulation": articulation}))
            await _listen(ws, 0.6, got)  # the ease (0.4 s of the clock's silence) is over before the line
            for k in range(0, len(pcm), 640):
                await ws.send(pcm[k:k + 640])
            await _listen(ws, 2.5, got)
            errors = []
            if articulation is not None:
                for message in [json.dumps(m) for m in bad] + ['{"type": "articulation", "articulation": NaN}']:
                    await ws.send(message)
                    while (reply := json.loads(await ws.recv()))["type"] != "error":
                        pass
                    errors.append(reply["message"])
                await _listen(ws, 0.2, got)
            return got, errors

    async def check(url, hub):
        a, b = await asyncio.gather(speaker(url, "npc_a", 0.3), speaker(url, "npc_b", None))
        return a, b, {name: c.session.streamer.articulation for name, c in hub.stage.characters.items()}

    *_, [((a, errors), (b, _), articulations)] = asyncio.run(_serve(5, [check], pass_hub=True))
    assert articulations["npc_a"] == 0.3 and articulations["npc_b"] == 1.0 and articulations["default"] == 1.0
    assert len(errors) == 6 and all("articulation" in e and len(e.splitlines()) == 1 for e in errors), errors
    assert not [m for m in b if m["type"] == "error"]
    jaw_a, jaw_b = _jaw(a), _jaw(b)
    assert jaw_b.max() > 0.2 and jaw_a.max() < 0.6 * jaw_b.max()
