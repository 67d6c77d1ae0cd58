"""Training: one loop for every family, one way to save and load a run directory."""
