"""ionq-backends benchmarks: `python -m benchmarks [--quick]`."""
