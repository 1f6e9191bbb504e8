"""Key paths: the one grammar for naming a value in a scenario.

`--set`, compare's lever names, sweep files and error messages all write paths this way:

    levers.talent.arrivals              the whole value (a single value replaces a schedule)
    levers.talent.arrivals[2026]        the dated value from 2026 on (merged into the schedule)
    levers.talent.arrivals.2026         the same, as `--set` has always accepted it
    levers.importation.workers.service  one occupation group
    uncertainties.gdp_growth.value[2030]

A path is a tuple of parts: names (ASCII identifiers) and, last, at most one year (an int).
"""

from __future__ import annotations

import re

from sim.errors import InputError, quote

Parts = tuple  # (str, ..., str[, int])

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_YEAR = re.compile(r"(?P<name>[^\[\]]*)\[(?P<year>[0-9]{4})\]\Z")
_DIGITS = re.compile(r"[0-9]{1,6}\Z")
MAX_LENGTH = 200
"""Longest path accepted (characters); real ones are under 60."""


def parse(text: str, where: str = "--set") -> Parts:
    """`levers.talent.arrivals[2026]` -> ('levers', 'talent', 'arrivals', 2026).

    Raises InputError (naming `where`) for anything else: empty parts, non-ASCII or other
    characters outside [A-Za-z0-9_], a year that is not four digits, a year not last.
    """
    text = text.strip()
    if not text:
        raise InputError(where, "empty key path; expected e.g. levers.talent.arrivals")
    if len(text) > MAX_LENGTH:
        raise InputError(where, f"key path of {len(text)} characters; the limit is {MAX_LENGTH}")
    parts: list = []
    pieces = text.split(".")
    for n, piece in enumerate(pieces):
        last = n == len(pieces) - 1
        dated = _YEAR.match(piece)
        if dated and last:
            piece, year = dated["name"], int(dated["year"])
        else:
            year = None
        if last and n > 0 and _DIGITS.match(piece):
            parts.append(int(piece))
            continue
        if not _NAME.match(piece):
            raise InputError(where, f"{quote(piece)} in {quote(text)} is not a key; expected names of letters, digits and _ "
                             "joined by dots, with at most a final [year], e.g. levers.talent.arrivals[2026]",
                             key=text)
        parts.append(piece)
        if year is not None:
            parts.append(year)
    return tuple(parts)


def format(parts: Parts) -> str:  # noqa: A001 - the grammar's inverse of parse
    """('levers', 'talent', 'arrivals', 2026) -> `levers.talent.arrivals[2026]` (list indices too)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def split_year(parts: Parts) -> tuple[Parts, int | None]:
    """(path without its year, the year or None)."""
    if parts and isinstance(parts[-1], int):
        return parts[:-1], parts[-1]
    return parts, None
