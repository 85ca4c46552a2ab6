"""Gold sets, metrics, quality report and benchmarks."""
