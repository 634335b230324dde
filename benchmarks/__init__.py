"""Benchmarks: each module measures one part and rewrites its own section of BENCHMARKS.md."""
