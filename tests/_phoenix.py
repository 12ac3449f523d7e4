"""A real Arize Phoenix for the tests: ``phoenix serve`` on free loopback
ports with a temporary working folder, read back over its GraphQL API."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._proc import free_port, require

READY_SECONDS = 180.0
INGEST_SECONDS = 60.0

_SPANS = """
query ($id: ID!, $after: String) { node(id: $id) { ... on Project {
  spans(first: 500, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      name spanKind statusCode parentId
      context { spanId traceId }
      tokenCountPrompt tokenCountCompletion tokenCountTotal
      cumulativeTokenCountTotal
      costSummary { total { cost } }
      input { value mimeType } output { value mimeType }
      attributes
    } }
  }
} } }
"""

_TRACE_COST = """
query ($id: ID!, $traceId: ID!) { node(id: $id) { ... on Project {
  trace(traceId: $traceId) { numSpans costSummary { total { cost tokens } } }
} } }
"""


def phoenix_command() -> list[str] | None:
    """``phoenix serve`` from this interpreter's environment, if installed."""
    beside = Path(sys.executable).with_name("phoenix")
    if beside.exists():
        return [str(beside), "serve"]
    found = shutil.which("phoenix")
    return None if found is None else [found, "serve"]


@dataclass
class PhoenixSpan:
    """One span as Phoenix returns it."""

    name: str
    kind: str
    status: str
    span_id: str
    parent_id: str | None
    trace_id: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cumulative_tokens: int
    cost: float | None
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    attributes: dict[str, Any]


@dataclass
class Phoenix:
    """A running Phoenix: its URL and process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def traces_endpoint(self) -> str:
        return self.url + "/v1/traces"

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            self.url + "/graphql", body, {"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]  # type: ignore[no-any-return]

    def project_id(self, name: str) -> str | None:
        data = self.graphql("{ projects { edges { node { id name } } } }")
        for edge in data["projects"]["edges"]:
            if edge["node"]["name"] == name:
                return str(edge["node"]["id"])
        return None

    def spans(self, project: str) -> list[PhoenixSpan]:
        """Every span of ``project`` (none if it does not exist yet)."""
        project_id = self.project_id(project)
        if project_id is None:
            return []
        found: list[PhoenixSpan] = []
        after: str | None = None
        while True:
            page = self.graphql(_SPANS, id=project_id, after=after)["node"]["spans"]
            found.extend(_span(edge["node"]) for edge in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    def wait_for_spans(
        self, project: str, ready: Any, timeout: float = INGEST_SECONDS
    ) -> list[PhoenixSpan]:
        """The project's spans once ``ready(spans)`` holds (Phoenix ingests
        in the background), or what is there at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project)
            if ready(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.2)

    def trace_cost(self, project: str, trace_id: str) -> tuple[int, float | None]:
        """(number of spans, total cost) of one trace, as Phoenix sums them."""
        project_id = self.project_id(project)
        data = self.graphql(_TRACE_COST, id=project_id, traceId=trace_id)
        trace = data["node"]["trace"]
        total = trace["costSummary"]["total"]
        return int(trace["numSpans"]), total["cost"]


def _span(node: dict[str, Any]) -> PhoenixSpan:
    attributes = node["attributes"]
    if isinstance(attributes, str):
        attributes = json.loads(attributes)
    cost = node["costSummary"]["total"]["cost"] if node["costSummary"] else None
    return PhoenixSpan(
        name=node["name"],
        kind=node["spanKind"],
        status=node["statusCode"],
        span_id=node["context"]["spanId"],
        parent_id=node["parentId"],
        trace_id=node["context"]["traceId"],
        prompt_tokens=node["tokenCountPrompt"] or 0,
        completion_tokens=node["tokenCountCompletion"] or 0,
        total_tokens=node["tokenCountTotal"] or 0,
        cumulative_tokens=node["cumulativeTokenCountTotal"] or 0,
        cost=cost,
        input=node["input"] if node["input"] and node["input"]["value"] else None,
        output=node["output"] if node["output"] and node["output"]["value"] else None,
        attributes=attributes,
    )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextmanager
def phoenix_server(workdir: Path) -> Iterator[Phoenix]:
    """Start ``phoenix serve`` on free loopback ports; stop it by its process
    id (its process group) at the end. Skips when Phoenix is not installed,
    except under ``$CI``, where that is a failure."""
    command = phoenix_command()
    require(command is not None, "arize-phoenix (`phoenix serve`; .ci/run installs it)")
    assert command is not None
    port, grpc_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "PHOENIX_"))
    }
    env.update(
        PHOENIX_WORKING_DIR=str(workdir),
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(grpc_port),
        PHOENIX_TELEMETRY_ENABLED="false",
    )
    log_path = workdir / "phoenix.log"
    url = "http://127.0.0.1:%d" % port
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail("phoenix serve did not come up:\n" + tail)
            time.sleep(0.2)
        yield Phoenix(url, process, log_path)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
