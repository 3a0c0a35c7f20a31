"""Batch baking: inputs (files, directories, globs) or a dialogue-sheet manifest -> one file per line.

A bad line is reported and skipped; the batch goes on, and the summary lists every failure. Baking into a
folder is resumable: lines whose output is already there, made from the same inputs, are skipped
(emoface.bake_index).
"""

from __future__ import annotations

import csv
import difflib
import errno
import glob
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from emoface import articulation, formats
from emoface.audio import AUDIO_SUFFIXES, load_audio
from emoface.emotion.spec import EmotionTrack, parse_emotion, with_neutral
from emoface.errors import EmofaceError, InputError, missing_file, need_torch
from emoface.paths import inside
from emoface.progress import bar, say, show_progress

log = logging.getLogger("emoface")
MANIFEST_COLUMNS = ("audio", "emotion", "intensity", "articulation", "text", "out")
AUTO = "auto"  # the emotion keyword for: recognised from the audio itself


@dataclass(frozen=True)
class Auto:
    """--emotion auto: each line's emotion recognised from its own audio, scaled by an intensity as a named
    emotion is."""

    intensity: float = 1.0

    def track(self, samples) -> EmotionTrack:
        from emoface.emotion.recognize import predict_track

        track = predict_track(samples)
        return EmotionTrack(track.times, with_neutral(track.vectors * self.intensity), track.transition)


def line_emotion(spec: str | None, intensity: float, audio) -> EmotionTrack:
    """One line's --emotion (render, plot): a label or blend, or `auto`, recognised from the line's own audio."""
    if spec is not None and spec.strip().lower() == AUTO:
        need_torch("--emotion auto")
        return Auto(intensity).track(audio.samples)
    return EmotionTrack.constant(parse_emotion("neutral" if spec is None else spec, intensity))


@dataclass
class Job:
    audio: Path
    out: Path
    emotion: EmotionTrack | Auto | None = None
    text: str | None = None
    label: str = ""
    articulation: float | None = None  # this line's (a sheet's column); None: the animator's


@dataclass
class Report:
    written: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (input, reason)
    skipped: list = field(default_factory=list)  # outputs already made from the same inputs
    in_a_row: tuple = (None, 0)  # (errno, lines): the last lines whose output failed with that folder-wide error
    stopped: str | None = None  # why the batch stopped before its last line (the output folder cannot be written)


# Errors of the output folder itself, not of one line: after STOP_AFTER lines in a row fail with the same one, the
# batch stops instead of running the network for every line left (hours, on a sheet of thousands)
FOLDER_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOENT, errno.EIO, getattr(errno, "ESTALE", -1)}
STOP_AFTER = 5


def _walk(folder: Path):
    """Every file under `folder`, through linked folders too (a studio links its voice-over folders in; rglob
    passes them by), each real folder once (a link back up does not loop)."""
    seen = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        yield from (Path(root) / name for name in files)


def expand_inputs(inputs: list[str], suffixes: tuple[str, ...] = AUDIO_SUFFIXES) -> list[tuple[Path, Path]]:
    """(file, its path relative to where it was found) for every file, directory member (with one of the
    suffixes) and glob match."""
    found = []
    for item in inputs:
        path = Path(item)
        if _os_says(path.is_dir):
            # not only regular files: a broken link or a pipe named .wav fails as its own line rather than going
            # uncounted
            members = sorted(p for p in _walk(path) if p.suffix.lower() in suffixes and not _os_says(p.is_dir))
            found += [(p, p.relative_to(path)) for p in members]
        elif not _os_says(path.exists) and glob.has_magic(item):
            found += [(Path(p), Path(Path(p).name)) for p in sorted(glob.glob(item, recursive=True))
                      if Path(p).is_file()]
        else:
            found.append((path, Path(path.name)))  # a missing file is reported when it is loaded
    return found


def _os_says(check) -> bool:
    """path.is_dir / is_file / exists, called; False where the OS will not say (a name too long, a folder that may
    not be entered): such a path fails as a line of its own when it is read, not as the batch."""
    try:
        return check()
    except OSError:
        return False


def output_for(out: Path, suffix: str, label) -> Path:
    """out as a file of the format whose files end in `suffix`: kept when it ends as they do (in its last
    extension: .json for json and visemes), given the suffix when its extension is no format's (guard.v2 ->
    guard.v2.json), refused when it names another format's file (r11.txt baked as JSON, or line.visemes.json:
    every reader would take it for visemes)."""
    named = formats.for_suffix(out)
    longer = named is not None and len(formats.get(named).SUFFIX) > len(suffix)
    if out.name.lower().endswith("." + suffix.rsplit(".", 1)[-1]) and not longer:
        return out
    if named:
        raise InputError(label, f"{out.name} names a file of format {named}, but the lines are baked as "
                                f"{formats.for_suffix('x' + suffix)} (--format)")
    return out.with_name(out.name + suffix)


def plan_outputs(found, out: Path, suffix: str, single_file: bool) -> list[tuple[Path, Path]]:
    if single_file:
        return [(found[0][0], output_for(out, suffix, "-o"))]
    return [(audio, out / rel.with_suffix(suffix)) for audio, rel in found]


def read_manifest(path: Path, out_dir: Path, suffix: str, emotion: str = "neutral",
                  intensity: float = 1.0) -> tuple[list[Job], list[tuple[str, str]]]:
    """Rows of audio, emotion, intensity, articulation, text, out (only audio required; paths relative to the
    manifest; an empty emotion or intensity is `emotion` / `intensity`, the command line's, an empty
    articulation the bake's; an `out` ending in / a folder).

    A row is labelled `sheet.csv:N` with N the file line it starts on (blank lines and quoted cells that span
    lines counted). A header naming a column emoface does not read (a misspelt `emotin`) or naming one twice
    is refused for the whole sheet; a row with more cells than the header is refused for that row."""
    if not _os_says(path.is_file):
        raise missing_file(path, "manifest")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header, rows = _sheet_rows(path, csv.reader(f))
    except UnicodeDecodeError as exc:
        raise InputError(path, f"manifest is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from None
    except csv.Error as exc:
        raise InputError(path, f"manifest is not a readable CSV ({exc})") from None
    jobs, bad = [], []
    base = path.parent
    for line, cells in rows:
        label = f"{path}:{line}"
        try:
            row = _row_of(header, cells, label)
            audio = (row.get("audio") or "").strip()
            if not audio:
                raise InputError(label, "empty audio column")
            if not Path(audio).name:  # ".", "/", "..": a folder, which has no line's name to bake to
                raise InputError(label, f"audio {audio!r} names a folder, not an audio file")
            text = (row.get("intensity") or "").strip()
            try:
                row_intensity = float(text) if text else intensity
            except ValueError:
                raise InputError(label, f"intensity {row.get('intensity')!r} is not a number") from None
            cell = (row.get("articulation") or "").strip()
            try:
                row_articulation = articulation.check(cell) if cell else None
            except ValueError as exc:
                raise InputError(label, str(exc)) from None
            row_emotion = (row.get("emotion") or "").strip() or emotion
            track = Auto(row_intensity) if row_emotion.lower() == AUTO else \
                EmotionTrack.constant(parse_emotion(row_emotion, row_intensity, label))
            out = (row.get("out") or "").strip()
            name = Path(audio).with_suffix(suffix).name
            if out.endswith(("/", "\\")):  # a folder: the line keeps its audio's name inside it
                target = inside(out_dir, out.rstrip("/\\") + "/" + name, label)
            else:
                target = output_for(inside(out_dir, out, label), suffix, label) if out else out_dir / name
            jobs.append(Job(base / audio, target, track, (row.get("text") or "").strip() or None, label,
                            row_articulation))
        except EmofaceError as exc:
            bad.append((label, str(exc).split(": ", 1)[-1]))
    return jobs, bad


def _sheet_rows(path: Path, reader) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(the header's column names, [(line the row starts on, its cells)]) of a dialogue sheet, the header
    checked: every column one emoface reads, none twice, 'audio' among them. Blank lines are skipped."""
    header, rows, last = None, [], 0
    for cells in reader:
        start, last = last + 1, reader.line_num  # line_num is the row's last line (a quoted cell may span lines)
        if not cells:
            continue
        if header is None:
            header = [c.strip() for c in cells]
        else:
            rows.append((start, cells))
    known = ", ".join(MANIFEST_COLUMNS)
    if not header or "audio" not in header:
        near = [n for n in header or () if difflib.get_close_matches(n.lower(), ["audio"], n=1, cutoff=0.6)]
        found = f"its header has {near[0]!r}; " if near else ""
        if not near and header and len(header) == 1 and any(d in header[0] for d in ";\t|"):
            found = f"its header is one column, {header[0]!r}: save the sheet with commas between cells; "
        raise InputError(path, f"manifest needs an 'audio' column ({found}columns: {known})")
    if not rows:  # a sheet saved before its lines were filled in: nothing baked is not success
        raise InputError(path, "manifest has a header but no lines to bake")
    seen = set()
    for name in header:
        if not name:
            continue  # an unnamed column (a trailing comma): its cells must stay empty (_row_of)
        if name not in MANIFEST_COLUMNS:
            near = difflib.get_close_matches(name.lower(), MANIFEST_COLUMNS, n=1, cutoff=0.6)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise InputError(path, f"unknown column {name!r} ({hint}columns: {known})")
        if name in seen:
            raise InputError(path, f"column {name!r} appears twice in the header")
        seen.add(name)
    return header, rows


def _row_of(header: list[str], cells: list[str], label: str) -> dict[str, str]:
    """A row's cells by column name; a value beyond the header, or under an unnamed column, is an error (blank
    cells there are not: a spreadsheet's trailing commas)."""
    for k, cell in enumerate(cells):
        if not cell.strip():
            continue
        if k >= len(header):
            raise InputError(label, f"row has {len(cells)} cells but the header has {len(header)} columns "
                                    f"({', '.join(n for n in header if n)}): extra cell {cell.strip()!r}")
        if not header[k]:
            raise InputError(label, f"cell {k + 1} ({cell.strip()!r}) is under a column the header does not name")
    return {name: cell for name, cell in zip(header, cells) if name}


def plan(jobs: list[Job], animator, fmt, index_folder: Path | None, force: bool):
    """(report with the lines refused or already up to date, the lines to bake as (job, key, stamp), the index).
    stamp is the audio's bake_index.file_stamp, taken before its bytes were hashed into the key: settle records
    the line only when the file is still that one after baking."""
    from emoface.bake_index import INDEX_NAME, BakeIndex, file_stamp, line_key, settings_of

    ours = [job.out for job in jobs] + ([Path(index_folder) / INDEX_NAME] if index_folder is not None else [])
    formats.remove_stale_temporaries(ours)  # of writers killed mid-write (kill -9), the index's compaction too
    report, todo = Report(), []
    seen: dict[Path, str] = {}
    index = BakeIndex(index_folder) if index_folder is not None else None
    settings = settings_of(animator, fmt) if index is not None else None
    for job in jobs:
        name = job.label or str(job.audio)
        if job.out.resolve() in seen:
            exc = InputError(name, f"output {job.out} would overwrite the one from {seen[job.out.resolve()]}")
            report.failed.append((name, str(exc).removeprefix(name + ": ")))
            say(f"emoface: error: {exc}")
            continue
        seen[job.out.resolve()] = name
        key = stamp = None
        if index is not None and _os_says(job.audio.is_file):  # a missing file fails when it is baked, with its reason
            stamp = file_stamp(job.audio)
            key = line_key(job.audio, job.emotion, job.text, settings,
                           getattr(animator, "articulation", 1.0) if job.articulation is None else job.articulation)
        if key is not None and not force and index.done(job.out, key):
            report.skipped.append(job.out)
        else:
            todo.append((job, key, stamp))
    return report, todo, index


def bake_line(job: Job, animator, fmt, max_duration_s: float) -> tuple[str, str, int | None] | None:
    """Bake one line to its output: None when written, else (the reason, the error line to print, the OS's errno
    when the output could not be written)."""
    name = job.label or str(job.audio)
    try:
        audio = load_audio(job.audio, max_duration_s)
        emotion = job.emotion.track(audio.samples) if isinstance(job.emotion, Auto) else job.emotion
        late = [] if emotion is None else emotion.times[1:][emotion.times[1:] > audio.duration]
        if len(late):  # a track in milliseconds, or another line's
            log.warning("%s: the emotion track's keyframe(s) at %s lie past the line's end (%.2f s) and never "
                        "show whole (times are seconds)", name, ", ".join(f"{t:g} s" for t in late[:3]),
                        audio.duration)
        anim = animator.animate(audio, emotion, job.text, job.articulation)
        formats.write_atomic(fmt, anim, job.out)  # an unwritable output is one InputError naming it
        return None
    except EmofaceError as exc:
        reason = str(exc).removeprefix(name + ": ")
        # a sheet's row is named by its line (m.csv:6: vo/x.wav: file not found), so one line says which row
        return (reason, f"emoface: error: {name}: {reason}" if job.label else f"emoface: error: {exc}",
                getattr(exc, "errno", None))
    except OSError as exc:  # the OS refused a path outright (a name too long, a folder that may not be entered)
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != name else ""
        reason = f"{exc.strerror or exc}{where}"
        return reason, f"emoface: error: {name}: {reason}", None
    except Exception as exc:  # noqa: BLE001 - one broken line must not stop a batch of thousands
        log.debug("traceback for %s", name, exc_info=True)
        reason = f"internal error ({type(exc).__name__}: {exc}); please report it with this file"
        return reason, f"emoface: error: {name}: {reason}", None


def missing(job: Job) -> tuple[str, str, None] | None:
    """The failure of a line whose audio is not a file (not found, a folder, a pipe), as bake_line reports it,
    found before any work starts (a --ray bake's workers take seconds to start); None when it is a file."""
    if _os_says(job.audio.is_file):
        return None
    return bake_line(job, None, None, 0.0)  # load_audio refuses it first thing, before the model or format


def settle(report: Report, index, job: Job, key: str | None, stamp, failure) -> None:
    """Count one baked line in the report (and the index), or report why it failed. A line whose audio file
    changed since its key was made (plan) is not recorded: the key may not describe the bytes baked."""
    from emoface.bake_index import file_stamp

    if failure is None:
        report.written.append(job.out)
        if key is not None and file_stamp(job.audio) != stamp:
            log.warning("%s: the audio file changed while the line was baked (still being written?): its output "
                        "is not recorded as up to date, and the next run bakes it again", job.label or job.audio)
        elif key is not None:
            index.record(job.out, key)
        report.in_a_row = (None, 0)
    else:
        report.failed.append((job.label or str(job.audio), failure[0]))
        say(failure[1])
        code = failure[2] if len(failure) > 2 else None
        if code in FOLDER_ERRNOS:  # a line's own problem (bad audio) neither counts nor resets
            report.in_a_row = (code, report.in_a_row[1] + 1 if report.in_a_row[0] == code else 1)


def stopping(report: Report, job: Job, left: int) -> bool:
    """After STOP_AFTER lines in a row failed with the same error of the output folder: report.stopped says so,
    and the batch bakes no more (`left` lines not tried)."""
    code, count = report.in_a_row
    if count < STOP_AFTER or not left:
        return False
    report.stopped = (f"{job.out.parent}: stopped: {count} lines in a row could not be written "
                      f"({os.strerror(code)}); {left} line(s) not tried: the same command again bakes them once the "
                      "output folder can be written")
    return True


def run(jobs: list[Job], animator, fmt, max_duration_s: float, progress: bool = True,
        index_folder: Path | None = None, force: bool = False) -> Report:
    """Bake each job here, one after another; with index_folder, skip the jobs whose output there is up to
    date (unless force) and record what is written."""
    report, todo, index = plan(jobs, animator, fmt, index_folder, force)
    for done, (job, key, stamp) in enumerate(bar(todo, show_progress(progress) and len(todo) > 1, desc="baking",
                                                 unit="line", leave=False), 1):
        settle(report, index, job, key, stamp, bake_line(job, animator, fmt, max_duration_s))
        if stopping(report, job, len(todo) - done):
            break
    return report
