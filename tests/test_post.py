import numpy as np
import pytest

from emoface.animation import Animation
from emoface.animator import Animator
from emoface.audio import load_audio
from emoface.emotion.spec import EMOTIONS, EmotionTrack, parse_emotion
from emoface.post import accents, blinks, gaze, head
from emoface.prosody import analyse
from emoface.rigs import canonical_names

FPS = 60.0


def weights(n, emotion="neutral"):
    return np.repeat(parse_emotion(emotion)[None, :], n, axis=0)


def blink_events(curve, fps, threshold=0.5):
    """(start frame, duration s) of each closure found in an eyelid curve."""
    shut = curve > threshold
    edges = np.flatnonzero(np.diff(shut.astype(int)))
    starts, ends = edges[shut[edges + 1]] + 1, edges[~shut[edges + 1]] + 1
    return starts, (ends - starts[: len(ends)]) / fps


def test_blink_rate_and_duration_are_human_over_a_long_run():
    n = int(20 * 60 * FPS)  # twenty minutes
    rng = np.random.default_rng(1)
    plan = blinks.plan(n, FPS, weights(n), np.zeros(0), rng)
    rate = len(plan) / 20.0
    assert 12 <= rate <= 40, rate  # spontaneous blinking: roughly 15-30 per minute in conversation
    durations = np.array([d for _, d in plan])
    assert 0.15 <= durations.min() and durations.max() <= 0.35  # 100-400 ms
    gaps = np.diff([s for s, _ in plan])
    assert gaps.min() > 0.05 and np.median(gaps) > 1.0
    # visible on the lid curve: each blink closes the eye fully
    k = blinks.openness(plan, n, FPS)
    starts, closed_s = blink_events(1 - k, FPS)
    assert len(starts) == len(plan) and np.all(closed_s < 0.2)


def test_blink_rate_depends_on_emotion():
    n = int(20 * 60 * FPS)
    count = {e: len(blinks.plan(n, FPS, weights(n, e), np.zeros(0), np.random.default_rng(2)))
             for e in ("fear", "neutral", "surprise")}
    assert count["fear"] > count["neutral"] > count["surprise"]


def test_blinks_favour_pauses():
    n = int(10 * 60 * FPS)
    anchors = np.arange(2.0, n / FPS, 2.5)  # a pause every 2.5 s
    plan = blinks.plan(n, FPS, weights(n), anchors, np.random.default_rng(3))
    near = [np.min(np.abs(anchors - s)) < 0.02 for s, _ in plan]
    assert np.mean(near) > 0.25  # by chance alone under 2 in 100 would be


def test_blink_combines_with_the_lid_instead_of_overwriting():
    anim = Animation.zeros(canonical_names(), FPS, 60, "livelink")
    anim["EyeBlinkLeft"] = 0.4  # engine's squint-ish lid
    k = blinks.openness([(0.2, 0.22)], 60, FPS)
    out = blinks.write(anim, k)
    assert out["EyeBlinkLeft"][0] == pytest.approx(0.4) and out["EyeBlinkLeft"].max() == pytest.approx(1.0)
    assert np.all(out["EyeBlinkLeft"] >= 0.4 - 1e-6)


@pytest.mark.parametrize("blinking", [True, False])
def test_a_sad_face_has_heavy_lids_and_blinks_shut_from_them(speech_line, blinking):
    audio = load_audio(speech_line)
    animator = Animator(blinks=blinking, gaze=False, head=False, accents=False)
    lids = {e: animator.animate_canonical(audio, EmotionTrack.constant(parse_emotion(e)))["EyeBlinkLeft"]
            for e in ("neutral", "sad", "sad:0.5")}
    assert np.median(lids["neutral"]) < 0.05
    assert np.median(lids["sad"]) >= 0.25 and np.median(lids["sad:0.5"]) == pytest.approx(
        np.median(lids["sad"]) / 2, abs=0.03)
    assert lids["sad"].max() == pytest.approx(1.0) if blinking else lids["sad"].max() < 0.5


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
def test_blinks_close_the_eye_at_any_fps(fps):
    k = blinks.openness([(0.5, 0.2)], int(fps), fps)
    assert k.min() == 0.0


def test_saccades_hold_and_move_quickly():
    n = int(5 * 60 * FPS)
    yaw, pitch, shifts = gaze.plan(n, FPS, weights(n), np.random.default_rng(4))
    holds = np.diff(shifts) / FPS
    assert 0.25 <= np.median(holds) <= 2.0 and holds.min() >= 0.25
    speed = np.hypot(np.diff(yaw), np.diff(pitch)) * FPS
    moving = speed > 30  # deg/s: saccadic, not drift
    assert moving.mean() < 0.15  # mostly fixating
    assert np.abs(yaw).max() <= 12 and np.abs(pitch).max() <= 12


def test_gaze_adds_to_the_engine_eyes():
    anim = Animation.zeros(canonical_names(), FPS, 10, "livelink")
    anim["EyeLookOutLeft"] = 0.2
    out = gaze.write(anim, np.full(10, 7.0), np.full(10, -6.0))
    v = gaze.VERGENCE_DEG  # each eye a little toward the nose
    assert out["EyeLookOutLeft"][0] == pytest.approx(0.2 + (7 - v) / 35)
    assert out["EyeLookInRight"][0] == pytest.approx((7 + v) / 35)
    assert out["EyeBlinkLeft"][0] > 0  # the lid follows the eye down
    assert out["LeftEyeYaw"][0] == pytest.approx((7 - v) / 180)
    assert out["RightEyeYaw"][0] == pytest.approx((7 + v) / 180)


def test_eyes_converge_on_the_listener_when_looking_ahead():
    anim = gaze.write(Animation.zeros(canonical_names(), FPS, 4, "livelink"), np.zeros(4), np.zeros(4))
    assert anim["EyeLookInLeft"][0] > 0 and anim["EyeLookInRight"][0] > 0
    assert anim["EyeLookOutLeft"][0] == anim["EyeLookOutRight"][0] == 0
    assert anim["LeftEyeYaw"][0] < 0 < anim["RightEyeYaw"][0]  # yaw > 0 turns toward the character's left


def test_sad_looks_down_more():
    n = int(3 * 60 * FPS)
    _, p_sad, _ = gaze.plan(n, FPS, weights(n, "sad"), np.random.default_rng(5))
    _, p_neu, _ = gaze.plan(n, FPS, weights(n), np.random.default_rng(5))
    assert p_sad.mean() < p_neu.mean() - 1.0


def test_head_nods_on_stressed_syllables(speech_line):
    audio = load_audio(speech_line)
    n = int(np.ceil(audio.duration * FPS))
    pro = analyse(audio.samples, n, FPS)
    peaks, _ = head.stressed_syllables(pro, FPS)
    assert len(peaks) >= 3
    anim = head.apply(Animation.zeros(canonical_names(), FPS, n, "livelink"), pro, weights(n),
                      np.random.default_rng(0))
    pitch_deg = anim["HeadPitch"] * 180
    assert 0.5 < np.abs(pitch_deg).max() < 10  # slight
    after = [pitch_deg[min(p + int(0.1 * FPS), n - 1)] - pitch_deg[max(p - int(0.1 * FPS), 0)] for p in peaks]
    assert np.mean(after) < 0  # the head dips after a stressed syllable


def test_post_processors_can_be_switched_off(speech_line):
    audio = load_audio(speech_line)
    off = Animator(blinks=False, gaze=False, head=False).animate_canonical(audio)
    on = Animator().animate_canonical(audio)
    for name in ("HeadYaw", "HeadPitch", "LeftEyeYaw", "EyeLookUpLeft"):
        assert np.all(off[name] == 0) and np.any(on[name] != 0)
    assert off["EyeBlinkLeft"].max() < on["EyeBlinkLeft"].max()
    quiet = Animator(blinks=False, gaze=False, head=False, accents=False).animate_canonical(audio)
    assert np.ptp(quiet["BrowInnerUp"]) < 0.01 < np.ptp(off["BrowInnerUp"])


def test_silence_gets_a_calm_idle_face_not_a_frozen_one(silence, caplog):
    anim = Animator().animate_canonical(load_audio(silence))
    assert "silent" in caplog.text
    assert anim["JawOpen"].max() < 0.02
    assert anim["EyeBlinkLeft"].max() > 0.9  # it blinks
    assert np.ptp(anim["HeadYaw"]) > 0 and np.ptp(anim["LeftEyeYaw"]) > 0  # and looks around


def test_same_seed_same_curves_other_seed_other_blinks(speech_line):
    audio = load_audio(speech_line)
    a, b = (Animator(seed=5).animate_canonical(audio) for _ in range(2))
    np.testing.assert_array_equal(a.values, b.values)
    c = Animator(seed=6).animate_canonical(audio)
    assert not np.array_equal(a["EyeBlinkLeft"], c["EyeBlinkLeft"])
    np.testing.assert_array_equal(a["JawOpen"], c["JawOpen"])  # speech does not depend on the seed


def test_brows_rise_on_accents_more_in_surprise_less_in_sad_and_fall_in_anger(speech_line):
    """The face above the mouth speaks: brows and lids move on the accented syllables, by emotion."""
    audio = load_audio(speech_line)
    n = int(np.ceil(audio.duration * FPS))
    pro = analyse(audio.samples, n, FPS)
    peaks, _ = head.stressed_syllables(pro, FPS)
    rest = Animation.zeros(canonical_names(), FPS, n, "livelink")
    added = {e: accents.apply(rest, pro, weights(n, e)) for e in ("neutral", "surprise", "sad", "angry")}
    brow = {e: a["BrowInnerUp"] for e, a in added.items()}
    assert 0.1 < brow["neutral"].max() < 0.5
    assert brow["neutral"][peaks].mean() > 3 * np.median(brow["neutral"])  # on the accents, not a constant mask
    assert brow["surprise"].max() > 1.4 * brow["neutral"].max() > 3 * brow["sad"].max()
    assert added["angry"]["BrowDownLeft"].max() > 2 * brow["angry"].max()
    assert added["surprise"]["EyeWideLeft"].max() > added["sad"]["EyeWideLeft"].max()
    np.testing.assert_array_equal(added["neutral"]["BrowOuterUpLeft"], added["neutral"]["BrowOuterUpRight"])


def test_the_network_s_emotion_breathes_with_the_voice(speech_line):
    """Not a constant mask: a happy line smiles more on its loud stretches than its quiet ones. The accent
    layer's own part is measured (its gain over the network's smile), not the network's, which may vary too."""
    audio = load_audio(speech_line)
    track = EmotionTrack.constant(parse_emotion("happy"))
    still = Animator(fps=FPS, blinks=False, gaze=False, head=False, accents=False).animate_canonical(audio, track)
    moving = Animator(fps=FPS, blinks=False, gaze=False, head=False).animate_canonical(audio, track)
    pro = analyse(audio.samples, still.n_frames, FPS)
    talking = pro.speech
    loud = pro.loudness[talking]
    quiet_third, loud_third = loud <= np.quantile(loud, 1 / 3), loud >= np.quantile(loud, 2 / 3)
    for name in ("MouthSmileLeft", "CheekSquintLeft"):
        gain = (moving[name] / np.maximum(still[name], 1e-3))[talking]
        assert np.quantile(gain, 0.95) - np.quantile(gain, 0.05) > 0.15  # it swells and ebbs within the speech
        assert gain[loud_third].mean() > gain[quiet_third].mean() + 0.03
        assert np.corrcoef(moving[name], pro.loudness)[0, 1] > 0.5
    np.testing.assert_array_equal(moving["JawOpen"], still["JawOpen"])  # the speech itself is left alone


def test_the_tongue_shows_on_th_when_the_phones_are_known(tmp_path):
    from tests.conftest import speak

    text = "I think the three thin thieves threw those things there."
    audio = load_audio(speak(text, tmp_path / "th.wav"))
    anim = Animator(fps=100, blinks=False, gaze=False, head=False).animate_canonical(audio, text=text)
    ths = [(s, e) for name, s, e in anim.metadata["phonemes"] if name in accents.TONGUE_PHONES]
    assert len(ths) >= 6
    assert all(anim["TongueOut"][int(100 * s):int(100 * e) + 1].max() > 0.25 for s, e in ths)
    elsewhere = np.ones(anim.n_frames, bool)
    for s, e in ths:
        elsewhere[max(int(100 * s) - 3, 0):int(100 * e) + 4] = False
    assert np.quantile(anim["TongueOut"][elsewhere], 0.9) < 0.1


def test_metahuman_tongue_tip_rises_on_l_t_d_n_th(tmp_path):
    """The MetaHuman rigs have a tongue tip the canonical curves cannot drive: the timed phones do."""
    from tests.conftest import speak

    text = "Little Ted told Nan the tale."
    audio = load_audio(speak(text, tmp_path / "l.wav"))
    for rig, curve in (("metahuman-expressions", "CTRL_expressions_tongueTipUp"),
                       ("metahuman", "CTRL_C_tongue_tip-translateY")):
        anim = Animator(fps=100, rig=rig, blinks=False, gaze=False, head=False).animate(audio, text=text)
        tips = [(s, e) for n, s, e in anim.metadata["phonemes"] if n in accents.TIP_PHONES]
        assert len(tips) >= 6
        assert all(anim[curve][int(100 * s):int(100 * e) + 1].max() > 0.4 for s, e in tips)
        quiet = Animator(fps=100, rig=rig, blinks=False, gaze=False, head=False, accents=False).animate(audio,
                                                                                                   text=text)
        assert quiet[curve].max() < 0.4


def test_live_accent_brows_ease_up_once_the_syllable_is_heard():
    """Live, an accent is known only after its peak: the brows then rise without a jump."""
    t = np.arange(0, 1.0, 1 / FPS)
    pulse = np.array([accents.heard_pulse(x, 0.3, 0.8, 0.42) for x in t])
    assert pulse[t < 0.42].max() == 0 and 0.3 < pulse.max() <= 0.8
    assert np.abs(np.diff(pulse)).max() < 0.15


def test_emotions_are_all_known_to_every_post_table():
    assert set(accents.GAIN) == set(EMOTIONS)
    for table in (blinks.RATE_FACTOR, gaze.EMOTION_GAZE, head.POSE_DEG):
        assert set(table) <= set(EMOTIONS)


def test_emotion_track_is_followed_over_time(speech_line):
    audio = load_audio(speech_line)
    track = EmotionTrack(np.array([0.0, 1.5]), np.stack([parse_emotion("sad"), parse_emotion("happy")]))
    anim = Animator(engine="phonetic", blinks=False, gaze=False).animate_canonical(audio, track)
    n = anim.n_frames
    assert anim["MouthSmileLeft"][: n // 5].mean() < 0.1 < anim["MouthSmileLeft"][-n // 5:].mean()
    assert anim["MouthFrownLeft"][: n // 5].mean() > anim["MouthFrownLeft"][-n // 5:].mean()


def test_the_head_moves_less_in_sad_speech_and_more_in_angry_speech(speech_line):
    """An angry line's head had moved as much as a sad one's (only its pose differed), which read as robotic."""
    audio = load_audio(speech_line)
    n = int(np.ceil(audio.duration * FPS))
    pro = analyse(audio.samples, n, FPS)
    spread = {}
    for emotion in ("neutral", "sad", "angry"):
        w = np.repeat(parse_emotion(emotion)[None], n, axis=0)
        anim = head.apply(Animation.zeros(canonical_names(), FPS, n, "livelink"), pro, w, np.random.default_rng(0))
        spread[emotion] = np.ptp(anim["HeadPitch"] - np.median(anim["HeadPitch"]))
    assert spread["sad"] < 0.7 * spread["neutral"] and spread["angry"] > 1.3 * spread["neutral"]
