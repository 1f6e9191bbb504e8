"""Hong Kong labour-supply scenario engine.

A cohort stock-flow model of the local labour force (excluding foreign domestic helpers) with a
demand side by occupation group, stepped yearly by SimPy over a batch of runs. Entry points:
`sim.scenario.load` (YAML -> Scenario) and `sim.engine.simulate` (Scenario -> Results).
"""

__version__ = "0.1.0"
