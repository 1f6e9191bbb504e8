"""The one error type for bad input: it names the file, the line, the key path and what was expected.

The CLI turns it into a single line on stderr and exit status 2; nothing else in the package
catches it.
"""

from __future__ import annotations


class InputError(Exception):
    """Bad input, located: `file:line: key.path: message`.

    `line` is 1-based and None where unknown (e.g. a value given with --set); `key` is a dotted
    path such as `levers.talent.extension_rate[2026]`, or empty for file-level problems.
    """

    def __init__(self, file: str, message: str, *, line: int | None = None, key: str = "") -> None:
        self.file = str(file)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __reduce__(self):  # picklable, so a worker process's error reaches the parent whole
        return _rebuild, (self.file, self.message, self.line, self.key)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return _one_line(text)


def _rebuild(file: str, message: str, line: int | None, key: str) -> InputError:
    return InputError(file, message, line=line, key=key)


def _one_line(text: str) -> str:
    """Control characters (a newline in a key or a path) shown escaped, so the message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


QUOTE = 80
"""Characters of a bad value an error message quotes at most."""


def quote(value) -> str:
    """repr(value), cut to QUOTE characters (a 1.5 MB value is not echoed back whole)."""
    text = repr(value)
    return text if len(text) <= QUOTE else text[:QUOTE - 5] + "...'" + f" ({len(text):,} characters)"
