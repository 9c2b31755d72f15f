"""Pooling structure.

The pooling tree of an architecture, as level arrays over a permutation of the input locations,
for every geometry family.
"""
