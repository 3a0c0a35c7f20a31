"""Training loop: random crops, on-the-fly emotion targets and augmentation, masked L1 + velocity loss."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from emoface.animation import Animation
from emoface.emotion import layer as emotion_layer
from emoface.emotion.spec import EMOTIONS, EmotionTrack
from emoface.features import FRAME_RATE, HOP, MEL_FLOOR, log_mel
from emoface.model.net import SEALED, FaceNet, NetConfig
from emoface.phonetic.visemes import PHONES
from emoface.prosody import Prosody, analyse
from emoface.rigs import CANONICAL_RIG, canonical_names
from emoface.train import augment
from emoface.metrics import lip_gap
from emoface.train.data import CAPTURE_TRUSTED, OUTPUT_CURVES, SEALED_GAP, Clip

log = logging.getLogger("emoface")


VOICE_PITCH = (85.0, 300.0)  # Hz: the span of median pitches the captured speakers' other voices are drawn from
# Hz: the span of median pitches a raised voice is drawn from: a shout or a scream, a child's or a woman's (RAVDESS's
# women shout and scream at 300-700 Hz; the network had shut its lips on their vowels)
RAISED_PITCH = (280.0, 800.0)


@dataclass
class TrainConfig:
    steps: int = 10000
    minutes: float = 0.0  # stop after this much wall time as well (0 = no limit)
    batch: int = 16
    crop_s: float = 3.0
    lr: float = 2e-3
    weight_decay: float = 1e-4
    facegood_share: float = 0.2
    grid_share: float = 0.4  # real capture (GRID s1) drawn this often, whatever its share of the hours
    velocity_weight: float = 0.5
    squared_weight: float = 10.0  # weight of squared error beside L1 on the curves
    phone_weight: float = 0.03  # weight of the auxiliary phone cross-entropy (0: no phone head)
    augment: bool = True
    speed_share: float = 0.3  # share of crops played faster or slower (pitch moves with it): talkers' rates differ
    speed_range: tuple[float, float] = (0.9, 1.1)  # slowest and fastest playback factor
    background_voices: float = 0.0  # share of crops with other talkers mixed in behind (augment.background_voices)
    music: float = 0.0  # share of crops with music mixed in behind (augment.music_bed)
    voice_share: float = 0.5  # share of the captured speakers' (GRID, FACEGOOD) crops in another voice (augment.voice)
    voice_pitch: tuple[float, float] = VOICE_PITCH  # median pitches (Hz) those voices are drawn between
    raised_voice: float = 0.0  # share of every talker's crops in a raised voice (RAISED_PITCH, augment.world_voice)
    capture_gain: float = 8.0  # most a captured curve's error is scaled up to count as much as silver labels' (1: off)
    distill_weight: float = 1.0  # with a teacher network: weight of matching its curves on every crop
    emotion_only: bool = False  # learn only the emotion encoder and the blocks' FiLM: what hears speech stays
    seed: int = 0
    log_every: int = 50
    workers: int = 1  # batch-making processes (0: in the training process)


OTHER_VOICES = ("grid", "facegood")  # one captured speaker each: their mouths must teach every voice
# of the crops --music puts music in, the share that are music alone, the face at rest: mixed behind speech, the
# music sat alone only in a line's short pauses, and both networks still parted the lips on 42% of a band's frames
MUSIC_ALONE = 0.2
MUSIC_LEVEL_DB = (-40.0, -14.0)  # a band alone: RMS dBFS before the crop's gain (speech is about -26)
EMOTION_PARAMETERS = ("emotions.", "emotion_mlp.")  # with the blocks' FiLM, all an --emotion-only run learns


def median_pitch(clip: Clip) -> float:
    """The clip's talker's median pitch (Hz) over voiced frames (120 where none is found)."""
    if "f0" in clip.prosody:
        f0, voiced = clip.prosody["f0"], clip.prosody["voiced"].astype(bool)
    else:  # FACEGOOD's clips come without
        pro = analyse(clip.audio, len(clip.labels), FRAME_RATE)
        f0, voiced = pro.f0, pro.voiced
    return float(np.median(f0[voiced])) if voiced.any() else 120.0


def other_voice(own_pitch: float, rng: np.random.Generator, span=VOICE_PITCH) -> tuple[float, float]:
    """(pitch ratio, formant ratio) that make a talker whose median pitch is `own_pitch` sound like another adult
    or a child: a median pitch anywhere in `span` (Hz), and formants that move with it as talkers' do (a man's
    to a woman's voice is about 1.8x the pitch and 1.18x the formants: ratio ** 0.28, give or take 4%)."""
    pitch = float(np.exp(rng.uniform(np.log(span[0]), np.log(span[1])))) / max(own_pitch, 50.0)
    return pitch, float(np.clip(pitch ** 0.28 * np.exp(rng.normal(0.0, 0.04)), 0.85, 1.4))


def raised_voice(rng: np.random.Generator) -> tuple[float, float, float]:
    """(median pitch Hz, formant ratio, pitch swing) of a raised voice, for augment.world_voice: a pitch anywhere in
    RAISED_PITCH, the vocal tract's resonances up to a quarter higher (a shorter tract, a raised larynx, a wider
    jaw), the pitch's swings up to half again as wide, as a shouting talker's are."""
    pitch = float(np.exp(rng.uniform(np.log(RAISED_PITCH[0]), np.log(RAISED_PITCH[1]))))
    return pitch, float(rng.uniform(1.0, 1.25)), float(rng.uniform(1.0, 1.5))


def random_emotion_track(n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Per-frame emotion weights: neutral, one emotion, a blend, or a change of emotion mid-clip."""
    def vec():
        v = np.zeros(len(EMOTIONS), np.float32)
        for _ in range(1 if rng.random() < 0.7 else 2):
            v[rng.integers(len(EMOTIONS))] += rng.uniform(0.3, 1.0)
        return np.minimum(v, 1.0)

    if rng.random() < 0.25:
        v = np.zeros(len(EMOTIONS), np.float32)
        v[EMOTIONS.index("neutral")] = 1.0
        return np.repeat(v[None], n_frames, 0)
    if rng.random() < 0.3 and n_frames > 60:
        t = rng.uniform(0.2, 0.8) * n_frames / FRAME_RATE
        return EmotionTrack(np.array([0.0, t]), np.stack([vec(), vec()])).weights(n_frames, FRAME_RATE)
    return np.repeat(vec()[None], n_frames, 0)


def emotion_targets(clip: Clip, weights: np.ndarray, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """The FACS emotion layer over the clip's neutral silver labels (speech-en) in frames lo:hi."""
    hi = len(clip.labels) if hi is None else hi
    anim = Animation(canonical_names(), FRAME_RATE, clip.labels[lo:hi], CANONICAL_RIG)
    p = {k: v[lo:hi] for k, v in clip.prosody.items()}
    pro = Prosody(p["loudness"], np.zeros(hi - lo, np.float32), p["f0"], p["voiced"].astype(bool),
                  p["speech"].astype(bool))
    return emotion_layer.apply(anim, weights[lo:hi], pro).values


class Batcher:
    def __init__(self, clips: list[Clip], cfg: TrainConfig, rng: np.random.Generator, mel_floor: float = MEL_FLOOR):
        self.cfg, self.rng, self.mel_floor = cfg, rng, mel_floor
        self.pitches: dict[str, float] = {}  # clip key -> its talker's median pitch, for other voices
        pools = {"facegood": [c for c in clips if c.source == "facegood"],
                 "grid": [c for c in clips if c.source == "grid"],
                 "speech": [c for c in clips if c.source not in ("facegood", "grid")]}
        self.cols = [canonical_names().index(n) for n in OUTPUT_CURVES]
        gains = self._capture_gains(pools["grid"], pools["speech"], cfg.capture_gain)
        self.pools = [(clips, self._weights(clips), gains if k == "grid" else 1.0)
                      for k, clips in pools.items() if clips]
        shares = np.array([{"facegood": cfg.facegood_share, "grid": cfg.grid_share}.get(k, 0.0)
                           for k, v in pools.items() if v])
        if len(shares) and shares.sum() < 1 and pools["speech"]:
            shares[-1] = 1 - shares.sum()
        self.shares = shares / shares.sum() if shares.sum() > 0 else np.full(len(shares), 1 / max(1, len(shares)))

    def _capture_gains(self, captured: list[Clip], silver: list[Clip], cap: float) -> np.ndarray:
        """Per output, what a captured clip's error is scaled by: a real speaker's faint curves (GRID's smile moves
        a quarter as far as the teacher's) would otherwise teach nothing beside the jaw, though their timing is
        what capture measures. The ratio of the silver labels' spread to the capture's, between 1 and cap."""
        gains = np.ones(len(self.cols) + 1, np.float32)
        if not captured or not silver or cap <= 1:
            return gains
        spread = [self._spread(clips) for clips in (captured, silver)]
        for name in CAPTURE_TRUSTED:
            j = OUTPUT_CURVES.index(name)
            gains[j] = np.clip(spread[1][j] / max(spread[0][j], 1e-6), 1.0, cap)
        return gains

    def _spread(self, clips: list[Clip]) -> np.ndarray:
        """Each output's standard deviation over all the clips' frames, without joining hours of labels."""
        n = sum(len(c.labels) for c in clips)
        total = sum(c.labels[:, self.cols].sum(0, dtype=np.float64) for c in clips)
        squares = sum(np.square(c.labels[:, self.cols], dtype=np.float64).sum(0) for c in clips)
        return np.sqrt(np.maximum(squares / n - (total / n) ** 2, 0.0))

    @staticmethod
    def _weights(clips):
        w = np.array([len(c.labels) for c in clips], np.float64)
        return w / w.sum() if len(w) else w

    def sample(self):
        cfg, rng = self.cfg, self.rng
        if cfg.augment and cfg.music and rng.random() < cfg.music * MUSIC_ALONE:
            return self.music_alone()
        pool, w, gains = self.pools[rng.choice(len(self.pools), p=self.shares)]
        clip = pool[rng.choice(len(pool), p=w)]
        n = len(clip.labels)
        factor = rng.uniform(*cfg.speed_range) if cfg.augment and rng.random() < cfg.speed_share else 1.0
        want = int(cfg.crop_s * FRAME_RATE * factor)  # label frames to take before the speed change
        start = int(rng.integers(0, max(1, n - want)))
        stop = min(n, start + want)
        if clip.source == "facegood":
            weights = np.zeros((n, len(EMOTIONS)), np.float32)
            weights[:, EMOTIONS.index("neutral")] = 1.0
            lab = clip.labels[start:stop]
        else:
            weights = random_emotion_track(n, rng)
            # the layer's loudness/pitch statistics come from a few seconds around the crop, as a listener's would
            lo, hi = max(0, start - 200), min(n, stop + 200)
            lab = emotion_targets(clip, weights, lo, hi)[start - lo: stop - lo]
        audio = clip.audio[start * HOP: stop * HOP]
        wts = weights[start:stop]
        phones = clip.phones[start:stop] if clip.phones is not None else np.full(stop - start, -1, np.int8)
        lab = self.targets(lab)
        mask = np.append(clip.mask[self.cols], clip.source != "facegood") * gains  # capture has no seal labels
        if factor != 1.0:
            audio = augment.speed(audio, factor)
            m = max(1, int(round(len(lab) / factor)))
            src = np.linspace(0, len(lab) - 1, m)
            lab = np.stack([np.interp(src, np.arange(len(lab)), lab[:, j]) for j in range(lab.shape[1])], 1)
            wts = wts[np.round(src).astype(int)]
            phones = phones[np.round(src).astype(int)]
        if cfg.augment and cfg.raised_voice and rng.random() < cfg.raised_voice:
            audio = augment.world_voice(audio, *raised_voice(rng))
        elif cfg.augment and clip.source in OTHER_VOICES and rng.random() < cfg.voice_share:
            if clip.key not in self.pitches:
                self.pitches[clip.key] = median_pitch(clip)
            audio = augment.voice(audio, *other_voice(self.pitches[clip.key], rng, cfg.voice_pitch))
        if cfg.augment:
            audio = self._augment(audio)
        return audio.astype(np.float32), lab, wts, mask, phones

    def targets(self, labels: np.ndarray) -> np.ndarray:
        """Canonical labels [frames, canonical] -> the network's targets: its outputs, then whether the lips are
        sealed."""
        sealed = lip_gap(Animation(canonical_names(), FRAME_RATE, labels, CANONICAL_RIG)) < SEALED_GAP
        return np.concatenate([labels[:, self.cols], sealed[:, None].astype(np.float32)], axis=1)

    def music_alone(self):
        """A crop of music with no voice (a score between lines, a headset hearing the game): the face at rest,
        in the crop's emotion, as the teacher's face is where nobody speaks."""
        rng, n = self.rng, int(self.cfg.crop_s * FRAME_RATE)
        audio = augment.music(n * HOP, rng)
        audio *= 10 ** (rng.uniform(*MUSIC_LEVEL_DB) / 20) / max(float(np.sqrt(np.mean(audio ** 2))), 1e-9)
        weights = random_emotion_track(n, rng)
        quiet = np.zeros(n, np.float32)
        rest = emotion_layer.apply(Animation.zeros(canonical_names(), FRAME_RATE, n, CANONICAL_RIG), weights,
                                   Prosody(quiet, quiet, quiet, quiet.astype(bool), quiet.astype(bool))).values
        return (self._augment(audio.astype(np.float32)).astype(np.float32), self.targets(rest), weights,
                np.ones(len(self.cols) + 1, np.float32), np.full(n, PHONES.index("SIL"), np.int8))

    def _augment(self, audio):
        rng = self.rng
        if len(audio) < 1024:
            return audio
        if rng.random() < 0.2:
            audio = augment.pitch(audio, rng.uniform(-3, 3))
        if rng.random() < 0.25:
            audio = augment.reverb(audio, rng)
        if rng.random() < 0.5:
            audio = augment.equalise(audio, rng)
        if rng.random() < 0.4:
            audio = augment.noise(audio, rng)
        if self.cfg.background_voices and rng.random() < self.cfg.background_voices:  # 0: the stream as before
            audio = augment.background_voices(audio, [self._any_audio() for _ in range(rng.integers(1, 4))], rng)
        if self.cfg.music and rng.random() < self.cfg.music:
            audio = augment.music_bed(audio, rng)
        return augment.gain(audio, rng)

    def _any_audio(self):
        pool, w, _ = self.pools[self.rng.choice(len(self.pools), p=self.shares)]
        return pool[self.rng.choice(len(pool), p=w)].audio

    def batch(self):
        items = [self.sample() for _ in range(self.cfg.batch)]
        return collate(items, self.mel_floor)


class _Stream(torch.utils.data.IterableDataset):
    """Endless batches made in a worker process, so augmentation overlaps with the optimiser step."""

    def __init__(self, clips, cfg, mel_floor: float):
        self.clips, self.cfg, self.mel_floor = clips, cfg, mel_floor

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        seed = self.cfg.seed * 1000 + (info.id + 1 if info else 0)
        batcher = Batcher(self.clips, self.cfg, np.random.default_rng(seed), self.mel_floor)
        while True:
            yield batcher.batch()


def collate(items, mel_floor: float = MEL_FLOOR):
    """Pad to the longest item; a frame mask marks real frames."""
    t = max(len(lab) for _, lab, _, _, _ in items)
    b, c = len(items), items[0][1].shape[1]
    audio = np.zeros((b, t * HOP), np.float32)
    labels = np.zeros((b, t, c), np.float32)
    weights = np.zeros((b, t, len(EMOTIONS)), np.float32)
    mask = np.zeros((b, t, c), np.float32)
    phones = np.full((b, t), -1, np.int64)
    for i, (a, lab, w, m, ph) in enumerate(items):
        k = len(lab)
        a = a[: k * HOP]
        audio[i, : len(a)] = a
        labels[i, :k], weights[i, :k] = lab, w
        weights[i, k:] = w[-1] if k else 0
        mask[i, :k] = m[None, :]
        phones[i, :k] = ph[:k]
    audio = torch.from_numpy(audio)
    mel = log_mel(audio, mel_floor)[:, :t]
    return mel, torch.from_numpy(labels), torch.from_numpy(weights), torch.from_numpy(mask), audio, \
        torch.from_numpy(phones)


def masked_loss(pred, target, mask, velocity_weight, squared_weight=0.0):
    """L1 on the curves (sharp shapes) plus optionally squared error, squared error alone on the last output,
    the lip seal: a probability. L1 alone drives a rare, uncertain shape (an f/v lip roll, a p/b/m press)
    to its median, 0; squared error keeps its expected value, so the curve still moves. mask: 0 where a curve
    is no target, else the scale its error is measured in (Batcher._capture_gains)."""
    diff = (pred - target) * mask
    err = diff.abs() + squared_weight * diff ** 2
    err = torch.cat([err[..., :-1], 4 * diff[..., -1:] ** 2], dim=-1)
    loss = err.sum() / (mask > 0).sum().clamp(min=1)
    vmask = torch.minimum(mask[:, 1:], mask[:, :-1])
    verr = ((pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])).abs() * vmask
    return loss + velocity_weight * verr.sum() / (vmask > 0).sum().clamp(min=1)


def mel_stats(clips: list[Clip], limit: int = 200, mel_floor: float = MEL_FLOOR):
    mels = [log_mel(c.audio, mel_floor) for c in clips[:: max(1, len(clips) // limit)]]
    allm = torch.cat(mels)
    return allm.mean(0), allm.std(0).clamp(min=1e-3)


def train(clips: list[Clip], cfg: TrainConfig, net_cfg: NetConfig | None = None, valid: list[Clip] | None = None,
          on_checkpoint=None, init: FaceNet | None = None, teacher: FaceNet | None = None
          ) -> tuple[FaceNet, list[float]]:
    """Train from scratch; returns the model and the training loss per logged interval. With a teacher (a
    trained network with the same outputs), the model also learns its curves on every crop, as heard through the
    same augmentation: all of its outputs on every frame, where the labels cover some curves of some clips."""
    torch.manual_seed(cfg.seed)
    net_cfg = net_cfg or NetConfig()
    net_cfg.out_names = list(OUTPUT_CURVES) + [SEALED]
    if cfg.phone_weight > 0:
        net_cfg.n_phones = len(PHONES)
    model = FaceNet(net_cfg)
    mean, std = mel_stats(clips, mel_floor=net_cfg.mel_floor)
    model.mel_mean.copy_(mean)
    model.mel_std.copy_(std)
    if init is not None:  # continue from a checkpoint; outputs it lacks start from zero
        state = {k: v for k, v in init.state_dict().items() if not k.startswith("head.")}
        missing = model.load_state_dict(state, strict=False).missing_keys
        with torch.no_grad():  # blocks it lacks (a longer look-ahead) start as the identity: its function, extended
            for i, block in enumerate(model.blocks):
                if f"blocks.{i}.mix.weight" in missing:
                    block.mix.weight.zero_()
                    block.mix.bias.zero_()
        if init.config.mel_floor != net_cfg.mel_floor:  # other features: normalise them by their own statistics
            model.mel_mean.copy_(mean)
            model.mel_std.copy_(std)
        with torch.no_grad():
            for j, name in enumerate(net_cfg.out_names):
                if name in init.config.out_names:
                    k = init.config.out_names.index(name)
                    model.head.weight[j] = init.head.weight[k]
                    model.head.bias[j] = init.head.bias[k]
    if cfg.emotion_only:
        if init is None or list(init.config.out_names) != list(net_cfg.out_names):
            raise ValueError("emotion_only: needs an init network with these outputs (a new one would stay as it "
                             "started)")
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith(EMOTION_PARAMETERS) or ".film." in name)
    trainable = [p for p in model.parameters() if p.requires_grad]  # a pretrained backbone stays frozen
    opt = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 200) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    loader = iter(torch.utils.data.DataLoader(_Stream(clips, cfg, net_cfg.mel_floor), batch_size=None,
                                              num_workers=cfg.workers))
    history, running, t0 = [], [], time.time()
    for step in range(cfg.steps):
        model.train()
        mel, labels, weights, mask, audio, phones = next(loader)
        if model.phone_head is not None:
            pred, logits = model(mel, weights, audio, with_phones=True)
            loss = masked_loss(pred, labels, mask, cfg.velocity_weight, cfg.squared_weight)
            if (phones >= 0).any():
                loss = loss + cfg.phone_weight * torch.nn.functional.cross_entropy(
                    logits.flatten(0, 1), phones.flatten(), ignore_index=-1)
        else:
            pred = model(mel, weights, audio)
            loss = masked_loss(pred, labels, mask, cfg.velocity_weight, cfg.squared_weight)
        if teacher is not None:
            with torch.no_grad():
                taught = teacher(mel, weights, audio)
            frames = (mask.amax(dim=-1, keepdim=True) > 0).expand_as(taught).float()  # a crop's real frames
            loss = loss + cfg.distill_weight * masked_loss(pred, taught, frames, cfg.velocity_weight,
                                                           cfg.squared_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % cfg.log_every == 0 or step == cfg.steps - 1:
            history.append(float(np.mean(running)))
            running = []
            msg = f"step {step + 1}/{cfg.steps} loss {history[-1]:.4f} lr {sched.get_last_lr()[0]:.2e} " \
                  f"{time.time() - t0:.0f}s"
            if valid and (step + 1) % (cfg.log_every * 10) == 0:
                msg += " | " + ", ".join(f"{k} {v:.4f}" for k, v in validate(model, valid).items())
                if on_checkpoint:
                    on_checkpoint(model, step + 1)
            log.info(msg)
        if cfg.minutes and time.time() - t0 > cfg.minutes * 60:
            log.info("time budget reached at step %d", step + 1)
            if running:  # the steps since the last log count too (a short fine-tune may never reach one)
                history.append(float(np.mean(running)))
            break
    model.trained_steps = step + 1  # what the budget allowed of cfg.steps, for the checkpoint's card
    return model.eval(), history


@torch.inference_mode()
def validate(model: FaceNet, clips: list[Clip]) -> dict:
    """Neutral-emotion L1 and JawOpen Pearson r on held-out clips, per source."""
    model.eval()
    cols = [canonical_names().index(n) for n in OUTPUT_CURVES]
    jaw = OUTPUT_CURVES.index("JawOpen")
    out: dict = {}
    for source in sorted({c.source for c in clips}):
        errs, rs = [], []
        for c in (c for c in clips if c.source == source):
            n = len(c.labels)
            w = np.zeros((1, n, len(EMOTIONS)), np.float32)
            w[..., EMOTIONS.index("neutral")] = 1
            mel = log_mel(c.audio, model.config.mel_floor)[None, :n]
            pred = model(mel, torch.from_numpy(w[:, : mel.shape[1]]), torch.from_numpy(c.audio)[None])[0].numpy()
            pred = pred[:, : len(cols)]
            target = c.labels[: len(pred), cols]
            m = c.mask[cols]
            errs.append(np.abs(pred - target)[:, m].mean())
            if np.std(target[:, jaw]) > 1e-6 and np.std(pred[:, jaw]) > 1e-6:
                rs.append(np.corrcoef(pred[:, jaw], target[:, jaw])[0, 1])
        out[f"{source}_l1"] = float(np.mean(errs))
        out[f"{source}_jaw_r"] = float(np.mean(rs)) if rs else 0.0
    return out
