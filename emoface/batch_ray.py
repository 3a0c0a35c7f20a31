"""Batch baking on a Ray cluster (`emoface bake ... --ray [ADDRESS]`, the optional `ray` extra).

Each worker is a Ray actor that loads the model once and bakes lines with the same code as a local bake
(emoface.batch.bake_line), so its files are byte for byte what a local bake writes. The driver plans the batch
(skipping lines already up to date, emoface.bake_index), hands lines to the actors a few a call, a call ahead, shows
progress, records each finished output in the index and lists the failures at the end. Workers read the
audio and write the outputs at the paths the driver gives them: on a cluster of several machines those
paths must be on storage every machine sees (a shared or network folder). Ctrl-C stops the workers and
leaves only whole files.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
from pathlib import Path

from emoface.errors import InputError

LOCAL = "local"  # --ray with no address: start a Ray instance on this machine
IN_FLIGHT = 2  # calls handed to each worker ahead: it bakes one while the driver settles the last
LINES_PER_CALL = 8  # at most: a Ray call costs milliseconds of the driver's and the worker's time


def connect(address: str, workers: int | None):
    """ray.init for `address` (LOCAL, 'auto' or 'ray://host:port'); one clear error when Ray is missing or
    the cluster cannot be reached.

    Ctrl-C or SIGTERM while Ray starts is held until ray.init returns, then Ray is shut down and the signal acts
    as it does during a bake (exit 130 / 143, the "interrupted" line): raised inside ray.init, it left Ray's
    processes running (and Ray's own SIGTERM handler, put in place by ray.init, exited 15 without a word). A
    second signal while Ray still starts is not held."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray", "Ray is not installed (pip install -e \".[ray]\")") from None
    options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    held: list[int] = []

    def hold(signum, frame):
        if held:  # asked twice: leave now
            raise KeyboardInterrupt if signum == signal.SIGINT else _terminated()
        held.append(signum)
        print("emoface: stopping once Ray has started, to shut it down (again to leave at once)", file=sys.stderr)

    ours = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig in ours:
            signal.signal(sig, hold)
    except ValueError:  # not the main thread: signals are not ours to hold
        ours = {}
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    ray_handler = getattr(utils, "set_sigterm_handler", None)
    if ray_handler is not None:  # ray.init puts in its own SIGTERM handlers (exit 15): emoface's hold instead
        utils.set_sigterm_handler = lambda handler: None
    try:
        if address == LOCAL:
            ray.init(num_cpus=workers or os.cpu_count() or 1, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if not held:
            raise InputError("--ray", f"cannot reach the Ray cluster at {address} "
                                      f"({str(exc).splitlines()[0]})") from None
    finally:
        if ray_handler is not None:
            utils.set_sigterm_handler = ray_handler
        for sig, handler in ours.items():
            signal.signal(sig, handler)
    if held:
        ray.shutdown()
        raise KeyboardInterrupt if held[0] == signal.SIGINT else _terminated()
    return ray


def _terminated():
    from emoface.cli import Terminated

    return Terminated()


def run(jobs, animator_options: dict, fmt, max_duration_s: float, address: str = LOCAL,
        workers: int | None = None, progress: bool = True, index_folder: Path | None = None, force: bool = False):
    """Bake the jobs on Ray actors; returns the same Report as a local bake."""
    from types import SimpleNamespace

    from tqdm import tqdm

    from emoface import batch
    from emoface.progress import show_progress

    report, todo, index = batch.plan(jobs, SimpleNamespace(**animator_options), fmt, index_folder, force)
    kept = []
    for line in todo:  # a missing audio file is said now, not after Ray has taken seconds to start
        failure = batch.missing(line[0])
        if failure is None:
            kept.append(line)
        else:
            batch.settle(report, index, *line, failure)
    todo = kept
    if not todo:
        return report
    actors, pending = [], {}
    ray = connect(address, workers)
    try:
        count = min(len(todo), workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        baker = ray.remote(num_cpus=1)(_Baker)
        actors = [baker.remote(animator_options, fmt.NAME, max_duration_s) for _ in range(count)]
        queue = iter(range(len(todo)))
        per_call = max(1, min(LINES_PER_CALL, len(todo) // (4 * count)))  # small batches still spread evenly

        def give(actor):  # the next lines to an actor that is free
            lines = list(itertools.islice(queue, per_call))
            if lines:
                pending[actor.bake.remote([todo[k][0] for k in lines])] = (actor, lines)

        for actor in actors * IN_FLIGHT:  # its next call already queued when one finishes: no idle round trip
            give(actor)
        bar = tqdm(total=len(todo), desc=f"baking on {count} Ray workers", unit="line",
                   disable=not show_progress(progress) or len(todo) < 2, leave=False)
        settled = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            actor, lines = pending.pop(ready[0])
            for k, (result, warnings) in zip(lines, ray.get(ready[0])):
                for message in warnings:
                    bar.write(f"emoface: warning: {message}", file=sys.stderr)
                batch.settle(report, index, *todo[k], result)
            bar.update(len(lines))
            settled += len(lines)
            if batch.stopping(report, todo[lines[-1]][0], len(todo) - settled):
                break  # the output folder cannot be written: the lines still out are stopped below
            give(actor)
        bar.close()
        return report
    except ray.exceptions.RayActorError as exc:
        raise InputError("--ray", f"a worker died ({str(exc).splitlines()[0]}); the same command again bakes the "
                                  "lines still missing") from None
    except SystemError as exc:  # SIGTERM's exception, raised while Ray's own wait ran, comes out wrapped in this
        from emoface.cli import Terminated

        if isinstance(exc.__cause__, (KeyboardInterrupt, Terminated)):
            raise exc.__cause__ from None  # exit 130 / 143 as a local bake, no traceback
        raise
    finally:
        for actor in actors:
            ray.kill(actor)
        ray.shutdown()
        from emoface.formats import temporary_files

        for _, lines in pending.values():  # stopped mid-write (Ctrl-C): no temporary file stays behind
            for k in lines:
                for leftover in temporary_files(todo[k][0].out):
                    leftover.unlink(missing_ok=True)


class _Baker:
    """One Ray worker: the model loaded once, then line after line."""

    def __init__(self, animator_options: dict, fmt_name: str, max_duration_s: float):
        from emoface import formats
        from emoface.allocator import keep_freed_memory
        from emoface.animator import Animator

        keep_freed_memory()
        self.animator = Animator(**animator_options)
        self.fmt = formats.get(fmt_name)
        self.max_duration_s = max_duration_s

    def bake(self, jobs):
        """Each line's result, and the warnings it logged (a silent line, a transcript refused): the driver says
        them as a local bake does, where the worker's own log would go nowhere."""
        import logging

        from emoface.batch import bake_line

        heard: list[str] = []
        handler = _Collect(heard)
        logger = logging.getLogger("emoface")
        logger.addHandler(handler)
        try:
            out = []
            for job in jobs:
                result = bake_line(job, self.animator, self.fmt, self.max_duration_s)
                out.append((result, heard[:]))
                heard.clear()
            return out
        finally:
            logger.removeHandler(handler)


class _Collect(logging.Handler):
    def __init__(self, into: list):
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record):
        self.into.append(record.getMessage())
