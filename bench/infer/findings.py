"""What the inferred tasks say on the unpermuted data (docs/INFER.md, "Inferred tasks").

For each data set in its natural order: the dependence graph of the whole sample, the inferred
task, whether it carries the arrangement, the surrogate entanglement before/after, and the
families of the advisor's top 3 recommendations at the small CNN's parameter count; for
``signal-1d`` also the long-range pairs found, against the planted ones. Then, on each data set
randomly permuted (seed 0, whole sample), the total surrogate entanglement of the canonical
partitions under every arrangement: the permutation, the paper's recursion with METIS and with
the spectral fallback, the advisor's (improved) with each, and the IGTD-style baseline.
"""

from __future__ import annotations

import sys

import numpy as np

from advisor.infer.arrangement import arrange, surrogate_entanglement
from advisor.infer.data import data_from_array
from advisor.infer.dependence import dependence_graph
from advisor.infer.task import infer_task
from advisor.model.budget import Budget
from advisor.search.recommend import recommend
from bench.infer.datasets import DATASETS, PLANTED_PAIRS, load
from bench.infer.igtd import igtd_arrangement
from bench.infer.run import standard_cnn
from bench.report import no_options

__all__ = ["main"]


def main() -> int:
    """Print the findings of every data set."""
    for name in DATASETS:
        data = load(name)
        graph = dependence_graph(data_from_array(data.features, data.shape), allow_constant=True)
        inferred = infer_task(graph, outputs=data.classes)
        budget = Budget(
            max_parameters=standard_cnn(data.shape, data.classes).parameters,
            top_k=3,
            representation_kernel=3,
        )
        before, after = sum(inferred.arrangement.before), sum(inferred.arrangement.after)
        task = inferred.task
        if task is None:
            print(
                f"{name}: no task ({inferred.evidence} pairs at dependence "
                f"{inferred.threshold:.3f} or more, no partition above chance by its margin), "
                f"entanglement {before:.3f} -> {after:.3f}"
            )
            continue
        families = [r.architecture.family for r in recommend(task, budget).recommendations]
        carried = task.arrangement is not None
        print(
            f"{name}: {len(task.correlations)} correlations, entanglement "
            f"{before:.3f} -> {after:.3f}, arrangement carried: {carried}, top 3: {families}"
        )
        if name == "signal-1d":
            found = {(int(c.a[0]), int(c.b[0])): c.entanglement for c in inferred.pairs}
            for pair in PLANTED_PAIRS:
                weight = found.get(pair)
                print(
                    f"  planted {pair}: " + ("missed" if weight is None else f"|r| = {weight:.3f}")
                )
            for pair, weight in found.items():
                if pair not in PLANTED_PAIRS:
                    print(f"  also found {pair}: |r| = {weight:.3f}")
    print("\npermuted, total surrogate entanglement:")
    print("random, metis, spectral, metis improved, spectral improved, igtd")
    for name in DATASETS:
        data = load(name)
        permuted = data.features[:, np.random.default_rng(0).permutation(data.features.shape[1])]
        graph = dependence_graph(data_from_array(permuted, data.shape), allow_constant=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            correlations = np.asarray(np.nan_to_num(np.corrcoef(permuted.T)), dtype=np.float64)
        figures = [sum(surrogate_entanglement(graph))]
        for improve in (False, True):
            for partitioner in ("metis", "spectral"):
                result = arrange(graph, partitioner=partitioner, improve=improve)
                figures.append(sum(result.after))
        igtd = igtd_arrangement(correlations, data.shape)
        figures.append(sum(surrogate_entanglement(graph, igtd)))
        print(f"{name}: " + " ".join(f"{value:.3f}" for value in figures))
    return 0


if __name__ == "__main__":
    no_options(__doc__)
    sys.exit(main())
