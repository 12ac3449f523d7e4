"""The graphs the benchmarks run, and the wrappers they compare.

Every workload builds the same graph once per variant: only how its nodes are
wrapped differs. ``baseline`` leaves them bare.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from editorial_ai.observability import (
    NodeRunLog,
    TokenUsage,
    TokenUsageCallbackHandler,
    node_wrapper,
)
from editorial_ai.observability.storage import encode_line

Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]


class State(TypedDict, total=False):
    topic: str
    body: str
    step: int
    notes: str


def naive_wrapper(log_path: str) -> Wrap:
    """The reference: snapshot with pydantic_core, one os.write, nothing else."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = fn.__name__
        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(state: Any, *args: Any, **kwargs: Any) -> Any:
                started = datetime.now(UTC)
                clock = time.perf_counter_ns()
                before = pydantic_core.to_jsonable_python(state, fallback=repr)
                result = await fn(state, *args, **kwargs)
                _naive_write(log_path, name, started, clock, before, result)
                return result

            return awrapper

        @functools.wraps(fn)
        def wrapper(state: Any, *args: Any, **kwargs: Any) -> Any:
            started = datetime.now(UTC)
            clock = time.perf_counter_ns()
            before = pydantic_core.to_jsonable_python(state, fallback=repr)
            result = fn(state, *args, **kwargs)
            _naive_write(log_path, name, started, clock, before, result)
            return result

        return wrapper

    return wrap


def _naive_write(
    path: str, name: str, started: datetime, clock: int, before: Any, result: Any
) -> None:
    record = {
        "node_name": name,
        "started_at": started,
        "duration_ms": (time.perf_counter_ns() - clock) / 1e6,
        "input_state": before,
        "output_state": pydantic_core.to_jsonable_python(result, fallback=repr),
    }
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, pydantic_core.to_json(record) + b"\n")
    finally:
        os.close(fd)


def ours(**options: Any) -> Wrap:
    return lambda fn: node_wrapper(**options)(fn)


@dataclass
class Workload:
    """A graph shape: ``build(wrap)`` gives a compiled graph."""

    name: str
    nodes: int
    build: Callable[[Wrap | None], Any]
    inputs: dict[str, Any]
    is_async: bool = False
    with_llm: bool = False

    def run(self, graph: Any, config: dict[str, Any]) -> Any:
        if self.is_async:
            return asyncio.run(graph.ainvoke(self.inputs, config))
        return graph.invoke(self.inputs, config)


def _chain(
    count: int, prefix: str, make_node: Callable[[int], Callable[..., Any]]
) -> Callable[[Wrap | None], Any]:
    """A graph of ``count`` nodes in a line, node i made by ``make_node(i)``."""

    def build(wrap: Wrap | None) -> Any:
        builder = StateGraph(State)
        previous = START
        for index in range(count):
            name = "%s%02d" % (prefix, index)
            node = make_node(index)
            node.__name__ = name
            builder.add_node(name, wrap(node) if wrap else node)
            builder.add_edge(previous, name)
            previous = name
        builder.add_edge(previous, END)
        return builder.compile()

    return build


def _line(count: int, is_async: bool) -> Callable[[Wrap | None], Any]:
    def make_node(index: int) -> Callable[..., Any]:
        if is_async:

            async def node(state: State) -> dict[str, Any]:
                return {"step": index}

            return node

        def sync_node(state: State) -> dict[str, Any]:
            return {"step": index}

        return sync_node

    return _chain(count, "n", make_node)


def _fan_out(branches: int, is_async: bool) -> Callable[[Wrap | None], Any]:
    def build(wrap: Wrap | None) -> Any:
        builder = StateGraph(State)
        names = []
        for index in range(branches):
            name = "branch%d" % index
            if is_async:

                async def node(state: State, index: int = index) -> dict[str, Any]:
                    return {}

            else:

                def node(state: State, index: int = index) -> dict[str, Any]:  # type: ignore[misc]
                    return {}

            node.__name__ = name
            builder.add_node(name, wrap(node) if wrap else node)
            builder.add_edge(START, name)
            names.append(name)

        def join(state: State) -> dict[str, Any]:
            return {"notes": "joined"}

        builder.add_node("join", wrap(join) if wrap else join)
        builder.add_edge(names, "join").add_edge("join", END)
        return builder.compile()

    return build


def fake_model(prompt_tokens: int, completion_tokens: int) -> GenericFakeChatModel:
    reply = AIMessage(
        content="a short answer",
        usage_metadata={
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        response_metadata={"model_name": "gpt-4o-mini"},
    )
    return GenericFakeChatModel(messages=itertools.repeat(reply))


LLM_PROMPT, LLM_COMPLETION = 120, 30


def _llm_line(count: int, is_async: bool) -> Callable[[Wrap | None], Any]:
    def make_node(index: int) -> Callable[..., Any]:
        model = fake_model(LLM_PROMPT, LLM_COMPLETION)
        if is_async:

            async def node(state: State) -> dict[str, Any]:
                answer = await model.ainvoke("summarise: " + state["topic"])
                return {"notes": answer.content}

            return node

        def sync_node(state: State) -> dict[str, Any]:
            answer = model.invoke("summarise: " + state["topic"])
            return {"notes": answer.content}

        return sync_node

    return _chain(count, "llm", make_node)


def workloads(quick: bool = False) -> list[Workload]:
    small = {"topic": "AI in local newsrooms", "body": "x" * 60, "step": 0}
    kb100 = {"topic": "AI", "body": "y" * 100_000, "step": 0}
    mb1 = {"topic": "AI", "body": "z" * 1_000_000, "step": 0}
    # A state whose snapshot is right at the default bound (256 KiB).
    at_bound = {"topic": "AI", "body": "w" * (256 * 1024 - 64), "step": 0}
    found = []
    for is_async in (False, True):
        suffix = "async" if is_async else "sync"
        found += [
            Workload(
                "line50-small-" + suffix, 50, _line(50, is_async), small, is_async
            ),
            Workload(
                "line50-100KB-" + suffix, 50, _line(50, is_async), kb100, is_async
            ),
            Workload(
                "line20-256KB-" + suffix, 20, _line(20, is_async), at_bound, is_async
            ),
            Workload("line20-1MB-" + suffix, 20, _line(20, is_async), mb1, is_async),
            Workload("fanout8-" + suffix, 9, _fan_out(8, is_async), small, is_async),
            Workload(
                "llm10-" + suffix, 10, _llm_line(10, is_async), small, is_async, True
            ),
        ]
    if quick:
        found = [w for w in found if "1MB" not in w.name and "256KB" not in w.name]
    return found


def handler_config(thread_id: str, with_handler: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
    if with_handler:
        config["callbacks"] = [TokenUsageCallbackHandler()]
    return config


def synthetic_line(thread_id: str, run: int, input_state: dict[str, Any]) -> bytes:
    """The line of the ``run``-th run of a synthetic thread (9 nodes in turn,
    one 980-token call each, 0.7 ms apart): the big thread files the memory
    benchmarks read."""
    began = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=run)
    return encode_line(
        NodeRunLog(
            thread_id=thread_id,
            node_name="node%d" % (run % 9),
            status="success",
            started_at=began,
            ended_at=began + timedelta(microseconds=700),
            token_usage=[
                TokenUsage(prompt_tokens=900, completion_tokens=80, model_name="gpt-4o")
            ],
            input_state=input_state,
            output_state={"summary": "s" * 200},
            step=run,
        )
    )
