"""The read layer every surface shares: one incremental index per thread file.

The API, the CLI and the page never parse JSONL themselves; they ask this
module. For each thread file it keeps a :class:`ThreadIndex`: where each valid
line starts and ends, when its run started, and running totals for the
summary. Nothing else of a run is held in memory; a page of runs is read back
from the file by position when asked for, so a thread file of any size is
served page by page and summarised in one streaming pass.

A repeated request reads only what was appended since the last one (the index
remembers how far it got, and starts over only when the file was replaced or
shrank). Lines are read as :class:`~editorial_ai.observability.models.NodeRunHead`
(everything but the snapshots) unless snapshots were asked for, so listing
runs does not pay for parsing states.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from . import _deferred, _env
from ._internal import warn_failure, warn_os_error
from .models import NodeRunHead, NodeRunLog, PipelineRunSummary, RunStatus, TokenUsage
from .pricing import (
    PriceTable,
    call_cost,
    cost_of_usage,
    load_price_table,
    node_run_cost,
)
from .snapshot._text import _SURROGATE
from .storage import list_threads, thread_log_path

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CACHE_SIZE = 256


# -- the objects the API returns (and the CLI prints with --json) --------------


class NodeRunView(NodeRunLog):
    """A node run as served: the record, its position and its cost.

    ``index`` is the run's position among the thread's valid lines in file
    order (the ``/runs/{index}`` of the API). ``estimated_cost_usd`` is
    computed when read, never stored; ``None`` when a call could not be priced
    and none could.
    """

    index: int
    estimated_cost_usd: float | None = None
    unpriced_calls: int = 0
    """Calls the cost misses (unknown model or rate, usage not reported)."""
    reasoning_cost_usd: float = 0.0
    """Of ``estimated_cost_usd``, what the reasoning tokens of the priced calls
    cost (completion tokens, at the output rate), given apart."""
    call_costs_usd: list[float | None] | None = None
    """USD per LLM call, in ``token_usage`` order (``None`` for a call that
    cannot be priced); given with one run (``/runs/{index}``), not in lists."""
    call_reasoning_costs_usd: list[float | None] | None = None
    """Of each ``call_costs_usd``, what its reasoning tokens cost (``None``
    where the call cannot be priced); given with ``call_costs_usd``."""


class ThreadLogs(BaseModel):
    """``GET /api/threads/{thread_id}/logs``: the runs, oldest first."""

    thread_id: str
    runs: list[NodeRunView]
    summary: PipelineRunSummary | None
    total_runs: int = 0
    """Runs in the whole thread (``runs`` may be one page of them)."""


class ThreadList(BaseModel):
    """``GET /api/threads``: one summary per thread, newest first."""

    threads: list[PipelineRunSummary]
    total: int | None = None
    """Threads matching the query, all pages together."""


# -- summary totals, built one line at a time ----------------------------------


_TIERS = frozenset({"input_priority", "input_flex", "output_priority", "output_flex"})


def _usage_kind(usage: TokenUsage) -> tuple[int, ...]:
    """What decides whether and how a call is priced, beside its counts:
    calls of one kind and model cost, together, what they cost one by one."""
    if usage.prompt_tokens or usage.completion_tokens:
        base = 1  # split known: priceable
    else:
        base = 0 if usage.total_tokens == 0 else 2  # nothing spent / total only
    written = usage.cache_creation_tokens
    one_hour = usage.cache_creation_1h_tokens or 0
    details = usage.token_details
    return (
        base,
        usage.cached_tokens > 0,
        written - one_hour > 0,
        one_hour > 0,
        bool(details) and not _TIERS.isdisjoint(details or ()),
        usage.prompt_tokens < usage.cached_tokens + written
        or usage.completion_tokens < usage.reasoning_tokens,
    )


@dataclass(slots=True)
class _Tally:
    """What ``PipelineRunSummary.from_logs`` computes, kept up to date."""

    count: int = 0
    duration_ms: float = 0.0
    first_start: datetime | None = None
    last_end: datetime | None = None
    latest: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    # (model, usage reported, kind) -> [calls, prompt, completion, total,
    # cached, cache writes, 1-hour writes, reasoning]; within a kind cost is
    # linear in tokens, so a group costs what its calls cost one by one.
    # The thread's token and call totals are the sums of these groups.
    usage: dict[tuple[str | None, bool, tuple[int, ...]], list[int]] = field(
        default_factory=dict
    )

    def add(self, head: NodeRunHead) -> None:
        self.count += 1
        self.duration_ms += head.duration_ms
        for usage in head.token_usage:
            key = (usage.model_name, usage.usage_reported, _usage_kind(usage))
            group = self.usage.get(key)
            if group is None:
                group = self.usage[key] = [0, 0, 0, 0, 0, 0, 0, 0]
            group[0] += 1
            group[1] += usage.prompt_tokens
            group[2] += usage.completion_tokens
            group[3] += usage.total_tokens
            group[4] += usage.cached_tokens
            group[5] += usage.cache_creation_tokens
            group[6] += usage.cache_creation_1h_tokens or 0
            group[7] += usage.reasoning_tokens
        if self.first_start is None or head.started_at < self.first_start:
            self.first_start = head.started_at
        if self.last_end is None or head.ended_at > self.last_end:
            self.last_end = head.ended_at
        previous = self.latest.get(head.node_name)
        if previous is None or head.started_at >= previous[0]:
            self.latest[head.node_name] = (head.started_at, head.status)

    def copy(self) -> _Tally:
        return _Tally(
            self.count,
            self.duration_ms,
            self.first_start,
            self.last_end,
            dict(self.latest),
            {key: list(group) for key, group in self.usage.items()},
        )

    def summary(self, thread_id: str, table: PriceTable) -> PipelineRunSummary:
        statuses = {status for _, status in self.latest.values()}
        status: RunStatus = (
            "failed"
            if "error" in statuses
            else "interrupted"
            if "interrupted" in statuses
            else "running"
            if not self.count
            else "completed"
        )
        priced: list[float] = []
        unpriced_calls = unpriced_tokens = unreported_calls = 0
        sums = [0] * 8
        for (model, reported, kind), group in self.usage.items():
            for i, value in enumerate(group):
                sums[i] += value
            calls, prompt, completion, total = group[:4]
            cached, written, one_hour, reasoning = group[4:]
            if not reported:
                unreported_calls += calls
            cost = cost_of_usage(
                TokenUsage.model_construct(
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    total_tokens=total,
                    model_name=model,
                    prompt_chars=0,
                    usage_reported=reported,
                    cached_tokens=cached,
                    cache_creation_tokens=written,
                    cache_creation_1h_tokens=one_hour,
                    reasoning_tokens=reasoning,
                    token_details={"input_priority": 1} if kind[4] else None,
                ),
                table,
            )
            if cost is None:
                unpriced_calls += calls
                unpriced_tokens += total
            else:
                priced.append(cost)
        estimated = math.fsum(priced) if priced else (None if unpriced_calls else 0.0)
        wall = (
            (self.last_end - self.first_start).total_seconds() * 1000
            if self.first_start and self.last_end
            else None
        )
        return PipelineRunSummary(
            thread_id=thread_id,
            node_count=self.count,
            total_duration_ms=self.duration_ms,
            total_prompt_tokens=sums[1],
            total_completion_tokens=sums[2],
            total_tokens=sums[3],
            status=status,
            started_at=self.first_start,
            ended_at=self.last_end,
            wall_time_ms=wall,
            estimated_cost_usd=estimated,
            unpriced_tokens=unpriced_tokens,
            total_cached_tokens=sums[4],
            total_cache_creation_tokens=sums[5],
            total_reasoning_tokens=sums[7],
            llm_calls=sums[0],
            unreported_calls=unreported_calls,
            unpriced_calls=unpriced_calls,
        )


# -- the per-thread index --------------------------------------------------------


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


MAX_LINE_BYTES = 64 << 20
"""A line longer than this (64 MiB) is skipped as corrupt, with a warning,
without being held in memory: the writer's snapshots stay far below it (see
``SnapshotOptions``), so only a damaged or hand-made file has such lines."""


class ThreadIndex:
    """Where a thread's valid lines are, and their running totals.

    Call :meth:`refresh` before use (``thread_index`` does); it reads only the
    bytes appended since the last refresh, each byte once: reading is linear
    in the file's size whatever the length of its lines, and an unfinished
    last line is looked at again only when the file has grown.
    """

    def __init__(self, thread_id: str, path: Path) -> None:
        self.thread_id = thread_id
        self.path = path
        self.lock = threading.Lock()
        self._reset(None)

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self.identity = identity
        self.scanned = 0
        """Where the first line not yet indexed starts."""
        self.seen = 0
        """Bytes looked at: ``scanned`` plus an unfinished last line."""
        self.oversized = False
        """The unfinished last line is already over ``MAX_LINE_BYTES``."""
        self.stamp: tuple[int, int, int, int] | None = None
        self.offsets = array("q")
        self.lengths = array("q")
        self.starts = array("q")
        self.tally = _Tally()
        self.tail: tuple[int, int, NodeRunHead] | None = None
        self._order: list[int] | None = None
        self._summary: tuple[object, PipelineRunSummary | None] | None = None
        self.bytes_parsed = 0
        """Bytes parsed over the index's life (to check the cost of refreshes)."""

    @property
    def count(self) -> int:
        """Valid runs, an unfinished but already whole last line included."""
        return len(self.offsets) + (1 if self.tail else 0)

    def refresh(self) -> bool:
        """Catch up with the file; ``False`` if it does not exist."""
        with self.lock:
            fd = self._open_and_catch_up()
            if fd is None:
                return False
            os.close(fd)
            return True

    def _open_and_catch_up(self) -> int | None:
        """Open the file and index what it holds; the caller holds ``lock``
        and owns (closes) the descriptor returned."""
        try:
            fd = os.open(self.path, _READ_FLAGS)
        except FileNotFoundError:
            self._reset(None)
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", str(self.path))
            identity = (info.st_dev, info.st_ino)
            if identity != self.identity or info.st_size < self.seen:
                self._reset(identity)
            if info.st_size > self.seen:
                self._scan(fd, info.st_size)
            self.stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def pin(self, table: PriceTable | None = None) -> PinnedThread | None:
        """Catch up and keep the descriptor: the runs as of now, readable
        from that same file until :meth:`PinnedThread.close`, whatever
        happens to its name (rotation, deletion) or to this index meanwhile,
        and their summary priced with ``table`` (``None`` without one).
        ``None`` if the file does not exist."""
        with self.lock:
            fd = self._open_and_catch_up()
            if fd is None:
                return None
            try:
                entries = list(zip(self.offsets, self.lengths, strict=True))
                if self.tail is not None:
                    entries.append((self.tail[0], self.tail[1]))
                summary = None if table is None else self.summary(table)
                order = list(self.chronological())
            except BaseException:
                os.close(fd)
                raise
            return PinnedThread(
                self.thread_id,
                os.fdopen(fd, "rb", buffering=0),
                entries,
                order,
                summary,
                table,
            )

    def _scan(self, fd: int, size: int) -> None:
        position = self.seen
        start = self.scanned  # where the line being gathered starts
        oversized = self.oversized
        pending = bytearray()
        if position > start and not oversized:
            pending += os.pread(fd, position - start, start)
        corrupt = too_long = 0
        self.tail = None
        while position < size:
            chunk = os.pread(fd, min(_CHUNK, size - position), position)
            if not chunk:
                break
            first = chunk.find(b"\n")
            if first == -1:
                # Still inside one line: keep it unless it is already too long.
                if not oversized:
                    pending += chunk
                    if len(pending) > MAX_LINE_BYTES:
                        oversized, pending = True, bytearray()
                position += len(chunk)
                continue
            # The line that ends at ``first`` began before this chunk.
            if oversized or len(pending) + first > MAX_LINE_BYTES:
                too_long += 1
            else:
                pending += chunk[:first]
                corrupt += self._add(bytes(pending), start)
            start = position + first + 1
            cut = chunk.rfind(b"\n")
            if cut > first:
                for line in chunk[first + 1 : cut].split(b"\n"):
                    corrupt += self._add(line, start)
                    start += len(line) + 1
            pending = bytearray(chunk[cut + 1 :])
            oversized = False
            position += len(chunk)
        self.scanned = start
        self.seen = position
        self.oversized = oversized
        if not oversized and pending.strip():
            head = _parse(NodeRunHead, bytes(pending))
            # Otherwise a line being written: pending, not corrupt.
            if head is not None and head.thread_id == self.thread_id:
                self.tail = (self.scanned, len(pending), head)
        self._order = None
        self._summary = None
        if corrupt:
            warn_failure(
                "read:corrupt",
                "%s: skipped %d corrupt line(s); every valid line was read",
                self.path,
                corrupt,
            )
        if too_long:
            warn_failure(
                "read:too-long",
                "%s: skipped %d line(s) over %d bytes as corrupt; every other "
                "line was read",
                self.path,
                too_long,
                MAX_LINE_BYTES,
            )

    def _add(self, line: bytes, offset: int) -> int:
        """Index one complete line; 1 if it was corrupt."""
        if not line.strip():
            return 0
        self.bytes_parsed += len(line) + 1
        head = _parse(NodeRunHead, line)
        if head is None:
            return 1
        if head.thread_id != self.thread_id:
            return 0
        try:
            started = _micros(head.started_at)
            head.duration_ms  # noqa: B018 - what the totals compute first
        except Exception:
            return 1
        self.offsets.append(offset)
        self.lengths.append(len(line))
        self.starts.append(started)
        self.tally.add(head)
        return 0

    def chronological(self) -> list[int]:
        """File-order indexes sorted by ``started_at``, ties in file order."""
        if self._order is None or len(self._order) != self.count:
            starts = list(self.starts)
            if self.tail:
                starts.append(_micros(self.tail[2].started_at))
            self._order = sorted(range(len(starts)), key=starts.__getitem__)
        return self._order

    def read(self, indexes: Sequence[int], include_io: bool) -> list[tuple[int, Any]]:
        """The records at these file-order ``indexes`` (heads unless
        ``include_io``), skipping any that no longer parse."""
        if not indexes:
            return []
        pinned = self.pin()
        if pinned is None:
            return []
        with pinned:
            found = []
            for index in indexes:
                record = pinned.record(index, include_io)
                if record is not None:
                    found.append((index, record))
            return found

    def node_names(self) -> set[str]:
        """The names of the nodes that ran in the thread."""
        names = set(self.tally.latest)
        if self.tail is not None:
            names.add(self.tail[2].node_name)
        return names

    def summary(self, table: PriceTable) -> PipelineRunSummary | None:
        """The thread's summary, or ``None`` without valid runs; kept until
        the file changes (identity, size, modification time) or the price
        table does."""
        key = (self.stamp, id(table))
        cached = self._summary
        if cached is not None and cached[0] == key:
            return cached[1]
        if not self.count:
            found = None
        else:
            tally = self.tally
            if self.tail is not None:
                tally = tally.copy()
                tally.add(self.tail[2])
            found = tally.summary(self.thread_id, table)
        self._summary = (key, found)
        return found


def _parse(model: type[NodeRunHead], line: bytes) -> Any:
    """``line`` as ``model``, or ``None``: any failure makes it corrupt (a
    validator may raise more than ``ValidationError``)."""
    try:
        return model.model_validate_json(line)
    except Exception:
        return None


class PinnedThread:
    """A thread's runs as indexed at one moment, read from one descriptor.

    Made by :meth:`ThreadIndex.pin`; use as a context manager (or call
    :meth:`close`). Reading never fails: a run that no longer parses (the
    file was truncated since) is ``None``.
    """

    def __init__(
        self,
        thread_id: str,
        handle: Any,
        entries: list[tuple[int, int]],
        order: list[int],
        summary: PipelineRunSummary | None = None,
        table: PriceTable | None = None,
    ) -> None:
        self.thread_id = thread_id
        self._handle = handle
        self._entries = entries
        self.order = order
        """File-order indexes sorted by ``started_at``."""
        self.summary = summary
        """The summary of the pinned runs, if a price table was given."""
        self.table = table
        """That price table."""

    @property
    def count(self) -> int:
        """Runs pinned."""
        return len(self._entries)

    def record(self, index: int, include_io: bool) -> Any:
        """Run ``index`` (file order) as a record, or ``None``."""
        offset, length = self._entries[index]
        try:
            line = os.pread(self._handle.fileno(), length, offset)
        except OSError:
            return None
        return _parse(NodeRunLog if include_io else NodeRunHead, line)

    def close(self) -> None:
        """Let the descriptor go."""
        self._handle.close()

    def __enter__(self) -> PinnedThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_indexes: OrderedDict[tuple[str, str], ThreadIndex] = OrderedDict()
_indexes_lock = threading.Lock()
_capacity = _CACHE_SIZE


def _index_for(thread_id: str, log_dir: str | os.PathLike[str] | None) -> ThreadIndex:
    # Records hold U+FFFD where the id had a lone surrogate (strict JSON
    # cannot hold one); match that spelling, as read_node_logs does.
    _deferred.flush()  # this process's queued lines first (see _deferred)
    thread_id = _SURROGATE.sub("\ufffd", thread_id)
    directory = _env.log_dir(log_dir)
    path = thread_log_path(thread_id, directory)
    key = (str(directory.absolute()), thread_id)
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = ThreadIndex(thread_id, path)
        _indexes.move_to_end(key)
        while len(_indexes) > _capacity:
            _indexes.popitem(last=False)
    return index


def _fit_cache(threads: int) -> None:
    """Keep an index for every thread of a listed folder (three numbers per
    run each), so listing a folder of any size parses nothing twice."""
    global _capacity
    _capacity = max(_CACHE_SIZE, threads + threads // 8)


def thread_index(
    thread_id: str, log_dir: str | os.PathLike[str] | None = None
) -> ThreadIndex | None:
    """The up-to-date index of ``thread_id``'s file; ``None`` if it has none.

    Indexes are cached (at least the 256 most recently used, and one per
    thread of the largest folder listed), so a repeated call parses only what
    was appended since.

    Example:
        >>> thread_index("no-such-thread", "/tmp/empty-logs") is None
        True
    """
    index = _index_for(thread_id, log_dir)
    try:
        exists = index.refresh()
    except OSError as exc:
        warn_os_error("read", index.path, exc)
        return None
    return index if exists else None


def pin_thread(
    thread_id: str,
    log_dir: str | os.PathLike[str] | None = None,
    table: PriceTable | None = None,
) -> PinnedThread | None:
    """``thread_id``'s runs as of now, on one open descriptor (see
    :meth:`ThreadIndex.pin`); ``None`` if it has no file.

    Example:
        >>> pin_thread("no-such-thread", "/tmp/empty-logs") is None
        True
    """
    index = _index_for(thread_id, log_dir)
    try:
        return index.pin(table)
    except OSError as exc:
        warn_os_error("read", index.path, exc)
        return None


# -- what the surfaces ask for ---------------------------------------------------


def _view(index: int, record: NodeRunHead, table: PriceTable) -> NodeRunView:
    fields = dict(record.__dict__)
    cost = node_run_cost(record, table)
    return NodeRunView.model_construct(
        **fields,
        index=index,
        estimated_cost_usd=cost.estimated_cost_usd,
        unpriced_calls=cost.unpriced_calls,
        reasoning_cost_usd=cost.reasoning_usd,
    )


def thread_logs(
    thread_id: str,
    *,
    log_dir: str | os.PathLike[str] | None = None,
    include_io: bool = True,
    limit: int | None = None,
    offset: int = 0,
    table: PriceTable | None = None,
) -> ThreadLogs:
    """A thread's runs, oldest first (``started_at``, ties in file order),
    one page of them if ``limit`` is given, and the summary of all of them.

    An unknown thread gives no runs and a ``None`` summary.

    Example:
        >>> thread_logs("no-such-thread", log_dir="/tmp/empty-logs").runs
        []
    """
    thread_id = _SURROGATE.sub("\ufffd", thread_id)
    index = thread_index(thread_id, log_dir)
    if index is None:
        return ThreadLogs(thread_id=thread_id, runs=[], summary=None)
    table = load_price_table() if table is None else table
    order = index.chronological()
    stop = None if limit is None else offset + max(limit, 0)
    page = order[max(offset, 0) : stop]
    runs = [_view(i, record, table) for i, record in index.read(page, include_io)]
    return ThreadLogs(
        thread_id=thread_id,
        runs=runs,
        summary=index.summary(table),
        total_runs=index.count,
    )


def thread_summary(
    thread_id: str,
    *,
    log_dir: str | os.PathLike[str] | None = None,
    table: PriceTable | None = None,
) -> PipelineRunSummary | None:
    """The summary of one thread, ``None`` if it has no valid runs."""
    index = thread_index(thread_id, log_dir)
    if index is None:
        return None
    return index.summary(load_price_table() if table is None else table)


def thread_run(
    thread_id: str,
    position: int,
    *,
    log_dir: str | os.PathLike[str] | None = None,
    table: PriceTable | None = None,
) -> NodeRunView | None:
    """The run at ``position`` among the thread's valid lines (file order),
    with its snapshots; ``None`` if there is none."""
    index = thread_index(thread_id, log_dir)
    if index is None or not 0 <= position < index.count:
        return None
    found = index.read([position], include_io=True)
    if not found:
        return None
    table = load_price_table() if table is None else table
    view = _view(position, found[0][1], table)
    costs = [call_cost(usage, table) for usage in view.token_usage]
    view.call_costs_usd = [None if cost is None else cost.total for cost in costs]
    view.call_reasoning_costs_usd = [
        None if cost is None else cost.reasoning for cost in costs
    ]
    return view


@dataclass(frozen=True, slots=True)
class ThreadFilter:
    """Which threads a listing keeps; every field left ``None`` keeps all.

    Example:
        >>> ThreadFilter(query="news", status="failed").matches_id("newsroom-1")
        True
    """

    query: str | None = None
    """Part of the thread id, any case."""
    status: str | None = None
    """The thread's status (``completed``, ``failed``, ``interrupted``, ...)."""
    node: str | None = None
    """A node that ran in the thread (its exact name)."""
    since: datetime | None = None
    """Threads still running at or after this time (their last end)."""
    until: datetime | None = None
    """Threads that started at or before this time."""

    def matches_id(self, thread_id: str) -> bool:
        """Whether the id holds the query."""
        return not self.query or self.query.casefold() in thread_id.casefold()

    @property
    def needs_summary(self) -> bool:
        """Whether matching needs more than the id."""
        return any(
            value is not None
            for value in (self.status, self.node, self.since, self.until)
        )

    def matches(self, summary: PipelineRunSummary, index: ThreadIndex) -> bool:
        """Whether a thread's summary (and its nodes) pass the filter."""
        if self.status is not None and summary.status != self.status:
            return False
        if self.node is not None and self.node not in index.node_names():
            return False
        if self.since is not None and (
            summary.ended_at is None or summary.ended_at < _as_utc(self.since)
        ):
            return False
        return self.until is None or (
            summary.started_at is not None and summary.started_at <= _as_utc(self.until)
        )


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def thread_summaries(
    *,
    log_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    table: PriceTable | None = None,
    where: ThreadFilter | None = None,
) -> ThreadList:
    """Summaries of the threads, most recently written first, one page of
    those ``where`` keeps, with the count of all it keeps (``total``).

    Filtering by id alone summarises only the page; filtering by status,
    node or time reads the summary of every thread whose id matches (each
    from its cached index, so a repeat parses only what was appended).

    Example:
        >>> thread_summaries(log_dir="/tmp/empty-logs").threads
        []
    """
    table = load_price_table() if table is None else table
    where = where or ThreadFilter()
    every = list_threads(log_dir)
    _fit_cache(len(every))
    ids = [t for t in every if where.matches_id(t)]
    start = max(offset, 0)
    stop = None if limit is None else start + max(limit, 0)
    summaries = []
    if not where.needs_summary:
        for thread_id in ids[start:stop]:
            try:
                summary = thread_summary(thread_id, log_dir=log_dir, table=table)
            except Exception as exc:
                _left_out(thread_id, exc)
                continue
            if summary is not None:
                summaries.append(summary)
        return ThreadList(threads=summaries, total=len(ids))
    total = 0
    for thread_id in ids:
        try:
            index = thread_index(thread_id, log_dir)
            summary = None if index is None else index.summary(table)
            if summary is None or index is None or not where.matches(summary, index):
                continue
        except Exception as exc:
            _left_out(thread_id, exc)
            continue
        if start <= total and (stop is None or total < stop):
            summaries.append(summary)
        total += 1
    return ThreadList(threads=summaries, total=total)


def _left_out(thread_id: str, exc: Exception) -> None:
    # One thread that cannot be summarised is left out of a listing, never
    # the listing itself.
    warn_failure(
        "read:thread:" + type(exc).__name__,
        "thread %r could not be summarised (%s: %s); it is left out",
        thread_id,
        type(exc).__name__,
        exc,
    )


__all__ = [
    "MAX_LINE_BYTES",
    "NodeRunView",
    "PinnedThread",
    "ThreadFilter",
    "ThreadIndex",
    "ThreadList",
    "ThreadLogs",
    "pin_thread",
    "thread_index",
    "thread_logs",
    "thread_run",
    "thread_summaries",
    "thread_summary",
]
