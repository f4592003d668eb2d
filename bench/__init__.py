"""Benchmarks and load generators: they drive the real server from outside it."""
