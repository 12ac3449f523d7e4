"""The fast path gives the careful walk's bytes for every state it accepts."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel
from pydantic_core import to_json

from editorial_ai.observability.snapshot import (
    REDACTED,
    SnapshotOptions,
    careful,
    snapshot_output,
    snapshot_state,
)
from editorial_ai.observability.snapshot._fast import DECLINED, OVER, fast_snapshot
from editorial_ai.observability.snapshot._walk import _Walker

# Examples the property test runs; docs/performance.md quotes this number.
EXAMPLES = 2000


class Draft(BaseModel):
    title: str
    words: int = 0


@dataclasses.dataclass
class Job:
    name: str
    tags: list[str] = dataclasses.field(default_factory=list)


KEYS = st.one_of(
    st.sampled_from(
        [
            "topic",
            "draft",
            "messages",
            "score",
            "keywords",
            "key_points",
            "cache_key",
            "max_tokens",
            "total_tokens",
            "input_token_details",
            "token",
            "api_key",
            "GITHUB_TOKEN",
            "session_id",
            "\uff21\uff30\uff29\uff3f\uff2b\uff25\uff39",  # API_KEY, fullwidth
            "API__KEY",
            "Authorization",
            "sk-proj-Abcdefgh12345678ijkl",
        ]
    ),
    st.text(max_size=12),
)
SECRET_LOOKING = st.sampled_from(
    [
        "sk-proj-Abcdefgh12345678ijkl",
        "ghp_" + "a1B2" * 9,
        "xoxb-12345-67890-abcdefghij",
        "hf_" + "Zq9" * 11,
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
        "postgres://admin:DBPASS@db/x",
        "Bearer abc.def.ghi",
        "task-management-overview-2024",
        "sk-short",
    ]
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
    SECRET_LOOKING,
    st.builds(lambda n, c: c * n, st.integers(4000, 6000), st.sampled_from("ab\n")),
)
SCALARS = st.one_of(
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)


def _cycle(seed: dict[str, Any]) -> dict[str, Any]:
    seed = dict(seed)
    seed["self"] = seed
    return seed


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        node = {"n": node}
    return node


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(KEYS, children, max_size=4),
        st.tuples(st.sampled_from(["Authorization", "topic", "token"]), TEXT),
        st.builds(HumanMessage, content=st.text(max_size=20)),
        st.builds(
            AIMessage,
            content=st.text(max_size=20),
            usage_metadata=st.just(
                {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
            ),
        ),
        st.builds(Draft, title=st.text(max_size=10), words=st.integers(0, 9)),
        st.builds(Job, name=st.text(max_size=10)),
        st.binary(max_size=40),
        st.frozensets(st.integers(0, 9), max_size=4),
        st.dictionaries(KEYS, children, max_size=3).map(_cycle),
        st.integers(60, 70).map(_deep),
    )


VALUES = st.recursive(SCALARS, _extend, max_leaves=12)
# JSON data only (what most states are), with secret-looking keys and values.
PLAIN = st.recursive(
    st.one_of(
        st.text(max_size=30),
        st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
        st.floats(),
        st.booleans(),
        st.none(),
        SCALARS,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=16,
)
STATES = st.one_of(
    st.dictionaries(KEYS, VALUES, max_size=6),
    st.dictionaries(KEYS, PLAIN, max_size=6),
)


def _size(result: Any) -> int:
    return len(to_json(result))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    STATES,
    st.sampled_from([None, 64, 2048, 256 * 1024, "at", "under", "over"]),
    st.booleans(),
)
def test_fast_path_equals_the_careful_walk(
    state: dict[Any, Any], bound: int | str | None, redact: bool
) -> None:
    """Where the fast path accepts a state, its bytes are the careful walk's;
    where it says "over the bound", the whole snapshot is over the bound."""
    whole = careful(state, SnapshotOptions(max_bytes=None, redact=redact)._plan)
    if isinstance(bound, str):
        # At the bound, one byte under it, one byte over it.
        size = _size(whole)
        bound = {"at": size, "under": size + 1, "over": size - 1}[bound]
        bound = max(bound, 0)
    plan = SnapshotOptions(max_bytes=bound, redact=redact)._plan
    first = fast_snapshot(state, plan)
    # Again, with every key in the plan's cache: a flat state now takes the
    # one-loop path, which must decide and give the same.
    fast = fast_snapshot(state, plan)
    if first is DECLINED or first is OVER or fast is DECLINED or fast is OVER:
        assert (first is OVER) == (fast is OVER) or DECLINED in (first, fast)
    else:
        assert to_json(first) == to_json(fast)
    slow = careful(state, plan)
    if fast is DECLINED:
        event("declined")
        return
    if fast is OVER:
        event("over the bound")
        assert bound is not None and _size(whole) > bound
        return
    event("accepted")
    assert to_json(fast) == to_json(slow)
    assert to_json(fast) == to_json(whole)
    if bound is not None:
        assert _size(fast) <= bound


def test_fast_path_takes_a_plain_state() -> None:
    """A plain state is taken by the fast path, a copy of its containers."""
    state = {"topic": "AI", "notes": ["a", {"n": 1.5}], "ok": True, "none": None}
    fast = fast_snapshot(state, SnapshotOptions()._plan)
    assert fast == state
    assert fast is not state and fast["notes"] is not state["notes"]


def test_fast_path_declines_what_needs_the_walk() -> None:
    """A secret value, a set or bytes send the state to the careful walk."""
    plan = SnapshotOptions()._plan
    for state in (
        {"note": "key sk-proj-Abcdefgh12345678ijkl"},
        {"tags": {"b", "a"}},
        {"blob": b"\x00"},
        {"n": 2**64},
        {"s": "\ud800"},
    ):
        assert fast_snapshot(state, plan) is DECLINED, state


def test_fast_path_takes_messages_as_the_walk_does() -> None:
    """Messages, models and dataclasses are taken by the fast path, as the
    walk gives them."""
    state = {
        "draft": Draft(title="t"),
        "job": Job("j", ["x"]),
        "messages": [
            HumanMessage("hi", id="m1"),
            AIMessage(
                "hello",
                usage_metadata={
                    "input_tokens": 3,
                    "output_tokens": 4,
                    "total_tokens": 7,
                },
                response_metadata={"model_name": "gpt-4o-mini"},
            ),
        ],
    }
    plan = SnapshotOptions()._plan
    fast = fast_snapshot(state, plan)
    assert fast is not DECLINED and fast is not OVER
    assert to_json(fast) == to_json(_Walker(plan).state(state))
    assert fast["messages"][1]["usage_metadata"]["total_tokens"] == 7


def test_fast_path_redacts_secret_keys_itself() -> None:
    """A secret key on the fast path is redacted as the walk would."""
    state = {"topic": "AI", "GITHUB_TOKEN": "x", "nested": {"session_id": "s"}}
    fast = fast_snapshot(state, SnapshotOptions()._plan)
    assert fast == {
        "topic": "AI",
        "GITHUB_TOKEN": REDACTED,
        "nested": {"session_id": REDACTED},
    }


def test_a_state_over_the_bound_is_cut_by_the_walk() -> None:
    """A state over the bound is declined as over and cut by the walk."""
    options = SnapshotOptions(max_bytes=10_000)
    state = {"body": "z" * 50_000}
    assert fast_snapshot(state, options._plan) is OVER
    result = snapshot_state(state, options)
    assert result is not None and result["body"].endswith("chars in all]")


def test_a_state_that_fits_exactly_is_whole_on_both_paths() -> None:
    """A snapshot exactly at the bound is kept whole, with or without a secret."""
    state = {"a": [1.5, None, False, "x" * 100], "b": {"c": 10**17}}
    size = _size(state)
    options = SnapshotOptions(max_bytes=size)
    assert snapshot_state(state, options) == state
    walked = careful(state, options._plan)
    assert walked == state
    cut = _Walker(SnapshotOptions(max_bytes=size - 1)._plan).state(state)
    assert cut != state


def test_output_takes_the_same_paths() -> None:
    """snapshot_output of a plain dict equals its state snapshot."""
    update = {"draft": "text", "score": 0.5}
    assert snapshot_output(update) == snapshot_state(update) == update


def test_a_flat_state_seen_again_still_catches_a_new_secret() -> None:
    """Texts remembered clean do not hide a secret in a new text of the state."""
    options = SnapshotOptions()
    topic = "AI in local newsrooms"
    assert snapshot_state({"topic": topic, "note": "ok"}, options) == {
        "topic": topic,
        "note": "ok",
    }
    leaked = "key sk-proj-Abcdefgh12345678ijkl"
    assert snapshot_state({"topic": topic, "note": leaked}, options) == {
        "topic": topic,
        "note": "key sk-" + REDACTED,
    }


def test_a_pair_with_a_secret_name_is_declined_and_redacted() -> None:
    """A (name, secret) pair sends the state to the walk, which hides it."""
    state = {"headers": [["X-Api-Key", "abc"]]}
    assert fast_snapshot(state, SnapshotOptions()._plan) is DECLINED
    assert snapshot_state(state) == {"headers": [["X-Api-Key", REDACTED]]}


def test_redact_false_takes_secrets_on_the_fast_path() -> None:
    """Without redaction, credential formats stay and the fast path takes them."""
    state = {"note": "sk-proj-Abcdefgh12345678ijkl", "token": "t"}
    options = SnapshotOptions(redact=False)
    assert fast_snapshot(state, options._plan) == state
    assert snapshot_state(state, options) == state
