"""Production failures of batch bakes (the 2026-12 failure audit): an audio file rewritten while the bake runs,
a --ray bake stopped while Ray starts, temporary files of killed writers, an index that only grows, an output
disk that turns read-only, and a --ray bake of a missing file."""

import errno
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emoface import batch
from emoface.bake_index import INDEX_NAME, BakeIndex
from emoface.cli import main
from tests.conftest import folder_of, speak

ROOT = Path(__file__).resolve().parents[1]


def _streaming_half(whole: bytes) -> bytes:
    """The WAV mid-export: a streaming header (RIFF and data sizes 0xFFFFFFFF) and half its data."""
    at = whole.find(b"data")
    size = struct.unpack("<I", whole[at + 4:at + 8])[0]
    half = bytearray(whole[:at + 8 + size // 2])
    half[4:8] = half[at + 4:at + 8] = b"\xff" * 4
    return bytes(half)


@pytest.fixture
def lines(bob, tmp_path):
    folder = folder_of(bob, tmp_path / "lines", ("a_line", "b_line"))
    speak("We found the treasure before sunset, and nobody saw us leave.", folder / "zz_line.wav")
    return folder


def _bake(folder, out, *extra):
    return main(["bake", str(folder), "-o", str(out), "--format", "json", "--no-gaze", *extra])


# --- F1: the key recorded describes the audio that was baked ----------------------------------------------
def test_a_line_whose_audio_changes_during_the_bake_is_baked_again_next_time(lines, tmp_path, capsys,
                                                                              monkeypatch):
    take = lines / "zz_line.wav"
    whole = take.read_bytes()
    real = batch.load_audio

    def exporting(path, *args, **kwargs):  # a VO tool re-exports the take just as the bake reaches it
        if Path(path).name == take.name:
            take.write_bytes(_streaming_half(whole))
        return real(path, *args, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(batch, "load_audio", exporting)
    assert _bake(lines, out) == 0
    err = capsys.readouterr().err
    half = json.loads((out / "zz_line.json").read_text())["frame_count"]
    monkeypatch.setattr(batch, "load_audio", real)
    take.write_bytes(whole)  # the export finished: the same bytes as when the bake started

    assert _bake(lines, out) == 0
    assert "baked 1 of 3" in capsys.readouterr().err  # was: baked 0 of 3, 3 already up to date
    assert json.loads((out / "zz_line.json").read_text())["frame_count"] > 1.8 * half
    assert _bake(lines, out) == 0
    assert "baked 0 of 3" in capsys.readouterr().err  # and now it is recorded
    assert "zz_line.wav: the WAV header gives no length" in err  # the first bake said what it read
    assert "zz_line.wav: the audio file changed while the line was baked" in err


def test_a_wav_with_a_streaming_header_bakes_with_a_warning(bob, tmp_path, capsys):
    half = tmp_path / "half.wav"
    half.write_bytes(_streaming_half(bob.read_bytes()))
    assert main(["bake", str(half), "-o", str(tmp_path / "half.json"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "half.wav: the WAV header gives no length" in err


# --- F3: a --ray bake stopped while Ray starts ------------------------------------------------------------
def _ray_processes(root: str) -> list:
    psutil = pytest.importorskip("psutil")
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(root in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.Error, TypeError):
            continue
    return found


SCRIPT = ["-c", "import sys\nfrom emoface.cli import main\nsys.exit(main())"]  # as the `emoface` script runs


@pytest.mark.slow  # starts Ray
@pytest.mark.parametrize("signum, code, launch", [(15, 143, SCRIPT), (2, 130, SCRIPT),
                                                  (15, 143, ["-m", "emoface.cli"])])  # had ended in a traceback
def test_a_ray_bake_stopped_while_ray_starts_exits_cleanly_and_leaves_no_ray(lines, tmp_path, signum, code, launch):
    pytest.importorskip("ray")
    import tempfile

    root = tempfile.mkdtemp(prefix="eft", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    env = dict(os.environ, RAY_TMPDIR=root)
    try:
        command = [sys.executable, *launch, "bake", str(lines), "-o", str(tmp_path / "out"), "--ray", "--ray-workers", "1", "-q"]
        proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.time() + 60
        while not list(Path(root).glob("ray/session_*")) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)  # ray.init has begun: it makes its session folder first
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.5)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == code, err  # was 15 with nothing said (SIGTERM)
        assert "interrupted: the lines baked so far are kept whole" in err
        assert "Traceback" not in err
        deadline = time.time() + 30
        while _ray_processes(root) and time.time() < deadline:
            time.sleep(0.5)
        assert not _ray_processes(root)
    finally:
        for leftover in _ray_processes(root):
            leftover.kill()
        shutil.rmtree(root, ignore_errors=True)


# --- F4: temporary files of killed writers are removed by the next bake -----------------------------------
def test_a_bake_removes_the_temporary_files_of_killed_writers_only(lines, tmp_path, capsys):
    from emoface.formats import STALE_AFTER_S

    out = tmp_path / "out"
    assert _bake(lines, out, "-q") == 0
    writer = subprocess.Popen(  # a writer that is alive: another bake writing a_line.json
        [sys.executable, "-c", "import sys, time\nfrom emoface.formats import atomic_output\n"
         "with atomic_output(sys.argv[1]) as tmp:\n    open(tmp, 'w').write('half')\n    print(tmp, flush=True)\n"
         "    time.sleep(120)\n", str(out / "a_line.json")], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    killed = subprocess.Popen(  # and one killed mid-write (kill -9)
        [sys.executable, "-c", "import sys, time\nfrom emoface.formats import atomic_output\n"
         "with atomic_output(sys.argv[1]) as tmp:\n    open(tmp, 'w').write('half')\n    print(tmp, flush=True)\n"
         "    time.sleep(120)\n", str(out / "b_line.json")], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        live, dead = Path(writer.stdout.readline().strip()), Path(killed.stdout.readline().strip())
        killed.kill()
        killed.wait()
        fresh = out / ".zz_line.json.abcd1234.part"  # unlocked but just written: on storage without locks
        fresh.write_text("half")
        foreign = out / ".notes.txt.abcd1234.part"  # not a temporary name of this bake's outputs
        foreign.write_text("x")
        old = time.time() - STALE_AFTER_S - 10
        for path in (live, dead, foreign):
            os.utime(path, (old, old))
        assert _bake(lines, out, "-q") == 0
        assert live.exists() and fresh.exists() and foreign.exists()
        assert not dead.exists()  # was: left for ever
    finally:
        writer.kill()
        writer.wait()


# --- F5: the index is compacted when it holds many more lines than outputs --------------------------------
def test_the_index_is_compacted_unless_another_bake_holds_it(lines, tmp_path, capsys, monkeypatch):
    import emoface.bake_index as bake_index

    out = tmp_path / "out"
    for _ in range(3):
        assert _bake(lines, out, "-q", "--force") == 0
    index = out / INDEX_NAME
    assert len(index.read_text().splitlines()) == 9
    running = BakeIndex(out)  # another bake into the folder, still running: nothing is compacted under it
    monkeypatch.setattr(bake_index, "COMPACT_ABOVE", 0)
    assert _bake(lines, out, "-q") == 0
    assert len(index.read_text().splitlines()) == 9
    del running
    capsys.readouterr()
    assert _bake(lines, out) == 0
    assert "baked 0 of 3" in capsys.readouterr().err  # every line still known up to date
    entries = [json.loads(line) for line in index.read_text().splitlines()]
    assert sorted(e["out"] for e in entries) == ["a_line.json", "b_line.json", "zz_line.json"]  # was: 9 lines
    assert all({"key", "size", "mtime_ns", "sha256"} <= set(e) for e in entries)
    (out / "b_line.json").unlink()
    assert _bake(lines, out) == 0
    assert "baked 1 of 3" in capsys.readouterr().err


# --- F6: an output disk that turns read-only --------------------------------------------------------------
@pytest.fixture
def many_lines(bob, tmp_path):
    return folder_of(bob, tmp_path / "many", (f"line{k}" for k in range(9)))


def test_a_read_only_output_disk_says_so_and_stops_the_batch(many_lines, tmp_path, capsys, monkeypatch):
    import tempfile

    import emoface.formats as formats

    out = tmp_path / "out"
    baked = []
    real_bake, real_mkstemp = batch.bake_line, tempfile.mkstemp
    monkeypatch.setattr(batch, "bake_line", lambda job, *a: baked.append(job) or real_bake(job, *a))

    def read_only(*args, **kwargs):  # the disk was remounted read-only after the first line
        if len(baked) > 1:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(formats.tempfile, "mkstemp", read_only)
    monkeypatch.setattr(formats.os, "access", lambda *a, **k: False)  # what os.access says on a read-only disk
    assert _bake(many_lines, out, "-q") == 1
    err = capsys.readouterr().err
    assert "line1.json: cannot write the output (Read-only file system)" in err
    assert "permission denied" not in err  # was the reason given
    assert len(baked) == 1 + batch.STOP_AFTER  # was: all 9 computed
    assert err.strip().splitlines()[-1] == (
        f"emoface: error: {out}: stopped: {batch.STOP_AFTER} lines in a row could not be written (Read-only file "
        f"system); {9 - 1 - batch.STOP_AFTER} line(s) not tried: the same command again bakes them once the output "
        "folder can be written")
    monkeypatch.undo()
    capsys.readouterr()
    assert _bake(many_lines, out, "-q") == 0
    assert sorted(p.name for p in out.glob("*.json")) == [f"line{k}.json" for k in range(9)]


def test_bad_input_lines_do_not_stop_the_batch(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    for k in range(batch.STOP_AFTER + 3):
        (folder / f"line{k}.wav").write_text("not audio at all, but notes")
    assert _bake(folder, tmp_path / "out", "-q") == 1
    err = capsys.readouterr().err
    assert f"{batch.STOP_AFTER + 3} failed:" in err and "stopped" not in err


def test_a_read_only_folder_is_named_as_such_before_the_work(tmp_path, monkeypatch):
    import emoface.formats as formats

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(formats.os, "access", lambda *a, **k: False)
    monkeypatch.setattr(formats.os, "statvfs", lambda *a: ReadOnly())
    with pytest.raises(formats.InputError, match="is on a read-only file system"):
        formats.check_writable(tmp_path / "plot.png", "the plot")


# --- F7: a --ray bake checks its inputs before Ray starts -------------------------------------------------
def test_a_ray_bake_of_a_missing_file_says_so_without_starting_ray(tmp_path, capsys, monkeypatch):
    from emoface import batch_ray

    def no_ray(*args):
        raise AssertionError("Ray was started for a missing file")

    monkeypatch.setattr(batch_ray, "connect", no_ray)
    missing = tmp_path / "gone.wav"
    assert main(["bake", str(missing), "-o", str(tmp_path / "out/"), "--ray"]) == 1
    assert f"{missing}: file not found" in capsys.readouterr().err


# --- paths the OS refuses outright (2026-12-06 audit) ------------------------------------------------------
def test_a_name_too_long_for_the_file_system_fails_as_its_own_line(lines, tmp_path, capsys):
    """pathlib's exists() and is_dir() raise for a name over 255 bytes (not 'not found'): that line gets one error
    line naming it and the batch bakes the rest, from the command line and from a sheet alike."""
    long = tmp_path / ("a" * 300 + ".wav")
    out = tmp_path / "out"
    assert main(["bake", str(lines / "a_line.wav"), str(long), str(lines / "b_line.wav"), "-o", str(out),
                 "--format", "json", "--no-gaze", "-q"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"emoface: error: {long}: File name too long" in err.splitlines()
    assert sorted(p.name for p in out.glob("*.json")) == ["a_line.json", "b_line.json"]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"audio\n{lines / 'a_line.wav'}\n{long}\n.\n{lines / 'b_line.wav'}\n")
    assert main(["bake", "--manifest", str(sheet), "-o", str(tmp_path / "out2"), "--format", "json", "--no-gaze",
                 "-q"]) == 1
    err = capsys.readouterr().err
    assert f"emoface: error: {sheet}:3: {long}: File name too long" in err.splitlines()
    assert f"emoface: error: {sheet}:4: audio '.' names a folder, not an audio file" in err.splitlines()
    assert sorted(p.name for p in (tmp_path / "out2").glob("*.json")) == ["a_line.json", "b_line.json"]
    # one line, named, as the only output too
    assert main(["bake", str(lines / "a_line.wav"), "-o", str(tmp_path / ("b" * 300 + ".json"))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("File name too long")


def test_a_broken_link_in_a_folder_is_a_failed_line_not_left_uncounted(lines, tmp_path, capsys):
    """A voice-over folder's .wav link to a file since moved had been passed by without a word ("baked 3 of 3" of
    four lines): it is a line of the folder that did not bake."""
    (lines / "moved.wav").symlink_to(tmp_path / "gone.wav")
    assert _bake(lines, tmp_path / "out", "-q") == 1
    err = capsys.readouterr().err
    assert f"emoface: error: {lines / 'moved.wav'}: file not found" in err.splitlines()
    assert "baked 3 of 4 line(s)" in err
