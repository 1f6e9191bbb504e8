"""The assumptions behind a result, each with its source: every lever, uncertainty, unit cost and
target of a scenario with the file and line that set it and the comment written beside it, and
the calibration's parameters with their recorded sources.

Written to `assumptions.csv` with every run and comparison, so the report can show them without
the scenario files.
"""

from __future__ import annotations

from pathlib import Path

from sim import export, variables
from sim.scenario import Loaded, resolved

COLUMNS = ("scenario", "group", "key", "value", "unit", "source", "where")
UNITS = {"scenario": "scenario name (empty: the calibration, shared)",
         "group": "lever, uncertainty, unit_cost, target or calibration",
         "key": "key path", "value": "the value as resolved (dated values as {year: value})",
         "unit": "unit of the value", "source": "the comment beside the key in its file, or the calibration's source",
         "where": "file:line that set the value (default: not set by any file)"}
CONTEXT_UNITS = {"references.csv": export.REFERENCE_UNITS, "assumptions.csv": UNITS}


def context_files(members: list[Loaded], inputs, shown) -> dict[str, str]:
    """references.csv (the official figures and observations the charts mark) and assumptions.csv
    (every assumption of `members` and of the calibration, with its source), so that a result's
    report needs nothing outside its folder. `shown(path)` gives a path as the files record it."""
    table = [r for loaded in members for r in rows(loaded, shown)] + calibration_rows(inputs.files[0], shown)
    return {"references.csv": export.references_csv(inputs.targets, inputs.official),
            "assumptions.csv": export.csv_text(COLUMNS, table)}


def rows(loaded: Loaded, shown) -> list[list[str]]:
    """Rows of assumptions.csv for scenario `loaded` (file paths as `shown(path)` gives them)."""
    data = resolved(loaded.scenario)
    name = loaded.scenario.name
    out = []
    for v in variables.VARIABLES:
        if v.kind == "fitted":
            continue
        parts = v.path.split(".")
        if v.kind == "uncertainty":
            key = tuple(parts[:2])
            value = _text({k: x for k, x in data["uncertainties"][parts[1]].items() if x is not None})[1:-1]
            if v.group is not None and parts[-1] != variables.OCCUPATIONS[0]:
                continue  # one row for a grouped uncertainty
            path = ".".join(parts[:2])
        else:
            key, value, path = tuple(parts), _text(_get(data, parts)), v.path
        out.append([name, v.kind, path, value, v.unit, *_source(loaded, key, shown)])
    for path, cost in sorted(data.get("unit_costs", {}).items()):
        out.append([name, "unit_cost", f"unit_costs.{path}", _text(cost), "HK$ per unit a year",
                    *_source(loaded, ("unit_costs", path), shown)])
    for target, spec in data.get("targets", {}).items():
        out.append([name, "target", f"targets.{target}", _text({k: x for k, x in spec.items() if x is not None})[1:-1], "",
                    *_source(loaded, ("targets", target), shown)])
    return out


def calibration_rows(path: Path, shown) -> list[list[str]]:
    """The calibration file's parameters with their units and sources."""
    from sim.inputs import read_file

    calib, doc = read_file(path)
    return [["", "calibration", f"parameters.{name}", _text(p.value), p.unit, p.source,
             f"{shown(path)}:{doc.lines.get(('parameters', name), '')}"] for name, p in calib.parameters.items()]


def _get(data: dict, parts: list[str]):
    for part in parts:
        data = data[part]
    return data


def _text(value) -> str:
    if value is None:
        return "not set (model default)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


def _source(loaded: Loaded, key: tuple, shown) -> tuple[str, str]:
    """(comment, file:line) of the key that set the value; ('model default', '') when no file did."""
    if key not in loaded.origins:
        return "model default (sim/scenario.py)", ""
    file, line = loaded.origins[key]
    text = comment(Path(file), line)
    for n in range(len(key) - 1, 1, -1):  # else the comment of the nearest enclosing key of that file
        if text or key[:n] not in loaded.origins or loaded.origins[key[:n]][0] != file:
            break
        text = comment(Path(file), loaded.origins[key[:n]][1])
    return text, f"{shown(Path(file))}:{line}"


def comment(path: Path, line: int | None) -> str:
    """The comment on line `line` of a YAML file and the block of comment lines just above it at
    the same indent, joined; empty when there is none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    if line is None or not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1]
    indent = len(text) - len(text.lstrip())
    above = []
    k = line - 2
    while k >= 0 and lines[k].strip().startswith("#") and len(lines[k]) - len(lines[k].lstrip()) == indent:
        above.insert(0, lines[k].strip().lstrip("#").strip())
        k -= 1
    trailing = _trailing(text)
    return " ".join([*above, *([trailing] if trailing else [])])


def _trailing(text: str) -> str:
    """The comment after a value (` # ...` outside quotes)."""
    quote = None
    for k, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or text[k - 1].isspace()):
            return text[k + 1:].strip()
    return ""
