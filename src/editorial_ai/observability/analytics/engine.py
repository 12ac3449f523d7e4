"""The embedded engine: DuckDB over the JSONL files as they are.

No import step and nothing to host. :class:`AnalyticsEngine` reads every
``*.jsonl`` file of its folders with DuckDB into two in-memory tables (one row
per node run, one per LLM call), leaving the state snapshots out unless asked
for, and keeps them up to date: each :meth:`refresh` lists the folders and
re-reads only the files that were added, changed or removed since, so a
running server answers a repeated question from memory.

The reader is fixed and forgiving, like the library's own reader:

* each line's head, everything before its snapshots, is cut out in Python
  (block reads and ``memchr``-speed searches, so the snapshot bytes are
  skipped, not scanned by a parser), written to a private temporary file
  read as text (``read_csv`` with no quoting and a delimiter JSON never holds
  raw), and parsed with ``from_json`` against a fixed structure
  (:data:`_HEAD_SCHEMA`), so nothing is inferred from a sample and the
  snapshots are never parsed; lines that are not whole lines of the writer
  (torn, hand-written) are passed whole and parsed whole. With
  ``snapshots``, DuckDB's ``read_json`` (``format='newline_delimited'``,
  ``ignore_errors``, explicit ``columns=``) reads whole lines instead;
* a line that is not JSON (a torn line, a hand edit) becomes NULL and is
  dropped: a line counts when it has a thread id, a node name, a known status
  and two valid times, as a ``NodeRunHead`` must. A field of the wrong type in
  an otherwise valid line reads as unknown rather than costing the line;
* token counts are read as ``HUGEINT``; a line with a count below 0 or above
  ``MAX_COUNT`` (2**53 - 1) is dropped whole, as the library's reader drops
  it; ``NaN`` in a snapshot is never looked at; lines may be 1 GiB long.

Between processes (the CLI), the tables can live in a cache file
(:data:`CACHE_ENV`): a DuckDB database holding the same two tables and the
size, time and inode of every file they came from, so the next command reads
only the files that changed. The cache is derived data; deleting it costs one
full read. The JSONL files stay the only record.

Two views are what power users query (``editorial-ai-obs sql``); their columns
are listed in :data:`NODE_RUNS_COLUMNS` and :data:`LLM_CALLS_COLUMNS`.
Costs are those of :mod:`~editorial_ai.observability.pricing`, with its rule
kept in one place: each distinct model name is resolved once by the same
:class:`~..pricing.PriceTable` (shipped prices, overridden by
``$EDITORIAL_AI_PRICES``; its name rules for dated snapshots, prefixes and
previews) to its five rates, which are joined as a table, and the SQL only
does ``call_cost``'s arithmetic (cached reads, 5-minute and 1-hour cache
writes, reasoning, the cases it leaves unknown) in the same floating-point
operations, so a call costs, to the bit, what ``cost_of_usage`` says, and a
thread's figures are those of ``PipelineRunSummary.from_logs``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .._internal import warn_failure
from ..models import MAX_COUNT
from ..pricing import PriceTable, load_price_table
from ..pricing._costs import _TIER_DETAILS
from ._duckdb import require_duckdb
from .sources import LogFile, list_log_files, resolve_log_dirs

_MAX_LINE = 1 << 30
_LAYOUT = 3
"""Bumped when the tables change shape: a cache of another layout is rebuilt."""

CACHE_ENV = "EDITORIAL_AI_ANALYTICS_CACHE"
"""Folder of the analytics cache (``stats``, ``sql``, ``/api/stats``); ``off``
reads every file every time. Default: ``$XDG_CACHE_HOME/editorial-ai-obs``,
else ``~/.cache/editorial-ai-obs``."""


def default_cache_dir() -> Path | None:
    """The cache folder: ``$EDITORIAL_AI_ANALYTICS_CACHE`` (``off``: none),
    else ``$XDG_CACHE_HOME/editorial-ai-obs``, else
    ``~/.cache/editorial-ai-obs``.

    Example:
        >>> import os; os.environ["EDITORIAL_AI_ANALYTICS_CACHE"] = "off"
        >>> default_cache_dir() is None
        True
    """
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in ("off", "none", "0", "false"):
        return None
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "editorial-ai-obs"


_CALL_FIELDS = {
    "prompt_tokens": "HUGEINT",
    "completion_tokens": "HUGEINT",
    "total_tokens": "HUGEINT",
    "model_name": "VARCHAR",
    "usage_reported": "BOOLEAN",
    "cached_tokens": "HUGEINT",
    "cache_creation_tokens": "HUGEINT",
    "cache_creation_5m_tokens": "HUGEINT",
    "cache_creation_1h_tokens": "HUGEINT",
    "reasoning_tokens": "HUGEINT",
    "token_details": "MAP(VARCHAR, HUGEINT)",
    "provider": "VARCHAR",
    "run_id": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "ended_at": "TIMESTAMPTZ",
    "status": "VARCHAR",
    "error_type": "VARCHAR",
    "routing_reason": "VARCHAR",
    "prompt_chars": "HUGEINT",
}
_CALL_STRUCT = "STRUCT(%s)" % ", ".join("%s %s" % item for item in _CALL_FIELDS.items())
_HEAD_COLUMNS = {
    "thread_id": "VARCHAR",
    "node_name": "VARCHAR",
    "status": "VARCHAR",
    "started_at": "TIMESTAMPTZ",
    "ended_at": "TIMESTAMPTZ",
    "step": "BIGINT",
    "checkpoint_ns": "VARCHAR",
    "invocation_id": "VARCHAR",
    "attempt": "BIGINT",
    "error_type": "VARCHAR",
    "error_message": "VARCHAR",
    "interrupt_id": "VARCHAR",
    "token_usage": _CALL_STRUCT + "[]",
}
_HEAD_SCHEMA = json.dumps(
    {
        **{k: v for k, v in _HEAD_COLUMNS.items() if k != "token_usage"},
        "token_usage": [_CALL_FIELDS],
    }
)
"""The head of a line as ``from_json`` wants its structure."""
_SNAPSHOT_COLUMNS = {
    "input_state": "JSON",
    "output_state": "JSON",
    "interrupt_value": "JSON",
}

NODE_RUNS_COLUMNS: dict[str, str] = {
    "thread_id": "the thread (one thread across folders)",
    "node_name": "the node",
    "status": "success, error, skipped or interrupted",
    "started_at": "when the run started (TIMESTAMPTZ, UTC)",
    "ended_at": "when it ended",
    "day": "the UTC date it started on",
    "duration_ms": "ended_at - started_at in milliseconds",
    "step": "LangGraph superstep",
    "checkpoint_ns": "LangGraph task namespace",
    "invocation_id": "the graph invocation it ran in",
    "attempt": "1 for a first try, 2, 3, ... for retries",
    "error_type": "the exception's class, for errors",
    "error_message": "the exception's message",
    "interrupt_id": "the interrupt raised, for interrupted runs",
    "llm_calls": "LLM calls the run made",
    "prompt_tokens": "sum over its calls",
    "completion_tokens": "sum over its calls",
    "total_tokens": "sum over its calls",
    "cached_tokens": "prompt tokens read from a provider cache",
    "cache_creation_tokens": "prompt tokens written to a provider cache",
    "reasoning_tokens": "completion tokens spent on reasoning",
    "unreported_calls": "calls whose provider reported no usage",
    "unpriced_calls": "calls that could not be priced",
    "cost_usd": "USD of the priced calls; NULL if none could be priced; 0 "
    "without calls",
    "file": "the JSONL file the line is in",
    "folder": "the log folder of that file",
    "run_key": "this run's key in this engine (joins llm_calls.run_key)",
    "input_state": "the input snapshot (JSON), only with --snapshots",
    "output_state": "the output snapshot (JSON), only with --snapshots",
    "interrupt_value": "the interrupt's value (JSON), only with --snapshots",
}
"""Columns of the ``node_runs`` view: one row per node run (valid line)."""

LLM_CALLS_COLUMNS: dict[str, str] = {
    "thread_id": "the thread of the node run that made the call",
    "node_name": "its node",
    "node_status": "its node run's status",
    "node_started_at": "when that node run started",
    "day": "the UTC date the node run started on",
    "call_index": "position among the node run's calls, from 1",
    "model_name": "the model, as the provider named it",
    "provider": "openai, anthropic, google_genai, ...",
    "status": "success, error or aborted",
    "error_type": "the exception's class, for error and aborted",
    "started_at": "when the call started, if recorded",
    "ended_at": "when it ended, if recorded",
    "prompt_tokens": "input tokens",
    "completion_tokens": "output tokens",
    "total_tokens": "as recorded (prompt + completion when left at 0)",
    "cached_tokens": "prompt tokens read from a provider cache",
    "cache_creation_tokens": "prompt tokens written to a provider cache",
    "cache_creation_5m_tokens": "of those, written for 5 minutes, where the "
    "provider says (else NULL)",
    "cache_creation_1h_tokens": "of those, written for 1 hour, where the "
    "provider says (else NULL)",
    "reasoning_tokens": "completion tokens spent on reasoning",
    "token_details": "any other count the provider reported (MAP)",
    "usage_reported": "false: the provider said nothing, tokens unknown",
    "routing_reason": "why the model was chosen, as recorded",
    "run_id": "the LangChain run id of the call",
    "priced_model": "the price-table entry the model resolved to",
    "cost_usd": "USD by pricing.cost_of_usage; NULL if it cannot be priced",
    "reasoning_cost_usd": "of cost_usd, the reasoning tokens (output rate)",
    "file": "the JSONL file",
    "folder": "its log folder",
    "run_key": "the node run's key (node_runs.run_key)",
}
"""Columns of the ``llm_calls`` view: one row per recorded LLM call."""

_COUNTS = (
    "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens",
    "cache_creation_tokens", "cache_creation_5m_tokens",
    "cache_creation_1h_tokens", "reasoning_tokens", "prompt_chars",
)  # fmt: skip
# A line is a record when NodeRunHead would accept it: its required fields,
# a known status, and every count of every call within [0, MAX_COUNT].
_VALID = (
    "thread_id IS NOT NULL AND node_name IS NOT NULL AND started_at IS NOT NULL "
    "AND ended_at IS NOT NULL "
    "AND status IN ('success', 'error', 'skipped', 'interrupted') "
    "AND coalesce(len([u FOR u IN token_usage IF %s OR len([v FOR v IN "
    "map_values(u.token_details) IF v < 0 OR v > %d]) > 0]), 0) = 0"
    % (
        " OR ".join(
            "u.%s < 0 OR u.%s > %d" % (name, name, MAX_COUNT) for name in _COUNTS
        ),
        MAX_COUNT,
    )
)


def _struct_literal(columns: dict[str, str]) -> str:
    return "{%s}" % ", ".join("'%s': '%s'" % item for item in columns.items())


def _count(expression: str) -> str:
    return "coalesce(%s, 0)::HUGEINT" % expression


_PRICE_COLUMNS = (
    "model_name", "priced_model", "input", "output", "cached_input",
    "cache_write", "cache_write_1h",
)  # fmt: skip
"""The columns of ``_prices``, in order."""


_HEAD_END = b',"input_state":'
_BLOCK = 1 << 23
_WHOLE_LINE_END = re.compile(rb'"(?:unreported_calls|total_tokens)":[0-9]+\}\s*$')


class _FileGone(Exception):
    """A file listed for reading went away (or cannot be read) meanwhile."""


def _head(data: bytes, start: int, end: int, prefix: bytes) -> bytes:
    """The line ``data[start:end]`` as one line of the heads file."""
    cut = data.find(_HEAD_END, start, end)
    if cut >= 0 and _WHOLE_LINE_END.search(data, max(start, end - 64), end):
        return prefix + data[start:cut] + b"}\n"
    # Any other line whole, but for a CR before its LF (the heads file's
    # lines all end in one LF, as its reader expects).
    if data[end - 1 : end] == b"\r":
        end -= 1
    return prefix + data[start:end] + b"\n"


def _file_heads(path: str, prefix: bytes) -> list[bytes]:
    """Each non-empty line of ``path`` as a line of the heads file. Read in
    blocks, so memory holds a block and a line, and a file truncated
    meanwhile just ends sooner."""
    parts: list[bytes] = []
    pending: list[bytes] = []  # an unfinished line, in pieces
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            start = 0
            end = block.find(b"\n")
            if end < 0:
                pending.append(block)
                continue
            if pending:
                pending.append(block[:end])
                whole = b"".join(pending)
                pending = []
                if whole:
                    parts.append(_head(whole, 0, len(whole), prefix))
                start = end + 1
                end = block.find(b"\n", start)
            while end >= 0:
                if end > start:
                    parts.append(_head(block, start, end, prefix))
                start = end + 1
                end = block.find(b"\n", start)
            if start < len(block):
                pending.append(block[start:])
    if pending:
        whole = b"".join(pending)
        parts.append(_head(whole, 0, len(whole), prefix))
    return parts


def _write_heads(paths: Sequence[str], out: IO[bytes]) -> int:
    """Write ``index \\x01 head`` for each non-empty line of each file (its
    index in ``paths``): a whole line of the writer cut before its snapshots
    and closed with ``}``, any other line whole. Returns the bytes written.

    Raises:
        _FileGone: a file cannot be opened or read.
    """
    total = 0
    for index, path in enumerate(paths):
        try:
            parts = _file_heads(path, b"%d\x01" % index)
        except OSError as exc:
            raise _FileGone(path) from exc
        chunk = b"".join(parts)
        out.write(chunk)
        total += len(chunk)
    return total


def _price_row(table: PriceTable, name: str) -> tuple[Any, ...]:
    """``_prices``' row for a model name: its table entry and rates, resolved
    by the table's own rules; all ``None`` for a model it does not price."""
    price = table.price(name)
    if price is None:
        return (name, None, None, None, None, None, None)
    return (
        name,
        table.resolve(name),
        price.input,
        price.output,
        price.cached_input,
        price.cache_write,
        price.cache_write_1h,
    )


# The cost of one call (``c``, a row of _batch_calls, with ``p``, its model's
# row of _prices): pricing.call_cost's rule, step for step, in the same
# floating-point operations in the same order, so the engine's figure is the
# library's to the last bit (tests/test_analytics_pricing.py compares them
# call by call). Which model a name is and what it costs is decided in
# Python by PriceTable itself (_price_row); only the arithmetic is here.
_TIERS = "[%s]" % ", ".join("'%s'" % name for name in sorted(_TIER_DETAILS))
_ONE_HOUR = "coalesce(c.cache_creation_1h_tokens, 0)"
_FIVE_MINUTES = "(c.cache_creation_tokens - %s)" % _ONE_HOUR
_CALL_COST = (
    "CASE WHEN NOT c.usage_reported THEN NULL "
    # 0 tokens reported: 0.0, unless a total alone was reported
    "WHEN c.prompt_tokens = 0 AND c.completion_tokens = 0 THEN "
    "(CASE WHEN c.total_tokens = 0 THEN 0.0 END) "
    "WHEN p.input IS NULL THEN NULL "  # a model the table does not price
    # a service tier the table does not price
    f"WHEN coalesce(list_has_any(map_keys(c.token_details), {_TIERS}), false) "
    "THEN NULL "
    "WHEN c.cached_tokens > 0 AND p.cached_input IS NULL THEN NULL "
    f"WHEN c.cache_creation_tokens > 0 AND ({_FIVE_MINUTES} < 0 "
    f"OR ({_FIVE_MINUTES} > 0 AND p.cache_write IS NULL) "
    f"OR ({_ONE_HOUR} > 0 AND p.cache_write_1h IS NULL)) THEN NULL "
    "ELSE CAST(greatest(c.prompt_tokens - c.cached_tokens "
    "- c.cache_creation_tokens, 0) AS DOUBLE) * p.input / 1e6 "
    "+ CAST(c.cached_tokens AS DOUBLE) * coalesce(p.cached_input, 0.0) / 1e6 "
    "+ (CASE WHEN c.cache_creation_tokens > 0 THEN "
    f"CAST({_FIVE_MINUTES} AS DOUBLE) * coalesce(p.cache_write, 0.0) "
    f"+ CAST({_ONE_HOUR} AS DOUBLE) * coalesce(p.cache_write_1h, 0.0) "
    "ELSE 0.0 END) / 1e6 "
    "+ CAST(c.completion_tokens AS DOUBLE) * p.output / 1e6 END"
)
_REASONING_COST = (
    "CAST(least(c.reasoning_tokens, c.completion_tokens) AS DOUBLE) "
    "* coalesce(p.output, 0.0) / 1e6"
)


class AnalyticsEngine:
    """DuckDB tables over the log files of some folders, kept up to date.

    Args:
        folders: the log folders; a thread id present in several is one
            thread.
        table: prices; ``None`` loads them (``$EDITORIAL_AI_PRICES`` too).
        snapshots: also load ``input_state``, ``output_state`` and
            ``interrupt_value`` (as JSON) into ``node_runs``: slower and
            bigger, for ``sql --snapshots``.
        threads: DuckDB worker threads; ``None``: one per core.
        cache: a folder to keep the tables in between processes (the CLI
            passes :func:`default_cache_dir`); ``None``: in memory only.
            The next engine over the same folders then reads only the files
            added or changed since. A cache made with other prices or another
            layout is rebuilt; one held by another process is not used.

    Raises:
        AnalyticsUnavailable: DuckDB is not installed.

    Example:
        >>> engine = AnalyticsEngine([Path("/tmp/no-such-logs")])
        >>> engine.query("SELECT count(*) FROM node_runs")[1]
        [(0,)]
    """

    def __init__(
        self,
        folders: Sequence[Path],
        *,
        table: PriceTable | None = None,
        snapshots: bool = False,
        threads: int | None = None,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        duckdb = require_duckdb()
        self.folders = list(folders)
        self.table = load_price_table() if table is None else table
        self.snapshots = snapshots
        self._files: dict[str, LogFile] = {}
        self._next_key = 0
        self._first_key = 0
        self.version = 0
        """Bumped whenever a refresh changed the tables."""
        self.answers: dict[Any, tuple[int, Any]] = {}
        """Computed answers by question, with the version they hold for."""
        self._lock = threading.Lock()
        self._error = duckdb.Error
        self._io_error = duckdb.IOException
        self.cache_path: Path | None = None
        self.connection = self._connect(duckdb, cache)
        self.connection.execute("SET TimeZone = 'UTC'")
        self.connection.execute("SET enable_progress_bar = false")
        # Rows need no order (run_key is a table's row id): less buffering.
        self.connection.execute("SET preserve_insertion_order = false")
        if threads is not None:
            self.connection.execute("SET threads = %d" % max(1, threads))
        if not self._reopen():
            self._create()
        self.refresh()

    # -- the cache ----------------------------------------------------------------

    def _connect(self, duckdb: Any, cache: str | os.PathLike[str] | None) -> Any:
        """A database in ``cache`` (a folder) named after the log folders, or
        in memory: without a cache folder, with snapshots, or when another
        process holds the cache file."""
        if cache is None or self.snapshots:
            return duckdb.connect(":memory:")
        key = "\n".join(sorted(os.path.realpath(folder) for folder in self.folders))
        name = "stats-%s.duckdb" % hashlib.sha256(key.encode()).hexdigest()[:20]
        try:
            os.makedirs(cache, mode=0o700, exist_ok=True)
            path = os.path.join(cache, name)
            connection = duckdb.connect(path)
            os.chmod(path, 0o600)  # derived from the logs: as private as they are
        except (OSError, duckdb.Error) as exc:
            warn_failure(
                "analytics:cache",
                "cannot use the analytics cache in %s (another process may hold "
                "it: %s); reading every file",
                cache,
                " ".join(str(exc).split())[:200],
            )
            return duckdb.connect(":memory:")
        self.cache_path = Path(cache) / name
        return connection

    def _stamp(self) -> str:
        """What the cached tables depend on: their layout and the prices."""
        prices = sorted(
            (
                name,
                price.input,
                price.output,
                price.cached_input,
                price.cache_write,
                price.cache_write_1h,
            )
            for name, price in self.table.models.items()
        )
        return "%d:%s" % (
            _LAYOUT,
            hashlib.sha256(repr(prices).encode()).hexdigest(),
        )

    def _reopen(self) -> bool:
        """Take up the cached tables if they hold for this layout and these
        prices; else clear the file. ``True`` when taken up."""
        if self.cache_path is None:
            return False
        execute = self.connection.execute
        tables = {row[0] for row in execute("SHOW TABLES").fetchall()}
        if "_meta" in tables:
            stamp = execute("SELECT stamp FROM _meta").fetchone()
            if stamp is not None and stamp[0] == self._stamp():
                for row in execute(
                    "SELECT path, folder, size, mtime_ns, inode FROM _files"
                ).fetchall():
                    self._files[row[0]] = LogFile(*row)
                top = execute("SELECT max(run_key) FROM _runs").fetchone()
                self._next_key = int(top[0]) if top and top[0] is not None else 0
                return True
        for view in ("node_runs", "llm_calls"):
            execute("DROP VIEW IF EXISTS %s" % view)
        for table in ("_meta", "_files", "_runs", "_calls", "_prices"):
            execute("DROP TABLE IF EXISTS %s" % table)
        return False

    # -- schema -----------------------------------------------------------------

    def _create(self) -> None:
        # Denormalised at load time (each call carries its node run's
        # columns and its cost; each run its calls' totals), so a question is
        # a scan of one table, without joins.
        snapshot_columns = "".join(
            ", %s JSON" % name for name in _SNAPSHOT_COLUMNS if self.snapshots
        )
        execute = self.connection.execute
        execute(
            "CREATE TABLE _runs (thread_id VARCHAR, node_name VARCHAR, "
            "status VARCHAR, started_at TIMESTAMPTZ, ended_at TIMESTAMPTZ, "
            "day DATE, duration_ms DOUBLE, step BIGINT, checkpoint_ns VARCHAR, "
            "invocation_id VARCHAR, attempt BIGINT, error_type VARCHAR, "
            "error_message VARCHAR, interrupt_id VARCHAR, llm_calls BIGINT, "
            "prompt_tokens HUGEINT, completion_tokens HUGEINT, "
            "total_tokens HUGEINT, cached_tokens HUGEINT, "
            "cache_creation_tokens HUGEINT, reasoning_tokens HUGEINT, "
            "unreported_calls BIGINT, unpriced_calls BIGINT, cost_usd DOUBLE, "
            "file VARCHAR, folder VARCHAR%s, run_key BIGINT)" % snapshot_columns
        )
        execute(
            "CREATE TABLE _calls (thread_id VARCHAR, node_name VARCHAR, "
            "node_status VARCHAR, node_started_at TIMESTAMPTZ, day DATE, "
            "call_index BIGINT, model_name VARCHAR, provider VARCHAR, "
            "status VARCHAR, error_type VARCHAR, started_at TIMESTAMPTZ, "
            "ended_at TIMESTAMPTZ, prompt_tokens HUGEINT, "
            "completion_tokens HUGEINT, total_tokens HUGEINT, "
            "cached_tokens HUGEINT, cache_creation_tokens HUGEINT, "
            "cache_creation_5m_tokens HUGEINT, cache_creation_1h_tokens HUGEINT, "
            "reasoning_tokens HUGEINT, token_details MAP(VARCHAR, HUGEINT), "
            "usage_reported BOOLEAN, routing_reason VARCHAR, run_id VARCHAR, "
            "priced_model VARCHAR, cost_usd DOUBLE, reasoning_cost_usd DOUBLE, "
            "file VARCHAR, folder VARCHAR, run_key BIGINT)"
        )
        execute(
            "CREATE TABLE _prices (model_name VARCHAR PRIMARY KEY, "
            "priced_model VARCHAR, input DOUBLE, output DOUBLE, "
            "cached_input DOUBLE, cache_write DOUBLE, cache_write_1h DOUBLE)"
        )
        execute("CREATE TABLE _meta (stamp VARCHAR)")
        execute("INSERT INTO _meta VALUES ($stamp)", {"stamp": self._stamp()})
        execute(
            "CREATE TABLE _files (path VARCHAR, folder VARCHAR, size BIGINT, "
            "mtime_ns HUGEINT, inode HUGEINT)"
        )
        execute("CREATE VIEW node_runs AS SELECT * FROM _runs")
        execute("CREATE VIEW llm_calls AS SELECT * FROM _calls")

    # -- loading ----------------------------------------------------------------

    def _read(self, files: list[LogFile]) -> None:
        """Read ``files`` into the temporary table ``_read``: one row per
        valid line, with the head columns (and snapshots if wanted)."""
        execute = self.connection.execute
        paths = {"files": [item.path for item in files]}
        columns = (
            "thread_id, node_name, status, started_at, ended_at, step, "
            "checkpoint_ns, invocation_id, attempt, error_type, error_message, "
            "interrupt_id, token_usage"
        )
        if self.snapshots:
            execute(
                "CREATE OR REPLACE TEMP TABLE _read AS SELECT filename AS file, "
                "%s, %s FROM read_json($files, format = 'newline_delimited', "
                "ignore_errors = true, filename = true, maximum_object_size = %d, "
                "columns = %s) WHERE %s"
                % (
                    columns,
                    ", ".join(_SNAPSHOT_COLUMNS),
                    _MAX_LINE,
                    _struct_literal({**_HEAD_COLUMNS, **_SNAPSHOT_COLUMNS}),
                    _VALID,
                ),
                paths,
            )
            return
        # Most of a line's bytes are its snapshots, which come after every
        # head field (the writer serialises NodeRunHead's fields first, then
        # input_state, output_state, interrupt_value, then the computed
        # totals). So for a whole line of the writer (it ends with the last
        # computed total, so it is not torn) only its head, up to
        # ',"input_state":', is parsed as JSON (inside a JSON string those
        # quotes would be escaped). Any other line (hand-written, older, torn)
        # is parsed whole. The heads are cut out in Python (_write_heads:
        # memchr-speed searches over each file, mapped, so the snapshot bytes
        # are never copied) into a private temporary file that DuckDB reads;
        # on the 1 GB benchmark history this is several times faster than
        # DuckDB scanning the whole lines itself. try() makes a line that is
        # not JSON a NULL, as read_json's ignore_errors does, and a field of
        # the wrong type reads as NULL. Each step is its own table, so the
        # JSON is parsed once, not once per column.
        handle, heads = tempfile.mkstemp(prefix="editorial-ai-heads-", suffix=".txt")
        try:
            with os.fdopen(handle, "wb") as out:
                written = _write_heads(paths["files"], out)
            if written:
                execute(
                    "CREATE OR REPLACE TEMP TABLE _heads AS SELECT "
                    "$files[idx + 1] AS file, head FROM read_csv($heads, "
                    "columns = {'idx': 'BIGINT', 'head': 'VARCHAR'}, "
                    "delim = chr(1), quote = '', escape = '', header = false, "
                    "new_line = '\\n', strict_mode = false, "
                    "auto_detect = false, max_line_size = %d, ignore_errors = true) "
                    "WHERE head IS NOT NULL AND idx IS NOT NULL" % _MAX_LINE,
                    {**paths, "heads": heads},
                )
            else:
                execute(
                    "CREATE OR REPLACE TEMP TABLE _heads AS SELECT "
                    "NULL::VARCHAR AS file, NULL::VARCHAR AS head WHERE false"
                )
        finally:
            os.unlink(heads)
        execute(
            "CREATE OR REPLACE TEMP TABLE _parsed AS SELECT file, "
            "try(from_json(head, '%s')) AS h FROM _heads" % _HEAD_SCHEMA
        )
        execute("DROP TABLE _heads")
        execute(
            "CREATE OR REPLACE TEMP TABLE _read AS SELECT file, %s "
            "FROM (SELECT file, h.* FROM _parsed WHERE h IS NOT NULL) WHERE %s"
            % (columns, _VALID)
        )
        execute("DROP TABLE _parsed")

    def _load(self, files: list[LogFile]) -> None:
        """Read ``files`` into the tables (their old rows are gone already)."""
        execute = self.connection.execute
        snapshots = [name for name in _SNAPSHOT_COLUMNS if self.snapshots]
        self._first_key = self._next_key
        self._read(files)
        # Keys from the table's row ids: a window (row_number) over the read
        # would hold every line in memory first.
        execute(
            "CREATE OR REPLACE TEMP TABLE _batch AS "
            "SELECT $base + rowid + 1 AS run_key, * FROM _read",
            {"base": self._next_key},
        )
        execute("DROP TABLE _read")
        top = execute("SELECT max(run_key) FROM _batch").fetchone()
        if top is not None and top[0] is not None:
            self._next_key = int(top[0])
        # A missing count is 0 and a missing usage_reported true, as in
        # TokenUsage; total_tokens left at 0 is prompt + completion, at most
        # MAX_COUNT. The 5-minute / 1-hour split stays NULL where not reported.
        prompt, completion = _count("u.prompt_tokens"), _count("u.completion_tokens")
        execute(
            "CREATE OR REPLACE TEMP TABLE _batch_calls AS SELECT run_key, "
            "call_index, u.model_name, u.provider, "
            "coalesce(u.status, 'success') AS status, u.error_type, u.started_at, "
            "u.ended_at, %s AS prompt_tokens, %s AS completion_tokens, "
            "CASE WHEN coalesce(u.total_tokens, 0) = 0 THEN least(%s + %s, %d) "
            "ELSE u.total_tokens END AS total_tokens, %s AS cached_tokens, "
            "%s AS cache_creation_tokens, "
            "u.cache_creation_5m_tokens::HUGEINT AS cache_creation_5m_tokens, "
            "u.cache_creation_1h_tokens::HUGEINT AS cache_creation_1h_tokens, "
            "%s AS reasoning_tokens, u.token_details, "
            "coalesce(u.usage_reported, true) AS usage_reported, "
            "u.routing_reason, u.run_id "
            "FROM (SELECT run_key, unnest(token_usage) AS u, "
            "generate_subscripts(token_usage, 1) AS call_index FROM _batch "
            "WHERE token_usage IS NOT NULL) WHERE u IS NOT NULL"
            % (
                prompt,
                completion,
                prompt,
                completion,
                MAX_COUNT,
                _count("u.cached_tokens"),
                _count("u.cache_creation_tokens"),
                _count("u.reasoning_tokens"),
            )
        )
        self._price_new_models()
        execute(
            "CREATE OR REPLACE TEMP TABLE _folders AS "
            "SELECT unnest($paths) AS file, unnest($folders) AS folder",
            {
                "paths": [item.path for item in files],
                "folders": [item.folder for item in files],
            },
        )
        execute(
            "INSERT INTO _calls SELECT b.thread_id, b.node_name, "
            "b.status, b.started_at, CAST(b.started_at AS DATE), c.call_index, "
            "c.model_name, c.provider, c.status, c.error_type, c.started_at, "
            "c.ended_at, c.prompt_tokens, c.completion_tokens, c.total_tokens, "
            "c.cached_tokens, c.cache_creation_tokens, c.cache_creation_5m_tokens, "
            "c.cache_creation_1h_tokens, c.reasoning_tokens, c.token_details, "
            "c.usage_reported, c.routing_reason, c.run_id, p.priced_model, "
            "%s AS cost_usd, CASE WHEN cost_usd IS NOT NULL THEN %s END, "
            "b.file, f.folder, c.run_key "
            "FROM _batch_calls c JOIN _batch b USING (run_key) "
            "LEFT JOIN _prices p ON p.model_name = c.model_name "
            "LEFT JOIN _folders f ON f.file = b.file" % (_CALL_COST, _REASONING_COST)
        )
        # Times are read as the microseconds Python keeps, so durations equal
        # NodeRunLog.duration_ms: (ended - started) / 1e6 s, times 1000.
        execute(
            "INSERT INTO _runs SELECT b.thread_id, b.node_name, b.status, "
            "b.started_at, b.ended_at, CAST(b.started_at AS DATE), "
            "(epoch_us(b.ended_at) - epoch_us(b.started_at)) / 1000000.0 * 1000, "
            "b.step, b.checkpoint_ns, b.invocation_id, b.attempt, b.error_type, "
            "b.error_message, b.interrupt_id, coalesce(a.llm_calls, 0), "
            "coalesce(a.prompt_tokens, 0), coalesce(a.completion_tokens, 0), "
            "coalesce(a.total_tokens, 0), coalesce(a.cached_tokens, 0), "
            "coalesce(a.cache_creation_tokens, 0), "
            "coalesce(a.reasoning_tokens, 0), coalesce(a.unreported_calls, 0), "
            "coalesce(a.unpriced_calls, 0), "
            "CASE WHEN a.llm_calls IS NULL THEN 0.0 ELSE a.cost_usd END, "
            "b.file, f.folder%s, b.run_key FROM _batch b "
            "LEFT JOIN (SELECT run_key, count(*) AS llm_calls, "
            "sum(prompt_tokens) AS prompt_tokens, "
            "sum(completion_tokens) AS completion_tokens, "
            "sum(total_tokens) AS total_tokens, "
            "sum(cached_tokens) AS cached_tokens, "
            "sum(cache_creation_tokens) AS cache_creation_tokens, "
            "sum(reasoning_tokens) AS reasoning_tokens, "
            "count(*) FILTER (WHERE NOT usage_reported) AS unreported_calls, "
            "count(*) - count(cost_usd) AS unpriced_calls, "
            "CASE WHEN count(cost_usd) > 0 THEN fsum(cost_usd) END AS cost_usd "
            "FROM _calls WHERE run_key > $low GROUP BY run_key) a "
            "USING (run_key) LEFT JOIN _folders f ON f.file = b.file"
            % "".join(", b." + name for name in snapshots),
            {"low": self._first_key},
        )
        for name in ("_batch", "_batch_calls", "_folders"):
            execute("DROP TABLE %s" % name)

    def _price_new_models(self) -> None:
        """Resolve each model name not seen before to its rates, with the
        price table's own rules (``PriceTable.price``), into ``_prices``."""
        names = self.connection.execute(
            "SELECT DISTINCT model_name FROM _batch_calls "
            "WHERE model_name IS NOT NULL "
            "AND model_name NOT IN (SELECT model_name FROM _prices)"
        ).fetchall()
        rows = [_price_row(self.table, name) for (name,) in names]
        if rows:
            self.connection.execute(
                "INSERT INTO _prices SELECT %s"
                % ", ".join("unnest($%s)" % key for key in _PRICE_COLUMNS),
                {
                    key: [row[index] for row in rows]
                    for index, key in enumerate(_PRICE_COLUMNS)
                },
            )

    def refresh(self) -> int:
        """Catch up with the folders: re-read the files added or changed since
        the last refresh, forget the removed ones. Returns the number of files
        read."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> int:
        for _ in range(5):
            listing = {item.path: item for item in list_log_files(self.folders)}
            changed = [
                item for path, item in listing.items() if self._files.get(path) != item
            ]
            gone = [path for path in self._files if path not in listing]
            if not changed and not gone:
                return 0
            self.connection.execute("BEGIN TRANSACTION")
            try:
                stale = gone + [
                    item.path for item in changed if item.path in self._files
                ]
                if stale:
                    self.connection.execute(
                        "CREATE OR REPLACE TEMP TABLE _stale AS "
                        "SELECT unnest($paths) AS file",
                        {"paths": stale},
                    )
                    self.connection.execute(
                        "DELETE FROM _calls WHERE file IN (SELECT file FROM _stale)"
                    )
                    self.connection.execute(
                        "DELETE FROM _runs WHERE file IN (SELECT file FROM _stale)"
                    )
                if changed:
                    self._load(changed)
                self._remember(stale, changed)
                self.connection.execute("COMMIT")
            except (self._io_error, _FileGone):
                # A file went away between listing and reading: list again.
                self.connection.execute("ROLLBACK")
                continue
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.version += 1
            for path in gone:
                del self._files[path]
            self._files.update((item.path, item) for item in changed)
            return len(changed)
        return 0

    def _remember(self, stale: list[str], changed: list[LogFile]) -> None:
        """Keep the state of the files read, so a later process (through the
        cache) reads only what changed since."""
        execute = self.connection.execute
        if stale:
            execute("DELETE FROM _files WHERE path IN (SELECT file FROM _stale)")
        if changed:
            execute(
                "INSERT INTO _files SELECT unnest($paths), unnest($folders), "
                "unnest($sizes), unnest($times), unnest($inodes)",
                {
                    "paths": [item.path for item in changed],
                    "folders": [item.folder for item in changed],
                    "sizes": [item.size for item in changed],
                    "times": [item.mtime_ns for item in changed],
                    "inodes": [item.inode for item in changed],
                },
            )

    # -- asking -----------------------------------------------------------------

    @property
    def file_count(self) -> int:
        """Files read (as of the last refresh)."""
        return len(self._files)

    def query(
        self, sql: str, parameters: dict[str, Any] | Sequence[Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql`` on the current tables: ``(column names, rows)``.

        Call :meth:`refresh` first to see what was written since.
        """
        with self._lock:
            cursor = self.connection.execute(sql, parameters)
            names = [item[0] for item in cursor.description or []]
            return names, cursor.fetchall()

    def for_user_sql(self) -> Any:
        """A connection for SQL written by a user: the cache file reopened
        read-only (a ``DROP`` cannot damage it), or the in-memory database.
        The engine is closed when it had a cache."""
        if self.cache_path is None:
            return self.connection
        self.close()
        duckdb = require_duckdb()
        connection = duckdb.connect(str(self.cache_path), read_only=True)
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET enable_progress_bar = false")
        return connection

    def close(self) -> None:
        """Release the connection."""
        with self._lock:
            self.connection.close()


def open_engine(
    folders: Sequence[str | os.PathLike[str]] | None = None,
    **options: Any,
) -> AnalyticsEngine:
    """An :class:`AnalyticsEngine` over ``folders`` (``--log-dir`` values:
    paths or globs; none: the default folder).

    Example:
        >>> open_engine(["/tmp/no-such-logs"]).file_count
        0
    """
    return AnalyticsEngine(resolve_log_dirs(folders), **options)
