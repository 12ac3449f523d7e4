"""Tests for the cost module: name resolution, the price tables, the costs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from editorial_ai.observability._internal import reset_warning_counts
from editorial_ai.observability.models import NodeRunLog, TokenUsage
from editorial_ai.observability.pricing import (
    PRICES_ENV,
    ModelPrice,
    PriceTable,
    cost_of_usage,
    load_price_table,
    node_run_cost,
    thread_cost,
)

LOGGER = "editorial_ai.observability"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The guard counts repeats per kind across tests; each test starts over.
    monkeypatch.delenv(PRICES_ENV, raising=False)
    reset_warning_counts()
    yield
    reset_warning_counts()


@pytest.fixture
def table() -> PriceTable:
    return PriceTable(
        {
            "gpt-4o": ModelPrice(2.5, 10.0),
            "gpt-4o-mini": ModelPrice(0.15, 0.6),
            "claude-sonnet-4-5": ModelPrice(3.0, 15.0),
        }
    )


def call(
    prompt: int, completion: int, model: str | None, *, reported: bool = True
) -> TokenUsage:
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        model_name=model,
        usage_reported=reported,
    )


def run(*usages: TokenUsage, node: str = "draft", offset: int = 0) -> NodeRunLog:
    start = T0 + timedelta(seconds=offset)
    return NodeRunLog(
        thread_id="t1",
        node_name=node,
        status="success",
        started_at=start,
        ended_at=start + timedelta(milliseconds=5),
        token_usage=list(usages),
    )


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == LOGGER and record.levelno == logging.WARNING
    ]


# -- name resolution ----------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("GPT-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("models/gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("openai/gpt-4o", "gpt-4o"),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("eu.anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("claude-haiku-4-5@20251001", "claude-haiku-4-5"),
        ("gpt-5-codex", "gpt-5"),
    ],
)
def test_reported_names_resolve_to_their_table_entry(
    reported: str, expected: str
) -> None:
    """Each naming style LangChain reports resolves to the shipped entry."""
    assert load_price_table().resolve(reported) == expected


def test_mini_snapshot_resolves_to_mini() -> None:
    """A dated gpt-4o-mini snapshot is priced as gpt-4o-mini."""
    assert load_price_table().resolve("gpt-4o-mini-2024-07-18") == "gpt-4o-mini"


def test_mini_is_never_priced_as_its_larger_sibling() -> None:
    """Without a gpt-4o-mini entry, gpt-4o-mini is unknown, not gpt-4o."""
    only_4o = PriceTable({"gpt-4o": ModelPrice(2.5, 10.0)})
    assert only_4o.price("gpt-4o-mini-2024-07-18") is None
    assert only_4o.price("gpt-4o-mini") is None


@pytest.mark.parametrize(
    "reported",
    ["claude-opus-4-9", "gpt-4o-realtime-preview-2024-12-17", "o3-deep-research"],
)
def test_a_different_model_under_a_known_prefix_is_unknown(reported: str) -> None:
    """A newer version or another modality is not priced as its prefix."""
    assert load_price_table().resolve(reported) is None


def test_a_listed_snapshot_wins_over_its_alias() -> None:
    """gpt-4o-2024-05-13, priced apart from gpt-4o, keeps its own price."""
    price = load_price_table().price("gpt-4o-2024-05-13")
    assert price == ModelPrice(5.0, 15.0)


def test_no_model_name_has_no_price(table: PriceTable) -> None:
    """A call without a model name cannot be priced."""
    assert table.price(None) is None
    assert table.price("") is None


def test_resolving_twice_gives_the_same_entry(table: PriceTable) -> None:
    """A cached resolution answers like the first one."""
    first = table.resolve("openai/gpt-4o-2024-08-06")
    assert table.resolve("openai/gpt-4o-2024-08-06") == first == "gpt-4o"


# -- one call -----------------------------------------------------------------


def test_a_million_of_each_costs_input_plus_output_price() -> None:
    """1M prompt + 1M completion tokens of gpt-4o cost 2.50 + 10.00 USD."""
    usage = call(1_000_000, 1_000_000, "gpt-4o")
    assert cost_of_usage(usage, load_price_table()) == 12.5


def test_prompt_and_completion_are_priced_at_their_own_rates(
    table: PriceTable,
) -> None:
    """Prompt tokens take the input rate, completion tokens the output rate."""
    usage = call(2_000, 500, "claude-sonnet-4-5-20250929")
    assert cost_of_usage(usage, table) == pytest.approx(0.006 + 0.0075)


def test_an_unknown_model_costs_none(table: PriceTable) -> None:
    """A model missing from the table is unknown, not free."""
    assert cost_of_usage(call(100, 50, "mystery-model"), table) is None


def test_unreported_usage_costs_none(table: PriceTable) -> None:
    """A call whose provider reported no usage has an unknown cost."""
    assert cost_of_usage(call(0, 0, "gpt-4o", reported=False), table) is None


def test_a_reported_empty_call_costs_zero(table: PriceTable) -> None:
    """A call that reported 0 tokens costs 0.0, even for an unknown model."""
    assert cost_of_usage(call(0, 0, "mystery-model"), table) == 0.0


def test_a_call_with_only_a_total_costs_none(table: PriceTable) -> None:
    """Without the prompt/completion split, a call cannot be priced."""
    usage = TokenUsage(total_tokens=300, model_name="gpt-4o")
    assert cost_of_usage(usage, table) is None


# -- node runs and threads ----------------------------------------------------


def test_a_run_without_llm_calls_costs_zero(table: PriceTable) -> None:
    """A node run with no LLM call costs 0.0 with nothing unpriced."""
    cost = node_run_cost(run(), table)
    assert (cost.estimated_cost_usd, cost.unpriced_calls) == (0.0, 0)


def test_a_run_of_unknown_models_is_unknown_and_counted(table: PriceTable) -> None:
    """Only unpriceable calls give None, with their tokens counted."""
    cost = node_run_cost(run(call(100, 20, "mystery-model")), table)
    assert cost.estimated_cost_usd is None
    assert cost.unpriced_tokens == 120
    assert cost.unpriced_calls == 1
    assert cost.unpriced_models == ["mystery-model"]


def test_a_call_without_model_name_is_listed_as_unknown(table: PriceTable) -> None:
    """A call with tokens but no model name counts as model "unknown"."""
    cost = node_run_cost(run(call(10, 5, None)), table)
    assert cost.unpriced_models == ["unknown"]
    assert cost.unpriced_tokens == 15


def test_unreported_usage_is_an_unpriced_call_of_no_listed_model(
    table: PriceTable,
) -> None:
    """A known model without reported usage counts as an unpriced call only."""
    cost = node_run_cost(run(call(0, 0, "gpt-4o", reported=False)), table)
    assert cost.estimated_cost_usd is None
    assert (cost.unpriced_calls, cost.unpriced_tokens) == (1, 0)
    assert cost.unpriced_models == []


def test_mixed_calls_in_one_run_sum_the_priced_ones(table: PriceTable) -> None:
    """Known calls are summed; unknown ones are reported beside the sum."""
    log = run(call(1_000_000, 0, "gpt-4o"), call(400, 100, "mystery-model"))
    cost = node_run_cost(log, table)
    assert cost.estimated_cost_usd == 2.5
    assert (cost.unpriced_calls, cost.unpriced_tokens) == (1, 500)
    assert cost.unpriced_models == ["mystery-model"]


def test_a_thread_sums_every_run_and_lists_models_once(table: PriceTable) -> None:
    """Across runs, priced calls add up and unpriced models are sorted, distinct."""
    logs = [
        run(call(1_000_000, 1_000_000, "gpt-4o-mini"), node="plan"),
        run(call(10, 10, "zeta-model"), call(0, 1_000_000, "gpt-4o"), offset=1),
        run(call(5, 5, "zeta-model"), call(1, 1, "alpha-model"), offset=2),
    ]
    cost = thread_cost(logs, table)
    assert cost.estimated_cost_usd == pytest.approx(0.75 + 10.0)
    assert (cost.unpriced_calls, cost.unpriced_tokens) == (3, 32)
    assert cost.unpriced_models == ["alpha-model", "zeta-model"]


def test_a_thread_of_only_unknown_models_is_unknown(table: PriceTable) -> None:
    """A thread whose calls all miss the table has no estimate."""
    logs = [run(call(1, 1, "a")), run(call(2, 2, "b"), offset=1)]
    assert thread_cost(logs, table).estimated_cost_usd is None


def test_a_thread_without_logs_costs_zero(table: PriceTable) -> None:
    """An empty thread costs 0.0."""
    assert thread_cost([], table).estimated_cost_usd == 0.0


def test_costs_are_read_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading prices and pricing a thread leave no file behind."""
    monkeypatch.chdir(tmp_path)
    thread_cost([run(call(10, 10, "gpt-4o"))], load_price_table())
    assert list(tmp_path.iterdir()) == []


# -- user tables --------------------------------------------------------------

USER_TABLE = {
    "models": {
        "gpt-4o": {"input": 1.0, "output": 2.0},
        "house-model-7b": {"input": 0.5, "output": 0.5},
    }
}


def test_a_user_table_argument_overrides_and_extends(tmp_path: Path) -> None:
    """A user file given as argument replaces a shipped price and adds a model."""
    prices = load_price_table(write_json(tmp_path / "prices.json", USER_TABLE))
    assert prices.price("gpt-4o-2024-08-06") == ModelPrice(1.0, 2.0)
    assert prices.price("house-model-7b") == ModelPrice(0.5, 0.5)
    assert prices.price("claude-3-haiku") == load_price_table().price("claude-3-haiku")


def test_a_user_table_from_the_environment_overrides_and_extends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$EDITORIAL_AI_PRICES names a user file, read when prices are loaded."""
    path = write_json(tmp_path / "prices.json", USER_TABLE)
    monkeypatch.setenv(PRICES_ENV, str(path))
    prices = load_price_table()
    assert prices.price("gpt-4o") == ModelPrice(1.0, 2.0)
    assert prices.price("house-model-7b") == ModelPrice(0.5, 0.5)


def test_the_argument_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An explicit path is used instead of $EDITORIAL_AI_PRICES."""
    from_env = write_json(tmp_path / "env.json", {"gpt-4o": {"input": 9, "output": 9}})
    monkeypatch.setenv(PRICES_ENV, str(from_env))
    prices = load_price_table(write_json(tmp_path / "arg.json", USER_TABLE))
    assert prices.price("gpt-4o") == ModelPrice(1.0, 2.0)


def test_a_bare_mapping_is_a_user_table(tmp_path: Path) -> None:
    """A file holding only model -> prices is accepted."""
    path = write_json(
        tmp_path / "bare.json", {"house-model": {"input": 1, "output": 3}}
    )
    assert load_price_table(path).price("house-model") == ModelPrice(1.0, 3.0)


def test_a_user_table_keeps_the_shipped_date(tmp_path: Path) -> None:
    """as_of stays the date of the shipped prices."""
    prices = load_price_table(write_json(tmp_path / "p.json", USER_TABLE))
    assert prices.as_of == load_price_table().as_of


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2, 3]",
        '{"models": ["gpt-4o"]}',
        '{"currency": "EUR", "models": {"gpt-4o": {"input": 1, "output": 1}}}',
    ],
    ids=["not-json", "list", "models-not-a-mapping", "not-usd"],
)
def test_a_malformed_user_file_warns_and_falls_back(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An unusable user file warns and leaves the shipped prices in place."""
    path = tmp_path / "prices.json"
    path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prices = load_price_table(path)
    assert prices.price("gpt-4o") == ModelPrice(2.5, 10.0, 1.25)
    assert any(str(path) in message for message in warnings_of(caplog))


def test_a_missing_user_file_warns_and_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """$EDITORIAL_AI_PRICES naming no file warns and uses the shipped prices."""
    monkeypatch.setenv(PRICES_ENV, str(tmp_path / "absent.json"))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prices = load_price_table()
    assert prices.price("gpt-4o") is not None
    assert any("absent.json" in message for message in warnings_of(caplog))


@pytest.mark.parametrize(
    "entry",
    [
        {"input": -1.0, "output": 2.0},
        {"input": "2.50", "output": 10.0},
        {"input": 1.0},
        {"input": True, "output": 1.0},
        {"input": 1.0, "output": 1.0, "cached_input": -0.5},
        "cheap",
    ],
    ids=["negative", "string", "no-output", "boolean", "bad-cached", "not-a-mapping"],
)
def test_a_malformed_entry_is_skipped_with_a_warning(
    tmp_path: Path, entry: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad entry is skipped and named in a warning; good entries still load."""
    data = {"models": {"bad-model": entry, "good-model": {"input": 1, "output": 2}}}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prices = load_price_table(write_json(tmp_path / "prices.json", data))
    assert prices.price("bad-model") is None
    assert prices.price("good-model") == ModelPrice(1.0, 2.0)
    assert any("bad-model" in message for message in warnings_of(caplog))


def test_a_bad_entry_does_not_remove_the_shipped_price(tmp_path: Path) -> None:
    """Overriding a shipped model with a bad entry keeps the shipped price."""
    data = {"gpt-4o": {"input": "free", "output": 0}}
    prices = load_price_table(write_json(tmp_path / "prices.json", data))
    assert prices.price("gpt-4o") == ModelPrice(2.5, 10.0, 1.25)


def test_an_empty_setting_means_the_shipped_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An empty $EDITORIAL_AI_PRICES is the same as an unset one."""
    monkeypatch.setenv(PRICES_ENV, "  ")
    assert load_price_table() is load_price_table(None)


def test_a_directory_as_user_table_warns_and_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A path that cannot be read as a file warns; loading never raises."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prices = load_price_table(tmp_path)
    assert prices.price("gpt-4o") is not None
    assert warnings_of(caplog)


# -- the shipped table --------------------------------------------------------


@pytest.fixture
def shipped() -> dict[str, Any]:
    text = (
        resources.files("editorial_ai.observability")
        .joinpath("data/prices.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def test_the_shipped_table_is_dated_usd_per_million(shipped: dict[str, Any]) -> None:
    """The shipped file says when, in what currency and per how many tokens."""
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", shipped["as_of"])
    assert (shipped["currency"], shipped["unit"]) == ("USD", "per 1M tokens")
    assert shipped["source"]
    assert load_price_table().as_of == shipped["as_of"]


def test_the_shipped_table_covers_the_three_providers(shipped: dict[str, Any]) -> None:
    """OpenAI, Anthropic and Google models are all priced."""
    names = set(shipped["models"])
    assert {"gpt-4o", "gpt-4.1", "o3"} <= names
    assert {"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"} <= names
    assert {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash"} <= names


def test_every_shipped_price_is_a_non_negative_number(
    shipped: dict[str, Any],
) -> None:
    """Every rate in the shipped file is a number of USD, zero or more."""
    for name, entry in shipped["models"].items():
        for rate in entry.values():
            assert type(rate) in (int, float) and rate >= 0, name
        assert {"input", "output"} <= set(entry), name


def test_every_shipped_entry_loads(
    shipped: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The loader keeps every shipped entry and warns about none."""
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        prices = load_price_table()
    assert set(prices.models) == set(shipped["models"])
    assert warnings_of(caplog) == []


# -- the provider's bill: cache reads and writes, reasoning, tiers (issue 9) ----


def test_cached_prompt_tokens_are_billed_at_the_cached_rate() -> None:
    """gpt-4o-mini, 1,200 prompt tokens of which 1,024 cached, 300 out:
    176 x 0.15 + 1024 x 0.075 + 300 x 0.60 per million."""
    usage = TokenUsage(
        prompt_tokens=1200, completion_tokens=300, cached_tokens=1024,
        model_name="gpt-4o-mini-2024-07-18",
    )  # fmt: skip
    assert cost_of_usage(usage) == pytest.approx(283.2e-6, rel=1e-12)


def test_anthropic_cache_writes_are_billed_at_their_duration_rates() -> None:
    """Sonnet 4.5: 50 plain, 1,500 written for 5 minutes (3.75), 500 for an
    hour (6), 120 out (15): the bill, not the 18 % under of input pricing."""
    usage = TokenUsage(
        prompt_tokens=2050, completion_tokens=120, cache_creation_tokens=2000,
        cache_creation_5m_tokens=1500, cache_creation_1h_tokens=500,
        model_name="claude-sonnet-4-5-20250929",
    )  # fmt: skip
    assert cost_of_usage(usage) == pytest.approx(10575e-6, rel=1e-12)


def test_a_cache_write_without_its_duration_is_a_five_minute_write() -> None:
    """Anthropic's default cache lifetime is 5 minutes."""
    usage = TokenUsage(
        prompt_tokens=1000, completion_tokens=0, cache_creation_tokens=1000,
        model_name="claude-haiku-4-5",
    )  # fmt: skip
    assert cost_of_usage(usage) == pytest.approx(1000 * 1.25 / 1e6, rel=1e-12)


def test_reasoning_is_billed_at_the_output_rate_and_given_apart() -> None:
    """o4-mini: 640 completion tokens, 512 of them reasoning, at 4.40."""
    from editorial_ai.observability.pricing import call_cost

    usage = TokenUsage(
        prompt_tokens=800, completion_tokens=640, reasoning_tokens=512,
        model_name="o4-mini-2025-04-16",
    )  # fmt: skip
    cost = call_cost(usage)
    assert cost is not None
    assert cost.total == pytest.approx(3696e-6, rel=1e-12)
    assert cost.reasoning == pytest.approx(512 * 4.4 / 1e6, rel=1e-12)
    log = NodeRunLog(
        thread_id="t", node_name="n", status="success", started_at=T0,
        ended_at=T0, token_usage=[usage],
    )  # fmt: skip
    assert node_run_cost(log).reasoning_usd == pytest.approx(cost.reasoning)


def test_a_cache_read_on_a_model_without_a_cached_rate_is_unknown() -> None:
    """No cached rate in the table: no guess at full price."""
    usage = TokenUsage(
        prompt_tokens=1000, completion_tokens=10, cached_tokens=800,
        model_name="gemini-2.0-flash",
    )  # fmt: skip
    assert cost_of_usage(usage) is None


def test_a_cache_write_on_a_model_without_a_write_rate_is_unknown() -> None:
    """OpenAI models list no write rate: a reported write is not priced."""
    usage = TokenUsage(
        prompt_tokens=1000, completion_tokens=10, cache_creation_tokens=800,
        model_name="gpt-4o",
    )  # fmt: skip
    assert cost_of_usage(usage) is None


def test_a_service_tier_the_table_does_not_price_is_unknown() -> None:
    """OpenAI priority and flex tokens are priced apart from standard rates."""
    usage = TokenUsage(
        prompt_tokens=1000, completion_tokens=10, model_name="gpt-4o",
        token_details={"input_priority": 1000, "output_priority": 10},
    )  # fmt: skip
    assert cost_of_usage(usage) is None


@pytest.mark.parametrize(
    ("reported", "entry"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ],
)
def test_a_dated_snapshot_is_priced_as_its_model(reported: str, entry: str) -> None:
    """A dated snapshot takes its model's price."""
    assert load_price_table().resolve(reported) == entry


@pytest.mark.parametrize(
    "preview",
    [
        "gemini-2.5-flash-preview-09-2025",
        "gemini-2.5-flash-preview-05-20",
        "gemini-2.5-flash-preview",
        "gemini-2.5-pro-exp-03-25",
    ],
)
def test_a_preview_is_not_priced_at_its_released_models_price(preview: str) -> None:
    """Previews are unknown unless the table lists them by name."""
    assert load_price_table().resolve(preview) is None


def test_a_user_table_can_price_a_preview_and_set_cache_rates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``EDITORIAL_AI_PRICES`` sets a preview's price and the new rates."""
    table_file = tmp_path / "prices.json"
    table_file.write_text(
        json.dumps(
            {
                "models": {
                    "gemini-2.5-flash-preview-09-2025": {
                        "input": 0.3, "output": 2.5, "cached_input": 0.03,
                    },
                    "my-claude": {
                        "input": 2.0, "output": 10.0, "cached_input": 0.2,
                        "cache_write": 2.5, "cache_write_1h": 4.0,
                    },
                }
            }
        )
    )  # fmt: skip
    monkeypatch.setenv(PRICES_ENV, str(table_file))
    table = load_price_table()
    assert table.price("gemini-2.5-flash-preview-09-2025") == ModelPrice(0.3, 2.5, 0.03)
    usage = TokenUsage(
        prompt_tokens=1000, completion_tokens=0, cache_creation_tokens=1000,
        cache_creation_1h_tokens=1000, model_name="my-claude",
    )  # fmt: skip
    assert cost_of_usage(usage) == pytest.approx(4000e-6, rel=1e-12)


def test_every_shipped_claude_entry_with_a_cached_rate_prices_writes(
    shipped: dict[str, Any],
) -> None:
    """5-minute writes at 1.25x input, 1-hour at 2x (Haiku 3: 0.30 / 0.50)."""
    for name, entry in shipped["models"].items():
        if not name.startswith("claude") or "cached_input" not in entry:
            continue
        if name == "claude-3-haiku":
            assert (entry["cache_write"], entry["cache_write_1h"]) == (0.3, 0.5)
            continue
        assert entry["cache_write"] == pytest.approx(entry["input"] * 1.25), name
        assert entry["cache_write_1h"] == pytest.approx(entry["input"] * 2), name


def test_pricing_counts_unpriced_calls_of_a_thread() -> None:
    """A thread's unpriced calls are counted beside the sum."""
    log = NodeRunLog(
        thread_id="t", node_name="n", status="success", started_at=T0, ended_at=T0,
        token_usage=[
            TokenUsage(prompt_tokens=10, completion_tokens=1, model_name="gpt-4o"),
            TokenUsage(model_name="gpt-4o", usage_reported=False),
            TokenUsage(prompt_tokens=10, model_name="gemini-2.5-flash-preview"),
        ],
    )  # fmt: skip
    cost = thread_cost([log])
    assert cost.unpriced_calls == 2
    assert cost.estimated_cost_usd == pytest.approx((25 + 10) / 1e6, rel=1e-12)
