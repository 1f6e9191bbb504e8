"""Calibration inputs of the Hong Kong model: `hk.yaml` (parameters) and `data/` (sourced CSV rows)."""
