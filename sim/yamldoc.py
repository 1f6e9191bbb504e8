"""Safe reading of YAML input files, keeping the line of every key for error messages.

A document is a mapping plus `lines`: key path (tuple of keys) -> 1-based line number. Rejected
with an InputError naming the file and line: a missing or unreadable file, a file over
MAX_BYTES, an empty file, a syntax error, aliases or anchors (they can expand without bound),
duplicate keys, and a top level that is not a mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim import keypath
from sim.errors import InputError, quote

MAX_BYTES = 1_000_000
"""Size cap for a scenario or calibration file (bytes); real ones are a few kilobytes."""

MAX_NODES = 20_000
"""Most YAML events (keys, values, brackets) accepted, so a huge list is refused in a moment."""

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted; real files need 5."""

KeyPath = tuple[Any, ...]


class Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2's numbers: 1e5 and 5e-324 are floats (YAML 1.1 would make them
    strings and refuse `arrivals: 1e5`), while 1:30 (1.1's base 60, read as 90), 010 (1.1's
    octal 8) and 0b1 are strings, so a number field refuses them instead of misreading them."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)"
               r"|[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


@dataclass
class Document:
    """A parsed YAML mapping with the source line of each key path."""

    path: Path
    data: dict
    lines: dict[KeyPath, int] = field(default_factory=dict)


def read(path: str | Path) -> Document:
    """Read and parse `path` (see the module docstring for what is rejected)."""
    path = Path(path)
    try:
        found, exists = path.is_file(), path.exists()
    except (ValueError, OSError, RuntimeError) as exc:  # e.g. a NUL byte in the name
        raise InputError(repr(str(path)), f"not a usable file name ({exc})") from None
    if not found:
        raise InputError(path, "file not found" if not exists else "not a regular file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # the bytes actually read, not the size the file claims
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the file as UTF-8 text ({exc.__class__.__name__})") from None
    if len(raw) > MAX_BYTES:
        raise InputError(path, f"file is over {MAX_BYTES} bytes, the limit; real ones are a few kilobytes")
    data, lines = parse(text, path)
    return Document(path, data, lines)


def parse(text: str, origin: str | Path) -> tuple[dict, dict[KeyPath, int]]:
    """Parse YAML text that must hold a mapping; returns (data, key-path -> line)."""
    if not text.strip() or _only_comments(text):
        raise InputError(origin, "the file is empty; expected a YAML mapping of keys to values")
    try:
        depth = nodes = 0
        for event in yaml.parse(text, Loader=Loader):
            nodes += 1
            if nodes > MAX_NODES:
                raise InputError(origin, f"more than {MAX_NODES:,} values; real files have a few hundred",
                                 line=event.start_mark.line + 1)
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise InputError(origin, "YAML anchors and aliases are not allowed; write the value out",
                                 line=event.start_mark.line + 1)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(origin, f"nested more than {MAX_DEPTH} levels deep",
                                     line=event.start_mark.line + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        loader = Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise InputError(origin, "the file is empty; expected a YAML mapping of keys to values")
            if not isinstance(node, yaml.MappingNode):
                raise InputError(origin, f"expected a mapping of keys to values at the top level, found a {_kind(node)}",
                                 line=node.start_mark.line + 1)
            lines: dict[KeyPath, int] = {}
            _index(node, (), lines, origin)
            try:
                data = loader.construct_document(node)
            except (ValueError, TypeError, IndexError, KeyError, OverflowError, RecursionError):
                raise _unbuildable(node, origin) from None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(origin, f"YAML syntax error: {problem}", line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        raise InputError(origin, f"character {exc.character!r} is not allowed in YAML", line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(origin, f"YAML error: {str(exc).splitlines()[0]}") from None
    return data, lines


def _unbuildable(root: yaml.Node, origin) -> InputError:
    """The error for a value PyYAML parses but cannot build (2025-02-30, !!int abc, !!bool maybe,
    an integer of 5,000 digits), at the line of the first such value."""
    todo = [root]
    while todo:
        node = todo.pop(0)
        if isinstance(node, yaml.ScalarNode):
            loader = Loader("")
            try:
                loader.construct_object(node, deep=True)
            except Exception:  # noqa: BLE001 - any failure to build this scalar is the user's value
                return InputError(origin, f"{quote(node.value)} ({node.tag.rsplit(':', 1)[-1]}) cannot be read as a "
                                  "value; write a plain number, text, true or false", line=node.start_mark.line + 1)
            finally:
                loader.dispose()
        elif isinstance(node, yaml.MappingNode):
            todo += [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            todo += list(node.value)
    return InputError(origin, "a value cannot be read; write plain numbers, text, true or false")


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _kind(node: yaml.Node) -> str:
    return {yaml.ScalarNode: "single value", yaml.SequenceNode: "list"}.get(type(node), "mapping")


def _index(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], origin) -> None:
    """Record the line of every key under `node`; reject duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            key = _scalar_key(key_node, origin)
            where = path + (key,)
            if key in seen:
                raise InputError(origin, "duplicate key; each key may appear once in a mapping",
                                 line=key_node.start_mark.line + 1, key=keypath.format(where))
            seen.add(key)
            lines[where] = key_node.start_mark.line + 1
            _index(value_node, where, lines, origin)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _index(item, path + (i,), lines, origin)
    elif isinstance(node, yaml.ScalarNode) and any("\ud800" <= c <= "\udfff" for c in node.value):
        raise InputError(origin, "a lone surrogate (from a \\u escape) is not a character; write the text plainly",
                         line=node.start_mark.line + 1, key=keypath.format(path))


def _scalar_key(node: yaml.Node, origin=None):
    """The Python value of a scalar key as SafeLoader builds it (so 2023 is an int)."""
    if not isinstance(node, yaml.ScalarNode):
        return f"<{_kind(node)}>"
    if any("\ud800" <= c <= "\udfff" for c in node.value):
        raise InputError(origin, "a lone surrogate (from a \\u escape) is not a character; write the key plainly",
                         line=node.start_mark.line + 1)
    loader = Loader("")
    try:
        key = loader.construct_object(node, deep=True)
    except Exception:  # noqa: BLE001 - a key YAML cannot build (!!int '') is the user's
        raise InputError(origin, f"the key {quote(node.value)} ({node.tag.rsplit(':', 1)[-1]}) cannot be read; write "
                         "keys as plain names or years", line=node.start_mark.line + 1) from None
    finally:
        loader.dispose()
    try:
        hash(key)
    except TypeError:
        raise InputError(origin, f"the key {quote(node.value)} is not a name or a year", line=node.start_mark.line + 1) from None
    return key
