import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared():
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED


def speak(text: str, path: Path, voice: str = "en-us", rate: int = 150) -> Path:
    """Real speech from espeak-ng (installed by `make`)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True)
    return path


def folder_of(line: Path, folder: Path, names) -> Path:
    """A folder of dialogue lines: `line` copied as NAME.wav for each name (a batch's input)."""
    folder.mkdir()
    for name in names:
        shutil.copy(line, folder / f"{name}.wav")
    return folder


@pytest.fixture(scope="session")
def bob(tmp_path_factory):
    """The bilabial sentence from the issue, spoken."""
    return speak("Bob popped the big map", tmp_path_factory.mktemp("speech") / "bob.wav")


@pytest.fixture(scope="session")
def speech_line(tmp_path_factory):
    return speak("We found the treasure before sunset, and nobody saw us leave.",
                 tmp_path_factory.mktemp("speech") / "line.wav")


@pytest.fixture
def silence(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000 * 3, np.float32), 16000)
    return path


LIVE_MODULES = ("live", "serve", "characters")  # test modules of the live commands


@pytest.fixture(autouse=True)
def one_blas_thread_when_live(request):
    """Live tests run as `emoface stream`/`serve` do (emoface.live.commands): a step's few rows on one BLAS thread.
    With two, on a busy machine a product waits for a second core (0.9 s for 84 rows), and the test measures that
    instead of the clock."""
    if not any(word in request.module.__name__ for word in LIVE_MODULES):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
