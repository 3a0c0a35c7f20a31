"""The default microphone as a live source (sounddevice / PortAudio), when the machine has one."""

from __future__ import annotations

import queue
import time

import numpy as np

from emoface.audio import SAMPLE_RATE
from emoface.errors import InputError

BLOCK = 160  # 10 ms at 16 kHz


class MicSource:
    live = True
    done = False

    def __init__(self, device=None):
        try:
            import sounddevice
        except OSError as exc:  # the wheel needs the PortAudio library (apt libportaudio2)
            raise InputError("--mic", f"no audio input: {exc} (install it: apt install libportaudio2, brew install "
                                      "portaudio)") from None
        self.queue: queue.Queue = queue.Queue()
        try:
            self.stream = sounddevice.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                                                  blocksize=BLOCK, device=device, callback=self._callback)
            self.stream.start()
        except Exception as exc:  # PortAudioError: no device, busy, unsupported rate
            raise InputError("--mic", f"cannot open the microphone: {exc}") from None

    def _callback(self, indata, frames, time_info, status) -> None:
        self.queue.put((indata[:, 0].copy(), time.monotonic()))

    def poll(self, buffer, t0, now) -> None:
        while True:
            try:
                samples, arrival = self.queue.get_nowait()
            except queue.Empty:
                return
            buffer.append(np.asarray(samples, np.float32), arrival)

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()
