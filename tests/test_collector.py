"""The per-node token collector on a ContextVar."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.runnables.config import ContextThreadPoolExecutor

from editorial_ai.observability import (
    harvest_tokens,
    record_token_usage,
    reset_token_collector,
)


def fresh(fn, *args):  # type: ignore[no-untyped-def]
    """Run ``fn`` in an empty context, as a new thread or process would."""
    return contextvars.Context().run(fn, *args)


def test_plan_isolation_steps() -> None:
    """reset, record two usages, harvest returns two, harvest again returns none."""

    def scenario() -> tuple[int, int]:
        reset_token_collector()
        record_token_usage(10, 5, 15, "gpt-4o")
        record_token_usage(1, 2, 3)
        return len(harvest_tokens()), len(harvest_tokens())

    assert fresh(scenario) == (2, 0)


def test_prompt_chars_and_model_are_kept() -> None:
    """The prompt_chars keyword and the model name reach the usage."""

    def scenario() -> object:
        reset_token_collector()
        record_token_usage(7, 8, 15, "claude-sonnet-4-5", prompt_chars=321)
        return harvest_tokens()[0]

    usage = fresh(scenario)
    assert usage.prompt_chars == 321  # type: ignore[attr-defined]
    assert usage.model_name == "claude-sonnet-4-5"  # type: ignore[attr-defined]
    assert usage.total_tokens == 15  # type: ignore[attr-defined]


def test_reset_discards_previous_node_usage() -> None:
    """A reset starts from zero even if the last node never harvested."""

    def scenario() -> int:
        reset_token_collector()
        record_token_usage(10, 10, 20)
        reset_token_collector()
        return len(harvest_tokens())

    assert fresh(scenario) == 0


def test_outside_any_node_is_dropped_and_does_not_leak() -> None:
    """Recording with no collector neither raises nor reaches the next node."""

    def scenario() -> tuple[list[object], int]:
        record_token_usage(100, 100, 200)
        before = harvest_tokens()
        reset_token_collector()
        return before, len(harvest_tokens())

    assert fresh(scenario) == ([], 0)


def test_concurrent_threads_never_share_tokens() -> None:
    """Eight threads recording at once each harvest exactly their own calls."""
    barrier = threading.Barrier(8)
    results: dict[int, list[int]] = {}

    def node(index: int) -> None:
        reset_token_collector()
        barrier.wait()
        for _ in range(200):
            record_token_usage(index, 1, index + 1)
        barrier.wait()
        results[index] = [u.prompt_tokens for u in harvest_tokens()]

    threads = [threading.Thread(target=fresh, args=(node, index)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(8):
        assert results[index] == [index] * 200


def test_concurrent_asyncio_tasks_never_share_tokens() -> None:
    """Tasks interleaving at every await each harvest only their own calls."""

    async def node(index: int) -> list[int]:
        reset_token_collector()
        for _ in range(50):
            record_token_usage(index, 0, index)
            await asyncio.sleep(0)
        return [u.prompt_tokens for u in harvest_tokens()]

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(node(i) for i in range(1, 6)))

    results = fresh(asyncio.run, main())
    assert results == [[i] * 50 for i in range(1, 6)]


def test_call_in_context_copying_pool_lands_in_node() -> None:
    """LangChain's context-copying executor records into the calling node."""

    def scenario() -> int:
        reset_token_collector()
        with ContextThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: record_token_usage(3, 4, 7), range(10)))
        return sum(u.total_tokens for u in harvest_tokens())

    assert fresh(scenario) == 70


def test_call_in_to_thread_lands_in_node() -> None:
    """asyncio.to_thread copies the context, so its calls count."""

    async def node() -> int:
        reset_token_collector()
        await asyncio.to_thread(record_token_usage, 1, 1, 2)
        return len(harvest_tokens())

    assert fresh(asyncio.run, node()) == 1


def test_plain_pool_without_context_is_dropped_not_leaked() -> None:
    """A pool that does not copy the context cannot reach any node's collector."""

    def scenario() -> int:
        reset_token_collector()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(fresh, record_token_usage, 5, 5, 10).result()
        return len(harvest_tokens())

    assert fresh(scenario) == 0


@pytest.mark.parametrize(
    "args",
    [
        (None, None, None),
        (-5, 3, -2),
        ("12", "x", "3.5"),
        (1.9, float("nan"), float("inf")),
        (object(), [], {}),
        (True, False, 10**30),
    ],
)
def test_bad_arguments_never_raise(args: tuple[object, object, object]) -> None:
    """None, negatives, strings, NaN and objects are counted as 0, never raised."""

    def scenario() -> list[object]:
        reset_token_collector()
        record_token_usage(*args, model_name=object(), prompt_chars="?")  # type: ignore[arg-type]
        return harvest_tokens()

    (usage,) = fresh(scenario)
    for value in (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens):  # type: ignore[attr-defined]
        assert isinstance(value, int) and value >= 0


def test_string_digits_are_accepted() -> None:
    """A count given as a digit string is read as the number."""

    def scenario() -> tuple[int, int]:
        reset_token_collector()
        record_token_usage("12", " 3 ", 0)  # type: ignore[arg-type]
        usage = harvest_tokens()[0]
        return usage.prompt_tokens, usage.total_tokens

    assert fresh(scenario) == (12, 15)


def test_bad_arguments_warn_without_flooding(caplog: pytest.LogCaptureFixture) -> None:
    """A thousand bad calls give a handful of warnings, not a thousand."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")

    def scenario() -> None:
        reset_token_collector()
        for _ in range(1000):
            record_token_usage(-1, 0, 0)

    fresh(scenario)
    assert 1 <= len(caplog.records) <= 10
    assert "negative" in caplog.records[0].getMessage()


def test_same_run_id_counts_once() -> None:
    """Two records of one LLM run id count once."""

    def scenario() -> int:
        reset_token_collector()
        record_token_usage(10, 10, 20, run_id="run-1")
        record_token_usage(10, 10, 20, run_id="run-1")
        record_token_usage(1, 1, 2, run_id="run-2")
        return sum(u.total_tokens for u in harvest_tokens())

    assert fresh(scenario) == 22
