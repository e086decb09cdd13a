"""The optimisation core measured against the methods a user could pick instead (see benchmarks/README.md)."""
