#!/usr/bin/env python3
"""Measure `emoface capture`; writes docs/CAPTURE.md.

    .venv/bin/python tools/evaluate_capture.py [--shared ../shared] [-o docs/CAPTURE.md]

1. Round trip: known curves rendered on a head to video (30 fps, 384 px), captured back, Pearson r per curve.
   Known curves: a range-of-motion take (each shape alone, then 20 s of random overlapping shapes, head and
   eyes moving: emoface.capture.roundtrip.exercise) and three spoken lines baked by the default network in
   three emotions (blinks, gaze and head on). Each take opens with a second of relaxed face, given to capture
   as --neutral (a constant emotion is otherwise the actor's own neutral). Heads: the built-in one and ICT
   FaceKit; bases: the shipped one (from ICT FaceKit) and the head's own.
2. GRID s1, held-out clips (emoface.train.data.VALID_GRID): captured, the transcript force-aligned to the
   audio; lips shut at each p/b/m (lip gap under 0.05 at a frame of the phone, or one frame either side: the
   aligner's boundaries are good to about a frame at 25 fps), open at each open vowel (gap over 0.1, the same two
   ways: a reduced vowel can be shorter than a frame), and lips
   shut on vowel frames away from any p/b/m (false closures); and each clip's deepest lid closure, with the
   lids refined onto the iris model's eye contour (as capture does) and with the mesh's own.
3. Cross-talk: a take where only the jaw moves (emoface.capture.roundtrip.jaw_alone), rendered and captured on
   each head: how much each other mouth curve moves and follows the captured jaw; beside it, the same per-clip
   coupling in GRID's captured speech and in FACEGOOD's own studio solve.
4. Where the crop falls: the first 30 held-out GRID clips captured twice, with every crop moved 3% of its side
   to the left and to the right; per curve, r between the two captures, from one crop per frame and from the
   default number of crops averaged (--passes). What two captures of one face disagree on is noise.
5. What the landmarker sees of each mouth shape: jaw, smile, funnel and pucker alone at five strengths on each
   head, landmarked; the share of the skin's own lip motion (the mesh under each landmark) it reports.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from emoface.capture.landmarks import PASSES  # noqa: E402
from emoface.capture.rounding import ROUNDED, SPREAD, phone_mask  # noqa: E402
from emoface.capture.roundtrip import CROSS_TALK, KEY_CURVES, NEUTRAL_AT_S, POSE_MOVES, compare_takes, cross_talk, \
    exercise, exercise_moving, gaze_swing, head_alone, jaw_alone, pose_talk, render_video, with_rest  # noqa: E402
from emoface.train.data import GRID_PASSES  # noqa: E402

LINES = (("The ship is due at noon, so we leave before the tide turns.", "happy"),
         ("Who opened the gate? Nobody was supposed to be here!", "surprise"),
         ("Put the map back where you found it, and go home.", "angry"))
OPEN_VOWELS = ("AA", "AE", "AO", "AW", "AY")
ROUNDING_SHOWN = 5  # the mouth curves that differ most between rounded and spread phones
OPEN_GAP = 0.1


def spoken_lines(tmp: Path):
    from emoface.animator import Animator
    from emoface.audio import load_audio
    from emoface.emotion.spec import EmotionTrack, parse_emotion

    animator = Animator(engine="neural", fps=30.0, seed=3)
    for k, (text, emotion) in enumerate(LINES):
        wav = tmp / f"line{k}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
        yield with_rest(animator.animate(load_audio(wav), EmotionTrack.constant(parse_emotion(emotion, 1.0))))


def round_trip(shared: Path, tmp: Path, only: str | None = None) -> dict:
    from emoface.capture.basis import load_basis
    from emoface.capture.take import capture
    from emoface.render.default_head import default_head
    from emoface.render.mesh import load_mesh

    ict_path = shared / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"
    heads = {"built-in head": (default_head(), "default")}
    if ict_path.is_file():
        heads["ICT FaceKit"] = (load_mesh(ict_path, paint=False), str(ict_path))  # bare, as the basis was
    if only:
        heads = {k: v for k, v in heads.items() if k == only}
    takes = {"range of motion": [exercise()], "range of motion, head moving": [exercise_moving()],
             "spoken lines": list(spoken_lines(tmp)), "jaw alone": [jaw_alone()], "head alone": [head_alone()]}
    shipped = load_basis()
    results, leaks, pose_leaks = {}, {}, {}
    for head_name, (mesh, own_spec) in heads.items():
        bases = {"shipped basis": shipped, "the head's own basis": load_basis(own_spec)}
        for take_name, anims in takes.items():
            videos = [render_video(a, mesh, tmp / f"{head_name}-{take_name}-{k}.mp4".replace(" ", "_"))
                      for k, a in enumerate(anims)]
            for basis_name, basis in bases.items():
                truth, got = [], []
                for anim, video in zip(anims, videos):
                    truth.append(anim)
                    got.append(capture(video, basis=basis, neutral_s=NEUTRAL_AT_S))
                results[(head_name, take_name, basis_name)] = compare_takes(truth, got)
                if take_name == "jaw alone":
                    leaks[(head_name, basis_name)] = cross_talk(got[0])
                if take_name == "head alone":
                    pose_leaks[(head_name, basis_name)] = pose_talk(got[0]), gaze_swing(got[0])
                print(head_name, take_name, basis_name, {k: round(v, 2) for k, v in
                                                          results[(head_name, take_name, basis_name)].items()
                                                          if k in KEY_CURVES}, flush=True)
    return results, leaks, pose_leaks


SHARE_SHAPES = ("JawOpen", "MouthSmileLeft", "MouthFunnel", "MouthPucker")
SHARE_STRENGTHS = (0.2, 0.4, 0.6, 0.8, 1.0)


def landmarker_share(shared: Path) -> dict:
    """Per head and mouth shape: at each strength alone, how much of the skin's own lip motion the landmarker
    reports (the projection of its lip points' motion onto the skin's under them; 1 = all of it), in the picture
    plane and in depth. What a basis built from a render's landmarks can and cannot teach the solve."""
    from emoface.capture.basis import _skin_ties, canonical_shapes
    from emoface.capture.landmarks import FaceLandmarker
    from emoface.capture.pose import RIGID, rigid_fit, to_face_axes
    from emoface.capture.solve import LIPS
    from emoface.render.default_head import default_head
    from emoface.render.mesh import load_mesh
    from emoface.render.renderer import FaceRenderer

    ict_path = shared / "assets" / "ict-facekit" / "ict_facekit_arkit.npz"
    heads = {"built-in head": default_head()} | ({"ICT FaceKit": load_mesh(ict_path, paint=False)}
                                                 if ict_path.is_file() else {})
    out = {}
    for head_name, mesh in heads.items():
        shapes = canonical_shapes(mesh.shape_names)
        landmarker = FaceLandmarker()
        with FaceRenderer(mesh, 512, frame="face") as renderer:
            def seen(weights):
                return to_face_axes(landmarker(renderer.render(weights)).points)

            rest_weights = np.zeros(len(mesh.shape_names), np.float32)
            rest = seen(rest_weights)
            skin = _skin_ties(mesh, renderer, rest)
            for shape in SHARE_SHAPES:
                unit = skin(shapes[shape])[LIPS]
                row = []
                for strength in SHARE_STRENGTHS:
                    weights = rest_weights.copy()
                    weights[shapes[shape]] = strength
                    got = seen(weights)
                    r, s, t = rigid_fit(rest[RIGID], got[RIGID])
                    moved, expected = (((got - t) @ r) / s - rest)[LIPS], strength * unit
                    row.append(tuple(float((moved[:, axes] * expected[:, axes]).sum() / (expected[:, axes] ** 2).sum())
                                     for axes in ([0, 1], [2])))
                out[(head_name, shape)] = row
    return out


def share_section(shares: dict) -> list[str]:
    lines = ["", "## What the landmarker sees of each mouth shape", "",
             "Each shape alone at five strengths on each head, landmarked: the share of the skin's own lip motion "
             "the landmarker reports, in the picture plane / in depth (1 / 1 would be the skin's motion; a "
             "negative depth puts the lips behind where the skin goes).", "",
             "| head | shape | " + " | ".join(f"{s:g}" for s in SHARE_STRENGTHS) + " |",
             "|---|---|" + "---|" * len(SHARE_STRENGTHS)]
    lines += [f"| {head} | {shape} | " + " | ".join(f"{xy:.2f} / {z:.2f}" for xy, z in row) + " |"
              for (head, shape), row in shares.items()]
    lines += ["", "A jaw and a smile are reported at most of their motion, at every strength; a funnel at half to all "
              "of it in the picture plane, its depth fading to backwards as it grows. A pucker is reported at "
              "a third to a half of its motion in the picture plane, and in depth a tenth to a fifth on the built-in "
              "head and backwards on ICT FaceKit, at any strength: what the landmarker knows of pushed lips it "
              "learnt from people, not from these renders. So the shipped basis's pucker is neither: it is learnt "
              "from a real speaker's rounded phones (emoface.capture.rounding)."]
    return lines


def coupling(anims) -> dict[str, float]:
    """Median over takes of each CROSS_TALK curve's r with JawOpen (takes where both move)."""
    out = {}
    for name in CROSS_TALK:
        rs = [np.corrcoef(a["JawOpen"], a[name])[0, 1] for a in anims
              if a["JawOpen"].std() > 1e-4 and a[name].std() > 1e-4]
        out[name] = float(np.median(rs)) if rs else float("nan")
    return out


def facegood_coupling(shared: Path) -> dict[str, float] | None:
    """The same in FACEGOOD's own solve (its actor's capture, not ours): how much a real mouth's other curves
    follow the jaw when the solve is the capture studio's."""
    from emoface.capture.imports import read_takes

    folder = shared / "data" / "facegood"
    if not folder.is_dir():
        return None
    return coupling([t.anim for t in read_takes(folder) if not isinstance(t, tuple)])


FOLLOWS = ("MouthPucker", "MouthFunnel", "MouthFrownLeft")


def grid(shared: Path) -> dict:
    from emoface.audio import load_track
    from emoface.filters1d import gaussian_filter1d
    from emoface.capture.take import capture
    from emoface.metrics import closed_elsewhere, lip_gap
    from emoface.phonetic.recognize import align
    from emoface.train.data import grid_items

    shut = opened = 0
    closures, vowels, false_frames, vowel_frames, clips = [], [], 0, 0, 0
    rounding = []  # per clip: each mouth curve's mean on the rounded phones, on the spread ones
    follows = []  # per clip: r of FOLLOWS with the rounded phones (1 on them, 0 elsewhere)
    anims = []
    deepest = {True: [], False: []}  # per clip, lids refined or not: the lids' nearest approach / their median
    for clip, video, text in grid_items(shared, held_out=True):
        for refined in deepest:
            deepest[refined].append(deepest_closure(video, refined))
        anim = capture(video)
        anims.append(anim)
        gap = lip_gap(anim)
        phones = [(p.name, p.start, p.end) for p in align(load_track(video).samples, text)]
        on = {ROUNDED: [], SPREAD: []}
        mouth = [c for c in anim.names if c.startswith(("Mouth", "Jaw", "Cheek"))]
        columns = [anim.names.index(c) for c in mouth]
        for name, start, end in phones:
            i0 = int(start * anim.fps)
            i1 = max(i0 + 1, int(np.ceil(end * anim.fps)))
            for group in on:
                if name in group:
                    on[group].append(anim.values[i0:i1, columns])
            if name in ("P", "B", "M"):
                strict = gap[i0:i1].min() < 0.05
                closures.append((strict, gap[max(i0 - 1, 0):i1 + 1].min() < 0.05))
            elif name in OPEN_VOWELS:
                vowels.append((gap[i0:i1].max() > OPEN_GAP, gap[max(i0 - 1, 0):i1 + 1].max() > OPEN_GAP))
        if on[ROUNDED] and on[SPREAD]:
            rounding.append({c: (r, s) for c, r, s in zip(mouth, *(np.concatenate(on[g]).mean(0) for g in on))})
            rounded = gaussian_filter1d(phone_mask(phones, anim.n_frames, anim.fps, ROUNDED).astype(float), 1.0)
            follows.append({c: float(np.corrcoef(rounded, anim[c])[0, 1]) if anim[c].std() > 1e-6 else 0.0
                            for c in FOLLOWS})
        f, n = closed_elsewhere(anim, phones)
        false_frames, vowel_frames, clips = false_frames + f, vowel_frames + n, clips + 1
    closures = np.array(closures)
    return {"clips": clips, "pbm": len(closures), "shut_strict": float(closures[:, 0].mean()),
            "shut": float(closures[:, 1].mean()), "open_vowels": len(vowels),
            "open": float(np.mean([v[0] for v in vowels])), "open_near": float(np.mean([v[1] for v in vowels])),
            "false": false_frames / max(vowel_frames, 1), "vowel_frames": vowel_frames,
            "pucker_clips": len(rounding), "rounding": {c: tuple(float(np.mean([r[c][k] for r in rounding]))
                                                            for k in (0, 1)) for c in rounding[0]},
            "rounded_more": float(np.mean([r["MouthPucker"][0] > r["MouthPucker"][1] for r in rounding])),
            "follows": {c: float(np.mean([f[c] for f in follows])) for c in FOLLOWS},
            "deepest": {k: np.array(v) for k, v in deepest.items()}, "coupling": coupling(anims)}


AGREEMENT = ("JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthSmileLeft", "MouthStretchLeft",
             "MouthLowerDownLeft", "MouthUpperUpLeft", "EyeBlinkLeft", "BrowInnerUp")
NUDGE = 0.03
AGREEMENT_CLIPS = 30


def crop_agreement(shared: Path, clips: int) -> dict:
    """{passes: {curve: mean r over clips}} between two captures of each clip whose crops lie 2 NUDGE apart."""
    from emoface.capture import roundtrip
    from emoface.train.data import grid_items

    videos = [video for _, video, _ in list(grid_items(shared, held_out=True))[:clips]]
    out = {}
    for passes in sorted({1, PASSES, GRID_PASSES}):
        rs = [roundtrip.crop_agreement(video, passes, AGREEMENT, NUDGE) for video in videos]
        out[passes] = {c: float(np.nanmean([r[c] for r in rs])) for c in AGREEMENT}
    return out


def deepest_closure(video: Path, refined: bool) -> float:
    """How close a clip's lids come (both eyes, the nearest frame) as a share of their median distance: a
    blink is a closed eye, so a landmarker that follows the lids reads it near 0."""
    from emoface.capture.landmarks import FaceLandmarker
    from emoface.capture.lids import lid_opening
    from emoface.capture.pose import to_face_axes
    from emoface.capture.take import track

    _, found = track(video, tracker=FaceLandmarker(refine_lids=refined))
    points = np.stack([to_face_axes(f.points) for f in found if f is not None])
    opening = sum(lid_opening(points, side) for side in ("Left", "Right")) / 2
    return float(opening.min() / np.median(opening))


def round_trip_rows(rt: dict) -> list[str]:
    """The round trip's table: a row per head, take and basis, r of each KEY_CURVES curve."""
    keys = list(KEY_CURVES)
    lines = ["| head | take | basis | " + " | ".join(keys) + " |", "|---|---|---|" + "---|" * len(keys)]
    for (head, take, basis), r in rt.items():
        if any(k in r for k in keys):  # (the head-alone take has its own section)
            lines.append(f"| {head} | {take} | {basis} | " + " | ".join(f"{r[k]:.2f}" if k in r else "-"
                                                                       for k in keys) + " |")
    return lines


def markdown(rt: dict, leaks: dict, pose_leaks: dict, g: dict | None, fg: dict | None, shares: dict, command: str,
             seconds: float) -> str:
    lines = ["# Capture: how well `emoface capture` measures a face", "",
             f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {seconds / 60:.0f} min on 2 CPU cores). "
             "Method: tools/evaluate_capture.py's docstring.", "",
             "## Round trip: known curves -> rendered video -> capture", "",
             "Pearson r between the curves rendered and the curves captured. LipOpening = JawOpen - MouthClose "
             "(what shows of the jaw through the lips). Curves that did not move in a take are left out (-).", ""]
    lines += round_trip_rows(rt)
    lines += ["", "Every curve that moved, shipped basis:", ""]
    for (head, take, basis), r in rt.items():
        if basis == "shipped basis" and take not in ("jaw alone", "head alone"):
            rest = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r.items()) if k not in KEY_CURVES)
            lines.append(f"- {head}, {take}: {rest}")
    lines += ["", "What limits these figures: the landmarker is trained on people, and a rendered head is not one. It "
              "never quite closes a rendered head's lids (capture scales a take's blinks to its deepest closure; "
              "the lids refined from the iris model's contour come much closer than the mesh's own, on GRID's "
              "real blinks below as on the renders), keeps the upper lid on the built-in head's iris when that "
              "eye widens (capture reads a wide eye from the lids' separation, which still grows), and reads ICT "
              "FaceKit's browless forehead weakly. The built-in head, since it has an adult's "
              "proportions, lips with a vermilion border and brows (issue 13), is tracked like a face: lip, lid "
              "and brow contours sit on its features, and its brows are measured at r 0.70-0.96 on spoken lines "
              "(0.34-0.69 on the earlier mannequin head), jaw at 0.98. A rendered pucker is what the landmarker reads "
              "worst (below, \"What the landmarker sees of each mouth shape\"), and a real speaker's rounded lips "
              "look like neither a render's answer nor a head's skin, so the shipped basis's pucker is learnt from "
              "GRID s1's training clips (emoface.capture.rounding, 2026-12-04): what a real speaker's rounded phones "
              "add to the face beyond the other shapes. Capture so measures a real speaker's rounding (GRID below) "
              "and reads a render's pucker as the part of it that looks like a person's: these rows' pucker is "
              "what is left of a rendered pucker seen so. Before, from the renders (the landmarker's answer to ICT "
              "FaceKit's pucker in the picture plane, the skin's depth), these rows read pucker at 0.13 / 0.54 "
              "(built-in head, range of motion / spoken lines) and -0.06 / 0.28 (ICT FaceKit), funnel at 0.38 / 0.64 "
              "and 0.66 / 0.73, and gave GRID's rounded vowels to the frown; with the skin's own pucker motion, "
              "pucker 0.43 / 0.64 and -0.05 / 0.47, the rounding still the frown's. Jaw, lip opening "
              "and smiles are measured well on both "
              "heads, including across heads (the shipped basis is ICT FaceKit's; the built-in head is captured "
              "with it); the real speaker below is what matters for training.", "",
              "The gaze is the iris centre against the eye corners once the head pose is out, so the iris needs "
              "the face's depth, and the iris model gives it its eye crop's (its centre lay from 0.11 eye widths "
              "behind the corners to 0.36 in front, from one GRID clip of the same speaker to the next): a wrong "
              "depth turns with the head and reads as gaze. Capture gives the iris its lids' mean depth, as "
              "MediaPipe's refinement does (what is left: the eyes' swing under the head's moves, below). Placing it "
              "further in front, as an eyeball would, was tried at 0.1 and 0.2 eye widths: ICT FaceKit's turn "
              "leaked less, the built-in head's more, and both heads' range-of-motion gaze read worse.", "",
              "An eye that looks down takes its upper lid with it, and the look shapes capture writes bring it "
              "down again on a rig (the shipped basis's EyeLookDown lowers the lid 0.7 of its opening), so the "
              "blink is the upper lid's fall less what the measured gaze does to it, as it is less what a smile "
              "does. That gaze is held across every frame whose lids are under 85% open: a lid part-way down "
              "pulls the iris model's centre down with it, and that look down would explain the blink away (held "
              "only under 60%, as for the gaze capture writes, ICT FaceKit's range-of-motion blinks fell to r "
              "0.66). Before these two, with the iris at its crop's depth and the whole fall read as a blink, "
              "the range-of-motion takes (whose eyes look up and down throughout) read their blinks at r "
              "0.73/0.78 (built-in head) and 0.77/0.76 (ICT FaceKit), their gaze at yaw r 0.93/0.89 and pitch "
              "0.72/0.63; the spoken lines' blinks at 0.90/0.94 and 0.97/0.84; a 20-degree head turn at 27 and "
              "28 degrees of eye yaw from side to side, a 12-degree nod at 17 and 23 of pitch and, on the "
              "built-in head, 0.55 of a blink. Where a blink and a wide eye overlap, both move the upper lid, the "
              "one down and the other up, and the lids alone cannot tell how much of each."]
    if g:
        lines += ["", "## GRID s1, held-out clips: lips against the aligned transcript", "",
                  "| clips | p/b/m | lips shut (+-1 frame) | lips shut (within the phone) | open vowels "
                  f"({'/'.join(OPEN_VOWELS)}) | open, gap > {OPEN_GAP} (+-1 frame) | open (within the phone) | "
                  "lips shut on vowels (false closures) |",
                  "|---|---|---|---|---|---|---|---|",
                  f"| {g['clips']} | {g['pbm']} | {100 * g['shut']:.1f}% | {100 * g['shut_strict']:.1f}% | "
                  f"{g['open_vowels']} | {100 * g['open_near']:.1f}% | {100 * g['open']:.1f}% | "
                  f"{100 * g['false']:.1f}% of {g['vowel_frames']} frames |",
                  "", f"Rounding: MouthPucker averaged over the rounded phones ({'/'.join(ROUNDED)}) and over the "
                  f"spread vowels ({'/'.join(SPREAD)}) of each clip that has both ({g['pucker_clips']} clips): "
                  "{:.3f} rounded, {:.3f} spread; ".format(*g["rounding"]["MouthPucker"]) +
                  f"higher on the rounded phones in {100 * g['rounded_more']:.0f}% of clips. The mouth curves that "
                  "differ most between the two (mean over clips, rounded / spread): " + ", ".join(
                      f"{c} {r:.3f} / {s_:.3f}" for c, (r, s_) in sorted(
                          g["rounding"].items(), key=lambda kv: -abs(kv[1][0] - kv[1][1]))[:ROUNDING_SHOWN]) +
                  ". Each curve's r with the rounded phones (1 on them, 0 elsewhere, smoothed by a frame), mean over "
                  "those clips: " + ", ".join(f"{c} {r:.2f}" for c, r in g["follows"].items()) +
                  ". The pucker is learnt from the training clips' rounding (emoface.capture.rounding: 122 clips, "
                  "none of these). With the pucker from ICT FaceKit's renders, the same 100 clips read 0.062 "
                  "rounded and 0.039 spread (higher on the rounded phones in 80% of clips) and gave the rounding to "
                  "the frown (MouthFrownRight 0.271 / 0.092, MouthFrownLeft 0.244 / 0.097); on the first 40 of them, "
                  "r with the rounded phones was MouthPucker 0.33 and MouthFrownLeft 0.50 (0.52 and 0.41 with the "
                  "learnt pucker, the same landmarks). Capture's training labels leave the frown out "
                  "(emoface.train.data CAPTURE_TRUSTED); an actor's captured take keeps it.", "",
                  "Blinks: each clip's deepest lid closure (the nearest the lids come, both eyes, as a share of "
                  "their median distance; GRID's speaker blinks in most clips, and a closed eye should read near "
                  "0). Capture moves the mesh's lid points onto the iris model's eye contour, as MediaPipe's "
                  "refine_landmarks does; the mesh's own lids are shown for comparison:", "",
                  "| lids | clips | median of the deepest closures | clips closing under 50% |", "|---|---|---|---|"]
        for refined, label in ((True, "refined (capture)"), (False, "the mesh's own")):
            d = g["deepest"][refined]
            lines.append(f"| {label} | {len(d)} | {np.median(d):.2f} | {100 * np.mean(d < 0.5):.0f}% |")
    lines += share_section(shares)
    lines += cross_talk_section(leaks, g, fg)
    lines += pose_talk_section(pose_leaks, rt)
    if g and "agreement" in g:
        lines += ["", "## Where the crop falls", "",
                  f"The first {AGREEMENT_CLIPS} held-out GRID clips captured twice, every crop moved {100 * NUDGE:.0f}% "
                  "of its side to the left, then to the right; r between the two captures per curve (1 would "
                  "be a measure of the face alone):", "",
                  "| crops per frame | " + " | ".join(AGREEMENT) + " |", "|---|" + "---|" * len(AGREEMENT)]
        for passes, rs in g["agreement"].items():
            label = {1: "1", PASSES: f"{PASSES} (default, averaged)",
                     GRID_PASSES: f"{GRID_PASSES} (the training captures)"}[passes]
            lines.append(f"| {label} | " + " | ".join(f"{rs[c]:.2f}" for c in AGREEMENT) + " |")
        lines += ["", "From one crop, the faint curves (MouthClose, smile, stretch, upper lip) are as much the crop's "
                  "as the face's: the mesh network's answer for a small motion shifts with where the face sits in "
                  "its picture. Averaged crops keep the face's part. Whatever two captures disagree on no network "
                  "can learn from audio, nor be scored on: the per-curve agreement bounds the r any system can "
                  "reach against these captures (about its square root)."]
    return "\n".join(lines) + "\n"


def cross_talk_section(leaks: dict, g: dict | None, fg: dict | None) -> list[str]:
    lines = ["", "## Cross-talk: what capture reads into the mouth when only the jaw moves", "",
             "A take where only JawOpen moves (0 to 0.6, eight times in 10 s) is rendered and captured; each mouth "
             "curve's r with the captured jaw, and its peak-to-peak (both would be 0 for a perfect solve). A "
             "face whose jaw opens differently from the basis head's is explained with other shapes:", "",
             "| head | basis | " + " | ".join(CROSS_TALK) + " |", "|---|---|" + "---|" * len(CROSS_TALK)]
    for (head, basis), leak in leaks.items():
        lines.append(f"| {head} | {basis} | " + " | ".join(f"{leak[n][0]:+.2f} ({leak[n][1]:.2f})"
                                                          for n in CROSS_TALK) + " |")
    rows = [("GRID s1 held-out clips, captured here", g["coupling"])] if g else []
    rows += [("FACEGOOD, the capture studio's own solve", fg)] if fg else []
    if rows:
        lines += ["", "The same coupling in real speech: median over clips of each curve's r with the jaw.", "",
                  "| speech | " + " | ".join(CROSS_TALK) + " |", "|---|" + "---|" * len(CROSS_TALK)]
        lines += [f"| {label} | " + " | ".join("-" if np.isnan(c[n]) else f"{c[n]:+.2f}" for n in CROSS_TALK)
                  + " |" for label, c in rows]
    lines += ["", "Where GRID's coupling has the signs the built-in head's jaw-alone take shows under the shipped "
              "basis (pucker and funnel up, smile down as the jaw opens) and FACEGOOD's studio solve does not, "
              "part of it is likely this cross-talk, and the network learns it as articulation. A head's own "
              "basis does not remove it: read through its own basis, the built-in head's jaw becomes smile and "
              "stretch, since the landmarker's answer to a jaw opening is not the weighted sum of its answers to "
              "each shape alone that a linear solve assumes. A per-take correction "
              "was tried (move the jaw shape by what opens with the jaw in a first solve, then solve again): on "
              "the built-in head's range-of-motion take pucker went 0.09 -> 0.13 and funnel stayed at 0.25, and on "
              "its spoken lines, whose jaw and funnel do move together, funnel and pucker fell 0.43/0.38 -> "
              "0.41/0.36: a take's own statistics cannot tell cross-talk from articulation."]
    return lines


def pose_talk_section(pose_leaks: dict, rt: dict) -> list[str]:
    lines = ["", "## Cross-talk: what capture reads into the face when only the head moves", "",
             "A relaxed, still face whose head turns (yaw +-20 degrees), then nods (pitch +-12), then tilts (roll "
             "+-12), 4 s each, rendered and captured: the expression curves that move most during each, as "
             "peak-to-peak (0 for a perfect capture; a blink is 1). The head's own angles, captured: "
             + "; ".join(f"{head} " + ", ".join(f"{c} r {r[c]:.2f}" for _, c, _ in POSE_MOVES if c in r)
                         for (head, take, basis), r in rt.items()
                         if take == "head alone" and basis == "shipped basis") + ".", "",
             "| head | basis | " + " | ".join(move for move, _, _ in POSE_MOVES) + " |",
             "|---|---|" + "---|" * len(POSE_MOVES)]
    for (head, basis), (moves, _) in pose_leaks.items():
        lines.append(f"| {head} | {basis} | " + " | ".join(
            ", ".join(f"{name} {span:.2f}" for name, span in list(spans.items())[:4]) for spans in moves.values())
            + " |")
    lines += ["", "The eyes stay put in the head, so whatever gaze capture reads during these moves is the pose's too: "
              "the captured eye yaw / pitch, peak-to-peak in degrees (with the iris at the iris model's own depth, "
              "a 20-degree turn read as 27 and 28 degrees of eye yaw, a 12-degree nod as 17 and 23 of pitch):", "",
              "| head | basis | " + " | ".join(move for move, _, _ in POSE_MOVES) + " |",
              "|---|---|" + "---|" * len(POSE_MOVES)]
    for (head, basis), (_, swings) in pose_leaks.items():
        lines.append(f"| {head} | {basis} | " + " | ".join(f"{yaw:.1f} / {pitch:.1f}" for yaw, pitch in swings.values())
                     + " |")
    lines += ["", "Capture takes the camera's perspective out before the head pose (emoface.capture.camera): the near "
              "side of a turned face is magnified, which a rigid pose cannot undo, and it read as a frown and "
              "lowered brows. The camera's distance comes from the take itself where the head turns or nods (the "
              "distance under which the forehead, nose bridge and eye corners stay most rigid; these renders' "
              "camera is about 3.7 head-heights away). Where the head's yaw and pitch span under 10 degrees (a "
              "talker's sway, as in the spoken lines) no camera is taken out: there it cost the faint lip shapes "
              "more than the sway leaked (the built-in head's spoken lines: MouthPressLeft r 0.53 -> 0.13, even at "
              "the renderer's own focal length). Before the perspective came out, a 20-degree turn read as 0.42 of "
              "a frown and 0.45 of brow down on the built-in head, 0.38 of a frown on ICT FaceKit. What is left is "
              "mostly in the lids: the landmarker's answer to an eye seen from the side or from above. Measuring "
              "the lids against the eye corners, fixing each point's depth at the neutral's, and a correction "
              "learnt from one head's turns (the landmarks' motion regressed on its angles) were tried: the first "
              "two moved the leak around, the last removed two thirds of that head's cross-talk and added to the "
              "other head's (it is the face's own). Reading the squint from the mesh's own lower lid instead of the"
              " iris model's contour cut the built-in head's squint under a turn 0.68 -> 0.25, but on ICT FaceKit "
              "it also cut the squint's own response by a third, so relative to it the turn leaked more. A per-take"
              " regression on the head's angles took the brows' leak out but also the range-of-motion take's real "
              "lip presses, whose timing crossed the head's by chance (MouthPressLeft r 0.49 -> -0.16 on ICT "
              "FaceKit).", "",
              "What the rows above measure is after each take's **pose floor** is taken out (emoface.capture."
              "pose_leak): within one take, the pose's leak shows as a floor under a curve that rises with the "
              "head's angles, whatever the face does, so each curve's 20th percentile is fitted on the angles "
              "(piecewise quadratic, beyond 6 degrees either side of the take's usual pose) and its rise "
              "subtracted. A low quantile rather than the mean regression above: expressions that come and go "
              "whatever the head does barely move it. Within 6 degrees nothing is fitted: a talker nods and sways "
              "with the speech's stresses, in time with the jaw and the brows, and a fit there (against the "
              "neutral's pose, where a speaker settles into another) took the spoken lines' speech out with it "
              "(the built-in head's smile r 0.97 -> 0.67). Nor is an angle the head holds out for under 1.5 s in "
              "all: a chin lifted on one emphatic phrase goes with an open mouth, and a quantile over so few "
              "syllables took the speech for the pose's (a surprised spoken line, 0.4 s at 7 degrees of pitch: the "
              "built-in head's jaw r 0.97 -> 0.78). What it costs: an expression held whenever the head is "
              "turned far one way is taken for the pose's, and the leak within those 6 degrees stays."]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "CAPTURE.md")
    ap.add_argument("--no-grid", action="store_true")
    ap.add_argument("--round-trip-only", metavar="HEAD", choices=["built-in head", "ICT FaceKit"],
                    help="print that head's round-trip rows and head-alone section, writing nothing (a head "
                         "or capture changed)")
    args = ap.parse_args()
    start = time.time()
    if args.round_trip_only:
        with tempfile.TemporaryDirectory() as tmp:
            rt, _, pose_leaks = round_trip(args.shared, Path(tmp), args.round_trip_only)
        print("\n".join(round_trip_rows(rt) + pose_talk_section(pose_leaks, rt)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rt, leaks, pose_leaks = round_trip(args.shared, Path(tmp))
    g = None if args.no_grid or not (args.shared / "data" / "grid-s1").is_dir() else grid(args.shared)
    if g:
        g["agreement"] = crop_agreement(args.shared, AGREEMENT_CLIPS)
        print(g)
    command = "python tools/evaluate_capture.py" + (" --no-grid" if args.no_grid else "")
    fg = None if args.no_grid else facegood_coupling(args.shared)
    shares = landmarker_share(args.shared)
    args.output.write_text(markdown(rt, leaks, pose_leaks, g, fg, shares, command, time.time() - start))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
