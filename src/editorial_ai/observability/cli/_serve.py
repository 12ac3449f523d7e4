"""``serve``: the API and the page, with what it serves said up front."""

from __future__ import annotations

import argparse
import errno
from typing import TextIO

from .._internal import missing_extra
from ..analytics.commands import log_dirs_option
from ..analytics.sources import resolve_log_dirs
from ..storage import list_threads
from ._common import CommandError

# -- serve ----------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the API and the viewer."""
    try:
        from ..api import serve
    except ImportError:
        raise CommandError(missing_extra("editorial-ai-obs serve", "server")) from None
    folders = [folder.absolute() for folder in resolve_log_dirs(args.log_dir)]
    found = [folder for folder in folders if folder.is_dir()]
    count = len({t for folder in found for t in list_threads(folder)})
    directory = ", ".join(map(str, folders))

    def announce(url: str) -> None:
        where = (
            "%s (%d thread%s)" % (directory, count, "" if count == 1 else "s")
            if found
            else "%s (no such folder yet: threads show up once written)" % directory
        )
        out.write("serving the logs in %s\n" % where)
        out.write("open %s   (Ctrl-C to stop)\n" % url)
        out.flush()

    try:
        serve(
            log_dir=args.log_dir,
            host=args.host,
            port=args.port,
            allowed_hosts=args.allowed_host,
            announce=announce,
        )
    except ValueError as exc:  # a refused bind (no API key off loopback)
        raise CommandError(str(exc), code=2) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                "port %d on %s is busy (another server, perhaps another "
                "editorial-ai-obs serve, uses it): stop it, or pick another port "
                "with --port %d (--port 0 picks a free one)"
                % (args.port, args.host, args.port + 1 if args.port < 65535 else 8765)
            ) from None
        if exc.errno == errno.EACCES:
            raise CommandError(
                "not allowed to bind %s:%d (ports below 1024 need privileges); "
                "use --port 8765" % (args.host, args.port)
            ) from None
        raise CommandError(
            "cannot serve on %s:%d: %s" % (args.host, args.port, exc.strerror or exc)
        ) from None
    return 0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a port number" % text) from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            "%d is not a TCP port (1 to 65535; 0 picks a free one)" % value
        )
    return value


def _add_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, default=8765, help="TCP port (default 8765; 0: any)"
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients use to reach this server (repeatable), e.g. "
        "the machine's name or a reverse proxy's; loopback names always work",
    )
    log_dirs_option(parser)
