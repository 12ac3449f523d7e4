"""Text for a terminal: recorded values never reach it as control sequences.

Thread ids, node names, model names and error messages are recorded from
whatever the pipeline handled (LLM and tool output among it). Printed raw,
``ESC ] 52`` writes the clipboard, ``ESC ] 8`` makes links, ``ESC [ 2J``
clears the screen. The CLI therefore prints through :class:`TerminalSafe`:

* as text, every C0 control character but the newline, DEL and every C1
  control character is shown as ``\\xNN`` (``\\x1b]52;...`` is harmless);
* as JSON (``--json``), C0 characters are already escaped by the encoder,
  and DEL and C1 characters are written as ``\\u007f`` ... ``\\u009f``: the
  same JSON value, character for character, with no raw control byte.

Example:
    >>> escape_text("ok\\x1b]52;c;ZXZpbA==\\x07\\n")
    'ok\\\\x1b]52;c;ZXZpbA==\\\\x07\\n'
"""

from __future__ import annotations

import re
from typing import TextIO

_TEXT_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f]")


def _hex(match: re.Match[str]) -> str:
    return "\\x%02x" % ord(match.group())


def _unicode(match: re.Match[str]) -> str:
    return "\\u%04x" % ord(match.group())


def escape_text(text: str) -> str:
    """``text`` with control characters other than ``\\n`` as ``\\xNN``."""
    return _TEXT_UNSAFE.sub(_hex, text)


def escape_json(text: str) -> str:
    """JSON ``text`` with DEL and C1 characters as ``\\uNNNN`` escapes.

    JSON encoders escape C0 characters inside strings themselves, and a raw
    DEL or C1 character can only stand inside a string, where the escape
    means the same character.
    """
    return _JSON_UNSAFE.sub(_unicode, text)


class TerminalSafe:
    """A text stream that escapes what it writes (see the module).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> TerminalSafe(out).write("a\\x9bb\\n")
        7
        >>> out.getvalue()
        'a\\\\x9bb\\n'
    """

    def __init__(self, stream: TextIO, *, json: bool = False) -> None:
        self._stream = stream
        self._escape = escape_json if json else escape_text

    def write(self, text: str) -> int:
        """Write ``text`` escaped; returns the characters written."""
        safe = self._escape(text)
        self._stream.write(safe)
        return len(safe)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return self._stream.isatty()
