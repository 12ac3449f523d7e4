"""``record_token_usage`` takes every call shape it documents, and never raises.

The editorial pipeline this library was written for calls it in 12 places with
``prompt_tokens=``, ``completion_tokens=``, ``total_tokens=``, ``model_name=``,
``routing_reason=`` and ``cached_tokens=`` (its own signature, where the last
two follow ``model_name`` positionally). Each shape below is recorded; misuse
is one warning per kind and the call is still recorded.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editorial_ai.observability import (
    TokenUsage,
    harvest_tokens,
    record_token_usage,
    reset_token_collector,
)

_record: Callable[..., None] = record_token_usage  # any arguments, on purpose


def recorded(call: Callable[[], None]) -> list[TokenUsage]:
    """Run ``call`` in a fresh context with a collector; what it recorded."""

    def scenario() -> list[TokenUsage]:
        reset_token_collector()
        call()
        return harvest_tokens()

    return contextvars.Context().run(scenario)


# (shape, call, expected fields of the one TokenUsage recorded)
SHAPES: list[tuple[str, Callable[[], None], dict[str, Any]]] = [
    (
        "three positional counts",
        lambda: _record(120, 30, 150),
        {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
    ),
    (
        "positional model name",
        lambda: _record(120, 30, 150, "gpt-4o-mini"),
        {"total_tokens": 150, "model_name": "gpt-4o-mini"},
    ),
    (
        "the pipeline's keywords with routing_reason",
        lambda: _record(
            prompt_tokens=900,
            completion_tokens=80,
            total_tokens=980,
            model_name="gemini-2.5-flash",
            routing_reason="long context",
        ),
        {
            "prompt_tokens": 900,
            "model_name": "gemini-2.5-flash",
            "routing_reason": "long context",
        },
    ),
    (
        "the pipeline's keywords with cached_tokens and routing_reason",
        lambda: _record(
            prompt_tokens=900,
            completion_tokens=80,
            total_tokens=980,
            cached_tokens=600,
            model_name="gemini-2.5-flash",
            routing_reason="editorial draft",
        ),
        {"cached_tokens": 600, "routing_reason": "editorial draft"},
    ),
    (
        "the pipeline's image call: cached_tokens, no routing_reason",
        lambda: _record(
            prompt_tokens=50,
            completion_tokens=0,
            total_tokens=1340,
            cached_tokens=0,
            model_name="gemini-2.5-flash-image",
        ),
        {"total_tokens": 1340, "routing_reason": None, "cached_tokens": 0},
    ),
    (
        "all six of the pipeline's parameters by position",
        lambda: _record(900, 80, 980, "gemini-2.5-flash", "long context", 600),
        {"routing_reason": "long context", "cached_tokens": 600},
    ),
    (
        "None counts (getattr(..., 0) or 0 on a missing usage)",
        lambda: _record(prompt_tokens=None, completion_tokens=None, total_tokens=None),
        {"prompt_tokens": 0, "total_tokens": 0},
    ),
    (
        "no arguments at all",
        lambda: _record(),
        {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    ),
    (
        "an unknown keyword (warned, ignored)",
        lambda: _record(10, 5, 15, temperature=0.2),
        {"total_tokens": 15},
    ),
    (
        "a seventh positional argument (warned, ignored)",
        lambda: _record(10, 5, 15, "m", "why", 2, "extra"),
        {"cached_tokens": 2, "routing_reason": "why"},
    ),
    (
        "a count by position and by keyword (warned, the keyword wins)",
        lambda: _record(10, 5, 15, prompt_tokens=11),
        {"prompt_tokens": 11},
    ),
    (
        "cache writes, reasoning, provider, failed status",
        lambda: _record(
            3000,
            500,
            3500,
            "claude-sonnet-4-5",
            cache_creation_tokens=2000,
            cache_creation_5m_tokens=1500,
            cache_creation_1h_tokens=500,
            reasoning_tokens=200,
            provider="anthropic",
            status="error",
            error_type="APIConnectionError",
        ),
        {
            "cache_creation_tokens": 2000,
            "cache_creation_1h_tokens": 500,
            "reasoning_tokens": 200,
            "provider": "anthropic",
            "status": "error",
            "error_type": "APIConnectionError",
        },
    ),
    (
        "an unknown status (warned, recorded as success)",
        lambda: _record(1, 1, 2, status="exploded"),
        {"status": "success"},
    ),
    (
        "a naive start time (taken as UTC) and other details",
        lambda: _record(
            1,
            1,
            2,
            started_at=datetime(2026, 1, 1, 12, 0),
            token_details={"input_audio": 7},
        ),
        {
            "started_at": datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
            "token_details": {"input_audio": 7},
        },
    ),
    (
        "a routing reason that is not a string (kept as text)",
        lambda: _record(1, 1, 2, routing_reason=3),
        {"routing_reason": "3"},
    ),
    (
        "a bad start time and bad details (warned, ignored)",
        lambda: _record(1, 1, 2, started_at="noon", token_details=[1]),
        {"started_at": None, "token_details": None},
    ),
]


@pytest.mark.parametrize(
    ("shape", "call", "expected"), SHAPES, ids=[shape for shape, _, _ in SHAPES]
)
def test_each_call_shape_is_recorded(
    shape: str, call: Callable[[], None], expected: dict[str, Any]
) -> None:
    """Each documented call shape records one call with these fields."""
    (usage,) = recorded(call)
    for name, value in expected.items():
        assert getattr(usage, name) == value, (shape, name)
    TokenUsage.model_validate_json(usage.model_dump_json())  # a valid record


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: _record(1, 1, 2, temperature=0.2), "unknown keyword 'temperature'"),
        (lambda: _record(1, 1, 2, "m", "r", 0, "x"), "positional arguments"),
        (lambda: _record(1, 1, 2, total_tokens=2), "by position and by keyword"),
        (lambda: _record(1, 1, 2, status="exploded"), "status='exploded'"),
    ],
)
def test_misuse_is_one_warning_per_kind(
    call: Callable[[], None], words: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The same misuse a hundred times is one warning, and every call counts."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")

    def hundred() -> None:
        for _ in range(100):
            call()

    assert len(recorded(hundred)) == 100
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("record_token_usage")
    ]
    assert len(messages) == 1 and words in messages[0]


def test_the_pipelines_call_site_runs_unchanged() -> None:
    """The editorial pipeline's call, as written there, over a Gemini response."""
    response = SimpleNamespace(
        usage_metadata=SimpleNamespace(
            prompt_token_count=4000,
            candidates_token_count=200,
            total_token_count=4500,
            cached_content_token_count=3000,
        )
    )
    decision = SimpleNamespace(model="gemini-2.5-flash", reason="long article")

    def call_site() -> None:
        record_token_usage(
            prompt_tokens=getattr(response.usage_metadata, "prompt_token_count", 0)
            or 0,
            completion_tokens=getattr(
                response.usage_metadata, "candidates_token_count", 0
            )
            or 0,
            total_tokens=getattr(response.usage_metadata, "total_token_count", 0) or 0,
            cached_tokens=getattr(
                response.usage_metadata, "cached_content_token_count", 0
            )
            or 0,
            model_name=decision.model,
            routing_reason=decision.reason,
        )

    (usage,) = recorded(call_site)
    assert (usage.prompt_tokens, usage.cached_tokens, usage.total_tokens) == (
        4000,
        3000,
        4500,
    )
    assert usage.routing_reason == "long article"


def test_outside_any_node_nothing_is_recorded_and_nothing_raises() -> None:
    """Without a collector, any call shape is dropped quietly."""

    def scenario() -> list[TokenUsage]:
        _record(1, 2, 3, "m", "r", 4, "extra", unknown=1)
        _record()
        return harvest_tokens()

    assert contextvars.Context().run(scenario) == []


def test_the_signature_says_the_supported_parameters() -> None:
    """``inspect.signature`` and ``help()`` show the documented parameters."""
    parameters = inspect.signature(record_token_usage).parameters
    assert list(parameters)[:6] == [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "model_name",
        "routing_reason",
        "cached_tokens",
    ]
    assert record_token_usage.__name__ == "record_token_usage"
    assert "routing_reason" in (record_token_usage.__doc__ or "")


class Unprintable:
    """A value whose ``str`` and ``repr`` raise."""

    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.datetimes(),
    st.builds(object),
    st.builds(Unprintable),
)
_KEYWORDS = st.dictionaries(
    st.sampled_from(
        [
            "prompt_tokens", "completion_tokens", "total_tokens", "model_name",
            "routing_reason", "cached_tokens", "prompt_chars", "run_id",
            "usage_reported", "cache_creation_tokens", "cache_creation_5m_tokens",
            "cache_creation_1h_tokens", "reasoning_tokens", "token_details",
            "provider", "status", "error_type", "started_at", "ended_at",
            "temperature", "model",
        ]
    ),
    _VALUES,
    max_size=6,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(args=st.lists(_VALUES, max_size=8), kwargs=_KEYWORDS)
def test_no_arguments_make_it_raise(args: list[Any], kwargs: dict[str, Any]) -> None:
    """Whatever it is given, it returns None, and what it records is a valid
    record (strict JSON, reads back)."""

    def call() -> None:
        assert _record(*args, **kwargs) is None

    failures: list[str] = []

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if " failed: " in record.getMessage():
                failures.append(record.getMessage())

    logger = logging.getLogger("editorial_ai.observability")
    handler = Failures()
    logger.addHandler(handler)
    try:
        (usage,) = recorded(call)  # recorded, not dropped by a failure
    finally:
        logger.removeHandler(handler)
    assert failures == []
    assert TokenUsage.model_validate_json(usage.model_dump_json()) == usage
