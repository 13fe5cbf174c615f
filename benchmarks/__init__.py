"""One command prints the figures: `python -m benchmarks` (see `benchmarks.__main__`)."""
