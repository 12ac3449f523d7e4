"""node_wrapper on real compiled LangGraph graphs."""

from __future__ import annotations

import asyncio
import operator
import traceback
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphInterrupt
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command, RetryPolicy, Send, StreamWriter, interrupt
from typing_extensions import TypedDict

from editorial_ai.observability import node_wrapper, read_node_logs

from . import _future_nodes


class State(TypedDict, total=False):
    topic: str
    draft: str
    notes: Annotated[list[str], operator.add]
    thread_id: str


def line_graph(*nodes: Any, checkpointer: Any = None) -> Any:
    """START -> nodes[0] -> ... -> END."""
    builder = StateGraph(State)
    previous = START
    for node in nodes:
        builder.add_node(node)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=checkpointer)


def config(thread_id: str = "t1", **extra: Any) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}, **extra}


# -- spellings and transparency ------------------------------------------------


def test_four_spellings_record_the_right_names() -> None:
    """node_wrapper('n')(fn), @node_wrapper('n'), @node_wrapper(), @node_wrapper."""

    def plain(state: State) -> dict[str, Any]:
        return {"notes": ["plain"]}

    first = node_wrapper("first_named")(plain)

    @node_wrapper("second_named")
    def second(state: State) -> dict[str, Any]:
        return {"notes": ["second"]}

    @node_wrapper()
    def third(state: State) -> dict[str, Any]:
        return {"notes": ["third"]}

    @node_wrapper
    def fourth(state: State) -> dict[str, Any]:
        return {"notes": ["fourth"]}

    builder = StateGraph(State)
    builder.add_node("a", first).add_node("b", second)
    builder.add_node("graph_name_c", third).add_node(fourth)
    builder.add_edge(START, "a").add_edge("a", "b").add_edge("b", "graph_name_c")
    builder.add_edge("graph_name_c", "fourth").add_edge("fourth", END)
    result = builder.compile().invoke({"topic": "x"}, config())
    assert result["notes"] == ["plain", "second", "third", "fourth"]
    names = [log.node_name for log in read_node_logs("t1")]
    assert names == ["first_named", "second_named", "graph_name_c", "fourth"]
    assert fourth.__name__ == "fourth" and fourth.__doc__ is None


def test_same_return_object() -> None:
    """The node's return value is handed back as the very same object."""
    returned: dict[str, Any] = {"draft": "d"}

    def node(state: State) -> dict[str, Any]:
        return returned

    assert node_wrapper(node)({"topic": "x"}) is returned


def test_same_exception_object_with_traceback() -> None:
    """The node's exception propagates as the same object, its traceback intact."""
    boom = ValueError("boom")

    @node_wrapper
    def failing(state: State) -> dict[str, Any]:
        raise boom

    with pytest.raises(ValueError) as caught:
        line_graph(failing).invoke({"topic": "x"}, config())
    assert caught.value is boom
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert frames[-1].name == "failing" and "raise boom" in (frames[-1].line or "")
    (log,) = read_node_logs("t1")
    assert log.status == "error" and log.error_type == "ValueError"
    assert log.error_message == "boom"
    assert log.output_state is None
    lines = (log.error_traceback or "").splitlines()
    assert 2 <= len(lines) <= 5
    assert "raise boom" in log.error_traceback  # type: ignore[operator]
    assert lines[-1] == "ValueError: boom"


def test_async_node_same_result_and_exception() -> None:
    """Async nodes stay coroutines, return the same object, re-raise the same error."""
    returned: dict[str, Any] = {"draft": "async"}
    error = RuntimeError("async boom")

    @node_wrapper
    async def ok(state: State) -> dict[str, Any]:
        await asyncio.sleep(0)
        return returned

    @node_wrapper
    async def bad(state: State) -> dict[str, Any]:
        raise error

    assert asyncio.iscoroutinefunction(ok)
    assert asyncio.run(ok({"topic": "x"})) is returned
    with pytest.raises(RuntimeError) as caught:
        asyncio.run(line_graph(bad).ainvoke({"topic": "x"}, config("t2")))
    assert caught.value is error
    assert asyncio.run(line_graph(ok).ainvoke({"topic": "x"}, config()))["draft"] == (
        "async"
    )
    assert [log.status for log in read_node_logs("t1")] == ["success"]
    assert [log.status for log in read_node_logs("t2")] == ["error"]


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_base_exceptions_pass_through(exc_type: type[BaseException]) -> None:
    """KeyboardInterrupt and SystemExit reach the caller unchanged."""
    raised = exc_type()

    @node_wrapper("n")
    def node(state: State) -> None:
        raise raised

    with pytest.raises(exc_type) as caught:
        node({"thread_id": "t1"})
    assert caught.value is raised
    assert read_node_logs("t1")[0].error_type == exc_type.__name__


def test_cancelled_async_node_is_recorded_and_reraised() -> None:
    """A cancelled async node writes an error record and stays cancelled."""
    started = asyncio.Event()

    @node_wrapper("slow")
    async def slow(state: State) -> dict[str, Any]:
        started.set()
        await asyncio.Event().wait()
        return {}

    async def main() -> None:
        task = asyncio.create_task(slow({"thread_id": "t1"}))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (log,) = read_node_logs("t1")
    assert (log.status, log.error_type) == ("error", "CancelledError")


def test_injected_arguments_still_arrive() -> None:
    """config, runtime, writer and store reach a wrapped node."""
    seen: dict[str, Any] = {}

    @node_wrapper
    def with_config(state: State, config: RunnableConfig) -> dict[str, Any]:
        seen["config"] = config["configurable"]["thread_id"]
        return {}

    @node_wrapper
    def with_runtime(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        seen["runtime"] = runtime.store is not None
        return {}

    @node_wrapper
    def with_writer(state: State, writer: StreamWriter) -> dict[str, Any]:
        writer({"progress": 1})
        return {}

    @node_wrapper
    async def with_store(state: State, *, store: BaseStore) -> dict[str, Any]:
        seen["store"] = store is not None
        return {}

    graph = StateGraph(State)
    for node in (with_config, with_runtime, with_writer, with_store):
        graph.add_node(node)
    graph.add_edge(START, "with_config").add_edge("with_config", "with_runtime")
    graph.add_edge("with_runtime", "with_writer").add_edge("with_writer", "with_store")
    compiled = graph.add_edge("with_store", END).compile(store=InMemoryStore())
    custom = [
        chunk
        for mode, chunk in asyncio.run(_collect(compiled, config()))
        if mode == "custom"
    ]
    assert seen == {"config": "t1", "runtime": True, "store": True}
    assert custom == [{"progress": 1}]
    assert len(read_node_logs("t1")) == 4


async def _collect(graph: Any, cfg: RunnableConfig) -> list[Any]:
    return [
        item
        async for item in graph.astream(
            {"topic": "x"}, cfg, stream_mode=["custom", "values"]
        )
    ]


def test_private_input_schema_under_postponed_annotations() -> None:
    """A node typed with its own input schema in a __future__ module still works."""

    class Full(TypedDict, total=False):
        topic: str
        note: str
        draft: str

    builder = StateGraph(Full)
    builder.add_node("reads_private", _future_nodes.reads_private)
    builder.add_edge(START, "reads_private").add_edge("reads_private", END)
    result = builder.compile().invoke(
        {"topic": "AI", "note": "n1", "other": "not in the private schema"},
        config("t9"),
    )
    assert result["draft"] == "AI|n1|t9"
    (log,) = read_node_logs("t9")
    assert log.input_state == {"topic": "AI", "note": "n1"}


# -- what one record holds -----------------------------------------------------


def test_one_record_per_execution_with_langgraph_metadata() -> None:
    """thread id, node name, step, namespace, UTC times and duration are recorded."""

    @node_wrapper
    def draft(state: State) -> dict[str, Any]:
        return {"draft": "text"}

    @node_wrapper
    def review(state: State) -> dict[str, Any]:
        return {"notes": ["ok"]}

    line_graph(draft, review).invoke({"topic": "x"}, config())
    first, second = read_node_logs("t1")
    assert (first.node_name, second.node_name) == ("draft", "review")
    assert (first.step, second.step) == (1, 2)
    assert first.checkpoint_ns and first.checkpoint_ns.startswith("draft:")
    assert first.started_at.tzinfo == UTC
    assert first.ended_at >= first.started_at
    assert second.started_at >= first.started_at
    assert first.attempt == 1
    assert first.output_state == {"draft": "text"}


def test_thread_id_falls_back_to_state_then_unknown() -> None:
    """Without a configured thread id the state's thread_id, else 'unknown'."""

    @node_wrapper
    def node(state: State) -> dict[str, Any]:
        return {}

    line_graph(node).invoke({"topic": "x", "thread_id": "from-state"})
    line_graph(node).invoke({"topic": "x"})
    assert len(read_node_logs("from-state")) == 1
    assert len(read_node_logs("unknown")) == 1


def test_input_captured_before_the_node_mutates_it() -> None:
    """The input snapshot is the state as received, not as the node left it."""

    @node_wrapper("mutator")
    def mutator(state: dict[str, Any]) -> dict[str, Any]:
        state["topic"] = "changed"
        state["notes"].append("sneaky")
        return {"draft": "d"}

    state = {"topic": "original", "notes": ["a"], "thread_id": "t1"}
    mutator(state)
    (log,) = read_node_logs("t1")
    assert log.input_state == {"topic": "original", "notes": ["a"], "thread_id": "t1"}


def test_command_update_and_goto_are_the_output() -> None:
    """A Command's update and goto (names and Sends) are recorded."""

    @node_wrapper
    def router(state: State) -> Command[Any]:
        return Command(
            update={"draft": "routed"}, goto=[Send("worker", {"topic": "w"})]
        )

    @node_wrapper
    def worker(state: State) -> dict[str, Any]:
        return {"notes": [state["topic"]]}

    builder = StateGraph(State)
    builder.add_node(router).add_node(worker)
    builder.add_edge(START, "router").add_edge("worker", END)
    result = builder.compile().invoke({"topic": "x"}, config())
    assert result["notes"] == ["w"]
    router_log = read_node_logs("t1")[0]
    output = router_log.output_state or {}
    assert output["update"] == {"draft": "routed"}
    assert output["goto"][0]["node"] == "worker"


def test_capture_io_false_records_no_snapshots() -> None:
    """capture_io=False leaves both snapshots out."""

    @node_wrapper(capture_io=False)
    def node(state: State) -> dict[str, Any]:
        return {"draft": "secret draft"}

    line_graph(node).invoke({"topic": "x"}, config())
    (log,) = read_node_logs("t1")
    assert log.input_state is None and log.output_state is None
    assert log.status == "success"


def test_snapshot_options_apply() -> None:
    """Redaction, state-key policies and the size bound reach the record."""

    @node_wrapper(state_keys={"draft": "length"}, max_snapshot_bytes=4096)
    def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"api_key": "sk-live", "big": "y" * 100_000}

    node({"thread_id": "t1", "draft": "x" * 5000, "password": "hunter2"})
    (log,) = read_node_logs("t1")
    assert log.input_state is not None and log.output_state is not None
    assert log.input_state["password"] == "[REDACTED]"
    assert log.input_state["draft"]["length"] == 5000
    assert log.output_state["api_key"] == "[REDACTED]"
    assert "truncated" in log.output_state["big"]
    assert len(log.model_dump_json(include={"output_state"})) < 4096 + 600


def test_bad_configuration_raises_at_decoration() -> None:
    """Misconfiguration fails when decorating, not inside the pipeline."""
    with pytest.raises((TypeError, ValueError)):
        node_wrapper(state_keys={"x": "explode"})
    with pytest.raises(TypeError):
        node_wrapper(skip_if="yes")  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        node_wrapper(42)  # type: ignore[call-overload]


# -- control flow ----------------------------------------------------------------


def test_skip_if_writes_skipped_and_does_not_call() -> None:
    """A true skip_if predicate records 'skipped' and never calls the node."""
    calls: list[str] = []

    @node_wrapper(skip_if=lambda state: state.get("topic") == "skip me")
    def maybe(state: State) -> dict[str, Any]:
        calls.append("called")
        return {"draft": "ran"}

    result = line_graph(maybe).invoke({"topic": "skip me"}, config())
    assert calls == [] and "draft" not in result
    line_graph(maybe).invoke({"topic": "run me"}, config("t2"))
    assert calls == ["called"]
    assert [log.status for log in read_node_logs("t1")] == ["skipped"]
    assert read_node_logs("t1")[0].output_state is None
    assert [log.status for log in read_node_logs("t2")] == ["success"]


def test_skip_if_that_raises_runs_the_node(caplog: pytest.LogCaptureFixture) -> None:
    """A failing predicate does not break the pipeline: the node runs."""

    def predicate(state: Any) -> bool:
        raise KeyError("oops")

    @node_wrapper(skip_if=predicate)
    def node(state: State) -> dict[str, Any]:
        return {"draft": "ran"}

    assert line_graph(node).invoke({"topic": "x"}, config())["draft"] == "ran"
    assert "skip_if" in caplog.text


def test_retry_policy_attempts_are_separate_records() -> None:
    """Each attempt under a RetryPolicy is its own record with its number."""
    attempts = {"n": 0}

    @node_wrapper
    def flaky(state: State) -> dict[str, Any]:
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise ConnectionError("try again")
        return {"draft": "finally"}

    builder = StateGraph(State)
    builder.add_node(
        "flaky", flaky, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.001)
    )
    builder.add_edge(START, "flaky").add_edge("flaky", END)
    assert builder.compile().invoke({"topic": "x"}, config())["draft"] == "finally"
    logs = read_node_logs("t1")
    assert [(log.status, log.attempt) for log in logs] == [
        ("error", 1),
        ("error", 2),
        ("success", 3),
    ]
    assert len({log.checkpoint_ns for log in logs}) == 1


def test_interrupt_and_resume_are_joined() -> None:
    """interrupt() is 'interrupted' with its value and id; the resumed run joins it."""
    from editorial_ai.observability import PipelineRunSummary

    @node_wrapper
    def draft(state: State) -> dict[str, Any]:
        return {"draft": "v1"}

    @node_wrapper
    def approve(state: State) -> dict[str, Any]:
        answer = interrupt({"question": "publish?", "draft": state["draft"]})
        return {"notes": ["approved: %s" % answer]}

    graph = line_graph(draft, approve, checkpointer=InMemorySaver())
    cfg = config("hitl")
    first = graph.invoke({"topic": "x"}, cfg)
    assert "__interrupt__" in first
    waiting = read_node_logs("hitl")
    assert [log.status for log in waiting] == ["success", "interrupted"]
    interrupted = waiting[1]
    assert interrupted.interrupt_value == {"question": "publish?", "draft": "v1"}
    assert interrupted.interrupt_id == first["__interrupt__"][0].id
    assert interrupted.output_state is None
    assert PipelineRunSummary.from_logs("hitl", waiting).status == "interrupted"

    final = graph.invoke(Command(resume="yes"), cfg)
    assert final["notes"] == ["approved: yes"]
    logs = read_node_logs("hitl")
    resumed = logs[-1]
    assert resumed.status == "success" and resumed.node_name == "approve"
    assert resumed.checkpoint_ns == interrupted.checkpoint_ns
    assert resumed.resumed_interrupt_ids == [interrupted.interrupt_id]
    assert resumed.resume_values == ["yes"]
    assert interrupted.resume_values is None
    assert PipelineRunSummary.from_logs("hitl", logs).status == "completed"


def test_parent_command_is_success_and_reraised() -> None:
    """Command(graph=PARENT) from a subgraph node is 'success' and still routes."""

    @node_wrapper
    def child(state: State) -> Command[Any]:
        return Command(
            graph=Command.PARENT, goto="after", update={"draft": "from child"}
        )

    sub = StateGraph(State)
    sub.add_node(child).add_edge(START, "child")
    subgraph = sub.compile()

    @node_wrapper
    def after(state: State) -> dict[str, Any]:
        return {"notes": ["after saw " + state["draft"]]}

    builder = StateGraph(State)
    builder.add_node("sub", subgraph).add_node(after)
    builder.add_edge(START, "sub").add_edge("after", END)
    result = builder.compile().invoke({"topic": "x"}, config())
    assert result["notes"] == ["after saw from child"]
    statuses = {log.node_name: log.status for log in read_node_logs("t1")}
    assert statuses == {"child": "success", "after": "success"}


def test_graph_interrupt_raised_directly_is_untouched() -> None:
    """A GraphInterrupt passes through as the same object."""
    raised = GraphInterrupt(())

    @node_wrapper("n")
    def node(state: State) -> None:
        raise raised

    with pytest.raises(GraphInterrupt) as caught:
        node({"thread_id": "t1"})
    assert caught.value is raised
    assert read_node_logs("t1")[0].status == "interrupted"


def test_loop_repeats_are_separate_records() -> None:
    """A review loop that sends the draft back leaves one record per pass."""

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        return {"notes": ["draft"]}

    @node_wrapper
    def review(state: State) -> dict[str, Any]:
        return {"notes": ["review"]}

    builder = StateGraph(State)
    builder.add_node(write).add_node(review)
    builder.add_edge(START, "write").add_edge("write", "review")
    builder.add_conditional_edges(
        "review", lambda s: END if len(s["notes"]) >= 6 else "write"
    )
    builder.compile().invoke({"topic": "x"}, config())
    names = [log.node_name for log in read_node_logs("t1")]
    assert names == ["write", "review"] * 3
    steps = [log.step for log in read_node_logs("t1")]
    assert steps == sorted(steps) and len(set(steps)) == 6


def test_subgraph_state_survives_interrupt() -> None:
    """A wrapped node calling a subgraph keeps get_state(subgraphs=True) working."""

    @node_wrapper
    def ask(state: State) -> dict[str, Any]:
        return {"draft": interrupt("ok?")}

    inner = StateGraph(State)
    inner.add_node(ask).add_edge(START, "ask").add_edge("ask", END)
    inner_graph = inner.compile()

    @node_wrapper
    def outer(state: State) -> dict[str, Any]:
        return inner_graph.invoke(state)

    builder = StateGraph(State)
    builder.add_node(outer).add_edge(START, "outer").add_edge("outer", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    cfg = config("sub")
    graph.invoke({"topic": "x"}, cfg)
    snapshot = graph.get_state(cfg, subgraphs=True)
    assert snapshot.tasks and snapshot.tasks[0].state is not None
    final = graph.invoke(Command(resume="yes"), cfg)
    assert final["draft"] == "yes"
    statuses = [(log.node_name, log.status) for log in read_node_logs("sub")]
    assert statuses == [
        ("ask", "interrupted"),
        ("outer", "interrupted"),
        ("ask", "success"),
        ("outer", "success"),
    ]


def test_wrapping_an_already_decorated_node_keeps_subgraph_visible() -> None:
    """Over a functools.wraps decorator, __wrapped__ points at the real function."""
    import functools

    def other_decorator(fn: Any) -> Any:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return inner

    def original(state: State) -> dict[str, Any]:
        return {}

    wrapped = node_wrapper(other_decorator(original))
    assert wrapped.__wrapped__ is original  # type: ignore[attr-defined]


def test_generator_node_stays_a_generator() -> None:
    """A generator node is still a generator function after wrapping."""
    import inspect

    @node_wrapper("gen")
    def gen(state: State) -> Any:
        yield {"draft": "chunk"}

    assert inspect.isgeneratorfunction(gen)
    assert list(gen({"thread_id": "t1"})) == [{"draft": "chunk"}]
    assert read_node_logs("t1")[0].output_state == {"draft": "chunk"}


# -- never break the pipeline --------------------------------------------------


def test_broken_log_directory_leaves_result_unchanged(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With the log dir unusable, the graph returns exactly what it would."""

    @node_wrapper
    def draft(state: State) -> dict[str, Any]:
        return {"draft": "on " + state["topic"], "notes": ["drafted"]}

    @node_wrapper
    def review(state: State) -> dict[str, Any]:
        return {"notes": ["reviewed"]}

    expected = line_graph(draft, review).invoke({"topic": "AI"}, config("ok"))
    log_dir.parent.mkdir(parents=True, exist_ok=True)
    (log_dir / "ok.jsonl").unlink()
    log_dir.rmdir()
    log_dir.write_text("a file where the directory should be")
    got = line_graph(draft, review).invoke({"topic": "AI"}, config("ok"))
    assert got == expected
    assert "ENOTDIR" in caplog.text


def test_unserializable_state_still_records(log_dir: Path) -> None:
    """A state holding objects JSON cannot hold is recorded with markers."""

    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    @node_wrapper("n")
    def node(state: dict[str, Any]) -> dict[str, Any]:
        return {"out": {1, 2}}

    cyclic: dict[str, Any] = {"thread_id": "t1", "w": Weird(), "b": b"\x00" * 10}
    cyclic["self"] = cyclic
    node(cyclic)
    (log,) = read_node_logs("t1")
    assert log.input_state is not None
    assert log.input_state["self"] == "<cycle>"
    assert "Weird" in str(log.input_state["w"])


def test_generator_nodes_run_in_a_graph() -> None:
    """Sync and async generator nodes stay generators LangGraph streams from."""

    @node_wrapper
    def produce(state: State) -> Any:
        yield {"draft": "from a generator"}

    @node_wrapper
    async def refine(state: State) -> Any:
        yield {"notes": ["refined " + state["draft"]]}

    result = asyncio.run(line_graph(produce, refine).ainvoke({"topic": "x"}, config()))
    assert result["notes"] == ["refined from a generator"]
    logs = read_node_logs("t1")
    assert [(log.node_name, log.status) for log in logs] == [
        ("produce", "success"),
        ("refine", "success"),
    ]
    assert logs[0].output_state == {"draft": "from a generator"}


def test_no_thread_id_warns_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    """Runs without a thread id go to 'unknown' with one warning, not one per run."""

    @node_wrapper
    def draft(state: State) -> dict[str, Any]:
        return {"draft": "v1"}

    graph = line_graph(draft)
    with caplog.at_level("WARNING", logger="editorial_ai.observability"):
        graph.invoke({"topic": "a"})
        graph.invoke({"topic": "b"})
    advice = [r for r in caplog.records if "without a thread id" in r.getMessage()]
    assert len(advice) == 1
    assert "'unknown'" in advice[0].getMessage()
    assert [log.node_name for log in read_node_logs("unknown")] == ["draft", "draft"]
