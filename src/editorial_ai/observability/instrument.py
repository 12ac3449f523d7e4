"""Instrumenting a whole graph: every node recorded without decorating it.

``instrument(graph)`` takes a ``StateGraph`` builder, a compiled graph (a
prebuilt agent's too), an ``@entrypoint`` workflow or a ``@task``, and gives
every node function the recording ``node_wrapper`` gives, in place, so graphs
built by code you do not own leave the same records as decorated ones.

How LangGraph holds a node: a builder keeps ``StateNodeSpec.runnable``, a
compiled graph ``PregelNode.bound``, and for a function both are the same
``RunnableCallable`` whose ``func`` (sync) and ``afunc`` (async) LangGraph
calls. Those two attributes are replaced by ``node_wrapper``'s wrappers, which
keep the function's signature, kind and ``__wrapped__``; nothing else about the
node changes, and a graph compiled before or after sees the change. A
functional-API task is called through its ``func`` attribute, which is replaced
the same way.

What is reached:

- every node of the graph, of its builder, and of nested subgraphs (a
  compiled graph added as a node, or referred to by a node's code);
- the ``@task`` functions a node's, entrypoint's or task's code refers to by
  name (module globals and closures, also inside comprehensions);
- a subgraph node itself is not a record: its nodes are.

Nodes that are neither functions nor subgraphs (a ``prompt | model`` chain
added as a node) cannot be wrapped in place; ``instrument`` names them in one
warning, and ``TokenUsageCallbackHandler(record_nodes=True)`` records them.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ._internal import guard, logger
from .node_wrapper import is_recorded, is_task, node_wrapper

G = TypeVar("G")

_Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]


def _referenced(fn: Any) -> Iterator[Any]:
    """The objects ``fn``'s code refers to by name: globals and closures."""
    target = inspect.unwrap(fn) if callable(fn) else fn
    target = getattr(target, "__func__", target)  # bound methods
    code = getattr(target, "__code__", None)
    if not isinstance(code, types.CodeType):
        return
    names: set[str] = set()
    codes = [code]
    while codes:
        current = codes.pop()
        names.update(current.co_names)
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    module_globals = getattr(target, "__globals__", None) or {}
    for name in names:
        if name in module_globals:
            yield module_globals[name]
    for cell in getattr(target, "__closure__", None) or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue


class _Instrumenter:
    """One walk over a graph: wraps each function once, visits each object once."""

    def __init__(self, wrap: _Wrap) -> None:
        self.wrap = wrap
        self.visited: set[int] = set()
        self.not_wrapped: list[str] = []

    def visit(self, target: Any) -> None:
        from langgraph.graph import StateGraph
        from langgraph.pregel import Pregel

        if id(target) in self.visited:
            return
        self.visited.add(id(target))
        if isinstance(target, StateGraph):
            for name, spec in target.nodes.items():
                self.node(name, spec.runnable)
        elif isinstance(target, Pregel):
            for name, node in target.nodes.items():
                self.node(name, node.bound)
            builder = getattr(target, "builder", None)
            if isinstance(builder, StateGraph):
                self.visit(builder)
        elif is_task(target):
            target.func = self.function(target.func)

    def node(self, name: str, runnable: Any) -> None:
        from langchain_core.runnables import RunnableLambda
        from langgraph._internal._runnable import RunnableCallable
        from langgraph.pregel import Pregel
        from langgraph.pregel._read import DEFAULT_BOUND

        if runnable is DEFAULT_BOUND or name.startswith("__"):
            return  # LangGraph's own input node, shared by every graph
        if isinstance(runnable, Pregel):
            self.visit(runnable)
            return
        if id(runnable) in self.visited:
            return
        self.visited.add(id(runnable))
        if isinstance(runnable, RunnableCallable | RunnableLambda):
            for attribute in ("func", "afunc"):
                fn = getattr(runnable, attribute, None)
                if fn is not None:
                    setattr(runnable, attribute, self.function(fn))
        else:
            self.not_wrapped.append("%s (%s)" % (name, type(runnable).__name__))

    def function(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` wrapped, unless it records already; its tasks visited."""
        from langgraph.pregel import Pregel

        try:
            for value in _referenced(fn):
                if isinstance(value, Pregel) or is_task(value):
                    self.visit(value)
        except Exception as exc:  # reading foreign code objects: best effort
            logger.debug("instrument: could not read %r: %s", fn, exc)
        if is_recorded(fn):
            return fn
        return self.wrap(fn)


def instrument_with(target: G, wrap: _Wrap) -> G:
    """Wrap every node function of ``target`` with ``wrap``, in place.

    The walk reads LangGraph's internals; if they ever change under it, the
    failure is one warning and the graph runs, with the nodes reached so far
    recorded, instead of an exception at start-up.
    """
    instrumenter = _Instrumenter(wrap)
    with guard("instrument"):
        instrumenter.visit(target)
    if instrumenter.not_wrapped:
        logger.warning(
            "instrument: these nodes are not functions and are not recorded: %s; "
            "TokenUsageCallbackHandler(record_nodes=True) records them",
            ", ".join(instrumenter.not_wrapped),
        )
    return target


def instrument(
    graph: G,
    /,
    *,
    skip_if: Callable[[Any], Any] | None = None,
    capture_io: bool = True,
    **snapshot: Any,
) -> G:
    """Record every node of a graph, as ``node_wrapper`` records one node.

    Wraps, in place, every node function of a ``StateGraph`` builder or a
    compiled graph (a prebuilt agent's ``agent`` and ``tools`` nodes too),
    of its nested subgraphs, and the ``@task`` functions its code uses; for
    an ``@entrypoint`` workflow, the entrypoint and its tasks. Nodes already
    wrapped (by ``node_wrapper`` or an earlier ``instrument``) are left as
    they are, so calling it twice records each run once. The node names
    recorded are the names LangGraph runs them under.

    Args:
        graph: a ``StateGraph``, a compiled graph, an entrypoint or a task.
        skip_if: as ``node_wrapper``'s, applied to every node.
        capture_io: ``False`` records no state snapshots.
        **snapshot: ``node_wrapper``'s snapshot options (``snapshot_options``,
            ``max_snapshot_bytes``, ``redact``, ``redact_keys``, ``mask``,
            ``state_keys``).

    Returns:
        ``graph`` itself.

    Raises:
        TypeError: an unknown option, or ``graph`` is none of the above (a
            plain function wants ``node_wrapper``).

    Example:
        >>> from langgraph.graph import StateGraph, START, END
        >>> from typing_extensions import TypedDict
        >>> class State(TypedDict):
        ...     topic: str
        >>> def draft(state: State) -> State:
        ...     return {"topic": state["topic"] + "!"}
        >>> builder = StateGraph(State).add_node(draft)
        >>> graph = builder.add_edge(START, "draft").add_edge("draft", END).compile()
        >>> instrument(graph, redact_keys=("ssn",)) is graph
        True
        >>> graph.invoke({"topic": "AI"})["topic"]
        'AI!'
    """
    from langgraph.graph import StateGraph
    from langgraph.pregel import Pregel

    decorate = node_wrapper(skip_if=skip_if, capture_io=capture_io, **snapshot)
    if not (isinstance(graph, StateGraph | Pregel) or is_task(graph)):
        raise TypeError(
            "instrument: expected a StateGraph, a compiled graph, an entrypoint "
            "or a task, got %r (decorate a function with node_wrapper)" % (graph,)
        )
    return instrument_with(graph, decorate)


__all__ = ["instrument"]
