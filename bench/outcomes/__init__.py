"""The trained-outcome benchmark: does the advisor's ranking predict test accuracy?

Per task (:mod:`bench.outcomes.data`, described for the advisor in ``tasks/*.yaml``) a pool of
architectures at one parameter budget (:mod:`bench.outcomes.pool`: the advisor's top 8, random
draws from its candidate space, the standard contiguous baselines) is trained the same way
(:mod:`bench.outcomes.run`, results cached in ``results/``), and the advisor's score is compared
with the accuracies (:mod:`bench.outcomes.metrics`, :mod:`bench.outcomes.report` writes
docs/OUTCOMES.md).
"""
