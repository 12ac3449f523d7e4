"""The records: one ``NodeRunLog`` per node execution, and what they add up to.

These three Pydantic models are the file format (one ``NodeRunLog`` as JSON per
line) and the API schema. Derived values (``duration_ms`` and the three token
totals of a node run) are computed from the fields they summarise, so a record
can never disagree with itself; they appear in the JSON for readers such as
``jq`` and are ignored when a line is read back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator

NodeStatus = Literal["success", "error", "skipped", "interrupted"]
RunStatus = Literal["completed", "failed", "running", "interrupted"]
CallStatus = Literal["success", "error", "aborted"]


MAX_COUNT = 2**53 - 1
"""The largest token or character count a record holds: the largest integer
JavaScript (the viewer) holds exactly. Larger counts are refused when written
(counted as 0 with a warning) and a line holding one is corrupt when read."""

_Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+05:00 is before the first UTC datetime: refused
        # as a validation error, which a reader counts as one corrupt line.
        raise ValueError("date out of range in UTC: %s" % value.isoformat()) from None


class TokenUsage(BaseModel):
    """One LLM call: what it spent, on which model, and how it ended.

    ``total_tokens`` left at 0 is filled in as prompt + completion.
    ``usage_reported`` is false when the provider reported no usage for the
    call: the call happened, its token counts are unknown (not zero).

    ``cached_tokens`` and ``cache_creation_tokens`` are parts of
    ``prompt_tokens`` (the prompt tokens read from, and written to, the
    provider's prompt cache); ``reasoning_tokens`` is a part of
    ``completion_tokens``. Every field after the seed's six is optional, so
    lines written before they existed read back unchanged.

    Example:
        >>> TokenUsage(prompt_tokens=12, completion_tokens=30).total_tokens
        42
    """

    prompt_tokens: int = Field(default=0, ge=0, le=MAX_COUNT)
    completion_tokens: int = Field(default=0, ge=0, le=MAX_COUNT)
    total_tokens: int = Field(default=0, ge=0, le=MAX_COUNT)
    model_name: str | None = None
    prompt_chars: int = Field(default=0, ge=0, le=MAX_COUNT)
    usage_reported: bool = True
    cached_tokens: int = Field(default=0, ge=0, le=MAX_COUNT)
    """Prompt tokens read from the provider's cache (billed at the cached rate)."""
    cache_creation_tokens: int = Field(default=0, ge=0, le=MAX_COUNT)
    """Prompt tokens written to the provider's cache (billed at a write rate)."""
    cache_creation_5m_tokens: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    """Of ``cache_creation_tokens``, those written for 5 minutes, where the
    provider reports the split (Anthropic's ``ephemeral_5m_input_tokens``)."""
    cache_creation_1h_tokens: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    """Of ``cache_creation_tokens``, those written for 1 hour (Anthropic's
    ``ephemeral_1h_input_tokens``)."""
    reasoning_tokens: int = Field(default=0, ge=0, le=MAX_COUNT)
    """Completion tokens spent on reasoning (billed at the output rate)."""
    token_details: dict[str, _Count] | None = None
    """Any other count the provider reported (``audio``, ...), by name, with
    an ``input_`` or ``output_`` prefix for the side it belongs to."""
    provider: str | None = None
    """Who served the call (``openai``, ``anthropic``, ``google_genai``, ...)."""
    run_id: str | None = None
    """The LLM call's LangChain run id."""
    started_at: datetime | None = None
    """When the call started (the callback's start), UTC."""
    ended_at: datetime | None = None
    """When the call ended, succeeded or not (the callback's end), UTC."""
    status: CallStatus = "success"
    """``error`` for a call that raised; ``aborted`` for one cancelled or cut
    off mid-stream."""
    error_type: str | None = None
    """The exception's class name, for ``error`` and ``aborted``."""
    routing_reason: str | None = None
    """Why this model was chosen, as the caller says (the editorial
    pipeline's model router records it)."""

    @field_validator("started_at", "ended_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _as_utc(value)

    @model_validator(mode="after")
    def _fill_total(self) -> TokenUsage:
        if self.total_tokens == 0 and (self.prompt_tokens or self.completion_tokens):
            self.total_tokens = min(
                self.prompt_tokens + self.completion_tokens, MAX_COUNT
            )
        return self


class NodeRunHead(BaseModel):
    """A node run without its state snapshots: what tables and summaries need.

    Reading a line as a ``NodeRunHead`` skips the snapshots without building
    them, which is what the read side does when it lists runs.
    """

    thread_id: str
    node_name: str
    status: NodeStatus
    started_at: datetime
    ended_at: datetime
    token_usage: list[TokenUsage] = Field(default_factory=list)
    error_type: str | None = None
    error_message: str | None = None
    error_traceback: str | None = None
    prompt_chars: int = Field(default=0, ge=0, le=MAX_COUNT)
    step: int | None = None
    """LangGraph superstep (``langgraph_step``) the node ran in."""
    checkpoint_ns: str | None = None
    """LangGraph task namespace (``node:task_id``; nested for subgraphs). A
    node resumed after ``interrupt()`` runs again under the same namespace."""
    invocation_id: str | None = None
    """The run id of the graph invocation (``invoke``/``stream`` call) this
    node ran in; known when a ``TokenUsageCallbackHandler`` is registered on
    the graph run (``config["callbacks"]``). Groups node runs into traces."""
    attempt: int | None = None
    """1 for a node's first try, 2, 3, ... for the retries of a
    ``RetryPolicy``; each attempt is its own record."""
    interrupt_id: str | None = None
    """For ``interrupted``: the id of the ``Interrupt`` raised (the id a
    ``Command(resume={id: value})`` answers)."""
    resumed_interrupt_ids: list[str] | None = None
    """For a run that resumed after ``interrupt()``: the ids of the interrupts
    it received answers to, so it joins the ``interrupted`` record."""

    @field_validator("started_at", "ended_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_ms(self) -> float:
        """Milliseconds from ``started_at`` to ``ended_at``."""
        return (self.ended_at - self.started_at).total_seconds() * 1000

    # The three totals run at every serialization: most node runs make no LLM
    # call, so the empty case returns before building a generator.

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_prompt_tokens(self) -> int:
        """Sum of ``prompt_tokens`` over the node's LLM calls."""
        usages = self.token_usage
        return sum([u.prompt_tokens for u in usages]) if usages else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_completion_tokens(self) -> int:
        """Sum of ``completion_tokens`` over the node's LLM calls."""
        usages = self.token_usage
        return sum([u.completion_tokens for u in usages]) if usages else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        """Sum of ``total_tokens`` over the node's LLM calls."""
        usages = self.token_usage
        return sum([u.total_tokens for u in usages]) if usages else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_cached_tokens(self) -> int:
        """Sum of ``cached_tokens`` (prompt tokens read from a cache)."""
        usages = self.token_usage
        return sum([u.cached_tokens for u in usages]) if usages else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_cache_creation_tokens(self) -> int:
        """Sum of ``cache_creation_tokens`` (prompt tokens written to a cache)."""
        usages = self.token_usage
        return sum([u.cache_creation_tokens for u in usages]) if usages else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_reasoning_tokens(self) -> int:
        """Sum of ``reasoning_tokens`` over the node's LLM calls."""
        usages = self.token_usage
        return sum([u.reasoning_tokens for u in usages]) if usages else 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def llm_calls(self) -> int:
        """LLM calls the node made, failed and aborted ones included."""
        return len(self.token_usage)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unreported_calls(self) -> int:
        """LLM calls whose provider reported no usage: the totals miss them."""
        usages = self.token_usage
        return sum([not u.usage_reported for u in usages]) if usages else 0


class NodeRunLog(NodeRunHead):
    """One execution of one graph node: timing, tokens, state in and out, error.

    Times are UTC (a naive datetime is taken as UTC). ``duration_ms`` is
    ``ended_at - started_at``; the node wrapper sets ``ended_at`` from a
    monotonic clock, so the duration is immune to wall-clock jumps.

    Example:
        >>> from datetime import datetime, timedelta, UTC
        >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(
        ...     thread_id="t1", node_name="draft", status="success",
        ...     started_at=t0, ended_at=t0 + timedelta(milliseconds=250),
        ...     token_usage=[TokenUsage(prompt_tokens=10, completion_tokens=5)],
        ... )
        >>> (log.duration_ms, log.total_tokens)
        (250.0, 15)
    """

    input_state: dict[str, Any] | None = None
    """The state as the node received it (snapshot)."""
    output_state: dict[str, Any] | None = None
    """The update the node returned (snapshot); ``None`` unless success."""
    interrupt_value: Any = None
    """For ``interrupted``: the value passed to ``interrupt()`` (snapshotted)."""
    resume_values: list[Any] | None = None
    """For a run that resumed after ``interrupt()``: the values it was resumed
    with (``Command(resume=...)``), in the order of ``resumed_interrupt_ids``
    (snapshotted)."""


class ThreadPrice(Protocol):
    """What pricing a thread's calls gives ``from_logs``."""

    @property
    def estimated_cost_usd(self) -> float | None: ...
    @property
    def unpriced_tokens(self) -> int: ...
    @property
    def unpriced_calls(self) -> int: ...


_thread_pricer: Callable[[Sequence[NodeRunHead]], ThreadPrice] | None = None


def set_thread_pricer(
    pricer: Callable[[Sequence[NodeRunHead]], ThreadPrice] | None,
) -> None:
    """Set the function ``PipelineRunSummary.from_logs`` prices threads with.

    The models import nothing of this package, and the pricing module, which
    builds on them, sets its ``thread_cost`` here when it is imported (the
    package's ``__init__`` imports it, so it is always set once any part of
    the package is loaded). ``None`` leaves costs unknown.

    Example:
        >>> from editorial_ai.observability.pricing import thread_cost
        >>> set_thread_pricer(thread_cost)
    """
    global _thread_pricer
    _thread_pricer = pricer


class PipelineRunSummary(BaseModel):
    """What one thread's node runs add up to.

    Example:
        >>> PipelineRunSummary.from_logs("t1", []).status
        'running'
    """

    thread_id: str
    node_count: int
    total_duration_ms: float
    total_prompt_tokens: int
    total_completion_tokens: int
    total_tokens: int
    status: RunStatus
    started_at: datetime | None
    ended_at: datetime | None
    wall_time_ms: float | None = None
    """Last end minus first start; ``None`` without logs."""
    estimated_cost_usd: float | None = None
    """USD for the calls the price table knows (computed when read, never
    stored); ``None`` when there were LLM calls and none could be priced."""
    unpriced_tokens: int = 0
    """Tokens of calls that could not be priced (unknown model, or usage not
    reported by the provider)."""
    total_cached_tokens: int = 0
    """Prompt tokens read from a provider cache (part of the prompt tokens)."""
    total_cache_creation_tokens: int = 0
    """Prompt tokens written to a provider cache (part of the prompt tokens)."""
    total_reasoning_tokens: int = 0
    """Completion tokens spent on reasoning (part of the completion tokens)."""
    llm_calls: int = 0
    """LLM calls recorded, failed and aborted ones included."""
    unreported_calls: int = 0
    """LLM calls whose provider reported no usage: token totals miss them."""
    unpriced_calls: int = 0
    """LLM calls that could not be priced: the cost misses them."""

    @classmethod
    def from_logs(
        cls, thread_id: str, logs: Sequence[NodeRunHead]
    ) -> PipelineRunSummary:
        """Aggregate a thread's node runs, in any order.

        Rules:
            * ``node_count``: the number of node runs (lines), retries and
              loop iterations included.
            * ``total_duration_ms`` and the token totals: sums over all runs.
              Parallel branches overlap in time, so ``total_duration_ms`` can
              exceed ``wall_time_ms`` (last ``ended_at`` minus first
              ``started_at``).
            * ``started_at`` / ``ended_at``: the earliest start and the
              latest end; ``None`` when there are no logs.
            * ``status``: a node is identified by its name and its latest run
              is the one that started last (ties: the later in ``logs``).
              ``failed`` when any node's latest run is an error, so a node that
              failed and then succeeded on retry does not fail the thread;
              else ``interrupted`` when any node's latest run is
              ``interrupted`` (waiting for a human to resume it); else
              ``running`` when there are no logs; else ``completed``.
            * ``estimated_cost_usd`` / ``unpriced_tokens`` / ``unpriced_calls``:
              the thread's calls priced by the pricing module's ``thread_cost``
              with the table of ``load_price_table()`` (set through
              :func:`set_thread_pricer`, so this module imports nothing of
              ours); all ``None``/0 if no pricer is set.
            * ``llm_calls``: every call recorded, failed and aborted ones
              included; ``unreported_calls``: those whose provider reported
              no usage, which the token totals miss; cached, cache-write and
              reasoning totals: sums over the calls (parts of the prompt and
              completion totals).

        Args:
            thread_id: the thread the logs belong to.
            logs: its node runs, in any order.
        """
        pricer = _thread_pricer
        cost = None if pricer is None else pricer(logs)
        if not logs:
            return cls(
                thread_id=thread_id,
                node_count=0,
                total_duration_ms=0.0,
                total_prompt_tokens=0,
                total_completion_tokens=0,
                total_tokens=0,
                status="running",
                started_at=None,
                ended_at=None,
                estimated_cost_usd=None if cost is None else cost.estimated_cost_usd,
            )
        latest: dict[str, NodeRunHead] = {}
        for log in sorted(logs, key=lambda item: item.started_at):
            latest[log.node_name] = log
        statuses = {log.status for log in latest.values()}
        status: RunStatus
        if "error" in statuses:
            status = "failed"
        elif "interrupted" in statuses:
            status = "interrupted"
        else:
            status = "completed"
        started_at = min(log.started_at for log in logs)
        ended_at = max(log.ended_at for log in logs)
        usages = [usage for log in logs for usage in log.token_usage]
        return cls(
            thread_id=thread_id,
            node_count=len(logs),
            total_duration_ms=sum(log.duration_ms for log in logs),
            total_prompt_tokens=sum(u.prompt_tokens for u in usages),
            total_completion_tokens=sum(u.completion_tokens for u in usages),
            total_tokens=sum(u.total_tokens for u in usages),
            status=status,
            started_at=started_at,
            ended_at=ended_at,
            wall_time_ms=(ended_at - started_at).total_seconds() * 1000,
            estimated_cost_usd=None if cost is None else cost.estimated_cost_usd,
            unpriced_tokens=0 if cost is None else cost.unpriced_tokens,
            total_cached_tokens=sum(u.cached_tokens for u in usages),
            total_cache_creation_tokens=sum(u.cache_creation_tokens for u in usages),
            total_reasoning_tokens=sum(u.reasoning_tokens for u in usages),
            llm_calls=len(usages),
            unreported_calls=sum(not u.usage_reported for u in usages),
            unpriced_calls=0 if cost is None else cost.unpriced_calls,
        )


# Every field is set: one shared set (pydantic only adds to it, and adding a
# field already there changes nothing).
_ALL_FIELDS_SET = set(NodeRunLog.model_fields)


def build_node_run_log(fields: dict[str, Any]) -> NodeRunLog:
    """A ``NodeRunLog`` from values already of the right types, unvalidated.

    The node wrapper's hot path: it builds every value itself (UTC times,
    ``TokenUsage`` objects, JSON-safe snapshots). ``fields`` must hold every
    field; this sets what ``model_construct`` sets, without its per-field
    default handling, in about a fifth of its time.
    """
    log = NodeRunLog.__new__(NodeRunLog)
    _set = object.__setattr__
    _set(log, "__dict__", fields)
    _set(log, "__pydantic_fields_set__", _ALL_FIELDS_SET)
    _set(log, "__pydantic_extra__", None)
    _set(log, "__pydantic_private__", None)
    return log


_USAGE_FIELDS_SET = set(TokenUsage.model_fields)


def build_token_usage(
    prompt_tokens: int,
    completion_tokens: int,
    total_tokens: int,
    model_name: str | None,
    prompt_chars: int,
    usage_reported: bool,
    extra: dict[str, Any] | None = None,
) -> TokenUsage:
    """A ``TokenUsage`` from checked values (non-negative ints, UTC times),
    unvalidated: :func:`build_call_usage` with no call identity. ``extra``
    holds optional fields by name; the rest take their defaults."""
    return build_call_usage(
        prompt_tokens,
        completion_tokens,
        total_tokens,
        model_name,
        prompt_chars,
        usage_reported,
        extra,
        None,
        None,
        None,
        None,
        "success",
        None,
    )


def build_call_usage(
    prompt_tokens: int,
    completion_tokens: int,
    total_tokens: int,
    model_name: str | None,
    prompt_chars: int,
    usage_reported: bool,
    details: dict[str, Any] | None,
    provider: str | None,
    run_id: str | None,
    started_at: datetime | None,
    ended_at: datetime | None,
    status: CallStatus,
    error_type: str | None,
) -> TokenUsage:
    """:func:`build_token_usage` for the callback handler's end of a call,
    with every field it knows given at once (one dict built, none merged).
    ``details`` holds the cache, reasoning and other counts by field name."""
    usage = TokenUsage.__new__(TokenUsage)
    # Every field, literally: building this dict is cheaper than copying and
    # updating a template of defaults.
    fields = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total_tokens,
        "model_name": model_name,
        "prompt_chars": prompt_chars,
        "usage_reported": usage_reported,
        "cached_tokens": 0,
        "cache_creation_tokens": 0,
        "cache_creation_5m_tokens": None,
        "cache_creation_1h_tokens": None,
        "reasoning_tokens": 0,
        "token_details": None,
        "provider": provider,
        "run_id": run_id,
        "started_at": started_at,
        "ended_at": ended_at,
        "status": status,
        "error_type": error_type,
        "routing_reason": None,
    }
    if details:
        fields.update(details)
    _set = object.__setattr__
    _set(usage, "__dict__", fields)
    _set(usage, "__pydantic_fields_set__", _USAGE_FIELDS_SET)
    _set(usage, "__pydantic_extra__", None)
    _set(usage, "__pydantic_private__", None)
    return usage
