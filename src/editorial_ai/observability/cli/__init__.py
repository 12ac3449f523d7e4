"""The command line: ``editorial-ai-obs runs | show | serve | export-otel``, and
across threads ``stats | sql | prune`` (``analytics/commands.py``).

Reads through the shared read layer (``reader.py``), like the API, so
``--json`` prints the very objects the API returns. Errors are one line on
stderr and a non-zero exit, never a traceback: 1 for an unknown thread or an
empty or missing log directory, 2 for bad usage.

What is printed can be pasted back: thread ids are never cut (a table widens
instead), and ``show`` takes a thread id, a unique prefix of one, or the path
of a thread's ``.jsonl`` file. Subcommands are registered in one place,
:data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO, cast

from .._terminal import TerminalSafe
from ..analytics import commands as analytics
from ._common import CommandError
from ._export import _add_export_otel, cmd_export_otel
from ._serve import _add_serve, cmd_serve
from ._threads import _add_runs, _add_show, cmd_runs, cmd_show

# -- the commands, registered in one place ---------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("editorial-ai-observability")
    except PackageNotFoundError:  # run from a source tree without installing
        return "unknown (not installed)"


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its name, its help, its arguments and its handler.

    Example:
        >>> [command.name for command in COMMANDS][:2]
        ['runs', 'show']
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace, TextIO], int]
    description: str | None = None


COMMANDS: list[Command] = [
    Command("runs", "one row per thread, newest first", _add_runs, cmd_runs),
    Command(
        "show",
        "one row per node run of a thread, in run order",
        _add_show,
        cmd_show,
    ),
    Command("serve", "serve the API and the web viewer", _add_serve, cmd_serve),
    Command(
        "export-otel",
        "send recorded threads to an OTLP/HTTP endpoint as spans",
        _add_export_otel,
        cmd_export_otel,
        "Send recorded threads (all without THREAD_ID) to an OpenTelemetry "
        "backend over OTLP/HTTP: the spans the live sink would have sent. Needs "
        "the otel extra.",
    ),
    Command(
        "stats",
        "across threads: per node, per model and day, costliest and slowest",
        analytics.add_stats,
        analytics.cmd_stats,
        analytics.STATS_DESCRIPTION,
    ),
    Command(
        "sql",
        "run SQL over the node_runs and llm_calls views",
        analytics.add_sql,
        analytics.cmd_sql,
        analytics.SQL_DESCRIPTION,
    ),
    Command(
        "prune",
        "remove thread files whose last run is older than an age",
        analytics.add_prune,
        analytics.cmd_prune,
        analytics.PRUNE_DESCRIPTION,
    ),
]
"""Every subcommand of ``editorial-ai-obs``, in the order ``--help`` lists
them; a new command is one more entry."""


def build_parser() -> argparse.ArgumentParser:
    """The ``editorial-ai-obs`` argument parser, built from :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="editorial-ai-obs",
        description="Read the node runs recorded by editorial-ai-observability.",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + _version())
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name, help=command.help, description=command.description
        )
        command.add_arguments(sub)
        sub.set_defaults(handler=command.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``editorial-ai-obs``; returns the exit code.

    Example:
        >>> main(["runs", "--log-dir", "/nonexistent"])
        1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    # Recorded values are untrusted: no control character of theirs reaches
    # the terminal (see _terminal); --json stays the same JSON value.
    out = TerminalSafe(sys.stdout, json=bool(getattr(args, "json", False)))
    err = TerminalSafe(sys.stderr)
    try:
        # TerminalSafe has the part of TextIO the commands use.
        return int(args.handler(args, cast(TextIO, out)))
    except CommandError as exc:
        err.write("editorial-ai-obs: %s\n" % exc)
        return exc.code
    except BrokenPipeError:
        return 0  # `... | head` closed the pipe: not an error
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, no traceback
        err.write("editorial-ai-obs: unexpected %s: %s\n" % (type(exc).__name__, exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
