"""`make bench`: load benchmarks of patron against a reference app, an echo endpoint and pgbench.

Run `python -m bench.run --help` (or `make bench`); docs/performance.md explains every figure.
"""
