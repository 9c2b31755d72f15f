"""From data to task: the dependence graph of a data sample, its arrangement, the inferred task.

Modules, each with one job: :mod:`~advisor.infer.data` reads and checks a sample,
:mod:`~advisor.infer.dependence` estimates the sparse |Pearson| dependence graph
(:mod:`~advisor.infer.graph`), :mod:`~advisor.infer.partition` splits a graph into balanced parts,
:mod:`~advisor.infer.arrangement` builds the permutation of the locations that lowers the
surrogate entanglement of the canonical partitions, and :mod:`~advisor.infer.task` writes the task
file. The first three need numpy only: the client library imports them to summarise data locally.
"""
