"""Lever responses (a measurement, not a test): the labour force gained per unit of each lever.

Run: python bench/levers.py. For each lever, the baseline is run with the lever raised by one
step from the first projection year on, and the change of the labour force (persons) in 2028,
2035 and 2046 is printed, per 10,000 persons a year for counts and per the stated step for
rates and shifts; for retraining also per extra training place. Monotonicity is a test
(tests/test_history.py); this prints the sizes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = (  # path, baseline value, step, unit of the step
    ("levers.talent.arrivals", 71000, 10000, "10,000 arrivals a year"),
    ("levers.talent.extension_rate", 0.51, 0.1, "0.1 of expiring visas extended"),
    ("levers.retraining.places", 145000, 10000, "10,000 training places a year"),
    ("levers.importation.workers.skilled_technical", 6000, 10000, "10,000 imported workers a year"),
    ("levers.participation.female_shift", 0, 1, "1 point, women 25-59"),
    ("levers.participation.older_shift", 0, 1, "1 point, ages 60-69"),
    ("levers.participation.later_exit", 0, 0.5, "half a year later exit, ages 50+"),
)
YEARS = (2028, 2035, 2046)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from sim import engine, inputs, params, scenario

    base = scenario.load(ROOT / "scenarios" / "baseline.yaml")
    data = inputs.load(base.calibration_path)

    def labour(overrides: tuple[str, ...]):
        res = engine.simulate(params.build(scenario.load(base.path, overrides).scenario, data), data)
        return {y: res.value("labour_force", y) for y in YEARS}

    central = labour(())
    print(f"{'lever':48s} {'step':32s} " + " ".join(f"{y:>9d}" for y in YEARS))
    for path, value, step, unit in STEPS:
        moved = labour((f"{path}={value + step}",))
        print(f"{path:48s} {unit:32s} " + " ".join(f"{moved[y] - central[y]:+9,.0f}" for y in YEARS))
        if path.endswith("retraining.places"):
            print(f"{'  per extra training place':81s} " + " ".join(f"{(moved[y] - central[y]) / step:+9.3f}"
                                                                 for y in YEARS))


if __name__ == "__main__":
    main()
