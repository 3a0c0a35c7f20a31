"""`emoface bake --ray`: lines baked on a local Ray cluster of two workers are the files a local bake writes,
byte for byte; a re-run skips what is done; a bad line is reported and the others are baked."""

import shutil

import pytest

from emoface.bake_index import INDEX_NAME
from emoface.cli import main

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray instance takes a few seconds to start


@pytest.fixture(scope="module")
def lines(tmp_path_factory, bob, speech_line):
    folder = tmp_path_factory.mktemp("lines")
    for k, source in enumerate((bob, speech_line, bob, speech_line)):
        shutil.copy(source, folder / f"line{k}.wav")
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    return folder


def files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != INDEX_NAME}


def test_a_ray_bake_is_the_local_bake_byte_for_byte(lines, tmp_path, capsys):
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    args = ["--emotion", "happy:0.6+surprise:0.4", "--format", "json", "-q"]
    assert main(["bake", str(lines), "-o", str(local), *args]) == 1  # the broken line fails, the rest bake
    capsys.readouterr()
    assert main(["bake", str(lines), "-o", str(on_ray), "--ray", "--ray-workers", "2", *args]) == 1
    err = capsys.readouterr().err
    assert "broken.wav" in err and "4 of 5 line(s)" in err and "1 failed" in err
    assert len(files(local)) == 4 and files(on_ray) == files(local)
    assert not list(on_ray.glob(".*.part"))

    capsys.readouterr()
    assert main(["bake", str(lines), "-o", str(on_ray), "--ray", "--ray-workers", "2", *args[:-1]]) == 1
    assert "0 of 5 line(s)" in capsys.readouterr().err  # the four are up to date; only the broken one is tried


def test_lines_handed_to_a_worker_several_at_a_time_each_get_their_own_result(bob, tmp_path, capsys):
    """Nine lines on one worker go two to a call (a Ray call costs milliseconds): a broken line among them fails
    alone, and the files are still the local bake's."""
    folder = tmp_path / "lines"
    folder.mkdir()
    for k in range(8):
        shutil.copy(bob, folder / f"line{k}.wav")
    (folder / "line3b.wav").write_bytes(b"RIFF....WAVEfmt nonsense")  # between good lines, in the same call
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert main(["bake", str(folder), "-o", str(local), "--format", "json", "-q"]) == 1
    capsys.readouterr()
    assert main(["bake", str(folder), "-o", str(on_ray), "--ray", "--ray-workers", "1", "--format", "json"]) == 1
    err = capsys.readouterr().err
    assert "line3b.wav" in err and "8 of 9 line(s)" in err and "1 failed" in err
    assert len(files(local)) == 8 and files(on_ray) == files(local)


def test_ray_options_are_checked(lines, tmp_path, capsys):
    assert main(["bake", str(lines), "-o", str(tmp_path / "o"), "--ray", "--ray-workers", "0"]) == 2
    assert "--ray-workers" in capsys.readouterr().err


def test_a_ray_bake_says_the_warnings_a_local_one_does(tmp_path, capsys):
    """A worker's log went nowhere: a silent line, a refused transcript were said only by a local bake."""
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    assert main(["bake", str(tmp_path / "silent.wav"), "-o", str(tmp_path / "out"), "--ray", "--ray-workers", "1",
                 "-q"]) == 0
    assert "silent.wav: audio is silent" in capsys.readouterr().err
