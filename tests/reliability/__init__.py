"""Reliability and security tests: fuzzing, limits, load, faults, TLS and authentication."""
