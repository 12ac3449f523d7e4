"""The engine prices each LLM call exactly as ``pricing.call_cost`` does.

The engine resolves each model name with the price table itself and keeps
only the arithmetic in SQL; these tests compare its ``cost_usd``,
``reasoning_cost_usd`` and ``priced_model`` with the library's, call by call
and to the last bit, on real files: every case of the bill
(``tests/_history.BILL_CASES``), under the shipped prices and under a user
table, then on generated calls (hypothesis).
"""

from __future__ import annotations

import os
import string
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from editorial_ai.observability import NodeRunLog, TokenUsage, append_node_log
from editorial_ai.observability.analytics.engine import AnalyticsEngine
from editorial_ai.observability.pricing import (
    ModelPrice,
    PriceTable,
    call_cost,
    load_price_table,
)

from ._history import BILL_CASES, NOW


def _write_calls(folder: Path, usages: list[TokenUsage]) -> None:
    """One node run per call (errors for failed calls), in one thread file."""
    previous = os.environ.get("EDITORIAL_AI_LOG_DIR")
    os.environ["EDITORIAL_AI_LOG_DIR"] = str(folder)
    try:
        for index, usage in enumerate(usages):
            failed = usage.status != "success"
            append_node_log(
                NodeRunLog(
                    thread_id="bill",
                    node_name="call-%04d" % index,
                    status="error" if failed else "success",
                    started_at=NOW + timedelta(seconds=index),
                    ended_at=NOW + timedelta(seconds=index, milliseconds=5),
                    token_usage=[usage],
                    error_type=usage.error_type if failed else None,
                )
            )
    finally:
        if previous is None:
            os.environ.pop("EDITORIAL_AI_LOG_DIR", None)
        else:
            os.environ["EDITORIAL_AI_LOG_DIR"] = previous


def _compare(folder: Path, usages: list[TokenUsage], table: PriceTable) -> None:
    engine = AnalyticsEngine([folder], table=table)
    _, rows = engine.query(
        "SELECT node_name, priced_model, cost_usd, reasoning_cost_usd, "
        "prompt_tokens, completion_tokens, total_tokens, cached_tokens, "
        "cache_creation_tokens, cache_creation_5m_tokens, "
        "cache_creation_1h_tokens, reasoning_tokens, usage_reported, status "
        "FROM llm_calls ORDER BY node_name"
    )
    assert len(rows) == len(usages)
    for row, usage in zip(rows, usages, strict=True):
        cost = call_cost(usage, table)
        expected = (
            table.resolve(usage.model_name),
            None if cost is None else cost.total,
            None if cost is None else cost.reasoning,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens,
            usage.cached_tokens,
            usage.cache_creation_tokens,
            usage.cache_creation_5m_tokens,
            usage.cache_creation_1h_tokens,
            usage.reasoning_tokens,
            usage.usage_reported,
            usage.status,
        )
        assert row[1:] == expected, (row[0], usage)  # == on floats: to the bit
    engine.close()


_USER_TABLE = PriceTable(
    {
        **load_price_table().models,
        # a preview priced by its own entry, a write rate without a 1-hour one,
        # a model without a cached rate
        "gemini-2.5-flash-preview-09-2025": ModelPrice(0.3, 2.5, 0.03),
        "house-model": ModelPrice(0.7, 2.1, cache_write=0.9),
        "gpt-4o": ModelPrice(2.5, 10.0),
    }
)


@pytest.mark.parametrize(
    "table", [load_price_table(), _USER_TABLE], ids=["shipped", "user-table"]
)
def test_every_case_of_the_bill_costs_what_pricing_says(
    tmp_path: Path, table: PriceTable
) -> None:
    """Cached reads, 5-minute and 1-hour writes, reasoning, previews, dated
    snapshots, unknown models, unreported usage, failed calls with partial
    usage, tiers: the engine's cost is ``call_cost``'s, bit for bit."""
    _write_calls(tmp_path, BILL_CASES)
    _compare(tmp_path, BILL_CASES, table)
    costs = [call_cost(usage, table) for usage in BILL_CASES]
    # The cases cover what they say: some priced, some not, each part used.
    assert any(cost is None for cost in costs)
    for part in ("cached_input", "cache_write", "reasoning", "output", "input"):
        assert any(cost is not None and getattr(cost, part) for cost in costs), part


def test_preview_is_unknown_until_its_own_entry(tmp_path: Path) -> None:
    """Hand-computed: a preview has no price under the shipped table, and its
    own entry's price under a user table; a dated snapshot is its model."""
    usages = [
        TokenUsage(prompt_tokens=800, completion_tokens=60,
                   model_name="gemini-2.5-flash-preview-09-2025"),
        TokenUsage(prompt_tokens=1_000_000, completion_tokens=0,
                   cached_tokens=400_000, model_name="gpt-4o-mini-2024-07-18"),
        TokenUsage(prompt_tokens=3000, completion_tokens=500,
                   cache_creation_tokens=2000, cache_creation_1h_tokens=500,
                   model_name="claude-sonnet-4-5-20250929"),
    ]  # fmt: skip
    _write_calls(tmp_path, usages)
    shipped = AnalyticsEngine([tmp_path])
    _, rows = shipped.query("SELECT cost_usd FROM llm_calls ORDER BY node_name")
    # 600,000 x 0.15 + 400,000 x 0.075, per 1M
    assert rows[1][0] == pytest.approx(0.09 + 0.03, rel=1e-12)
    # 1000 x 3 + 1500 x 3.75 + 500 x 6 + 500 x 15, per 1M
    assert rows[2][0] == pytest.approx(0.003 + 0.005625 + 0.003 + 0.0075, rel=1e-12)
    assert rows[0][0] is None
    user = AnalyticsEngine([tmp_path], table=_USER_TABLE)
    _, rows = user.query("SELECT cost_usd FROM llm_calls ORDER BY node_name")
    assert rows[0][0] == pytest.approx((800 * 0.3 + 60 * 2.5) / 1e6, rel=1e-12)


_MODELS = [
    None, "gpt-4o", "gpt-4o-mini-2024-07-18", "openai/gpt-4o", "GPT-4o-Mini",
    "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "o3", "gpt-4-turbo",
    "gemini-2.5-flash-preview-09-2025", "models/gemini-2.5-flash",
    "house-model", "gpt-4o-2024-05-13",
]  # fmt: skip
_COUNT = st.one_of(st.just(0), st.integers(0, 5000), st.integers(0, 2**53 - 1))


@st.composite
def _usages(draw: st.DrawFn) -> TokenUsage:
    written = draw(_COUNT)
    hour = draw(st.one_of(st.none(), st.integers(0, max(written, 1) * 2)))
    details = draw(
        st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["input_priority", "output_flex", "input_audio",
                                 "output_audio", *string.ascii_lowercase[:3]]),
                st.integers(0, 100),
                max_size=2,
            ),
        )
    )  # fmt: skip
    return TokenUsage(
        prompt_tokens=draw(_COUNT),
        completion_tokens=draw(_COUNT),
        total_tokens=draw(st.one_of(st.just(0), _COUNT)),
        cached_tokens=draw(_COUNT),
        cache_creation_tokens=written,
        cache_creation_1h_tokens=hour,
        reasoning_tokens=draw(_COUNT),
        token_details=details,
        usage_reported=draw(st.booleans()),
        model_name=draw(st.sampled_from(_MODELS)),
        status=draw(st.sampled_from(["success", "error", "aborted"])),
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(usages=st.lists(_usages(), min_size=1, max_size=25))
def test_generated_calls_cost_what_pricing_says(
    tmp_path_factory: pytest.TempPathFactory, usages: list[TokenUsage]
) -> None:
    """Any call the records can hold: the engine's cost is ``call_cost``'s."""
    folder = tmp_path_factory.mktemp("calls")
    _write_calls(folder, usages)
    _compare(folder, usages, _USER_TABLE)
