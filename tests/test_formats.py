import csv

import numpy as np
import pytest

from emoface import formats
from emoface.animation import Animation
from emoface.errors import InputError
from emoface.formats import emoface_txt, livelink_csv
from emoface.rigs import load_rig, retarget
from tests.test_rigs import plausible_canonical


def sample(rig: str, n=90) -> Animation:
    anim = plausible_canonical(n, seed=3)
    anim.values[:, 52:55] = np.linspace(-0.05, 0.05, n)[:, None]  # head rotations survive formats too
    anim.metadata = {"source": "x.wav", "emotion": "happy:1.00", "seed": 7}
    return retarget(anim, rig)


@pytest.mark.parametrize("name, rig", [("emoface-txt", "metahuman"), ("livelink-csv", "livelink"),
                                       ("json", "arkit"), ("json", "metahuman-expressions"), ("npz", "livelink")])
def test_writer_and_reader_agree(tmp_path, name, rig):
    fmt = formats.get(name)
    anim = sample(rig)
    path = formats.write_atomic(fmt, anim, tmp_path / ("a" + fmt.SUFFIX))
    back = formats.read(path)
    assert back.rig == rig and back.names == anim.names and back.fps == anim.fps
    tol = 0 if name == "npz" else 5e-7
    np.testing.assert_allclose(back.values, anim.values, atol=tol)
    if name in ("json", "npz"):
        assert back.metadata == anim.metadata
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_emoface_txt_is_174_columns_six_decimals_no_header(tmp_path):
    path = formats.write_atomic(emoface_txt, sample("metahuman", 5), tmp_path / "a.txt")
    lines = path.read_text().splitlines()
    assert len(lines) == 5
    cells = lines[0].split(",")
    assert len(cells) == 174 and all(len(c.split(".")[1]) == 6 for c in cells)
    float(cells[0])  # no header


def test_livelink_csv_header_and_timecode(tmp_path):
    path = formats.write_atomic(livelink_csv, sample("livelink", 130), tmp_path / "a.csv")
    rows = list(csv.reader(open(path)))
    assert rows[0][:2] == ["Timecode", "BlendshapeCount"]
    names = list(load_rig("livelink").names)  # in the app's header order: right before left for jaw and mouth
    for left, right in (("JawLeft", "JawRight"), ("MouthLeft", "MouthRight")):
        i, j = names.index(left), names.index(right)
        names[i], names[j] = names[j], names[i]
    assert rows[0][2:] == names
    assert rows[1][:2] == ["00:00:00:00.000", "61"]
    assert rows[61][0] == "00:00:01:00.000" and rows[130][0] == "00:00:02:09.000"
    assert livelink_csv.parse_timecode(rows[130][0], 60) == pytest.approx(129 / 60)
    back = livelink_csv.read(path)
    np.testing.assert_allclose(back.values, np.round(sample("livelink", 130).values, 6), atol=1e-6)


def test_livelink_csv_timecodes_label_every_frame_and_stay_two_digit(tmp_path):
    """29.97 fps is non-drop-frame timecode (wall-clock labels skipped one every 1000 frames); past 99 fps the
    frame field would need three digits, so the rate is refused."""
    labels = [livelink_csv.timecode(k, 29.97) for k in range(2100)]
    assert len(set(labels)) == 2100 and labels[999] == "00:00:33:09.000" and labels[1000] == "00:00:33:10.000"
    with pytest.raises(InputError, match="at most 99 fps"):
        fast = sample("livelink", 10)
        fast.fps = 120.0
        formats.write_atomic(livelink_csv, fast, tmp_path / "b.csv")
    assert not (tmp_path / "b.csv").exists()


def test_livelink_csv_reader_maps_columns_by_name(tmp_path):
    """The Live Link Face app writes JawRight before JawLeft: read by name, never by position."""
    anim = sample("livelink", 4)
    names = list(anim.names)
    i, j = names.index("JawLeft"), names.index("JawRight")
    names[i], names[j] = names[j], names[i]
    path = tmp_path / "app.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Timecode", "BlendshapeCount", *names])
        for k in range(anim.n_frames):
            w.writerow([livelink_csv.timecode(k, 60), 61, *[f"{anim[n][k]:.6f}" for n in names]])
    back = livelink_csv.read(path, fps=60)
    np.testing.assert_allclose(back["JawLeft"], anim["JawLeft"], atol=1e-6)


def test_a_live_link_csv_without_a_curve_names_what_it_lacks(tmp_path):
    anim = sample("livelink", 4)
    names = [n for n in anim.names if n != "MouthDimpleRight"]
    path = tmp_path / "cut.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Timecode", "BlendshapeCount", *names])
        w.writerows([livelink_csv.timecode(k, 60), 60, *[f"{anim[n][k]:.6f}" for n in names]] for k in range(4))
    with pytest.raises(ValueError, match="lacks MouthDimpleRight"):
        livelink_csv.read(path)


def test_a_json_whose_frame_count_disagrees_with_its_frames_is_refused(tmp_path):
    """A file cut short, or rows edited without the count: read silently, it played as whichever one the
    reader trusted."""
    import json

    from emoface.errors import InputError

    path = formats.write_atomic(formats.get("json"), sample("arkit", 6), tmp_path / "a.json")
    doc = json.loads(path.read_text())
    doc["frame_count"] = 999
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="frame_count says 999 frames but it holds 6"):
        formats.read(path)


def test_format_refuses_the_wrong_rig(tmp_path):
    with pytest.raises(ValueError, match="metahuman rig only"):
        formats.write_atomic(emoface_txt, sample("arkit", 3), tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_file(tmp_path):
    anim = sample("livelink", 3)
    anim.metadata = {"not serialisable": object()}
    with pytest.raises(TypeError):
        formats.write_atomic(formats.get("json"), anim, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def _awkward_values() -> np.ndarray:
    """Values whose text is easy to get wrong: near the 7th-decimal halfway, under 1e-4 (Python writes 2e-05),
    negative zero, negatives that round to zero, whole numbers, degrees."""
    rng = np.random.default_rng(5)
    ties = (rng.integers(0, 10**7, 50000) / 1e7 + 5e-8).astype(np.float32)
    values = np.concatenate([rng.random(100000).astype(np.float32), ties, -ties,
                             (rng.random(20000) * 2e-4).astype(np.float32), (rng.standard_normal(20000) * 300).astype(np.float32),
                             np.array([0.0, -0.0, 1.0, 5e-7, 1.5e-6, 2.5e-6, -1e-8, 99.99999, 123456789.0], np.float32)])
    return values[: len(values) // 61 * 61].reshape(-1, 61)


def test_bulk_number_text_is_what_python_writes():
    """The writers format a block of frames at a time in numpy; the bytes must be Python's own (json.dumps of
    round(v, 6), f"{v:.6f}"), so files do not change with the path that wrote them, ties and 2e-05 included."""
    import json

    from emoface.formats import decimals

    values = _awkward_values()
    want_json = json.dumps([[round(float(v), 6) for v in row] for row in values], separators=(",", ":"))[1:-1]
    assert decimals.json_rows(values) == want_json
    # f"{v:.6f}", but a value that rounds to zero has no sign (EmoFace's tools and diffs read -0.000000 as negative)
    fixed = [[f"{v:.6f}".replace("-0.000000", "0.000000") for v in row] for row in values]
    assert decimals.fixed_rows(values) == "".join(",".join(row) + "\n" for row in fixed)
    assert "-0.000000" not in decimals.fixed_rows(values) and "-0.000000" in f"{np.float32(-1e-8):.6f}"
    assert decimals.fixed_rows(values[:2], sep=" ", row_end=";") == "".join(" ".join(row) + ";" for row in fixed[:2])
    assert decimals.json_rows(values[:0]) == "" and decimals.json_rows(values[:1, :1]) == f"[{round(float(values[0, 0]), 6)}]"
    bad = values[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="not JSON compliant"):  # strict JSON: no NaN a parser cannot read
        decimals.json_rows(bad)
