"""Benchmarks: scripts that print their figures and record them as JSON (`bench.record`); see BENCHMARKS.md."""
