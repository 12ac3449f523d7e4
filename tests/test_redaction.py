"""Secrets never reach the file: by key name, by value, in pairs, in errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from editorial_ai.observability import node_wrapper, read_node_logs
from editorial_ai.observability.snapshot import (
    REDACTED,
    SnapshotOptions,
    redact_message,
    redact_text,
    snapshot_state,
)

FULLWIDTH_API_KEY = "\uff21\uff30\uff29\uff3f\uff2b\uff25\uff39"

# Issue 10's list: each key name with a secret no value rule would catch.
SECRET_KEYS = [
    "token",
    "GITHUB_TOKEN",
    "HF_TOKEN",
    "AWS_SESSION_TOKEN",
    "SLACK_BOT_TOKEN",
    "bearer",
    "jwt",
    "session_id",
    "pwd",
    "passphrase",
    "openai_key",
    "API__KEY",
    FULLWIDTH_API_KEY,
    "secret",
    "signature",
    "dsn",
    "key",
]
# Credentials of well-known formats, planted under innocent keys.
FORMATS = {
    "openai": "sk-proj-Q9xW2eR7tY4uI1oP3aS6dF8g",
    "github": "ghp_" + "Zx8Cv7Bn6Mq5Wr4Et3Yu2Io1Pa9Sd0Fg7Hj6",
    "slack": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "huggingface": "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNm12345678",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r",
}
URL_PASSWORD = "DBPASS"
PAIR_TOKEN = "pair-bearer-9f8e7d6c5b4a"


def planted(name: str) -> str:
    """A secret that only the key rule can find: no format, unique per key."""
    return "plain-secret-%s-7d1e" % name.encode().hex()


def _graph(*nodes: Any, checkpointer: Any = None) -> Any:
    builder = StateGraph(dict)
    previous = START
    for node in nodes:
        builder.add_node(node.__name__, node)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=checkpointer)


def _every_secret() -> list[str]:
    return (
        [planted(name) for name in SECRET_KEYS]
        + list(FORMATS.values())
        + [URL_PASSWORD, PAIR_TOKEN]
    )


def test_no_planted_secret_reaches_the_file(log_dir: Path) -> None:
    """Every secret of issue 10's list, planted in state, output, error and
    interrupt, is absent from the written file; counts and notes stay."""
    state: dict[str, Any] = {name: planted(name) for name in SECRET_KEYS}
    state.update({"note_%s" % kind: value for kind, value in FORMATS.items()})
    state["database"] = "postgres://admin:%s@db/x" % URL_PASSWORD
    state["headers"] = [("Authorization", "Bearer " + PAIR_TOKEN)]
    state["usage"] = {"total_tokens": 1234, "max_tokens": 4096, "tokens": 77}
    state["keywords"] = ["kept-keyword"]
    state["key_points"] = ["kept-point"]
    state["cache_key"] = "kept-cache-key"

    @node_wrapper
    def echo(state: dict[str, Any]) -> dict[str, Any]:
        return dict(state)

    @node_wrapper
    def ask(state: dict[str, Any]) -> dict[str, Any]:
        answer = interrupt(
            {
                "question": "publish?",
                "GITHUB_TOKEN": planted("GITHUB_TOKEN"),
                "preview": "uses " + FORMATS["openai"],
            }
        )
        return {"answer": answer}

    graph = _graph(echo, ask, checkpointer=InMemorySaver())
    graph.invoke(state, {"configurable": {"thread_id": "leaky"}})

    @node_wrapper
    def fail(state: dict[str, Any]) -> dict[str, Any]:
        config = {"api_key": planted("api_key"), "pwd": planted("pwd")}
        raise ConnectionError(
            "cannot reach postgres://admin:%s@db/x with %r, token=%s, "
            "Authorization: Bearer %s, key %s"
            % (URL_PASSWORD, config, planted("token"), PAIR_TOKEN, FORMATS["aws"])
        )

    with pytest.raises(ConnectionError):
        _graph(fail).invoke({}, {"configurable": {"thread_id": "leaky"}})

    data = (log_dir / "leaky.jsonl").read_bytes()
    logs = read_node_logs("leaky")
    assert [log.status for log in logs] == ["success", "interrupted", "error"]
    for secret in _every_secret():
        assert secret.encode() not in data, secret
    assert logs[2].error_message is not None and REDACTED in logs[2].error_message
    assert logs[1].interrupt_value == {
        "question": "publish?",
        "GITHUB_TOKEN": REDACTED,
        "preview": "uses sk-" + REDACTED,
    }
    output = logs[0].output_state
    assert output is not None
    assert output["usage"] == {"total_tokens": 1234, "max_tokens": 4096, "tokens": 77}
    assert output["keywords"] == ["kept-keyword"]
    assert output["key_points"] == ["kept-point"]
    assert output["cache_key"] == "kept-cache-key"
    assert output["database"] == "postgres://admin:%s@db/x" % REDACTED
    assert output["headers"] == [["Authorization", REDACTED]]


@pytest.mark.parametrize("name", SECRET_KEYS)
def test_each_secret_key_name_is_redacted(name: str) -> None:
    """Each key name of issue 10 hides its value, nested too."""
    result = snapshot_state({"outer": {name: "v"}})
    assert result == {"outer": {name: REDACTED}}


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "total_tokens",
        "tokens",
        "prompt_tokens",
        "input_token_details",
        "prompt_token_count",
        "token_usage",
        "keywords",
        "key_points",
        "keys",
        "cache_key",
        "sort_key",
        "primary_key",
        "session_count",
        "monkey",
        "thread_id",
    ],
)
def test_counts_and_ordinary_names_are_kept(name: str) -> None:
    """Token counts and ordinary names that merely look alike are kept."""
    assert snapshot_state({name: 5}) == {name: 5}


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_each_format_is_cut_out_of_text(kind: str) -> None:
    """A credential of a known format is cut out of a longer text."""
    text = "see (%s) for access\n" % FORMATS[kind]
    result = snapshot_state({"notes": [text]})
    assert result is not None
    assert FORMATS[kind] not in result["notes"][0]
    assert REDACTED in result["notes"][0]


def test_a_format_in_a_long_text_is_cut_out() -> None:
    """A secret inside a long text (remembered by identity) is cut out too."""
    body = "x" * 10_000 + " " + FORMATS["github"] + " " + "y" * 10_000
    for _ in range(2):
        result = snapshot_state({"body": body})
        assert result is not None and FORMATS["github"] not in result["body"]


def test_a_format_past_the_cut_leaves_no_prefix() -> None:
    """Redaction comes before the bound's cut: no half secret is left."""
    secret = FORMATS["openai"]
    body = "x" * 990 + secret
    result = snapshot_state({"body": body}, SnapshotOptions(max_bytes=1000))
    assert result is not None
    assert secret[:12] not in result["body"]


def test_a_key_that_is_a_secret_is_scrubbed() -> None:
    """A dict keyed by a credential does not write the credential."""
    result = snapshot_state({"quota": {FORMATS["openai"]: 10}})
    assert result == {"quota": {"sk-" + REDACTED: 10}}


def test_words_that_contain_a_format_are_kept() -> None:
    """Ordinary words are not mistaken for credentials."""
    text = "task-management-system-overview, disk-space-1234567890abc, ask-me"
    assert redact_text(text) == text


def test_pairs_of_any_shape_are_redacted() -> None:
    """Lists and tuples of two with a secret name hide the second item."""
    state = {
        "headers": [("Authorization", "Basic dXNlcjpwYXNz"), ("Accept", "json")],
        "env": [["OPENAI_KEY", "v1"], ["HOME", "/root"]],
    }
    assert snapshot_state(state) == {
        "headers": [["Authorization", REDACTED], ["Accept", "json"]],
        "env": [["OPENAI_KEY", REDACTED], ["HOME", "/root"]],
    }


def test_redact_false_keeps_formats_and_words() -> None:
    """redact=False turns off the formats and the component rules."""
    options = SnapshotOptions(redact=False)
    state = {"token": "t", "note": FORMATS["openai"]}
    assert snapshot_state(state, options) == state


def test_error_text_rules() -> None:
    """name=value pairs, quoted dict items and Bearer tokens are cut from text."""
    text = (
        "failed: {'user': 'ann', 'password': 'hunter2'} HF_TOKEN=abc123 "
        'headers={"Authorization": "Bearer tok.en-123456"} max_tokens=50'
    )
    assert redact_message(text) == (
        "failed: {'user': 'ann', 'password': '[REDACTED]'} HF_TOKEN=[REDACTED] "
        'headers={"Authorization": "Bearer [REDACTED]"} max_tokens=50'
    )


def test_error_message_redaction_follows_redact_false(log_dir: Path) -> None:
    """With redact=False the error message is written as raised."""

    @node_wrapper(redact=False)
    def fail(state: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("token=abc")

    with pytest.raises(ValueError):
        _graph(fail).invoke({}, {"configurable": {"thread_id": "raw"}})
    assert read_node_logs("raw")[0].error_message == "token=abc"
