"""Rewrite the golden files of the shipped scenarios: `python tests/golden/update.py`.

Run it only after a deliberate change of the model, the calibration or a scenario, and say in
the commit why the numbers moved; tests/test_golden.py compares every shipped scenario with them.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from test_golden import SCENARIOS, golden_path, yearly_text  # noqa: E402

if __name__ == "__main__":
    for scenario in SCENARIOS:
        golden_path(scenario).write_text(yearly_text(scenario), encoding="utf-8", newline="")
        print(f"wrote {golden_path(scenario).relative_to(ROOT)}")
