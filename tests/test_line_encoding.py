"""The writer's line encoding gives the model serializer's bytes, exactly."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError

from editorial_ai.observability import NodeRunLog, TokenUsage, append_node_log
from editorial_ai.observability._line import encode_record
from editorial_ai.observability.models import (
    build_call_usage,
    build_node_run_log,
    build_token_usage,
)
from editorial_ai.observability.storage import thread_log_path

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
