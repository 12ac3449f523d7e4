"""Snapshots: conversions, poison states, the size bound, redaction, policies."""

from __future__ import annotations

import copy
import dataclasses
import enum
import json
import logging
import math
from collections import OrderedDict, deque
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.types import Command, Send
from pydantic import BaseModel

from editorial_ai.observability._internal import reset_warning_counts
from editorial_ai.observability.snapshot import (
    DEFAULT_OPTIONS,
    DEFAULT_REDACT_KEYS,
    REDACTED,
    SnapshotOptions,
    snapshot_output,
    snapshot_state,
)

SLACK = 512  # what markers may add over max_bytes
UNBOUNDED = SnapshotOptions(max_bytes=None)


@pytest.fixture(autouse=True)
def _fresh_warning_counts() -> Iterator[None]:
    """Every test sees the first warning of each kind."""
    reset_warning_counts()
    yield
    reset_warning_counts()


def strict(result: Any) -> bytes:
    """``result`` as the compact UTF-8 strict JSON the bound is about; it must
    also parse back to itself."""
    text = json.dumps(
        result, allow_nan=False, ensure_ascii=False, separators=(",", ":")
    )
    assert json.loads(text) == result
    return text.encode("utf-8")


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class Draft(BaseModel):
    title: str
    api_key: str = "sk-model"
    words: int = 0


@dataclasses.dataclass
class Job:
    name: str
    password: str = "hunter2"
    tags: list[str] = dataclasses.field(default_factory=list)


# -- shapes -------------------------------------------------------------------


def test_dict_state_is_a_dict() -> None:
    """A plain dict state comes back as an equal dict."""
    state = {"topic": "AI in newsrooms", "draft": "x" * 60, "round": 2}
    assert snapshot_state(state) == state


def test_typeddict_state_is_a_dict() -> None:
    """A TypedDict state (a dict at run time) comes back as a dict."""

    class State(TypedDict):
        topic: str

    assert snapshot_state(State(topic="AI")) == {"topic": "AI"}


def test_pydantic_state_is_its_fields() -> None:
    """A Pydantic model state becomes the dict of its fields."""
    result = snapshot_state(Draft(title="T", words=3))
    assert result == {"title": "T", "api_key": REDACTED, "words": 3}


def test_dataclass_state_is_its_fields() -> None:
    """A dataclass state becomes the dict of its fields."""
    result = snapshot_state(Job("j", tags=["a"]))
    assert result == {"name": "j", "password": REDACTED, "tags": ["a"]}


def test_none_is_none() -> None:
    """None in, None out, for both state and output."""
    assert snapshot_state(None) is None
    assert snapshot_output(None) is None


def test_other_state_is_wrapped_in_value() -> None:
    """A state that is neither a mapping nor a record becomes {"value": ...}."""
    assert snapshot_state([1, "a"]) == {"value": [1, "a"]}
    assert snapshot_state("text") == {"value": "text"}


def test_mapping_and_dict_subclass_become_dicts() -> None:
    """OrderedDict and other Mappings become plain dicts."""
    from types import MappingProxyType

    result = snapshot_state({"a": OrderedDict(x=1), "b": MappingProxyType({"y": 2})})
    assert result == {"a": {"x": 1}, "b": {"y": 2}}
    assert result is not None and type(result["a"]) is dict


def test_non_string_keys_use_repr() -> None:
    """Non-str keys become their repr."""
    assert snapshot_state({1: "a", (2, 3): "b", None: "c"}) == {
        "1": "a",
        "(2, 3)": "b",
        "None": "c",
    }


# -- conversions --------------------------------------------------------------


def test_enum_becomes_its_value() -> None:
    """An Enum member is recorded as its value."""
    assert snapshot_state({"c": Color.RED, "d": Color.BLUE}) == {"c": "red", "d": 2}


def test_dates_and_times_are_isoformat() -> None:
    """datetime, date and time become ISO strings; timedelta seconds."""
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    result = snapshot_state(
        {
            "at": moment,
            "day": date(2026, 3, 1),
            "clock": time(9, 5),
            "took": timedelta(minutes=1, microseconds=500_000),
        }
    )
    assert result == {
        "at": "2026-03-01T12:30:00+00:00",
        "day": "2026-03-01",
        "clock": "09:05:00",
        "took": 60.5,
    }


def test_uuid_path_decimal_are_strings() -> None:
    """UUID, Path and Decimal become their str."""
    uid = UUID("12345678-1234-5678-1234-567812345678")
    result = snapshot_state({"id": uid, "path": Path("/tmp/x"), "d": Decimal("1.10")})
    assert result == {"id": str(uid), "path": "/tmp/x", "d": "1.10"}


def test_sets_become_sorted_lists() -> None:
    """A set of one sortable type becomes a sorted list."""
    result = snapshot_state({"s": {3, 1, 2}, "f": frozenset({"b", "a"})})
    assert result == {"s": [1, 2, 3], "f": ["a", "b"]}


def test_mixed_set_keeps_every_element() -> None:
    """A set of mixed types becomes a list of all its elements, unsorted."""
    result = snapshot_state({"s": {1, "a", None}})
    assert result is not None
    assert sorted(map(repr, result["s"])) == sorted(map(repr, [1, "a", None]))


def test_tuples_and_deques_become_lists() -> None:
    """Tuples and deques become lists."""
    result = snapshot_state({"t": (1, (2,)), "q": deque([3, 4])})
    assert result == {"t": [1, [2]], "q": [3, 4]}


def test_bytes_become_length_and_hex_prefix() -> None:
    """bytes, bytearray and memoryview show length and at most 32 bytes in hex."""
    data = bytes(range(100))
    result = snapshot_state(
        {"b": data, "ba": bytearray(b"\x01\x02"), "mv": memoryview(data)}
    )
    assert result == {
        "b": {"_type": "bytes", "length": 100, "prefix": data[:32].hex()},
        "ba": {"_type": "bytes", "length": 2, "prefix": "0102"},
        "mv": {"_type": "bytes", "length": 100, "prefix": data[:32].hex()},
    }


def test_other_objects_become_their_repr() -> None:
    """An unknown object is recorded as its repr."""

    class Thing:
        def __repr__(self) -> str:
            return "Thing(7)"

    assert snapshot_state({"t": Thing()}) == {"t": "Thing(7)"}


def test_long_repr_is_cut_visibly() -> None:
    """A very long repr is cut, with a marker."""

    class Chatty:
        def __repr__(self) -> str:
            return "z" * 50_000

    result = snapshot_state({"c": Chatty()})
    assert result is not None
    assert len(result["c"]) < 2000
    assert result["c"].endswith("[truncated, 50000 chars in all]")


def test_repr_that_raises_is_named() -> None:
    """An object whose repr raises becomes "<unrepresentable TypeName>"."""
    assert snapshot_state({"u": Unprintable()}) == {
        "u": "<unrepresentable Unprintable>"
    }


def test_nan_and_infinities_become_strings() -> None:
    """NaN, inf and -inf become "NaN", "Infinity", "-Infinity"."""
    result = snapshot_state({"f": [math.nan, math.inf, -math.inf, 1.5]})
    assert result == {"f": ["NaN", "Infinity", "-Infinity", 1.5]}


def test_big_ints_become_strings() -> None:
    """Ints beyond 64 bits become strings; huge ones a size marker."""
    result = snapshot_state(
        {"ok": 2**63 - 1, "neg": -(2**63) + 1, "big": 2**63, "huge": 10**5000}
    )
    assert result == {
        "ok": 2**63 - 1,
        "neg": -(2**63) + 1,
        "big": "9223372036854775808",
        "huge": "<int of 16610 bits>",
    }


def test_lone_surrogates_are_replaced() -> None:
    """Lone surrogates become U+FFFD, in values and in keys."""
    result = snapshot_state({"k\udc80": "a\ud800b", "x": "\udfff" * 3})
    assert result == {"k\ufffd": "a\ufffdb", "x": "\ufffd" * 3}


def test_surrogate_pair_is_joined() -> None:
    """A surrogate pair written as two code points becomes its character."""
    assert snapshot_state({"e": "\ud83d\ude00"}) == {"e": "\U0001f600"}


def test_cycle_is_marked() -> None:
    """A container that contains itself is cut with "<cycle>"."""
    loop: list[Any] = [1]
    loop.append(loop)
    state: dict[str, Any] = {"loop": loop}
    state["self"] = state
    assert snapshot_state(state) == {"loop": [1, "<cycle>"], "self": "<cycle>"}


def test_shared_value_is_not_a_cycle() -> None:
    """The same list reached twice (no cycle) is recorded twice."""
    shared = [1, 2]
    assert snapshot_state({"a": shared, "b": [shared]}) == {
        "a": [1, 2],
        "b": [[1, 2]],
    }


def test_dataclass_cycle_is_marked() -> None:
    """A cycle through dataclass fields is cut too."""
    job = Job("j")
    job.tags.append(job)  # type: ignore[arg-type]
    assert snapshot_state({"job": job}) == {
        "job": {"name": "j", "password": REDACTED, "tags": ["<cycle>"]}
    }


def test_deep_nesting_is_cut_at_max_depth() -> None:
    """100,000 nested lists end in "<max depth>" without RecursionError."""
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    result = snapshot_state({"deep": deep})
    text = strict(result)
    assert b"<max depth>" in text
    assert text.count(b"[") < 100


# -- LangChain messages and LangGraph commands --------------------------------


def test_human_message_is_readable() -> None:
    """A HumanMessage becomes a dict with type and content."""
    result = snapshot_state({"messages": [HumanMessage("hi", id="m1")]})
    assert result == {"messages": [{"type": "human", "content": "hi", "id": "m1"}]}


def test_ai_message_keeps_tool_calls_and_usage() -> None:
    """An AIMessage keeps its tool calls and usage metadata."""
    message = AIMessage(
        "",
        tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}],
        usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        response_metadata={"model_name": "gpt-4o-mini"},
    )
    result = snapshot_state({"messages": [message]})
    assert result is not None
    (recorded,) = result["messages"]
    assert recorded["type"] == "ai" and recorded["content"] == ""
    assert recorded["tool_calls"][0]["name"] == "search"
    assert recorded["tool_calls"][0]["args"] == {"q": "x"}
    assert recorded["usage_metadata"]["total_tokens"] == 15
    assert recorded["response_metadata"] == {"model_name": "gpt-4o-mini"}
    strict(result)


def test_tool_message_keeps_its_call_id() -> None:
    """A ToolMessage keeps its tool_call_id."""
    result = snapshot_state({"m": ToolMessage("42", tool_call_id="c1")})
    assert result is not None
    assert result["m"]["type"] == "tool"
    assert result["m"]["content"] == "42"
    assert result["m"]["tool_call_id"] == "c1"


def test_command_with_update_and_send() -> None:
    """Command(update=..., goto=Send(...)) keeps both."""
    output: Command[str] = Command(
        update={"draft": "d"}, goto=Send("write", {"topic": "t"})
    )
    assert snapshot_output(output) == {
        "update": {"draft": "d"},
        "goto": {"node": "write", "arg": {"topic": "t"}},
    }


def test_command_with_goto_list() -> None:
    """Command(goto=["a", "b"]) records the names and no update."""
    assert snapshot_output(Command(goto=["a", "b"])) == {
        "update": None,
        "goto": ["a", "b"],
    }


def test_command_keeps_graph_and_resume() -> None:
    """graph and resume are recorded when set; an empty goto is []."""
    result = snapshot_output(Command(graph=Command.PARENT, resume={"ok": True}))
    assert result == {
        "update": None,
        "goto": [],
        "graph": "__parent__",
        "resume": {"ok": True},
    }


def test_command_update_is_redacted_and_policed() -> None:
    """A Command's update gets redaction and the top-level key policies."""
    options = SnapshotOptions(state_keys={"draft": "length"})
    output = Command(update={"draft": "abc", "tokens": 1, "api_key": "k"}, goto="n")
    assert snapshot_output(output, options) == {
        "update": {
            "draft": {"_type": "str", "length": 3},
            "tokens": 1,
            "api_key": REDACTED,
        },
        "goto": "n",
    }


def test_dict_output_is_a_dict() -> None:
    """A dict update is recorded as a dict, redacted."""
    assert snapshot_output({"draft": "d", "password": "p"}) == {
        "draft": "d",
        "password": REDACTED,
    }


def test_list_of_commands_output() -> None:
    """Any other output is wrapped in {"value": ...}, Commands inside converted."""
    result = snapshot_output([Command(goto="a")])
    assert result == {"value": [{"update": None, "goto": "a"}]}


# -- poison state, the bound, copies ------------------------------------------


def poison_state() -> dict[str, Any]:
    """Every value that has broken a JSON record somewhere."""
    loop: list[Any] = []
    loop.append(loop)
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    return {
        "cycle": loop,
        "deep": deep,
        "set": {3, 1, 2},
        "bytes": b"\x00\xff" * 1000,
        "uuid": UUID(int=1),
        "enum": Color.RED,
        "nan": math.nan,
        "inf": -math.inf,
        "huge_int": 10**5000,
        "surrogate": "a\ud800b",
        "unrepr": Unprintable(),
        "big_string": "y" * 10_000_000,
    }


def test_poison_state_is_strict_json_with_markers() -> None:
    """The poison state gives strict JSON, with markers, under the bound."""
    result = snapshot_state(poison_state())
    text = strict(result)
    assert len(text) <= DEFAULT_OPTIONS.max_bytes + SLACK  # type: ignore[operator]
    assert result is not None
    assert result["cycle"] == ["<cycle>"]
    assert result["nan"] == "NaN" and result["inf"] == "-Infinity"
    assert result["huge_int"].startswith("<int of")
    assert result["surrogate"] == "a\ufffdb"
    assert result["unrepr"] == "<unrepresentable Unprintable>"
    assert result["big_string"].endswith("[truncated, 10000000 chars in all]")
    assert b"<max depth>" in text


def test_poison_state_under_small_bound() -> None:
    """With a 2 KiB bound the poison state still records, cut visibly."""
    result = snapshot_state(poison_state(), SnapshotOptions(max_bytes=2048))
    text = strict(result)
    assert len(text) <= 2048 + SLACK
    assert b"truncated" in text


def test_poison_state_unbounded_is_strict_json() -> None:
    """Without a bound the poison state is strict JSON and keeps the string."""
    result = snapshot_state(poison_state(), UNBOUNDED)
    strict(result)
    assert result is not None
    assert len(result["big_string"]) == 10_000_000


def test_long_string_is_sliced_to_the_bound() -> None:
    """A 1 MB string under the default bound is cut and marked."""
    result = snapshot_state({"draft": "x" * (1 << 20)})
    text = strict(result)
    assert result is not None
    assert result["draft"].endswith("...[truncated, 1048576 chars in all]")
    assert 256 * 1024 - 1024 < len(text) <= 256 * 1024 + SLACK


def test_non_ascii_string_respects_the_bound_in_bytes() -> None:
    """Multi-byte characters are counted in UTF-8 bytes, not characters."""
    result = snapshot_state({"t": "é€😀" * 100_000}, SnapshotOptions(max_bytes=10_000))
    assert len(strict(result)) <= 10_000 + SLACK


def test_escaped_characters_respect_the_bound() -> None:
    """Control characters (6 bytes each in JSON) are counted as such."""
    result = snapshot_state({"t": "\x01" * 100_000}, SnapshotOptions(max_bytes=10_000))
    assert len(strict(result)) <= 10_000 + SLACK


def test_unbounded_keeps_a_long_string_whole() -> None:
    """max_bytes=None keeps a 1 MB string whole."""
    draft = "x" * (1 << 20)
    assert snapshot_state({"draft": draft}, UNBOUNDED) == {"draft": draft}


def test_long_list_is_cut_with_a_marker_item() -> None:
    """A list of a million items ends in a marker item, under the bound."""
    result = snapshot_state({"items": list(range(1_000_000))})
    text = strict(result)
    assert result is not None
    assert result["items"][-1] == "...[truncated, 1000000 items in all]"
    assert len(text) <= 256 * 1024 + SLACK


def test_wide_dict_is_cut_with_an_ellipsis_key() -> None:
    """A dict cut by the bound gains a "…" key saying how many keys are left."""
    wide = {"key%05d" % i: "v" * 50 for i in range(10_000)}
    result = snapshot_state({"wide": wide}, SnapshotOptions(max_bytes=4096))
    text = strict(result)
    assert result is not None
    inner = result["wide"]
    assert inner["…"] == "...[truncated, %d keys left out]" % (10_000 - len(inner) + 1)
    assert len(text) <= 4096 + SLACK


@pytest.mark.parametrize("max_bytes", [0, 1, 50, 200, 1000])
def test_tiny_bounds_still_give_a_dict(max_bytes: int) -> None:
    """Even a tiny bound gives a dict of markers within the slack."""
    state = {"a": "x" * 1000, "b": [[[1, 2, 3]]], "c": {"d": "e" * 500}}
    result = snapshot_state(state, SnapshotOptions(max_bytes=max_bytes))
    assert isinstance(result, dict)
    assert len(strict(result)) <= max_bytes + SLACK


def test_snapshot_does_not_mutate_the_state() -> None:
    """Snapshotting leaves the state exactly as it was."""
    state = {
        "messages": [HumanMessage("hi")],
        "nested": {"l": [1, {"s": {1, 2}}], "t": (1, 2)},
        "draft": "x" * 300_000,
        "password": "p",
    }
    before = copy.deepcopy(state)
    snapshot_state(state)
    snapshot_output(state)
    assert state == before


def test_later_mutation_does_not_reach_the_snapshot() -> None:
    """The snapshot is a deep copy: mutating the state afterwards changes nothing."""
    state: dict[str, Any] = {"notes": ["a"], "meta": {"round": 1}, "job": Job("j")}
    result = snapshot_state(state)
    state["notes"].append("b")
    state["meta"]["round"] = 2
    state["job"].tags.append("late")
    state["new"] = 1
    assert result == {
        "notes": ["a"],
        "meta": {"round": 1},
        "job": {"name": "j", "password": REDACTED, "tags": []},
    }


# -- redaction ----------------------------------------------------------------


def test_default_names_are_the_documented_ones() -> None:
    """The default names include those of the design."""
    assert {"password", "api_key", "authorization", "x_api_key"} <= DEFAULT_REDACT_KEYS


def test_redaction_in_nested_dicts() -> None:
    """A secret key is redacted at any depth of dicts."""
    state = {"config": {"llm": {"openai_api_key": "sk-1", "model": "m"}}}
    assert snapshot_state(state) == {
        "config": {"llm": {"openai_api_key": REDACTED, "model": "m"}}
    }


def test_redaction_in_lists_of_dicts() -> None:
    """Dicts inside lists are redacted too."""
    state = {"calls": [{"headers": {"Authorization": "Bearer x"}}, {"cookie": "c"}]}
    assert snapshot_state(state) == {
        "calls": [{"headers": {"Authorization": REDACTED}}, {"cookie": REDACTED}]
    }


def test_redaction_in_model_and_dataclass_fields() -> None:
    """Pydantic and dataclass fields are redacted by name."""
    result = snapshot_state({"draft": Draft(title="t"), "job": Job("j")})
    assert result == {
        "draft": {"title": "t", "api_key": REDACTED, "words": 0},
        "job": {"name": "j", "password": REDACTED, "tags": []},
    }


def test_key_spellings_are_normalized() -> None:
    """Case, camelCase, dashes and prefixes do not hide a secret key."""
    keys = ["X-API-KEY", "accessToken", "DB_PASSWORD", "client_secret", "Set-Cookie"]
    result = snapshot_state({key: "v" for key in keys})
    assert result == {key: REDACTED for key in keys}


def test_token_count_keys_are_kept() -> None:
    """Keys about LLM token counts are not redacted."""
    usage = {
        "tokens": 1,
        "total_tokens": 2,
        "max_tokens": 3,
        "prompt_tokens": 4,
        "completion_tokens": 5,
        "input_tokens": 6,
        "output_tokens": 7,
    }
    assert snapshot_state({"usage": usage}) == {"usage": usage}


def test_token_count_keys_survive_a_token_extra() -> None:
    """redact_keys=("token",) hides tokens but not token counts."""
    options = SnapshotOptions(redact_keys=("token",))
    result = snapshot_state({"csrf_token": "t", "max_tokens": 10}, options)
    assert result == {"csrf_token": REDACTED, "max_tokens": 10}


def test_redact_keys_add_names() -> None:
    """Extra names are redacted on top of the defaults."""
    options = SnapshotOptions(redact_keys=("ssn", "Email"))
    result = snapshot_state(
        {"ssn": "1", "user": {"email": "a@b"}, "password": "p"}, options
    )
    assert result == {
        "ssn": REDACTED,
        "user": {"email": REDACTED},
        "password": REDACTED,
    }


def test_redact_false_keeps_secrets() -> None:
    """redact=False turns the default names off."""
    options = SnapshotOptions(redact=False)
    assert snapshot_state({"password": "p"}, options) == {"password": "p"}


def test_redact_false_still_applies_mask() -> None:
    """With redact=False the user mask still applies."""
    options = SnapshotOptions(redact=False, mask=lambda k, v: "***" if k == "pw" else v)
    assert snapshot_state({"pw": "p", "password": "q"}, options) == {
        "pw": "***",
        "password": "q",
    }


def test_mask_replacement_applies_at_any_depth() -> None:
    """The mask's return value replaces the value, in nested dicts too."""

    def mask(key: str, value: Any) -> Any:
        return value.upper() if key == "email" else value

    state = {"user": {"email": "a@b"}, "list": [{"email": "c@d"}]}
    result = snapshot_state(state, SnapshotOptions(mask=mask))
    assert result == {"user": {"email": "A@B"}, "list": [{"email": "C@D"}]}


def test_mask_that_raises_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    """A mask that raises records "[REDACTED]" and warns, never the raw value."""

    def mask(key: str, value: Any) -> Any:
        if key == "card":
            raise ValueError("cannot mask %s" % value)
        return value

    caplog.set_level(logging.WARNING, logger="editorial_ai.observability")
    result = snapshot_state({"card": "4111-1111", "ok": 1}, SnapshotOptions(mask=mask))
    assert result == {"card": REDACTED, "ok": 1}
    warnings = [r for r in caplog.records if r.name == "editorial_ai.observability"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "4111" not in caplog.text


def test_mask_keyboard_interrupt_passes_through() -> None:
    """A mask's KeyboardInterrupt is the user's, not contained."""

    def mask(key: str, value: Any) -> Any:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        snapshot_state({"a": 1}, SnapshotOptions(mask=mask))


# -- key policies -------------------------------------------------------------


def test_policy_keep_records_the_value() -> None:
    """ "keep" records the value as it is."""
    options = SnapshotOptions(state_keys={"draft": "keep"})
    assert snapshot_state({"draft": "d"}, options) == {"draft": "d"}


def test_policy_drop_leaves_a_marker() -> None:
    """ "drop" replaces the value with a visible marker."""
    options = SnapshotOptions(state_keys={"html": "drop"})
    assert snapshot_state({"html": "<p>", "t": 1}, options) == {
        "html": "[dropped]",
        "t": 1,
    }


def test_policy_length_records_type_and_length() -> None:
    """ "length" records the type and length, or only the type."""
    options = SnapshotOptions(
        state_keys={
            "s": "length",
            "l": "length",
            "d": "length",
            "b": "length",
            "n": "length",
        }
    )
    state = {"s": "x" * 1_048_576, "l": [1, 2], "d": {"a": 1}, "b": b"abc", "n": 5}
    assert snapshot_state(state, options) == {
        "s": {"_type": "str", "length": 1_048_576},
        "l": {"_type": "list", "length": 2},
        "d": {"_type": "dict", "length": 1},
        "b": {"_type": "bytes", "length": 3},
        "n": {"_type": "int"},
    }


def test_policy_int_truncates_strings_lists_bytes_dicts() -> None:
    """An int policy keeps n characters, items, bytes or keys, with a marker."""
    options = SnapshotOptions(state_keys={"s": 3, "l": 2, "b": 4, "d": 1})
    state = {
        "s": "abcdef",
        "l": [1, 2, 3, 4],
        "b": bytes(range(10)),
        "d": {"x": 1, "y": 2},
    }
    assert snapshot_state(state, options) == {
        "s": "abc...[truncated, 6 chars in all]",
        "l": [1, 2, "...[truncated, 4 items in all]"],
        "b": {"_type": "bytes", "length": 10, "prefix": "00010203"},
        "d": {"x": 1, "…": "...[truncated, 1 keys left out]"},
    }


def test_policy_int_leaves_short_values_alone() -> None:
    """An int policy does not mark a value that is already short enough."""
    options = SnapshotOptions(state_keys={"s": 10, "l": 10})
    assert snapshot_state({"s": "abc", "l": [1]}, options) == {"s": "abc", "l": [1]}


def test_policies_apply_only_at_top_level() -> None:
    """A policy names a top-level state key, not a nested one."""
    options = SnapshotOptions(state_keys={"draft": "drop"})
    assert snapshot_state({"x": {"draft": "d"}}, options) == {"x": {"draft": "d"}}


def test_redaction_wins_over_policy() -> None:
    """A secret key stays redacted whatever its policy."""
    options = SnapshotOptions(state_keys={"api_key": "length"})
    assert snapshot_state({"api_key": "sk"}, options) == {"api_key": REDACTED}


# -- options ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_bytes": -1}, ValueError),
        ({"max_bytes": "big"}, TypeError),
        ({"max_bytes": True}, TypeError),
        ({"redact": "yes"}, TypeError),
        ({"redact_keys": "token"}, TypeError),
        ({"redact_keys": (1,)}, TypeError),
        ({"redact_keys": ("",)}, ValueError),
        ({"mask": "not callable"}, TypeError),
        ({"state_keys": {"x": "explode"}}, ValueError),
        ({"state_keys": {"x": -1}}, ValueError),
        ({"state_keys": {"x": True}}, TypeError),
        ({"state_keys": {"x": 1.5}}, TypeError),
        ({"state_keys": {1: "drop"}}, TypeError),
        ({"state_keys": ["x"]}, TypeError),
    ],
)
def test_bad_options_raise_at_construction(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """A bad configuration raises ValueError or TypeError when created."""
    with pytest.raises(error):
        SnapshotOptions(**kwargs)


def test_options_copy_state_keys() -> None:
    """Changing the dict given as state_keys afterwards changes nothing."""
    policies: dict[str, Any] = {"a": "drop"}
    options = SnapshotOptions(state_keys=policies)
    policies["a"] = "keep"
    assert snapshot_state({"a": 1}, options) == {"a": "[dropped]"}


def test_options_compare_by_value() -> None:
    """Two options built alike are equal (the private plan is not compared)."""
    assert SnapshotOptions(redact_keys=("a",)) == SnapshotOptions(redact_keys=("a",))


def test_options_are_hashable() -> None:
    """Options with state_keys can be dict keys; equal options hash alike."""
    first = SnapshotOptions(state_keys={"a": "drop"})
    second = SnapshotOptions(state_keys={"a": "drop"})
    assert {first: 1}[second] == 1


def test_options_replace_keeps_validation() -> None:
    """dataclasses.replace builds new, validated options."""
    options = dataclasses.replace(DEFAULT_OPTIONS, max_bytes=None)
    assert options.max_bytes is None
    with pytest.raises(ValueError):
        dataclasses.replace(DEFAULT_OPTIONS, max_bytes=-5)


# -- failures -----------------------------------------------------------------


def test_broken_mapping_gives_an_error_marker(caplog: pytest.LogCaptureFixture) -> None:
    """A mapping whose items() raises gives a marker and a warning, no raise."""
    from collections.abc import Mapping

    class Broken(Mapping[str, int]):
        def __getitem__(self, key: str) -> int:
            raise KeyError(key)

        def __iter__(self) -> Iterator[str]:
            raise OSError("disk gone")

        def __len__(self) -> int:
            return 1

    caplog.set_level(logging.WARNING, logger="editorial_ai.observability")
    assert snapshot_state(Broken()) == {"_snapshot_error": "OSError: disk gone"}
    assert snapshot_output({"x": Broken()}) == {"_snapshot_error": "OSError: disk gone"}
    assert "snapshot failed" in caplog.text


# -- properties ---------------------------------------------------------------

# characters() leaves out surrogates; the union puts lone ones in often.
any_text = st.text(alphabet=st.characters() | st.characters(categories=["Cs"]))
scalars = (
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.integers(min_value=2**60, max_value=2**2000)
    | st.integers(min_value=-(2**2000), max_value=-(2**60))
    | any_text
    | st.binary(max_size=100)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=8)
        | st.dictionaries(any_text, children, max_size=8)
        | st.tuples(children, children)
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None)
@given(values)
def test_any_value_gives_strict_json(value: Any) -> None:
    """snapshot_state never raises and always returns strict JSON."""
    strict(snapshot_state(value))
    strict(snapshot_state(value, UNBOUNDED))
    strict(snapshot_output(value))


@settings(max_examples=150, deadline=None)
@given(values)
def test_any_value_stays_under_a_small_bound(value: Any) -> None:
    """With max_bytes=2048 the JSON is never more than the slack over it."""
    assert len(strict(snapshot_state(value, SnapshotOptions(max_bytes=2048)))) <= (
        2048 + SLACK
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=8)
        | st.dictionaries(
            st.text(alphabet="abcdefgh", max_size=6), children, max_size=8
        )
    ),
    max_leaves=40,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_json_data_is_kept_as_it_is(value: Any) -> None:
    """Data already strict JSON (no secret keys) comes back equal, unbounded."""
    assert snapshot_state({"v": value}, UNBOUNDED) == {"v": value}


def test_shared_substructures_without_a_bound_stop() -> None:
    """A DAG that expands exponentially stops at a container count, not never."""
    from editorial_ai.observability.snapshot import SnapshotOptions, snapshot_state

    node: list[object] = ["leaf"]
    for _ in range(40):
        node = [node, node]
    result = snapshot_state({"dag": node}, SnapshotOptions(max_bytes=None))
    assert "<too many containers>" in json.dumps(result)


def test_flat_fast_path_redacts() -> None:
    """A secret key in a flat state is redacted on the fast path too."""
    options = SnapshotOptions()
    state = {"topic": "AI", "password": "hunter2"}
    first = snapshot_state(state, options)
    second = snapshot_state(state, options)
    assert first == second == {"topic": "AI", "password": "[REDACTED]"}


def test_long_text_seen_again_gives_the_same_snapshot() -> None:
    """A long text met again (remembered by identity) snapshots the same."""
    body = "y" * 100_000 + '"quoted"\n'
    first = snapshot_state({"body": body, "n": 1})
    again = snapshot_state({"body": body, "n": 2})
    assert first is not None and again is not None
    assert first["body"] == again["body"] == body
    cut = snapshot_state({"body": body * 5})
    cut_again = snapshot_state({"body": body * 5, "other": "x" * 100})
    assert cut is not None and cut_again is not None
    assert cut["body"].endswith("chars in all]")
    assert len(strict(cut_again)) <= 256 * 1024 + SLACK


def test_equal_text_that_is_another_object_is_measured_itself() -> None:
    """The cache keys on identity: a different string is never taken for it."""
    options = SnapshotOptions(max_bytes=20_000)
    a = "a" * 15_000
    snapshot_state({"t": a}, options)
    b = "\x01" * 15_000  # same length, six times the JSON size
    result = snapshot_state({"t": b}, options)
    assert result is not None and result["t"].endswith("chars in all]")
    assert len(strict(result)) <= 20_000 + SLACK
