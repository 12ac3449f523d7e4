"""The writer's line encoding gives the model serializer's bytes, exactly."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from pydantic_core import PydanticSerializationError, to_json

from editorial_ai.observability import (
    NodeRunLog,
    TokenUsage,
    TokenUsageCallbackHandler,
    _line,
    append_node_log,
    node_wrapper,
    read_node_logs,
)
from editorial_ai.observability._line import encode_record, encode_record_line
from editorial_ai.observability.models import (
    build_call_usage,
    build_node_run_log,
    build_token_usage,
)
from editorial_ai.observability.snapshot import (
    _fast,
    snapshot_output,
    snapshot_state,
)
from editorial_ai.observability.snapshot._fast import long_text_json
from editorial_ai.observability.storage import append_fields, thread_log_path

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "thread_id": "t1",
        "node_name": "draft",
        "status": "success",
        "started_at": T0,
        "ended_at": T0 + timedelta(microseconds=1234),
        "token_usage": [],
        "error_type": None,
        "error_message": None,
        "error_traceback": None,
        "prompt_chars": 0,
        "step": 3,
        "checkpoint_ns": "draft:1f0e",
        "invocation_id": None,
        "attempt": 1,
        "interrupt_id": None,
        "resumed_interrupt_ids": None,
        "input_state": {"topic": "AI", "body": "x" * 60, "step": 0},
        "output_state": {"step": 1},
        "interrupt_value": None,
        "resume_values": None,
    }
    fields.update(changes)
    return fields


def _model_bytes(log: NodeRunLog) -> bytes:
    return log.__pydantic_serializer__.to_json(log)


def _call(**changes: Any) -> TokenUsage:
    values: dict[str, Any] = {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "model_name": "gpt-4o-mini",
        "prompt_chars": 20,
        "usage_reported": True,
        "details": {"cached_tokens": 100, "reasoning_tokens": 7},
        "provider": "openai",
        "run_id": "6f1c3a5e-0000-4000-8000-000000000001",
        "started_at": T0,
        "ended_at": T0 + timedelta(milliseconds=800),
        "status": "success",
        "error_type": None,
    }
    values.update(changes)
    return build_call_usage(**values)


CASES = {
    "no calls": _fields(),
    "one call": _fields(token_usage=[_call()], prompt_chars=20),
    "calls of every kind": _fields(
        token_usage=[
            _call(),
            _call(
                usage_reported=False,
                prompt_tokens=0,
                completion_tokens=0,
                total_tokens=0,
                details=None,
                status="error",
                error_type="RateLimitError",
            ),
            build_token_usage(
                5, 6, 11, None, 0, True, {"token_details": {"input_audio": 3}}
            ),
            TokenUsage(
                prompt_tokens=9,
                completion_tokens=1,
                cache_creation_tokens=4,
                cache_creation_5m_tokens=4,
                started_at=datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=2))),
                routing_reason="long context",
            ),
        ]
    ),
    "error": _fields(
        status="error",
        error_type="ValueError",
        error_message="bad \u00e9 \u2603 \U0001f600",
        error_traceback='Traceback\n  File "x.py"\nValueError: bad',
        output_state=None,
    ),
    "interrupted": _fields(
        status="interrupted",
        interrupt_id="abc",
        interrupt_value={"question": "ok?", "n": [1, 2.5, None, True]},
        output_state=None,
    ),
    "resumed": _fields(
        resumed_interrupt_ids=["abc", "def"], resume_values=[{"ok": True}, "no"]
    ),
    "no snapshots": _fields(input_state=None, output_state=None),
    "floats": _fields(
        input_state={"nan": math.nan, "inf": math.inf, "x": 0.1, "big": 1e300}
    ),
    "long duration": _fields(ended_at=T0 + timedelta(days=3, microseconds=7)),
    "same instant": _fields(ended_at=T0),
    "other types in snapshots": _fields(
        input_state={"when": T0, "raw": b"bytes", "nested": {"a": [{"b": ()}]}}
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_built_records_encode_as_the_model_does(name: str) -> None:
    log = build_node_run_log(dict(CASES[name]))
    assert encode_record(log) == _model_bytes(log)


@pytest.mark.parametrize("name", list(CASES))
def test_validated_records_encode_as_the_model_does(name: str) -> None:
    fields = dict(CASES[name])
    fields["token_usage"] = [u.model_dump() for u in fields["token_usage"]]
    log = NodeRunLog(**fields)
    assert encode_record(log) == _model_bytes(log)


def test_a_subclass_is_encoded_by_its_model() -> None:
    class Tagged(NodeRunLog):
        tag: str = "x"

    log = Tagged(**_fields())
    assert b'"tag":"x"' in encode_record(log)
    assert encode_record(log) == _model_bytes(log)


def test_a_call_of_another_class_is_encoded_by_the_model() -> None:
    class Priced(TokenUsage):
        price: float = 1.0

    log = NodeRunLog(**_fields())
    log.token_usage = [Priced(prompt_tokens=1)]
    assert encode_record(log) == _model_bytes(log)


def test_what_json_cannot_hold_raises_as_the_model_does() -> None:
    log = build_node_run_log(_fields(input_state={"s": "\ud800"}))
    with pytest.raises((PydanticSerializationError, ValueError)):
        _model_bytes(log)
    with pytest.raises((PydanticSerializationError, ValueError)):
        encode_record(log)
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    log = build_node_run_log(_fields(input_state=cyclic))
    with pytest.raises((PydanticSerializationError, ValueError, RecursionError)):
        encode_record(log)


def test_the_written_line_is_the_model_bytes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITORIAL_AI_LOG_DIR", str(tmp_path))
    for name, fields in CASES.items():
        log = build_node_run_log(
            dict(fields, thread_id="line-" + name.replace(" ", "-"))
        )
        append_node_log(log)
        path = thread_log_path(log.thread_id)
        assert path.read_bytes() == _model_bytes(log) + b"\n", name
        # The node wrapper's path: the same record's fields, never built.
        unbuilt = dict(fields, thread_id="fields-" + name.replace(" ", "-"))
        append_fields(unbuilt)
        expected = _model_bytes(build_node_run_log(dict(unbuilt))) + b"\n"
        assert thread_log_path(unbuilt["thread_id"]).read_bytes() == expected, name


def test_a_graph_s_lines_are_the_model_bytes_of_their_records(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every kind of run a wrapped graph writes (an LLM call counted by the
    handler, an error, an interrupt and its resume) is the model's bytes."""
    monkeypatch.setenv("EDITORIAL_AI_LOG_DIR", str(tmp_path))
    reply = AIMessage(
        "ok",
        usage_metadata={
            "input_tokens": 1200,
            "output_tokens": 300,
            "total_tokens": 1500,
            "input_token_details": {"cache_read": 1024},
            "output_token_details": {"reasoning": 200},
        },
        response_metadata={"model_name": "gpt-4o-mini"},
    )
    model = GenericFakeChatModel(messages=itertools.repeat(reply))

    @node_wrapper
    def ask(state: _Doc) -> dict[str, Any]:
        answer = model.invoke("summarise: " + state["body"])
        return {"body": str(answer.content), "step": state["step"] + 1}

    @node_wrapper
    def approve(state: _Doc) -> dict[str, Any]:
        answer = interrupt({"question": "publish?", "draft": state["body"]})
        return {"step": state["step"] + (1 if answer else 0)}

    @node_wrapper
    def fail(state: _Doc) -> dict[str, Any]:
        raise ValueError("no luck with %s" % state["body"])

    builder = StateGraph(_Doc)
    builder.add_node("ask", ask).add_node("approve", approve).add_node("fail", fail)
    builder.add_edge(START, "ask").add_edge("ask", "approve")
    builder.add_edge("approve", "fail").add_edge("fail", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {
        "configurable": {"thread_id": "graph-lines"},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    graph.invoke({"body": "draft", "step": 0}, config)
    with pytest.raises(ValueError):
        graph.invoke(Command(resume=True), config)
    lines = thread_log_path("graph-lines").read_bytes().splitlines()
    records = [NodeRunLog.model_validate_json(line) for line in lines]
    assert [(r.node_name, r.status) for r in records] == [
        ("ask", "success"),
        ("approve", "interrupted"),
        ("approve", "success"),
        ("fail", "error"),
    ]
    assert records[0].token_usage[0].cached_tokens == 1024
    assert records[0].token_usage[0].reasoning_tokens == 200
    assert records[2].resume_values == [True]
    for line, record in zip(lines, records, strict=True):
        assert line == _model_bytes(record), record.node_name


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_count = st.integers(min_value=0, max_value=2**40)
_calls = st.lists(
    st.builds(
        build_call_usage,
        prompt_tokens=_count,
        completion_tokens=_count,
        total_tokens=_count,
        model_name=st.none() | st.text(max_size=10),
        prompt_chars=_count,
        usage_reported=st.booleans(),
        details=st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "cached_tokens": _count,
                "cache_creation_tokens": _count,
                "reasoning_tokens": _count,
                "cache_creation_5m_tokens": _count,
                "token_details": st.dictionaries(st.text(max_size=6), _count),
            },
        ),
        provider=st.none() | st.text(max_size=8),
        run_id=st.text(max_size=12),
        started_at=st.datetimes(timezones=st.just(UTC)),
        ended_at=st.datetimes(timezones=st.just(UTC)),
        status=st.sampled_from(["success", "error", "aborted"]),
        error_type=st.none() | st.text(max_size=8),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    calls=_calls,
    input_state=st.none() | st.dictionaries(st.text(max_size=8), _json, max_size=5),
    output_state=st.none() | st.dictionaries(st.text(max_size=8), _json, max_size=3),
    interrupt_value=_json,
    started=st.datetimes(timezones=st.just(UTC)),
    micros=st.integers(min_value=0, max_value=10**12),
    name=st.text(max_size=12),
    step=st.none() | st.integers(min_value=0, max_value=10**6),
)
def test_any_record_encodes_as_the_model_does(
    calls: list[TokenUsage],
    input_state: Any,
    output_state: Any,
    interrupt_value: Any,
    started: datetime,
    micros: int,
    name: str,
    step: int | None,
) -> None:
    try:
        ended = started + timedelta(microseconds=micros)
    except OverflowError:
        ended = started
    log = build_node_run_log(
        _fields(
            token_usage=calls,
            input_state=input_state,
            output_state=output_state,
            interrupt_value=interrupt_value,
            started_at=started,
            ended_at=ended,
            node_name=name,
            step=step,
        )
    )
    try:
        expected = _model_bytes(log)
    except (PydanticSerializationError, ValueError):
        with pytest.raises((PydanticSerializationError, ValueError)):
            encode_record(log)
        return
    assert encode_record(log) == expected


# -- long texts spliced from the bytes the snapshot fast path kept -------------

LONG_TEXTS = {
    "ascii": "y" * 100_000,
    "escapes": 'line "one"\n\ttab \\ back \x01\x1f ' * 300,
    "unicode": "é 😀 \u2028 \u2029 中文 " * 500,
    "at the bound": "w" * (256 * 1024 - 64),
}


def _spliced_record(input_state: Any, output_state: Any, **changes: Any) -> NodeRunLog:
    return build_node_run_log(
        _fields(
            input_state=snapshot_state(input_state),
            output_state=snapshot_output(output_state),
            **changes,
        )
    )


def _assert_model_bytes(log: NodeRunLog) -> None:
    expected = _model_bytes(log)
    assert encode_record(log) == expected
    assert encode_record_line(log) == expected + b"\n"


@pytest.mark.parametrize("kind", sorted(LONG_TEXTS))
def test_a_long_text_is_spliced_and_the_line_is_the_model_bytes(kind: str) -> None:
    text = LONG_TEXTS[kind]
    other = "z" * 5000
    state: dict[str, Any] = {"topic": "AI", "body": text, "step": 0}
    if len(text) < 200_000:  # else a second text would be over the bound
        state["notes"] = other
    log = _spliced_record(state, {"body": text, "step": 1})
    # The fast path kept the bytes, so the splice is what is compared.
    assert long_text_json(text) == to_json(text)
    kept = _line._splice_slots(dict(log.__dict__))
    expected = [to_json(text), to_json(other), to_json(text)]
    assert kept == (expected if "notes" in state else expected[::2])
    before = dict(log.input_state or {})
    _assert_model_bytes(log)
    # The record's snapshots are left as they were (not even swapped).
    assert log.input_state == before
    assert log.input_state is not None and log.input_state["body"] is text


def test_a_nested_long_text_is_serialized_whole_and_right() -> None:
    text = "n" * 6000
    log = _spliced_record({"doc": {"body": text, "tags": [text]}}, {"n": [text]})
    _assert_model_bytes(log)


def test_the_placeholder_elsewhere_makes_the_line_whole() -> None:
    text = "p" * 5000
    placeholder = _line._PLACEHOLDER
    for changes in (
        {"node_name": placeholder},
        {"error_message": placeholder},
        {"interrupt_value": {"k": [placeholder]}},
    ):
        log = _spliced_record({"body": text}, {"step": 1}, **changes)
        _assert_model_bytes(log)
    log = _spliced_record({"body": text, "other": placeholder * 2}, None)
    _assert_model_bytes(log)
    # The placeholder as a key beside the spliced text.
    log = _spliced_record({"body": text}, {placeholder: 1})
    _assert_model_bytes(log)


def test_a_snapshot_changed_after_it_was_taken_is_written_as_it_is() -> None:
    text = "c" * 5000
    kept = "k" * 7000
    snapshot_state({"kept": kept})  # kept's bytes are remembered too
    for change in (
        lambda s: s.__setitem__("body", "d" * 5000),  # a text never measured
        lambda s: s.__setitem__("body", kept),  # another remembered text
        lambda s: s.__setitem__("extra", [text, {"x": text}]),
        lambda s: s.pop("body"),
        lambda s: s.__setitem__("body", {"inner": text}),
    ):
        log = _spliced_record({"body": text, "step": 0}, {"body": text})
        assert log.input_state is not None
        change(log.input_state)
        _assert_model_bytes(log)


def test_a_forgotten_text_is_serialized_whole() -> None:
    text = "f" * 5000
    log = _spliced_record({"body": text}, {"body": text})
    _fast._long.clear()
    assert long_text_json(text) is None
    _assert_model_bytes(log)


class _Doc(TypedDict):
    body: str
    step: int


def test_a_node_that_mutates_its_state_leaves_the_written_input_alone(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RELIABILITY.md case 11 through a real graph, with the text spliced."""
    monkeypatch.setenv("EDITORIAL_AI_LOG_DIR", str(tmp_path))
    original = "o" * 100_000

    @node_wrapper
    def edit(state: _Doc) -> dict[str, Any]:
        state["body"] = "m" * 100_000  # in place, after the input snapshot
        return {"step": state["step"] + 1}

    builder = StateGraph(_Doc)
    builder.add_node("edit", edit)
    builder.add_edge(START, "edit")
    builder.add_edge("edit", END)
    graph = builder.compile()
    graph.invoke(
        {"body": original, "step": 0}, {"configurable": {"thread_id": "mutate"}}
    )
    raw = thread_log_path("mutate").read_bytes()
    (log,) = read_node_logs("mutate")
    assert log.input_state == {"body": original, "step": 0}
    assert raw == _model_bytes(log) + b"\n"


_LONG = st.builds(
    lambda piece, n: (piece * (4096 // max(len(piece), 1) + n))[: 4096 + n],
    st.text(min_size=1, max_size=6).filter(
        lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)
    ),
    st.integers(0, 3000),
)
_WITH_LONG = st.dictionaries(st.text(max_size=8), _json | _LONG, max_size=5)


@settings(max_examples=200, deadline=None)
@given(
    input_state=_WITH_LONG,
    output_state=_WITH_LONG,
    change=st.sampled_from(["none", "drop", "replace", "add"]),
    name=st.text(max_size=12) | st.just(_line._PLACEHOLDER),
)
def test_any_record_with_long_texts_encodes_as_the_model_does(
    input_state: dict[str, Any],
    output_state: dict[str, Any],
    change: str,
    name: str,
) -> None:
    log = _spliced_record(input_state, output_state, node_name=name)
    snapshot = log.input_state
    if snapshot and change != "none":
        key = next(iter(snapshot))
        if change == "drop":
            del snapshot[key]
        elif change == "replace":
            snapshot[key] = "r" * 4500
        else:
            snapshot["added"] = output_state
    _assert_model_bytes(log)
