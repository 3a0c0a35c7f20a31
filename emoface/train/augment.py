"""Audio augmentation for training: gain, noise, reverberation, the recording channel, speed, pitch, another
talker's voice, and music behind the line.

Speed changes timing, so it returns the factor for the labels to follow; pitch shift keeps timing.
"""

from __future__ import annotations

import warnings

import numpy as np
import soxr
from scipy.signal import fftconvolve, istft, stft

SR = 16000


def gain(x, rng, db=(-30.0, 6.0)):
    """A louder or much quieter microphone: real lines sit anywhere from -10 to -48 dBFS."""
    return x * 10 ** (rng.uniform(*db) / 20)


def pinkish(n):
    """White noise integrated a little: more low than high, like a room's hum and hiss."""
    n = np.cumsum(n) * 0.02 + n * 0.5
    return n - np.convolve(n, np.ones(400) / 400, mode="same")


def mixed_below(x, sound, db):
    """`x` with `sound` mixed in `db` below its level (RMS): noise, a room's hum, talkers behind the line."""
    return x + sound * np.sqrt((np.mean(x ** 2) + 1e-9) / (np.mean(sound ** 2) + 1e-9) / 10 ** (db / 10))


def noise(x, rng, snr_db=(8.0, 35.0)):
    n = rng.standard_normal(len(x)).astype(np.float32)
    if rng.random() < 0.5:
        n = pinkish(n)
    return mixed_below(x, n, rng.uniform(*snr_db))


def background_voices(x, others, rng, snr_db=(6.0, 25.0)):
    """Other talkers behind the line (a room, a crowd, a television), `snr_db` below it: the face must follow
    the voice in front. Three other held-out lines 15 dB down cut the default network's jaw r on 38 held-out
    clips from 0.82 to 0.58 (it mouthed the background's words); 2500 steps with these on a quarter of the crops
    brought it to 0.72, for 0.003 of jaw r on clean lines (python -m emoface.train --background-voices)."""
    behind = np.zeros(len(x))
    for other in others:
        start = int(rng.integers(0, max(1, len(other) - len(x))))
        behind += np.resize(other[start:start + len(x)], len(x)) if len(other) else 0.0
    return mixed_below(x, behind, rng.uniform(*snr_db)).astype(np.float32)


def music_bed(x, rng, snr_db=(0.0, 20.0)):
    """Instruments behind the line (a game's score, a stinger, a radio in the room, a headset hearing the game),
    `snr_db` below it. Alone in the line's pauses they are what the face must not talk along to: before, the
    default network opened the jaw to 0.40 (p95) on chords with no voice, as far as on speech."""
    return mixed_below(x, music(len(x), rng), rng.uniform(*snr_db)).astype(np.float32)


def music(n: int, rng) -> np.ndarray:
    """n samples of synthetic instrumental music: one to three parts, each notes of a harmonic timbre (its own
    brightness, attack and decay), a sustained chord, drums, or a gliding tone, in a random key and tempo."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        part = rng.choice(("notes", "chords", "drums", "glide"))
        out += _PARTS[part](n, rng) * 10 ** (rng.uniform(-12, 0) / 20)
    return out


def _tone(freq, t, rng, harmonics=None, decay=0.0):
    """A harmonic note at `freq` Hz over times t (s from its start): partials falling off at a random slope,
    higher ones dying faster when decay > 0 (a pluck)."""
    harmonics = harmonics or int(rng.integers(1, 12))
    slope = rng.uniform(0.5, 2.5)
    out = np.zeros(len(t))
    for h in range(1, harmonics + 1):
        if freq * h < SR / 2:
            out += np.sin(2 * np.pi * freq * h * t + rng.uniform(0, 2 * np.pi)) * h ** -slope * np.exp(-decay * h * t)
    return out


def _notes(n, rng, chord=False):
    out, at = np.zeros(n), 0
    root = rng.uniform(55, 440)
    length = rng.uniform(0.08, 0.8) if not chord else rng.uniform(0.8, 3.0)
    pluck = rng.random() < 0.4
    while at < n:
        m = min(n - at, int(length * SR * rng.choice((0.5, 1.0, 1.0, 2.0))))
        t = np.arange(m) / SR
        attack = rng.uniform(0.003, 0.05) if not chord else rng.uniform(0.1, 0.8)
        env = np.minimum(1.0, t / attack) * np.exp(-t * (rng.uniform(1, 8) if not chord else rng.uniform(0, 1)))
        steps = rng.choice((0, 4, 7)) if not chord else 0
        for step in ((0, 4, 7) if chord else (rng.integers(-12, 13) + steps,)):
            out[at:at + m] += _tone(root * 2 ** (step / 12), t, rng, decay=3.0 if pluck else 0.0) * env
        at += m
    return out


def _drums(n, rng):
    out, beat = np.zeros(n), rng.uniform(0.12, 0.6)
    for k in range(int(n / SR / beat) + 1):
        at = int(k * beat * SR)
        m = min(n - at, int(0.25 * SR))
        if m <= 0:
            break
        t = np.arange(m) / SR
        if rng.random() < 0.5:  # a kick: a sine falling from 150 to 50 Hz
            out[at:at + m] += np.sin(2 * np.pi * (50 * t + 100 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 18)
        else:  # a snare or a hat: bright noise
            hit = rng.standard_normal(m)
            out[at:at + m] += (np.diff(hit, prepend=0) if rng.random() < 0.5 else hit) * np.exp(-t * rng.uniform(20, 60))
    return out


def _glide(n, rng):
    t = np.arange(n) / SR
    low, high = sorted(rng.uniform(80, 2000, 2))
    rate = rng.uniform(0.1, 3.0)
    freq = low * (high / low) ** (0.5 + 0.5 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))
    return np.sin(2 * np.pi * np.cumsum(freq) / SR)


_PARTS = {"notes": _notes, "chords": lambda n, rng: _notes(n, rng, chord=True), "drums": _drums, "glide": _glide}


def keep_loudness(y, like):
    """`y` scaled to the loudness (RMS) of `like`: a filter or room changes the colour, not the level."""
    return y * np.sqrt((np.mean(like ** 2) + 1e-9) / (np.mean(y ** 2) + 1e-9))


def reverb(x, rng, rt60=(0.15, 0.8)):
    """Convolve with a synthetic room response: exponentially decaying noise after a direct path."""
    t60 = rng.uniform(*rt60)
    n = int(t60 * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / t60)
    ir[0] = 1.0 / max(rng.uniform(0.3, 1.0), 1e-3)
    ir /= np.sqrt(np.sum(ir ** 2))
    return keep_loudness(fftconvolve(x, ir)[: len(x)], x).astype(np.float32)


def coloured(x, gain_db):
    """`x` through a filter whose gain (dB) is `gain_db(octaves from 1 kHz)` per frequency, loudness (RMS) kept."""
    n = len(x)
    size = 1 << int(np.ceil(np.log2(n + 2048)))  # zero-padded: the filter's tail must not wrap around
    octaves = np.log2(np.maximum(np.fft.rfftfreq(size, 1.0 / SR), 50.0) / 1000.0)
    return keep_loudness(np.fft.irfft(np.fft.rfft(x, size) * 10 ** (gain_db(octaves) / 20), size)[:n], x) \
        .astype(np.float32)


def equalise(x, rng, tilt_db=(-6.0, 6.0), bumps=3, bump_db=8.0):
    """A random microphone and room colouring: a spectral tilt (dB per octave about 1 kHz), a few broad peaks
    and dips, and sometimes a band limit (a phone's 300-3400 Hz, a thin laptop microphone, a dull headset).
    A face must not depend on the channel a line was recorded through: without this, the network lost
    0.05-0.15 of jaw r on held-out GRID clips under a mild tilt or a phone band."""
    tilt = rng.uniform(*tilt_db)
    peaks = [(rng.uniform(-3.0, 2.8), rng.uniform(0.3, 1.5), rng.uniform(-bump_db, bump_db))  # 125 Hz .. 7 kHz
             for _ in range(rng.integers(0, bumps + 1))]
    high_pass = (rng.uniform(12.0, 24.0), np.log2(rng.uniform(60.0, 500.0) / 1000.0)) if rng.random() < 0.3 else None
    low_pass = (rng.choice([rng.uniform(12.0, 48.0), 400.0]),  # a filter's skirt, or a codec's brick wall
                np.log2(rng.uniform(3000.0, 7000.0) / 1000.0)) if rng.random() < 0.3 else None

    def gain_db(octaves):
        g = tilt * octaves
        for centre, width, db in peaks:
            g += db * np.exp(-0.5 * ((octaves - centre) / width) ** 2)
        if high_pass:  # 12-24 dB per octave below 60-500 Hz
            g += high_pass[0] * np.minimum(0.0, octaves - high_pass[1])
        if low_pass:
            g -= low_pass[0] * np.maximum(0.0, octaves - low_pass[1])
        return np.clip(g - np.median(g), -120.0, 20.0)  # a stop band is deep: a low mel floor sees it

    return coloured(x, gain_db)


def speed(x, factor):
    """Play `factor` times faster (pitch moves with it): fewer samples, labels must be resampled alike."""
    return soxr.resample(x, SR * factor, SR, quality="QQ").astype(np.float32)


def pitch(x, semitones):
    """Shift pitch keeping duration: resample, then stretch back in time by overlap-add (WSOLA-free OLA)."""
    factor = 2 ** (semitones / 12)
    shifted = speed(x, factor)  # higher and shorter
    win, hop_out = 640, 320
    hop_in = hop_out / factor
    w = np.hanning(win).astype(np.float32)
    n_out = len(x)
    out = np.zeros(n_out + win, np.float32)
    norm = np.zeros(n_out + win, np.float32)
    pos_out, pos_in = 0, 0.0
    while pos_out < n_out:
        i = int(pos_in)
        seg = shifted[i:i + win]
        if len(seg) < win:
            seg = np.pad(seg, (0, win - len(seg)))
        out[pos_out:pos_out + win] += seg * w
        norm[pos_out:pos_out + win] += w
        pos_out += hop_out
        pos_in += hop_in
    return (out[:n_out] / np.maximum(norm[:n_out], 1e-3)).astype(np.float32)


def stretch(x, n_out, win=512, hop=128, tolerance=128):
    """`x` played over `n_out` samples at its own pitch: waveform-similarity overlap-add (WSOLA), each segment
    taken within `tolerance` of where the clock puts it, where it best continues the last one, so voiced speech
    keeps its periods in phase (plain overlap-add, as `pitch` does, roughens them)."""
    x = np.asarray(x, np.float64)
    rate = len(x) / n_out
    padded = np.pad(x, (tolerance, win + 2 * tolerance + hop))
    w = np.hanning(win)
    out, norm = np.zeros(n_out + win), np.zeros(n_out + win)
    start = 0
    for pos in range(0, n_out, hop):
        if pos:
            follow = padded[tolerance + start + hop: tolerance + start + hop + win]  # the last segment, carried on
            nominal = min(int(pos * rate), len(x))
            region = padded[nominal: nominal + win + 2 * tolerance]
            start = nominal - tolerance + int(np.argmax(np.correlate(region, follow, "valid")))
            start = min(max(start, 0), len(x))
        out[pos: pos + win] += padded[tolerance + start: tolerance + start + win] * w
        norm[pos: pos + win] += w
    return out[:n_out] / np.maximum(norm[:n_out], 1e-3)


def with_top_band(moved, original, pitch_ratio, fade_bins=8):
    """A voice lowered by resampling has nothing above pitch_ratio x 8 kHz: the original's band there (breath,
    frication, bursts) is put back, faded in over `fade_bins`, so that a deeper voice does not also sound like a
    muffled microphone. Without it the captured speakers' lowered crops were band-limited (FACEGOOD's, at 223 Hz,
    mostly: nothing above 3 kHz at 85 Hz), and the network learnt band-limited speech as theirs: a phone line cost
    the held-out speakers' mouth curves r 0.61 -> 0.56."""
    bins = np.arange(moved.shape[1])
    w = np.clip((bins - (pitch_ratio * (len(bins) - 1) - fade_bins)) / fade_bins, 0.0, 1.0)
    return moved * (1.0 - w) + original * w


def spectrogram(x, n_fft=512, hop=128):
    """[frames, bins] complex short-time spectrum (Hann windows), which `resynthesise` inverts."""
    return stft(x, nperseg=n_fft, noverlap=n_fft - hop)[2].T


def resynthesise(spec, n, n_fft=512, hop=128):
    return istft(spec.T, nperseg=n_fft, noverlap=n_fft - hop)[1][:n]


def warp_frequency(rows, ratio):
    """Each row of a per-bin quantity (an envelope) moved up the frequency axis by `ratio` (f -> f x ratio)."""
    bins = np.arange(rows.shape[1])
    return np.stack([np.interp(bins / ratio, bins, row) for row in rows])


def envelope(spec, lifter=30):
    """Each frame's log-magnitude spectral envelope (the vocal tract's resonances without the voice's harmonics):
    the cepstrum's first `lifter` quefrencies (1.9 ms at 16 kHz, under the period of any voice's pitch)."""
    cep = np.fft.irfft(np.log(np.abs(spec) + 1e-7), axis=1)
    cep[:, lifter:cep.shape[1] - lifter + 1] = 0.0
    return np.fft.rfft(cep, axis=1).real


def world_voice(x, pitch=None, formant_ratio=1.0, spread=1.0, extra="train"):
    """`x` said in another voice by the WORLD vocoder (pyworld, in the `train` and `eval` extras): its pitch contour
    scaled to a median of `pitch` Hz (None: kept) with its swings about that median times `spread`, the spectral
    envelope and aperiodicity warped in frequency by `formant_ratio`, timing kept; breaths, bursts and the room stay
    the recording's. Unlike `voice`, a voice raised two to five times keeps its harmonics apart, as a shouted or
    screamed one's are (resampling and stretching back blurs them into a noisy band the network does not mistake
    for a closed mouth, and a real screamed line it did). `extra` names the pip extra an error asks for."""
    try:
        with warnings.catch_warnings():  # pyworld imports the deprecated pkg_resources (hence setuptools<81)
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            import pyworld
    except ImportError:
        raise RuntimeError(f'another voice by the WORLD vocoder needs pyworld: pip install -e ".[{extra}]"') from None
    x = np.asarray(x, np.float64)
    period_ms = 5.0  # WORLD's frames
    f0, times = pyworld.dio(x, SR, f0_floor=60.0, f0_ceil=500.0, frame_period=period_ms)
    f0 = pyworld.stonemask(x, f0, times, SR)
    if not (f0 > 0).any():  # nothing voiced: nothing to say in another voice
        return x.astype(np.float32)
    envelope_, aperiodicity = pyworld.cheaptrick(x, f0, times, SR), pyworld.d4c(x, f0, times, SR)
    if pitch or spread != 1.0:
        median = np.median(f0[f0 > 0])
        f0 = np.where(f0 > 0, (pitch or median) * (np.maximum(f0, 1e-3) / median) ** spread, 0.0)
    y = pyworld.synthesize(f0, warp_frequency(envelope_, formant_ratio), warp_frequency(aperiodicity, formant_ratio),
                           SR, period_ms)
    y = np.pad(y[:len(x)], (0, max(0, len(x) - len(y))))
    hop = int(SR * period_ms / 1000)
    voiced = np.convolve(np.repeat(f0 > 0, hop)[:len(x)].astype(np.float64), np.ones(2 * hop) / (2 * hop), "same")
    voiced = np.pad(voiced, (0, len(x) - len(voiced)))
    return np.clip(voiced * y + (1 - voiced) * x, -1.0, 1.0).astype(np.float32)


def voice(x, pitch_ratio, formant_ratio, n_fft=512, hop=128):
    """The same line as another talker's voice: pitch times `pitch_ratio` (a woman's is about 1.7 a man's, a
    child's 2.4), the vocal tract's resonances (formants) times `formant_ratio` (about 1.17 and 1.3), timing and
    loudness kept. Resampled (pitch and formants move together), stretched back (WSOLA), then each frame's
    spectral envelope replaced by the original's, warped in frequency. One speaker's captured mouth must teach
    every voice: the network's mouth curves on GRID's held-out clips fell from r 0.59 to 0.39 when the clips were
    said in a woman's voice (`emoface eval --voices`, whose vocoder is another method than this one)."""
    x = np.asarray(x, np.float64)
    shifted = stretch(soxr.resample(x, SR * pitch_ratio, SR, quality="HQ"), len(x))
    original, moved = spectrogram(x, n_fft, hop), spectrogram(shifted, n_fft, hop)
    if pitch_ratio < 1:
        moved = with_top_band(moved, original, pitch_ratio)
    wanted = warp_frequency(envelope(original), formant_ratio)
    gain = np.clip(wanted - envelope(moved), -6.0, 6.0)  # natural log: at most ~52 dB either way
    return keep_loudness(resynthesise(moved * np.exp(gain), len(x), n_fft, hop), x).astype(np.float32)
