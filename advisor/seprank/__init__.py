"""The separation-rank model: pooling structures, tree recurrence, graph min-cut, exact rank."""
