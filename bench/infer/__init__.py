"""Task inference benchmarks: the paper's permutation protocol (run.py) and the speed bench."""
