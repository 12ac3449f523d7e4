"""Cost estimates: what a node run or a thread cost, priced when read.

Costs are never stored. A ``NodeRunLog`` keeps the tokens of each LLM call and
the model that spent them; this package prices them against a table of USD per
million input and output tokens, so a corrected or extended table reprices
every run already on disk. Nothing here writes a file.

The concept in three rooms, each with its rules in its docstring:

* ``_table``: the table (:class:`PriceTable`, :class:`ModelPrice`), shipped
  with the package (``data/prices.json``, dated by its ``as_of``) and
  overridden and extended by a user table (:func:`load_price_table`, the
  ``path`` argument, else ``$EDITORIAL_AI_PRICES``);
* ``_names``: which entry prices a reported model name (provider prefixes
  and snapshot suffixes dropped, a dated snapshot priced as its model, a
  preview only under its own name);
* ``_costs``: the provider's bill for one call (:func:`call_cost`,
  :func:`cost_of_usage`: cached reads, cache writes, the rest of the prompt
  and the completion each at their rate, the reasoning part given apart),
  a node run (:func:`node_run_cost`) and a thread (:func:`thread_cost`).

A model the table does not know is priced ``None`` (unknown), never 0, and the
summaries count the tokens and calls that could not be priced.

Example:
    >>> from editorial_ai.observability.pricing import cost_of_usage
    >>> cost_of_usage(TokenUsage(prompt_tokens=1_000_000, model_name="gpt-4o"))
    2.5
"""

from __future__ import annotations

from .. import models
from ..models import NodeRunHead, NodeRunLog, TokenUsage  # noqa: F401 (examples)
from ._costs import (
    UNKNOWN_MODEL,
    CallCost,
    NodeCost,
    ThreadCost,
    call_cost,
    cost_of_usage,
    node_run_cost,
    thread_cost,
)
from ._table import PRICES_ENV, ModelPrice, PriceTable, load_price_table

__all__ = [
    "PRICES_ENV",
    "UNKNOWN_MODEL",
    "CallCost",
    "ModelPrice",
    "NodeCost",
    "PriceTable",
    "ThreadCost",
    "call_cost",
    "cost_of_usage",
    "load_price_table",
    "node_run_cost",
    "thread_cost",
]

# ``PipelineRunSummary.from_logs`` prices threads with this package, which
# imports the models: the models take the function from here instead of
# importing it (the package imports this one, so it is always in place).
models.set_thread_pricer(thread_cost)
