"""Benchmarks: one module per stage, each `run() -> dict` of medians over >= 3 runs; `make bench` runs them all."""
