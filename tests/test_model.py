"""The network: bounded look-ahead, streaming equals batch, emotion conditioning, training that learns."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.emotion.spec import EmotionTrack, parse_emotion
from emoface.features import FRAME_RATE, MEL_FLOOR, log_mel, n_frames as n_mel_frames
from emoface.model.config import SEALED
from emoface.model.net import FaceNet, NetConfig, load, save
from emoface.model.stream import StreamingNet
from emoface.train.data import OUTPUT_CURVES, clip_from, silver_labels
from emoface.train.loop import EMOTION_PARAMETERS, TrainConfig, mel_stats, train
from tests.conftest import speak


def tiny_net(seed=0, mel_floor=MEL_FLOOR, stride=1):
    torch.manual_seed(seed)
    cfg = NetConfig(channels=32, emotion_dim=16, out_names=list(OUTPUT_CURVES), mel_floor=mel_floor)
    net = FaceNet(cfg.with_stride(stride) if stride > 1 else cfg).eval()
    for block in net.blocks:  # FiLM starts at identity; give it something to do
        torch.nn.init.normal_(block.film.weight, std=0.2)
    return net


def _first_row_hearing(net, at=200, n=300):
    """The first output row that changes when the mel from row `at` on changes."""
    mel = torch.randn(1, n, 80)
    w = torch.zeros(1, n, 7)
    w[..., 4] = 1
    with torch.inference_mode():
        a = net(mel, w)
        changed = mel.clone()
        changed[:, at:] += 3.0
        b = net(changed, w)
    return int(np.flatnonzero((a - b).abs().sum(-1)[0] > 0)[0])


@pytest.mark.parametrize("rows, stride", [(None, 1), (2, 1), (30, 1), (None, 2), (2, 2), (3, 2), (30, 2), (None, 4),
                                          (5, 4), (30, 4)])
def test_look_ahead_is_what_the_network_says(rows, stride):
    """Live waits exactly the look-ahead its network states (bake: the default's; live: 2 rows; a longer one
    grown by a block; a trunk at 50 or 25 Hz, whose rows between trunk frames wait for the later), no more and no
    less."""
    net = tiny_net(stride=stride)
    if rows is not None:
        torch.manual_seed(1)
        net = FaceNet(net.config.with_lookahead(rows)).eval()
        assert rows - stride < net.config.lookahead <= rows  # a strided trunk's in whole trunk frames
    # the furthest any row hears ahead (a strided trunk's rows between two trunk frames hear the most)
    assert max(at - _first_row_hearing(net, at) for at in range(200, 200 + stride)) == net.config.lookahead


def test_the_live_network_looks_at_most_100_ms_ahead():
    from emoface.model.checkpoints import LIVE

    live = load(LIVE)
    assert live.config.lookahead * 10 + 12.5 <= 100  # frames of 10 ms + half the 25 ms STFT window
    assert _first_row_hearing(live) == 200 - live.config.lookahead


def test_a_longer_look_ahead_starts_from_the_network_it_extends(bob):
    """Fine-tuning a bake network to hear further ahead adds a block that starts as the identity: step one
    is the network it came from, not a network whose layers all moved."""
    net = tiny_net(2)
    data = silver_labels(load_audio(bob), "Bob popped the big map", "tts0", source="tts")
    grown_cfg = net.config.with_lookahead(net.config.lookahead + 16)
    assert len(grown_cfg.blocks) == len(net.config.blocks) + 1
    cfg = TrainConfig(steps=1, batch=2, crop_s=1.0, lr=1e-12, weight_decay=0.0, log_every=1, workers=0,
                      augment=False, phone_weight=0.0)
    grown, _ = train([clip_from("bob", data)], cfg, grown_cfg, init=net)
    assert grown.config.lookahead == net.config.lookahead + 16
    mel, w = torch.randn(1, 120, 80), torch.rand(1, 120, 7)
    with torch.inference_mode():
        torch.testing.assert_close(grown(mel, w)[..., :len(OUTPUT_CURVES)], net(mel, w), atol=1e-5, rtol=0)


def test_an_emotion_only_run_leaves_the_layers_that_hear_speech_as_they_were(bob):
    """`--emotion-only` teaches a trained network how emotion moves the face without touching its trunk: what it
    learnt of speech (timing, closures, silence on music) cannot be lost, only the emotion encoder and FiLM move."""
    torch.manual_seed(2)
    net = FaceNet(dataclasses.replace(tiny_net().config, out_names=[*OUTPUT_CURVES, SEALED])).eval()
    data = silver_labels(load_audio(bob), "Bob popped the big map", "tts0", source="tts")
    cfg = TrainConfig(steps=3, batch=2, crop_s=1.0, lr=1e-2, log_every=1, workers=0, augment=False,
                      phone_weight=0.0, emotion_only=True)
    with pytest.raises(ValueError, match="outputs"):  # a new output would stay as it started
        train([clip_from("bob", data)], cfg, dataclasses.replace(tiny_net().config), init=tiny_net())
    taught, _ = train([clip_from("bob", data)], cfg, dataclasses.replace(net.config), init=net)
    before, after = net.state_dict(), taught.state_dict()
    moved = {k for k in before if k in after and not torch.equal(before[k], after[k])}
    learns = {k for k in moved if k.startswith(EMOTION_PARAMETERS) or ".film." in k}
    assert learns and moved == learns, sorted(moved - learns)


@pytest.mark.parametrize("mel_floor, stride", [(MEL_FLOOR, 1), (1e-9, 1), (MEL_FLOOR, 2), (MEL_FLOOR, 4)])
def test_streaming_gives_the_batch_numbers(bob, mel_floor, stride):
    """A quiet line (-30 dB) too: its upper bands sit near the floor, where the two must agree as well. A trunk at
    50 or 25 Hz too: its stem runs every other (fourth) frame of the stream, and the rows between come as the next
    arrives."""
    net = tiny_net(1, mel_floor, stride)
    x = load_audio(bob).samples * np.float32(10 ** (-30 / 20))
    w = parse_emotion("happy:0.6+fear:0.4")
    with torch.inference_mode():
        mel = log_mel(x, mel_floor)
        batch = net(mel[None], torch.from_numpy(np.repeat(w[None], len(mel), 0))[None])[0].numpy()
    stream, outs, i = StreamingNet(net), [], 0
    for k in np.random.default_rng(0).integers(1, 1200, 1000):
        if i >= len(x):
            break
        outs.append(stream.push(x[i:i + k], w))
        i += k
    outs.append(stream.flush())
    np.testing.assert_allclose(np.concatenate(outs), batch, atol=1e-5)


@pytest.mark.parametrize("network", ["live", "strided"])
def test_streams_run_together_give_each_its_own_numbers(bob, speech_line, network):
    """A server's characters run their networks together, one product per layer for all: each still gets what it
    would alone, whatever its emotion (changed mid-way, for one) and however its audio arrives (some ticks none)."""
    from emoface.model.checkpoints import LIVE, load_network
    from emoface.model.stream import run_together

    net = load_network(LIVE) if network == "live" else tiny_net(5, stride=2)
    lines = [load_audio(bob).samples, load_audio(speech_line).samples, load_audio(speech_line).samples[::-1].copy()]
    emotions = [parse_emotion("happy"), parse_emotion("fear:0.5"), parse_emotion("neutral")]
    alone, together = [StreamingNet(net) for _ in lines], [StreamingNet(net) for _ in lines]
    got_alone, got_together = [[] for _ in lines], [[] for _ in lines]
    rng, at = np.random.default_rng(0), [0] * len(lines)
    for tick in range(300):
        fed = []
        for k, x in enumerate(lines):
            n = int(rng.choice([0, 160, 267, 480]))
            w = parse_emotion("angry") if k == 0 and tick > 100 else emotions[k]
            chunk, at[k] = x[at[k]:at[k] + n], at[k] + n
            got_alone[k].append(alone[k].push(chunk, w))
            if n:
                together[k].feed(chunk, w)
                fed.append(k)
        for k, rows in zip(fed, run_together([together[k] for k in fed])):
            got_together[k].append(rows)
    for k in range(len(lines)):
        a, b = np.concatenate(got_alone[k]), np.concatenate(got_together[k])
        assert len(a) == len(b) > 150
        np.testing.assert_allclose(b, a, atol=1e-5)


@pytest.mark.parametrize("emotion, stride", [("neutral", 1), ("track", 1), ("neutral", 2), ("track", 2),
                                            ("track", 4)])
def test_the_numpy_network_gives_the_torch_numbers(bob, emotion, stride):
    """Bakes, previews and live links run the network in numpy (no torch to import); training runs it in torch.
    The two must be the same network: the same rows to float rounding, for a steady emotion and a changing one,
    and for a trunk at 50 Hz."""
    from emoface.model.infer import predict_100hz
    from emoface.model.numpy_net import NumpyNet

    net = tiny_net(4, stride=stride)
    x = load_audio(bob).samples
    track = EmotionTrack.constant(parse_emotion("neutral")) if emotion == "neutral" else \
        EmotionTrack(np.array([0.0, 0.8]), np.stack([parse_emotion("sad"), parse_emotion("happy:0.7")]), transition=0.3)
    want = predict_100hz(net, x, track)
    got = predict_100hz(NumpyNet.from_torch(net), x, track)
    assert got.shape == want.shape == (n_mel_frames(len(x)), len(OUTPUT_CURVES)) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-5)
    np.testing.assert_allclose(predict_100hz(NumpyNet.from_torch(net), x, track, block_rows=77), want, atol=2e-5)


def test_the_shipped_network_reads_the_same_without_torch(bob):
    """The checkpoint read by emoface.model.pt_reader (no torch) is the checkpoint torch reads, and runs alike."""
    from emoface.model.checkpoints import DEFAULT, load_checkpoint, load_network, read_checkpoint
    from emoface.model.infer import predict_100hz

    arrays = read_checkpoint(DEFAULT, "emoface.facenet/1", "emoface checkpoint", arrays=True)
    tensors = read_checkpoint(DEFAULT, "emoface.facenet/1", "emoface checkpoint")
    assert arrays["config"] == tensors["config"] and arrays["state_dict"].keys() == tensors["state_dict"].keys()
    for name, tensor in tensors["state_dict"].items():
        assert np.array_equal(arrays["state_dict"][name], tensor.numpy()), name
    track = EmotionTrack.constant(parse_emotion("angry:0.6"))
    x = load_audio(bob).samples
    np.testing.assert_allclose(predict_100hz(load_network(), x, track), predict_100hz(load_checkpoint(), x, track),
                               atol=2e-5)


def test_bakes_and_live_links_never_import_torch(bob, tmp_path):
    """torch took 1.5 s of every bake's start-up (and 200 MB): a bake and a live link's network run without it."""
    import subprocess
    import sys

    code = ("import sys; import numpy as np; from emoface.cli import main; code = main(sys.argv[1:]); "
            "from emoface.animator import Animator; from emoface.live.animator import StreamingAnimator; "
            "live = StreamingAnimator(Animator(), rig='livelink'); frames = live.push(np.zeros(16000, np.float32)); "
            "print(frames.n_frames > 0, 'torch' in sys.modules); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", code, "bake", str(bob), "-o", str(tmp_path / "x.json"), "-q"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.split() == ["True", "False"], out.stderr[-500:]


WITHOUT_TORCH = """
import sys


class NoTorch:  # as if torch were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, NoTorch())
from emoface.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("extra, needs", [([], None), (["--emotion", "auto"], "--emotion auto")])
def test_an_installation_without_torch_bakes_and_says_what_needs_it(bob, tmp_path, extra, needs):
    """torch is the `train` extra: a bake runs without it; what needs it is one line naming the extra."""
    import subprocess
    import sys

    out = tmp_path / "x.json"
    run = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, "bake", str(bob), "-o", str(out), *extra],
                         capture_output=True, text=True)
    if needs is None:
        assert run.returncode == 0 and out.is_file(), run.stderr[-500:]
    else:
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and needs in lines[0] and "emoface[train]" in lines[0], lines
        assert not out.exists()


def test_emotion_conditions_every_frame():
    net = tiny_net(2)
    mel = torch.randn(1, 100, 80)
    neutral = torch.from_numpy(np.repeat(parse_emotion("neutral")[None, None], 100, 1))
    track = torch.from_numpy(EmotionTrack(np.array([0.0, 0.5]), np.stack([parse_emotion("neutral"),
                                                                          parse_emotion("angry")]),
                                          transition=0.1).weights(100, FRAME_RATE)[None])
    with torch.inference_mode():
        a, b = net(mel, neutral), net(mel, track)
    diff = (a - b).abs().sum(-1)[0]
    changes = int(np.flatnonzero((track != neutral).any(-1)[0].numpy())[0])
    # before the change comes within the look-ahead: a steady emotion's FiLM is computed once, a track's per
    # frame, the same up to float rounding
    assert diff[:changes - net.config.lookahead].max() < 1e-5 and diff[70:].min() > 1e-4


def test_a_strided_trunk_maps_onto_a_coarser_one():
    """A 50 Hz network's weights start a 25 Hz one: each block's taps land as near their times in ms as whole
    trunk frames allow, the look-ahead in ms kept; a stride that is not a multiple of the network's is refused."""
    at_50 = NetConfig().with_stride(2)
    at_25 = at_50.with_stride(4)
    assert at_25.stride == 4 and len(at_25.blocks) == len(at_50.blocks)
    for (d2, la2), (d4, la4) in zip(at_50.blocks, at_25.blocks):
        assert d4 == max(1, d2 // 2) and la4 * 40 >= la2 * 20 and la4 <= 2 * d4
    assert at_25.with_stride(4) == at_25
    with pytest.raises(ValueError, match="multiple"):
        at_50.with_stride(3)


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_checkpoint_round_trip(tmp_path, stride):
    net = tiny_net(3, stride=stride)
    save(net, tmp_path / "m.pt", {"note": "test"})
    back = load(tmp_path / "m.pt")
    assert back.card == {"note": "test"} and back.config.out_names == list(OUTPUT_CURVES)
    assert back.config.stride == stride and back.config.blocks == net.config.blocks
    mel, w = torch.randn(1, 50, 80), torch.rand(1, 50, 7)
    with torch.inference_mode():
        torch.testing.assert_close(back(mel, w), net(mel, w))


def test_a_network_learns_its_teachers_curves(bob):
    """--distill: a smaller network trained beside a teacher gives the teacher's curves on the speech it heard,
    nearer them than the same training on the labels alone."""
    teacher = FaceNet(NetConfig(channels=32, emotion_dim=16, out_names=[*OUTPUT_CURVES, SEALED]).with_stride(2))
    for block in teacher.blocks:  # a teacher whose curves are not the labels'
        torch.nn.init.normal_(block.film.weight, std=0.2)
    audio = load_audio(bob)
    clips = [clip_from("bob", silver_labels(audio, "Bob popped the big map", "tts0", source="tts"))]
    mean, std = mel_stats(clips)
    teacher.mel_mean.copy_(mean)  # log-mel as a trained network hears it: curves that move, not stuck at 0 or 1
    teacher.mel_std.copy_(std)
    cfg = TrainConfig(steps=60, batch=2, crop_s=1.0, lr=3e-3, log_every=10, workers=0, augment=False,
                      phone_weight=0.0, distill_weight=3.0)
    small = NetConfig(channels=16, emotion_dim=16).with_stride(2)
    taught, _ = train(clips, cfg, small, teacher=teacher.eval())
    alone, _ = train(clips, cfg, NetConfig(channels=16, emotion_dim=16).with_stride(2))
    mel = log_mel(audio.samples)[None]
    w = torch.zeros(1, mel.shape[1], 7)
    w[..., 4] = 1
    with torch.inference_mode():
        target = teacher(mel, w)
        taught_off, alone_off = ((net(mel, w) - target).abs().mean().item() for net in (taught, alone))
    assert taught_off < 0.75 * alone_off, (taught_off, alone_off)


@pytest.mark.slow
def test_a_tiny_model_learns_from_generated_data(tmp_path):
    """CI's training check: espeak-ng lines, silver-labelled by the phonetic engine; the loss must fall (on the
    default network's 50 Hz trunk, which `make train` builds)."""
    lines = ["Bob popped the big map", "We found the treasure before sunset",
             "You knew who flew over the wall", "Keep the fire burning all night"]
    clips = []
    for k, text in enumerate(lines):
        audio = load_audio(speak(text, tmp_path / f"{k}.wav", rate=140 + 10 * k))
        data = silver_labels(audio, text, f"tts{k}", source="tts")
        assert data is not None
        clips.append(clip_from(f"tts{k}", data))
    cfg = TrainConfig(steps=60, batch=4, crop_s=1.5, lr=3e-3, log_every=10, workers=0, seed=0)
    model, history = train(clips, cfg, NetConfig(channels=48, emotion_dim=16).with_stride(2))
    assert model.config.stride == 2
    assert history[-1] < 0.6 * history[0], history


@pytest.mark.parametrize("network", ["default", "live"])
def test_the_shipped_checkpoint_loads_and_animates(bob, tmp_path, network):
    """Both shipped networks: a live avatar shows an emotion as strongly as a bake does."""
    from emoface.cli import main
    from emoface import formats
    from emoface.metrics import pearson
    from emoface.model.checkpoints import DEFAULT, LIVE, load_checkpoint
    from emoface.prosody import analyse

    path = Path(str(DEFAULT if network == "default" else LIVE))
    assert path.stat().st_size <= 25e6
    model = load_checkpoint(path)
    assert model.card["data"] and "validation" in model.card
    means = {}
    for emotion in ("neutral", "happy", "sad", "angry"):
        out = tmp_path / f"{emotion}.json"
        assert main(["bake", str(bob), "-o", str(out), "--emotion", emotion, "--checkpoint", str(path), "-q"]) == 0
        anim = formats.read(out)
        assert anim.metadata["engine"] == "neural"
        means[emotion] = {c: float(anim[c].mean()) for c in ("MouthSmileLeft", "MouthFrownLeft", "BrowDownLeft",
                                                              "BrowInnerUp")}
        if emotion == "neutral":
            audio = load_audio(bob)
            loud = analyse(audio.samples, anim.n_frames, anim.fps).loudness
            assert anim["JawOpen"].max() > 0.3 and pearson(anim["JawOpen"], loud) > 0.5
    # intensity 1 is the whole expression (the network before 2026-12-06, late, showed 0.6-0.8 of it: anger read calm)
    assert means["happy"]["MouthSmileLeft"] > means["neutral"]["MouthSmileLeft"] + 0.7
    assert means["sad"]["MouthFrownLeft"] > means["neutral"]["MouthFrownLeft"] + 0.65
    assert means["sad"]["BrowInnerUp"] > 2.5 * means["sad"]["BrowDownLeft"]  # brows slant up to the middle
    assert means["angry"]["BrowDownLeft"] > means["neutral"]["BrowDownLeft"] + 0.7


def test_a_phone_line_moves_the_mouth_as_the_studio_recording_does(bob):
    """A line heard through a telephone band (voice chat, a cheap headset) gives the same jaw and the same lip
    closures as the full-band recording: the face must not depend on the microphone."""
    from emoface.evaluate import through
    from emoface.metrics import pearson

    audio = load_audio(bob)
    animator = Animator(engine="neural", fps=100, blinks=False, gaze=False, head=False, accents=False)
    studio = animator.animate_canonical(audio)
    phone = animator.animate_canonical(through(audio, "phone line (300-3400 Hz)"))
    assert pearson(studio["JawOpen"], phone["JawOpen"]) > 0.93
    assert pearson(studio["MouthClose"], phone["MouthClose"]) > 0.8


def test_eval_hears_each_channel_the_same_every_run(bob):
    """docs/EVALUATION.md's channel table must be reproducible: every channel is a fixed function of the clip,
    keeps its length, and noise or talkers sit 15 dB below the line as their names say."""
    from emoface.evaluate import CHANNELS, through

    audio = load_audio(bob)
    x = audio.samples.astype(np.float64)
    for channel in CHANNELS:
        heard = through(audio, channel).samples
        assert len(heard) == len(x) and np.array_equal(heard, through(audio, channel).samples)
        if "15 dB below" in channel:
            added = heard - x
            assert abs(10 * np.log10(np.mean(x ** 2) / np.mean(added ** 2)) - 15.0) < 0.5


def test_neural_engine_with_transcript_closes_the_lips(bob):
    from emoface.metrics import CLOSED_GAP, bilabial_closures

    anim = Animator(engine="neural").animate_canonical(load_audio(bob), None, "Bob popped the big map")
    assert anim.metadata["phoneme_source"] == "aligned"
    assert np.all(bilabial_closures(anim, anim.metadata["phonemes"]) < CLOSED_GAP)


def test_a_local_hugging_face_backbone_can_be_the_speech_encoder(tmp_path, bob):
    """No weights can be downloaded here: a tiny randomly initialised wav2vec2 stands in for a real one."""
    transformers = pytest.importorskip("transformers")

    config = transformers.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=64, conv_dim=(32, 32, 32), conv_stride=(5, 4, 4),
                                         conv_kernel=(10, 4, 4), num_conv_pos_embeddings=16,
                                         num_conv_pos_embedding_groups=2, vocab_size=10)
    backbone_dir = tmp_path / "w2v"
    transformers.Wav2Vec2Model(config).save_pretrained(backbone_dir)
    audio = load_audio(bob)
    data = silver_labels(audio, "Bob popped the big map", "tts0", source="tts")
    cfg = TrainConfig(steps=20, batch=2, crop_s=1.0, log_every=5, workers=0, augment=False)
    model, history = train([clip_from("bob", data)], cfg, NetConfig(channels=32, emotion_dim=16,
                                                                   speech_encoder=str(backbone_dir)))
    assert history[-1] < history[0]
    assert not any(p.requires_grad for p in model.backbone.parameters())  # frozen
    path = tmp_path / "with_backbone.pt"
    save(model, path)
    assert path.stat().st_size < 1e6  # the backbone is not copied into the checkpoint
    moved = tmp_path / "moved"
    backbone_dir.rename(moved)
    anim = Animator(engine="neural", checkpoint=str(path), speech_encoder=str(moved), blinks=False).animate(audio)
    assert anim.n_frames == int(np.ceil(audio.duration * 60)) and np.isfinite(anim.values).all()
    with pytest.raises(ValueError, match="cannot stream"):
        StreamingNet(model)


def test_real_capture_is_drawn_at_its_share_whatever_its_hours():
    """GRID capture is a small part of the hours but must teach the mouth: the batcher draws it at grid_share,
    FACEGOOD at facegood_share, silver-labelled speech the rest."""
    from emoface.train.data import Clip
    from emoface.train.loop import Batcher

    def clip(source, seconds):
        n = int(seconds * 100)
        return Clip(source, np.zeros(n * 160, np.float32), np.zeros((n, 61), np.float32), np.ones(61, bool),
                    {"loudness": np.zeros(n), "f0": np.zeros(n), "voiced": np.zeros(n), "speech": np.zeros(n)},
                    source, source)

    clips = [clip("speech-en", 60)] * 20 + [clip("grid", 3)] * 2 + [clip("facegood", 30)]
    batcher = Batcher(clips, TrainConfig(facegood_share=0.2, grid_share=0.25), np.random.default_rng(0))
    drawn = [batcher.pools[batcher.rng.choice(len(batcher.pools), p=batcher.shares)][0][0].source
             for _ in range(4000)]
    assert abs(drawn.count("grid") / 4000 - 0.25) < 0.03
    assert abs(drawn.count("facegood") / 4000 - 0.2) < 0.03


def test_a_crop_played_faster_or_slower_keeps_its_labels_on_its_sound():
    """Speed augmentation teaches the network other talkers' rates: however fast a crop is played, a mouth
    movement in its labels must stay on the sound that made it (within a frame), and the crop keeps its length."""
    from emoface.features import HOP
    from emoface.rigs import canonical_names
    from emoface.train.data import OUTPUT_CURVES, Clip
    from emoface.train.loop import Batcher, TrainConfig

    n = 250
    audio = np.zeros(n * HOP, np.float32)
    audio[120 * HOP: 122 * HOP] = np.sin(np.arange(2 * HOP) * 0.3)  # a burst at frame 120
    labels = np.zeros((n, 61), np.float32)
    jaw = canonical_names().index("JawOpen")
    labels[:, jaw] = np.exp(-0.5 * ((np.arange(n) - 121) / 3.0) ** 2)  # the jaw opens on it
    clip = Clip("c", audio, labels, np.ones(61, bool), {}, "s", "facegood")

    class Plain(Batcher):  # speed alone: no noise, rooms or pitch shifts around the burst
        def _augment(self, audio):
            return audio

    cfg = TrainConfig(crop_s=3.0, speed_share=1.0, speed_range=(0.75, 1.4), facegood_share=1.0, grid_share=0.0,
                      voice_share=0.0)
    batcher = Plain([clip], cfg, np.random.default_rng(0))
    lengths = set()
    for _ in range(30):
        sound, lab, *_ = batcher.sample()
        burst = np.sum(np.arange(len(sound)) * sound ** 2) / np.sum(sound ** 2) / HOP  # its centre, in frames
        assert abs(np.argmax(lab[:, OUTPUT_CURVES.index("JawOpen")]) - burst) <= 1.0
        assert abs(len(sound) / HOP - len(lab)) <= 1.0
        lengths.add(len(lab))
    assert min(lengths) < 250 / 1.3 and max(lengths) > 250  # faster crops are shorter, slower ones longer


def test_background_talkers_are_mixed_in_below_the_line(bob, speech_line):
    """`--background-voices` teaches the network to follow the voice in front: the talkers behind must stay
    6-25 dB below the line, whatever their own level or length."""
    from emoface.train import augment

    line, other = load_audio(bob).samples, load_audio(speech_line).samples
    for seed in range(20):
        rng = np.random.default_rng(seed)
        mixed = augment.background_voices(line, [other * 5, other[:4000] * 0.01], rng)
        below = 10 * np.log10(np.mean(line ** 2) / np.mean((mixed - line) ** 2))
        assert len(mixed) == len(line) and 6.0 - 1e-3 <= below <= 25.0 + 1e-3


def test_music_is_mixed_in_below_the_line_and_differs_every_crop(bob):
    """`--music` teaches the network to leave the mouth at rest where only music plays (the shipped network had
    opened the lips on every frame of a band alone: docs/MUSIC.md): music of the crop's length, 0-20 dB below the
    line, finite, a different tune each crop, with pitched notes (not noise) in most."""
    from emoface.prosody import analyse
    from emoface.train import augment

    line = load_audio(bob).samples
    tunes = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        mixed = augment.music_bed(line, rng)
        below = 10 * np.log10(np.mean(line ** 2) / np.mean((mixed - line) ** 2))
        assert len(mixed) == len(line) and mixed.dtype == np.float32 and np.isfinite(mixed).all()
        assert 0.0 - 1e-3 <= below <= 20.0 + 1e-3
        tunes.append(augment.music(16000, np.random.default_rng(seed)))
    assert min(np.abs(a - b).max() for a, b in zip(tunes, tunes[1:])) > 0.1
    pitched = [analyse(t / np.abs(t).max() * 0.3, 100, 100).voiced.mean() > 0.2 for t in tunes]
    assert np.mean(pitched) >= 0.5


def test_music_alone_crops_teach_the_face_at_rest():
    """Of the crops --music touches, some are music with no voice: their labels are the face at rest in the crop's
    emotion (jaw shut, lips sealed, the emotion's own shapes), the phone head hears silence, and the music is
    audible (a crop of zeros would teach nothing)."""
    from emoface.emotion.spec import EMOTIONS
    from emoface.phonetic.visemes import PHONES
    from emoface.train.data import OUTPUT_CURVES, Clip
    from emoface.train.loop import MUSIC_ALONE, Batcher

    n = 300
    speech = Clip("speech-en", np.zeros(n * 160, np.float32), np.full((n, 61), 0.3, np.float32), np.ones(61, bool),
                  {"loudness": np.zeros(n), "f0": np.zeros(n), "voiced": np.zeros(n), "speech": np.ones(n)},
                  "speaker", "speech-en")
    batcher = Batcher([speech], TrainConfig(music=1.0), np.random.default_rng(0))
    crops = [batcher.sample() for _ in range(60)]
    alone = [c for c in crops if (c[4] == PHONES.index("SIL")).all()]  # the clip itself names no phones
    assert abs(len(alone) / len(crops) - MUSIC_ALONE) < 0.12
    for audio, lab, weights, mask, phones in alone:
        assert len(audio) == len(lab) * 160 and np.sqrt(np.mean(audio ** 2)) > 1e-4 and np.isfinite(audio).all()
        assert lab[:, OUTPUT_CURVES.index("JawOpen")].max() < 0.25 and (mask > 0).all()  # an emotion's own jaw
        if (weights[:, EMOTIONS.index("neutral")] == 1).all():
            assert lab[:, :-1].max() == 0.0 and (lab[:, -1] == 1.0).all()  # at rest, lips sealed
    assert all(c[1][:, OUTPUT_CURVES.index("JawOpen")].max() > 0.1 for c in crops if (c[4] < 0).all())  # the clip's
    assert any((c[2][:, EMOTIONS.index("neutral")] == 1).all() for c in alone)
    happy = next(c for c in alone if c[2][:, EMOTIONS.index("happy")].min() > 0.3)
    assert happy[1][:, OUTPUT_CURVES.index("MouthSmileLeft")].min() > 0.05


def _formant_shift(x, y):
    """The frequency ratio that best maps x's average spectral envelope over its voiced frames onto y's."""
    from emoface.prosody import analyse
    from emoface.train.augment import envelope, spectrogram, warp_frequency

    voiced = analyse(x, len(x) // 160, 100).voiced  # per 10 ms frame
    rows = [envelope(spectrogram(np.asarray(a, np.float64))) for a in (x, y)]  # per 8 ms row
    keep = voiced[np.minimum(np.arange(len(rows[0])) * 128 // 160, len(voiced) - 1)]
    mean = [r[keep].mean(0) for r in rows]
    ratios = np.linspace(0.8, 1.5, 141)
    fit = [np.corrcoef(warp_frequency(mean[0][None], r)[0][8:200], mean[1][8:200])[0, 1]  # 250 Hz .. 6.25 kHz
           for r in ratios]
    return ratios[int(np.argmax(fit))]


def test_another_voice_moves_pitch_and_formants_and_keeps_the_timing(speech_line):
    """`--voice-share` lets one captured speaker teach every voice: the crop comes back with its pitch and its
    formants moved by the ratios asked (a woman's voice from a man's: 1.8 and 1.18), pitch alone leaving the
    formants where they were, and with its length, loudness and timing kept, so the captured labels still fit.
    Pitch is read by librosa's pYIN, a tracker apart from the one under test elsewhere."""
    import librosa

    from emoface.metrics import pearson
    from emoface.prosody import analyse
    from emoface.train import augment

    def median_pitch(a):
        f0, voiced, _ = librosa.pyin(a.astype(np.float64), fmin=50, fmax=1000, sr=16000, hop_length=160)
        return np.median(f0[voiced])

    x = load_audio(speech_line).samples
    before = analyse(x, len(x) // 160, 100)
    for pitch, formants in ((1.8, 1.18), (1.8, 1.0), (0.8, 0.92)):
        y = augment.voice(x, pitch, formants)
        after = analyse(y, len(y) // 160, 100)
        assert len(y) == len(x) and abs(np.sqrt(np.mean(y ** 2) / np.mean(x ** 2)) - 1) < 0.01
        moved = median_pitch(y) / median_pitch(x)
        assert abs(moved / pitch - 1) < 0.08, (pitch, moved)
        assert abs(_formant_shift(x, y) - formants) < 0.05, (formants, _formant_shift(x, y))
        assert pearson(before.loudness, after.loudness) > 0.9


def test_a_deeper_voice_keeps_the_lines_top_band(speech_line):
    """A voice lowered by resampling loses everything above pitch ratio x 8 kHz; a deeper voice must not also be a
    muffled microphone, or the network learns band-limited speech as the captured speakers' own (a phone line
    cost the held-out speakers' mouth curves r 0.61 -> 0.56 before the band was put back)."""
    from emoface.train import augment

    x = load_audio(speech_line).samples
    power = [np.mean(np.abs(augment.spectrogram(np.asarray(a, np.float64))) ** 2, axis=0)
             for a in (x, augment.voice(x, 0.4, 0.4 ** 0.28))]
    for lo, hi in ((3500, 5000), (5000, 8000)):  # Hz: above the resampled voice's 3.2 kHz edge
        band = slice(lo * 256 // 8000, hi * 256 // 8000)
        assert abs(10 * np.log10(power[1][band].sum() / power[0][band].sum())) < 10.0, (lo, hi)  # -50 dB and less before


def test_other_voices_span_adults_and_children_whoever_was_captured():
    """A captured man (110 Hz) and woman (220 Hz) are both heard as talkers from 85 to 300 Hz, their formants
    moving with the pitch as talkers' do (up for a higher voice, down for a deeper one), never past 0.85-1.4."""
    from emoface.train.loop import other_voice

    rng = np.random.default_rng(0)
    for own in (110.0, 220.0):
        drawn = np.array([other_voice(own, rng) for _ in range(2000)])
        heard = own * drawn[:, 0]
        assert 85.0 - 1e-6 <= heard.min() < 95.0 and 280.0 < heard.max() <= 300.0 + 1e-6
        assert drawn[:, 1].min() >= 0.85 and drawn[:, 1].max() <= 1.4
        assert np.corrcoef(np.log(drawn[:, 0]), np.log(drawn[:, 1]))[0, 1] > 0.9
    # --voice-pitch: a span reaching a woman's shouted or screamed voice (docs/EMOTIONAL_SPEECH.md)
    heard = 110.0 * np.array([other_voice(110.0, rng, (85.0, 450.0))[0] for _ in range(2000)])
    assert 85.0 - 1e-6 <= heard.min() < 95.0 and 420.0 < heard.max() <= 450.0 + 1e-6


def test_a_raised_voice_reaches_a_shouts_pitch_and_keeps_the_timing(speech_line):
    """`--raised-voice`: a line comes back as a shout or a scream would sound (median pitch 280-800 Hz, its swings
    wider, formants up to a quarter higher) with its length, loudness and timing kept, so its labels still fit; a
    crop with nothing voiced comes back as it was (RAVDESS's women shout at 300-700 Hz, where the network had shut
    its lips on their vowels: docs/EMOTIONAL_SPEECH.md)."""
    pytest.importorskip("pyworld")
    import librosa

    from emoface.metrics import pearson
    from emoface.prosody import analyse
    from emoface.train import augment
    from emoface.train.loop import RAISED_PITCH, raised_voice

    x = load_audio(speech_line).samples
    before = analyse(x, len(x) // 160, 100)
    for pitch, formants, swing in ((320.0, 1.0, 1.0), (700.0, 1.2, 1.4)):
        y = augment.world_voice(x, pitch, formants, swing)
        assert len(y) == len(x) and y.dtype == np.float32 and np.abs(y).max() <= 1.0
        f0, voiced, _ = librosa.pyin(y.astype(np.float64), fmin=150, fmax=1000, sr=16000, hop_length=160)
        assert abs(np.median(f0[voiced]) / pitch - 1) < 0.08, (pitch, np.median(f0[voiced]))
        assert abs(_formant_shift(x, y) - formants) < 0.06, (formants, _formant_shift(x, y))
        assert pearson(before.loudness, analyse(y, len(y) // 160, 100).loudness) > 0.85
    pause = np.zeros(16000, np.float32)
    assert np.array_equal(augment.world_voice(pause, 400.0), pause)
    rng = np.random.default_rng(1)
    drawn = np.array([raised_voice(rng) for _ in range(2000)])
    assert RAISED_PITCH[0] <= drawn[:, 0].min() < 300.0 and 750.0 < drawn[:, 0].max() <= RAISED_PITCH[1]
    assert drawn[:, 1].min() >= 1.0 and drawn[:, 1].max() <= 1.25 and drawn[:, 2].min() >= 1.0


def test_raised_voices_reach_every_talkers_crops(speech_line):
    """--raised-voice draws from every source (the read speech's 150 talkers too, not only the captured ones), about
    its share of the crops, each with the crop's length; the others keep the talker's own pitch."""
    pytest.importorskip("pyworld")
    import librosa

    from emoface.train.data import Clip
    from emoface.train.loop import Batcher

    x = load_audio(speech_line).samples
    n = len(x) // 160
    clip = Clip("speech-en", x[:n * 160], np.full((n, 61), 0.3, np.float32), np.ones(61, bool),
                {"loudness": np.zeros(n), "f0": np.zeros(n), "voiced": np.zeros(n), "speech": np.ones(n)},
                "speaker", "speech-en")
    cfg = TrainConfig(raised_voice=0.5, speed_share=0.0, crop_s=2.0)
    batcher = Batcher([clip], cfg, np.random.default_rng(0))
    pitches = []
    for _ in range(24):
        audio, lab, *_ = batcher.sample()
        assert len(audio) == len(lab) * 160 and np.isfinite(audio).all()
        f0, voiced, _ = librosa.pyin(audio.astype(np.float64) / max(np.abs(audio).max(), 1e-6), fmin=60, fmax=1000,
                                     sr=16000, hop_length=160)
        if voiced.any():  # a crop of the line's pauses has no pitch to tell
            pitches.append(np.median(f0[voiced]))
    raised = np.array(pitches) > 230.0  # the talker's own: about 100 Hz, give or take 3 semitones
    assert len(pitches) >= 16 and 0.25 <= raised.mean() <= 0.75, pitches


def test_eval_says_a_line_in_another_voice_with_its_timing(speech_line):
    """docs/EVALUATION.md's voices table: each voice is a fixed function of the clip (the same every run), keeps
    its length and reaches the pitch its name gives; "as recorded" is the clip itself."""
    pytest.importorskip("pyworld")
    from emoface.evaluate import VOICES, revoiced
    from emoface.prosody import analyse

    audio = load_audio(speech_line)
    assert revoiced(audio, "as recorded") is audio
    woman = revoiced(audio, "a woman's (210 Hz, x1.18)").samples
    assert len(woman) == len(audio.samples) and np.array_equal(woman, revoiced(audio, "a woman's (210 Hz, x1.18)").samples)
    pro = analyse(woman, len(woman) // 160, 100)
    assert abs(np.median(pro.f0[pro.voiced]) / 210.0 - 1) < 0.08
    assert abs(_formant_shift(audio.samples, woman) - VOICES["a woman's (210 Hz, x1.18)"][1]) < 0.06


def test_eval_tells_rounded_lips_from_spread_ones():
    """docs/EVALUATION.md's rounding tables: a system that purses the lips on 'oo' and not on 'ee' shows it (a
    whole-clip correlation does not), beside the reference; a clip without both kinds of vowel is left out."""
    from emoface.evaluate import ROUNDING, rounding, rounding_markdown
    from emoface.rigs import canonical_names

    names = canonical_names()
    pred, target = np.zeros((100, len(names)), np.float32), np.zeros((100, len(names)), np.float32)
    pred[:20, names.index("MouthPucker")] = 0.6  # "oo" over the first 0.2 s
    target[:20, names.index("MouthPucker")] = 0.5
    target[30:50, names.index("MouthFunnel")] = 0.2
    phones = [["UW", 0.0, 0.2], ["SIL", 0.2, 0.3], ["IY", 0.3, 0.5]]
    (own, ref), = rounding(pred, target, phones)
    assert own.shape == (len(ROUNDING), 2) and np.allclose(own[ROUNDING.index("MouthPucker")], [0.6, 0.0])
    assert np.allclose(ref[ROUNDING.index("MouthFunnel")], [0.0, 0.2])
    assert rounding(pred, target, phones[:2]) == []
    table = rounding_markdown({"network": {"rounding": [(own, ref)]}, "loudness": {"rounding": [(0 * own, ref)]}})
    assert "| reference | 0.500 / 0.000 | 0.000 / 0.200 |" in table
    assert "| network | 0.600 / 0.000 | 0.000 / 0.000 |" in table


def test_captured_labels_are_sealed_at_the_aligned_bilabials():
    """Video at 25 fps can miss most of a /b/: a captured clip's labels are closed over every p/b/m of its
    aligned transcript (else the network learns open bilabials from real capture), and left alone elsewhere."""
    from emoface.animation import Animation
    from emoface.metrics import lip_gap
    from emoface.phonetic.visemes import PHONES
    from emoface.rigs import canonical_names
    from emoface.train.data import seal_bilabials

    names = canonical_names()
    labels = np.zeros((30, len(names)), np.float32)
    labels[:, names.index("JawOpen")] = 0.3
    labels[:, names.index("MouthLowerDownLeft")] = 0.2
    phones = np.full(30, PHONES.index("AA"), np.int8)
    phones[10:16] = PHONES.index("B")
    gap = lip_gap(Animation(names, 100.0, seal_bilabials(labels.copy(), phones), "livelink"))
    assert (gap[10:16] < 0.01).all() and (gap[:10] > 0.25).all() and (gap[16:] > 0.25).all()


def test_a_long_lines_frames_are_np_interp_of_each_curve_in_bounded_memory(monkeypatch):
    """The 100 Hz rows become frames at any fps as np.interp would make each curve, a block of frames at a time
    on a long line: a 30-minute line's frames had taken 200 MB of temporaries at once."""
    import tracemalloc

    from emoface.model import infer

    rng = np.random.default_rng(0)
    xp = np.arange(300) / 100.0
    fp = rng.random((300, 5), dtype=np.float32)
    x = np.linspace(-0.1, 3.2, 500)  # past both ends too
    monkeypatch.setattr(infer, "INTERP_BLOCK", 37)
    np.testing.assert_array_equal(infer.interp_columns(x, xp, fp),
                                  np.stack([np.interp(x, xp, fp[:, k]) for k in range(5)], 1))
    monkeypatch.undo()
    rows = rng.random((180_000, 43), dtype=np.float32)  # 30 minutes at 100 Hz
    frames = np.arange(108_000) / 60.0
    tracemalloc.start()
    try:
        out = infer.interp_columns(frames, np.arange(len(rows)) / 100.0, rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * out.nbytes, f"{peak / 2 ** 20:.0f} MB"


def test_where_the_network_hears_a_seal_the_lips_close_over_a_jaw_half_shut():
    """A real speaker's jaw barely dips at p/b/m: the network's rows seal the lips with MouthClose and move the
    jaw only half way to shut (the phonetic engine shuts it); rows that hear no seal are left alone."""
    from emoface.metrics import lip_gap
    from emoface.model.config import SEALED
    from emoface.model.infer import frames_from_rows
    from emoface.phonetic.animate import CLOSED_JAW

    out_names = list(OUTPUT_CURVES) + [SEALED]
    rows = np.zeros((40, len(out_names)), np.float32)
    rows[:, out_names.index("JawOpen")] = 0.3
    rows[:, out_names.index("MouthLowerDownLeft")] = 0.2
    rows[15:25, out_names.index(SEALED)] = 0.9
    times = np.arange(40) / FRAME_RATE
    anim = frames_from_rows(out_names, rows, times, times, FRAME_RATE)
    gap = lip_gap(anim)
    assert (gap[16:24] < 0.01).all() and (gap[:12] > 0.25).all() and (gap[28:] > 0.25).all()
    assert np.allclose(anim["JawOpen"][16:24], (0.3 + CLOSED_JAW) / 2) and np.allclose(anim["JawOpen"][:12], 0.3)


def test_grid_captures_made_with_another_basis_are_captured_again(tmp_path):
    """A cached GRID capture is a training label: when the shipped capture basis changes, `make train` must
    capture the clip again instead of training on what the old basis measured."""
    from emoface.capture.basis import shipped_digest
    from emoface.train.data import GRID_PASSES, _stale_capture

    now, old, skipped = tmp_path / "now.npz", tmp_path / "old.npz", tmp_path / "skip.npz"
    np.savez(now, labels=np.zeros(2), basis=shipped_digest())
    np.savez(old, labels=np.zeros(2), basis="0123456789abcdef")
    np.savez(skipped, skip=True)
    assert not _stale_capture(now, shipped_digest())
    assert _stale_capture(old, shipped_digest())
    assert _stale_capture(tmp_path / "missing.npz", shipped_digest())
    assert not _stale_capture(skipped, shipped_digest())
    # training captures average more crops than a user's default: a default capture is not a training label
    assert _stale_capture(now, shipped_digest(GRID_PASSES))
    # and a change to what capture writes, marked by its revision, makes every cached capture stale
    assert _stale_capture(now, shipped_digest(revision=1))


def test_a_real_speakers_faint_curves_weigh_like_the_teachers():
    """GRID's captured smile moves a quarter as far as the silver labels' smile: unscaled, its error is too small
    to teach anything beside the jaw. Its error is scaled by the ratio of spreads (at most capture_gain), and a
    curve capture does not measure, or one as lively as the teacher's, keeps its scale."""
    from emoface.rigs import canonical_names
    from emoface.train.data import OUTPUT_CURVES, Clip
    from emoface.train.loop import Batcher, masked_loss

    names = canonical_names()
    rng = np.random.default_rng(0)

    def clip(source, amplitude):
        n = 400
        labels = np.zeros((n, len(names)), np.float32)
        labels[:, names.index("JawOpen")] = 0.3 * rng.random(n)
        labels[:, names.index("BrowInnerUp")] = amplitude * rng.random(n)
        for name in ("MouthSmileLeft", "MouthUpperUpLeft"):
            labels[:, names.index(name)] = amplitude * rng.random(n)
        return Clip(source, np.zeros(n * 160, np.float32), labels, np.ones(len(names), bool),
                    {"loudness": np.zeros(n), "f0": np.zeros(n), "voiced": np.zeros(n), "speech": np.zeros(n)},
                    source, source)

    clips = [clip("speech-en", 0.2) for _ in range(4)] + [clip("grid", 0.05) for _ in range(4)]
    gains = dict((pool[0].source, g) for pool, _, g in Batcher(clips, TrainConfig(capture_gain=8.0), rng).pools)
    grid = gains["grid"]
    assert gains["speech-en"] == 1.0
    assert grid[OUTPUT_CURVES.index("MouthSmileLeft")] == pytest.approx(4.0, rel=0.1)
    assert grid[OUTPUT_CURVES.index("JawOpen")] == pytest.approx(1.0, abs=0.1)
    assert grid[OUTPUT_CURVES.index("BrowInnerUp")] == 1.0  # not a curve capture is trusted on: silver labels
    capped = dict((pool[0].source, g) for pool, _, g in Batcher(clips, TrainConfig(capture_gain=2.0), rng).pools)
    assert capped["grid"][OUTPUT_CURVES.index("MouthSmileLeft")] == pytest.approx(2.0)
    off = dict((pool[0].source, g) for pool, _, g in Batcher(clips, TrainConfig(capture_gain=1.0), rng).pools)
    assert np.all(off["grid"] == 1.0)

    # the loss sees a faint curve's error in the teacher's units: 0.01 off a GRID smile costs 0.04 off a silver one
    smile = OUTPUT_CURVES.index("MouthSmileLeft")
    target = torch.zeros(1, 10, len(OUTPUT_CURVES) + 1)
    faint, full = target.clone(), target.clone()
    faint[..., smile], full[..., smile] = 0.01, 0.04
    mask = torch.ones_like(target)
    assert masked_loss(faint, target, mask * torch.from_numpy(grid), 0.5, 10.0).item() == pytest.approx(
        masked_loss(full, target, mask, 0.5, 10.0).item(), rel=0.1)


def test_averaged_checkpoints_are_the_mean_network_and_load_like_any(tmp_path):
    """tools/average_checkpoints.py (docs/EVALUATION.md's weight averages): the mean of each weight, a checkpoint
    the product loads, and a refusal to average networks of different shapes."""
    import subprocess
    import sys

    from emoface.model.checkpoints import _load_network

    root = Path(__file__).resolve().parents[1]
    paths = []
    for seed, channels in ((0, 16), (1, 16), (2, 24)):
        torch.manual_seed(seed)
        model = FaceNet(NetConfig(channels=channels, emotion_dim=8, out_names=["JawOpen", "MouthClose"]))
        paths.append(tmp_path / f"n{seed}.pt")
        save(model, paths[-1])
    out = tmp_path / "mean.pt"
    tool = [sys.executable, str(root / "tools" / "average_checkpoints.py")]
    subprocess.run(tool + [str(out), str(paths[0]), str(paths[1])], check=True, capture_output=True)
    a, b, mean = (load(p).state_dict() for p in (paths[0], paths[1], out))
    assert all(torch.allclose(mean[k], (a[k] + b[k]) / 2) for k in a if torch.is_floating_point(a[k]))
    net = _load_network(str(out), None)
    assert net(np.zeros((50, 80), np.float32), np.eye(7, dtype=np.float32)[[0] * 50]).shape == (50, 2)
    bad = subprocess.run(tool + [str(tmp_path / "no.pt"), str(paths[0]), str(paths[2])], capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "not the same network" in bad.stderr and not (tmp_path / "no.pt").exists()


def test_a_cache_file_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A labelling or capture run stopped mid-write (Ctrl-C, the machine going down) must not leave a truncated .npz
    in the training cache: every later run would fail reading it."""
    from emoface.train import data

    path = tmp_path / "speech-en__a.npz"
    data.save_whole(path, labels=np.ones((3, 2)))
    with np.load(path) as z:
        assert z["labels"].shape == (3, 2)

    def stopped(f, **arrays):  # the run is stopped halfway through writing the next one
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(data.np, "savez", stopped)
    with pytest.raises(KeyboardInterrupt):
        data.save_whole(path, labels=np.zeros((5, 2)))
    with np.load(path) as z:  # the file before it, whole
        assert z["labels"].shape == (3, 2)
