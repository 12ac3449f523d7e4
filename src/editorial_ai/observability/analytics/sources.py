"""Where the history is: one or many log folders, read as one.

Folders synced from several workers (``logs/worker-*``) are given as several
``--log-dir`` values or as a glob. A thread id present in two folders is one
thread: its runs are the runs of both files. Nothing here needs the analytics
extra: ``runs`` and ``serve`` use it in the core install.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from .. import _deferred, _env
from .._internal import warn_os_error
from ..models import PipelineRunSummary
from ..pricing import PriceTable, load_price_table
from ..reader import (
    NodeRunView,
    ThreadFilter,
    ThreadIndex,
    ThreadList,
    ThreadLogs,
    _Tally,
    thread_index,
    thread_logs,
    thread_run,
)
from ..storage import SUFFIX, list_threads, thread_log_path

_GLOB_CHARS = frozenset("*?[")


def resolve_log_dirs(values: Sequence[str | os.PathLike[str]] | None) -> list[Path]:
    """The folders named by ``--log-dir`` values, globs expanded, in order,
    each once; none given: the default folder (``$EDITORIAL_AI_LOG_DIR`` or
    ``data/logs``).

    A glob that matches no folder is kept as written, so the caller can say
    that it is missing.

    Example:
        >>> [str(p) for p in resolve_log_dirs(["/tmp/a", "/tmp/a", "/tmp/b"])]
        ['/tmp/a', '/tmp/b']
    """
    if not values:
        return [_env.log_dir(None)]
    found: list[Path] = []
    seen: set[str] = set()
    for value in values:
        text = os.fspath(value)
        if _GLOB_CHARS & set(text):
            matches = sorted(p for p in glob.glob(text) if os.path.isdir(p))
            candidates = [Path(p) for p in matches] or [Path(text)]
        else:
            candidates = [_env.log_dir(text)]
        for candidate in candidates:
            key = os.path.realpath(candidate)
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


@dataclass(frozen=True, slots=True)
class LogFile:
    """One thread file: where it is and what it looked like when listed."""

    path: str
    folder: str
    size: int
    mtime_ns: int
    inode: int


def list_log_files(folders: Iterable[Path]) -> list[LogFile]:
    """The regular ``*.jsonl`` files directly in ``folders`` (symlinks and
    anything else skipped, as the reader does), sorted by path."""
    _deferred.flush()  # this process's queued lines first
    files: list[LogFile] = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError as exc:
            warn_os_error("list", folder, exc)
            continue
        for entry in entries:
            if not entry.name.endswith(SUFFIX):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed while listing
            files.append(
                LogFile(entry.path, str(folder), info.st_size, info.st_mtime_ns,
                        info.st_ino)
            )  # fmt: skip
    files.sort(key=lambda item: item.path)
    return files


def _merged(tallies: list[_Tally]) -> _Tally:
    """One thread's totals over several files. Generic over the tally's
    fields (counts add up, the first start and last end are kept, per-node
    latest runs and per-model groups are merged), so totals added to the
    tally later merge too."""
    merged = _Tally()
    for tally in tallies:
        for item in fields(tally):
            name = item.name
            mine, theirs = getattr(merged, name), getattr(tally, name)
            if theirs is None:
                continue
            if name == "first_start":
                if mine is None or theirs < mine:
                    setattr(merged, name, theirs)
            elif name == "last_end":
                if mine is None or theirs > mine:
                    setattr(merged, name, theirs)
            elif name == "latest":
                for node, latest in theirs.items():
                    previous = mine.get(node)
                    if previous is None or latest[0] >= previous[0]:
                        mine[node] = latest
            elif isinstance(theirs, dict):
                for key, group in theirs.items():
                    if isinstance(group, list):
                        into = mine.setdefault(key, [0] * len(group))
                        for i, value in enumerate(group):
                            into[i] += value
                    else:
                        mine[key] = mine.get(key, 0) + group
            elif isinstance(theirs, int | float):
                setattr(merged, name, mine + theirs)
    return merged


def merged_thread_summaries(
    folders: Sequence[Path],
    *,
    limit: int | None = None,
    offset: int = 0,
    table: PriceTable | None = None,
    where: ThreadFilter | None = None,
) -> ThreadList:
    """Summaries of the threads of several folders, newest first, one page of
    those ``where`` keeps, with the count of all it keeps; a thread in two
    folders is summarised over both of its files.

    Example:
        >>> merged_thread_summaries([Path("/nonexistent")]).threads
        []
    """
    table = load_price_table() if table is None else table
    where = where or ThreadFilter()
    where_is: dict[str, list[Path]] = {}
    for folder in folders:
        for thread_id in list_threads(folder):
            if where.matches_id(thread_id):
                where_is.setdefault(thread_id, []).append(folder)
    newest: dict[str, float] = {}
    for thread_id, homes in where_is.items():
        times = []
        for folder in homes:
            try:
                times.append(os.stat(thread_log_path(thread_id, folder)).st_mtime)
            except OSError:
                continue
        newest[thread_id] = max(times, default=0.0)
    ordered = sorted(where_is, key=lambda thread_id: (-newest[thread_id], thread_id))
    start = max(offset, 0)
    stop = None if limit is None else start + max(limit, 0)
    summaries = []
    total = 0
    for thread_id in ordered:
        if not where.needs_summary and not (
            start <= total and (stop is None or total < stop)
        ):
            total += 1
            continue
        indexes = [thread_index(thread_id, folder) for folder in where_is[thread_id]]
        found = [index for index in indexes if index is not None and index.count]
        if not found:
            continue
        summary = _merged([_whole_tally(index) for index in found]).summary(
            thread_id, table
        )
        if where.needs_summary and not _keeps(where, summary, found):
            continue
        if start <= total and (stop is None or total < stop):
            summaries.append(summary)
        total += 1
    return ThreadList(threads=summaries, total=total)


def _whole_tally(index: ThreadIndex) -> _Tally:
    """The index's totals with its unfinished but whole last line."""
    if index.tail is None:
        return index.tally
    tally = index.tally.copy()
    tally.add(index.tail[2])
    return tally


def _keeps(
    where: ThreadFilter, summary: PipelineRunSummary, indexes: list[ThreadIndex]
) -> bool:
    """``ThreadFilter.matches`` for a thread spread over several files."""
    if where.node is not None and not any(
        where.node in index.node_names() for index in indexes
    ):
        return False
    rest = ThreadFilter(status=where.status, since=where.since, until=where.until)
    return rest.matches(summary, indexes[0])


def _homes(thread_id: str, folders: Sequence[Path]) -> list[tuple[Path, int]]:
    """The folders holding ``thread_id``, each with its run count, in order."""
    homes = []
    for folder in folders:
        index = thread_index(thread_id, folder)
        if index is not None and index.count:
            homes.append((folder, index.count))
    return homes


def merged_thread_summary(
    thread_id: str, folders: Sequence[Path], table: PriceTable | None = None
) -> PipelineRunSummary | None:
    """One thread's summary over every folder holding it; ``None`` if none."""
    table = load_price_table() if table is None else table
    tallies = [
        _whole_tally(index)
        for folder in folders
        if (index := thread_index(thread_id, folder)) is not None and index.count
    ]
    return _merged(tallies).summary(thread_id, table) if tallies else None


def merged_thread_logs(
    thread_id: str,
    folders: Sequence[Path],
    *,
    include_io: bool = True,
    limit: int | None = None,
    offset: int = 0,
) -> ThreadLogs:
    """A thread's runs over every folder holding it, oldest first.

    A run's ``index`` counts the valid lines of the folders' files one after
    the other, in folder order (what :func:`merged_thread_run` takes). Unlike
    one folder's thread, the runs are gathered in memory before the page is
    cut.
    """
    runs: list[NodeRunView] = []
    base = 0
    for folder, count in _homes(thread_id, folders):
        page = thread_logs(thread_id, log_dir=folder, include_io=include_io)
        for run in page.runs:
            run.index += base
            runs.append(run)
        base += count
    runs.sort(key=lambda run: run.started_at)  # stable: ties keep file order
    stop = None if limit is None else offset + max(limit, 0)
    return ThreadLogs(
        thread_id=thread_id,
        runs=runs[max(offset, 0) : stop],
        summary=merged_thread_summary(thread_id, folders),
        total_runs=len(runs),
    )


def merged_thread_run(
    thread_id: str, position: int, folders: Sequence[Path]
) -> NodeRunView | None:
    """The run at ``position`` as :func:`merged_thread_logs` numbers them."""
    base = 0
    for folder, count in _homes(thread_id, folders):
        if base <= position < base + count:
            found = thread_run(thread_id, position - base, log_dir=folder)
            if found is not None:
                found.index = position
            return found
        base += count
    return None
