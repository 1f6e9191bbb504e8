"""A result folder's CSV tables read back, for its report and charts.

The report of a run, a comparison or a sweep is drawn from the files in its folder only, so
`simulate report DIR` rebuilds it exactly as the run wrote it. Values stay text until asked
for as numbers (an empty cell is NaN).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from sim.errors import InputError, quote


class Table:
    """A CSV table: a header and rows of text."""

    def __init__(self, header: list[str], rows: list[list[str]], path: Path | None = None) -> None:
        self.header = header
        self.rows = rows
        self.path = path
        self._at = {name: k for k, name in enumerate(header)}

    def __len__(self) -> int:
        return len(self.rows)

    def has(self, name: str) -> bool:
        return name in self._at

    def text(self, name: str) -> list[str]:
        k = self._at[name]
        return [r[k] if k < len(r) else "" for r in self.rows]

    def num(self, name: str) -> np.ndarray:
        """A column as floats (NaN where empty); InputError naming the line of a cell that is no number."""
        values = self.text(name)
        try:
            return np.array([float(v) if v != "" else np.nan for v in values])
        except ValueError:
            line = next(k for k, v in enumerate(values) if v != "" and not _is_float(v))
            raise InputError(self.path or "table", f"column {name}: {quote(values[line])} is not a number",
                             line=line + 2) from None  # the header is line 1

    def where(self, **equal: str) -> Table:
        """The rows whose columns equal the given texts."""
        keys = [(self._at[k], str(v)) for k, v in equal.items()]
        return Table(self.header, [r for r in self.rows if all(k < len(r) and r[k] == v for k, v in keys)], self.path)

    def dicts(self) -> list[dict[str, str]]:
        return [dict(zip(self.header, r)) for r in self.rows]


def parse(text: str, path: Path | None = None) -> Table:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    return Table(header, [row for row in reader if row], path)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read(folder: Path, name: str) -> Table | None:
    """`folder`/`name` as a Table; None when the folder has no such file."""
    path = Path(folder) / name
    if not path.is_file():
        return None
    try:
        return parse(path.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"cannot be read as a CSV table ({exc})") from None


def need(folder: Path, name: str, columns: tuple[str, ...]) -> Table:
    """`folder`/`name`, which the report cannot do without, with at least `columns`; InputError
    naming the file and what is missing otherwise."""
    table = read(folder, name)
    if table is None:
        raise InputError(Path(folder) / name, "missing: the report is drawn from the tables the run wrote; rerun "
                         "the command that wrote the folder")
    absent = [c for c in columns if not table.has(c)]
    if absent:
        raise InputError(table.path, f"has no column {', '.join(absent)}; expected at least {', '.join(columns)}",
                         line=1)
    return table


def manifest(folder: Path) -> dict:
    """The folder's manifest.json; InputError when there is none or it is not simulate's."""
    path = Path(folder) / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(folder, "has no manifest.json: not a folder written by simulate run, compare or sweep") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(path, f"cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict) or not str(data.get("tool", "")).startswith("simulate "):
        raise InputError(path, "is not the manifest of simulate run, compare or sweep (no 'tool' key)")
    return data
