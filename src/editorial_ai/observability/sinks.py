"""Where finished node runs go: sinks, with the JSONL file as the default.

The node wrapper hands every finished ``NodeRunLog`` to :func:`emit`, which
gives it to each configured sink in turn. A sink is any object with an
``export(log)`` method (``force_flush()`` and ``shutdown()`` are optional, as
in OpenTelemetry's exporters; so is ``end_invocation(...)``, told when a graph
run ends, see :mod:`.invocations`). A sink that raises costs only itself: the
failure is one warning, the node and the other sinks are unaffected.

Which sinks, in order of precedence:

1. set in code: :func:`set_sinks` replaces the list, :func:`add_sink` appends
   to it (starting from the environment's list the first time);
2. ``$EDITORIAL_AI_SINKS``: a comma-separated list of ``jsonl``, ``otel``
   (needs the ``otel`` extra) or ``package.module:attribute`` naming a sink
   object or a factory that returns one; read when used, so a change takes
   effect on the next node run;
3. the default: ``jsonl`` alone.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from . import _deferred, _env
from ._internal import warn_failure
from .models import NodeRunLog, build_node_run_log
from .storage import append_fields, append_node_log


@runtime_checkable
class Sink(Protocol):
    """Receives every finished node run."""

    def export(self, log: NodeRunLog) -> None:
        """Take one node run. May raise: the failure is contained."""


class JsonlSink:
    """The default sink: one line per node run in the thread's JSONL file.

    Example:
        >>> set_sinks([JsonlSink()])
    """

    def export(self, log: NodeRunLog) -> None:
        """Append ``log`` to its thread's file (never raises)."""
        append_node_log(log)

    stores_graph_io = True
    """Told about graph runs only to keep their input and output (see
    :mod:`.invocations`), so only when they are captured."""

    def end_invocation(
        self,
        thread_id: str,
        invocation_id: str,
        graph_input: Any = None,
        graph_output: Any = None,
    ) -> None:
        """Keep a graph run's input and final output for ``export-otel``
        (see :mod:`.invocations`; never raises)."""
        from .invocations import append_graph_run

        append_graph_run(thread_id, invocation_id, graph_input, graph_output)

    def __repr__(self) -> str:
        return "JsonlSink()"


_JSONL = JsonlSink()
_DEFAULT: list[Any] = [_JSONL]
_lock = threading.Lock()
_configured: list[Any] | None = None
_from_env: tuple[str | None, list[Any]] | None = None


def _otel_sink() -> Any:
    from .otel import OpenTelemetrySink

    return OpenTelemetrySink()


_NAMED: dict[str, Callable[[], Any]] = {"jsonl": lambda: _JSONL, "otel": _otel_sink}


def _resolve(name: str) -> Any:
    factory = _NAMED.get(name)
    if factory is not None:
        return factory()
    module_name, _, attribute = name.partition(":")
    if not attribute:
        raise ValueError("expected jsonl, otel or module:attribute, got %r" % name)
    target = getattr(importlib.import_module(module_name), attribute)
    is_object = hasattr(target, "export") and not isinstance(target, type)
    sink = target if is_object else target()
    if not hasattr(sink, "export"):
        raise TypeError("%s has no export(log) method" % name)
    return sink


def _env_sinks() -> list[Any]:
    global _from_env
    raw = _env.get(_env.SINKS)
    cached = _from_env
    if cached is not None and cached[0] == raw:
        return cached[1]
    spec = (raw or "").strip()
    sinks: list[Any] = []
    for name in (part.strip() for part in spec.split(",")):
        if not name:
            continue
        try:
            sinks.append(_resolve(name))
        except Exception as exc:  # a bad setting warns and falls back
            warn_failure(
                "sinks:" + name,
                "%s: cannot use sink %r (%s: %s); skipped",
                _env.SINKS,
                name,
                type(exc).__name__,
                exc,
            )
    if not sinks:
        sinks = _DEFAULT
    _from_env = (raw, sinks)
    return sinks


def get_sinks() -> list[Any]:
    """The sinks node runs go to now.

    Example:
        >>> get_sinks()
        [JsonlSink()]
    """
    configured = _configured
    return list(configured) if configured is not None else list(_env_sinks())


def set_sinks(sinks: Iterable[Any] | None) -> None:
    """Replace the sinks; ``None`` goes back to ``$EDITORIAL_AI_SINKS``.

    Raises ``TypeError`` at once for an object without ``export``.

    Example:
        >>> set_sinks([JsonlSink()])
        >>> set_sinks(None)
    """
    global _configured
    if sinks is None:
        with _lock:
            _configured = None
        return
    chosen = list(sinks)
    for sink in chosen:
        if not callable(getattr(sink, "export", None)):
            raise TypeError("a sink needs an export(log) method: %r" % (sink,))
    with _lock:
        _configured = chosen


def add_sink(sink: Any) -> None:
    """Add a sink after the current ones (JSONL stays unless replaced).

    Example:
        >>> class Printer:
        ...     def export(self, log): print(log.node_name)
        >>> add_sink(Printer())
        >>> set_sinks(None)
    """
    if not callable(getattr(sink, "export", None)):
        raise TypeError("a sink needs an export(log) method: %r" % (sink,))
    global _configured
    with _lock:
        _configured = [*(get_sinks() if _configured is None else _configured), sink]


def remove_sink(sink: Any) -> None:
    """Stop sending node runs to ``sink``."""
    global _configured
    with _lock:
        current = get_sinks() if _configured is None else _configured
        _configured = [s for s in current if s is not sink]


def emit(log: NodeRunLog) -> None:
    """Hand ``log`` to every sink; a failing sink costs only itself."""
    configured = _configured
    sinks = configured if configured is not None else _env_sinks()
    if sinks is _DEFAULT:
        append_node_log(log)  # the common case, without a loop
        return
    for sink in sinks:
        if sink is _JSONL:
            append_node_log(log)
            continue
        try:
            sink.export(log)
        except Exception as exc:  # contain the sink: the node must not see it
            warn_failure(
                "sink:%s:%s" % (type(sink).__name__, type(exc).__name__),
                "sink %r failed: %s: %s; other sinks and the pipeline are unaffected",
                sink,
                type(exc).__name__,
                exc,
            )


def emit_fields(fields: dict[str, Any]) -> None:
    """:func:`emit` of the record whose fields are ``fields`` (every field,
    each of its type): with the JSONL file as the only sink, its line is
    written without building the ``NodeRunLog``; otherwise the record is
    built and emitted."""
    configured = _configured
    if configured is None:
        if _environ is not None and _environ.get(_SINKS_KEY) is None:
            append_fields(fields)  # nothing set: the default, in one lookup
            return
        configured = _env_sinks()
    if configured is _DEFAULT:
        append_fields(fields)
    else:
        emit(build_node_run_log(fields))


_environ = _env.environ_bytes
_SINKS_KEY = _env.key(_env.SINKS)


def flush_sinks(timeout_millis: int = 30_000) -> None:
    """Ask every sink that buffers (e.g. OpenTelemetry) to send what it holds,
    and write the lines queued under ``$EDITORIAL_AI_WRITE_DELAY_MS``."""
    _deferred.flush()
    for sink in get_sinks():
        flush = getattr(sink, "force_flush", None)
        if callable(flush):
            try:
                flush(timeout_millis)
            except Exception as exc:  # contained like export
                warn_failure("sink-flush", "sink %r flush failed: %s", sink, exc)
