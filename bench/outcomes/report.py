"""Turn ``bench/outcomes/results/*.json`` into docs/OUTCOMES.md tables and docs/outcomes-*.png.

Run after the benchmark (2.6 CPU-minutes, measured 2026-12-07, most of it the resampled Kendall
taus, a thousand resamples per comparison in exact fractions: 17 CPU-seconds for
``outcomes-sureness``, 23 for ``outcomes-data-paired``, 7 for a held-out set of two tasks; a set
whose two scores agree on every member needs no resampling; it prints nothing until it
writes)::

    .venv/bin/python -m bench.outcomes.report

docs/OUTCOMES.md gets the generated blocks ``outcomes-metrics`` (the metrics of every task),
``outcomes-sureness`` (how sure the mean taus are), ``outcomes-families`` (each predictor's
agreement with accuracy among the nets of one pooling geometry and across geometries) and one
block ``outcomes-<task>`` per task (its pool, best accuracy first); every task gets a plot
``docs/outcomes-<task>.png`` of mean test accuracy against the advisor's score. When the
with-data pools exist (``run --with-data``), ``outcomes-data-metrics``, ``outcomes-data-families``
and ``outcomes-data-paired`` (both scores on both arms' pools); when the second draw's pools of
both arms exist (``run --draw 1``), ``outcomes-draw-paired`` (both scores on their random
members, none of which the first pools hold) and ``outcomes-draws`` (each predictor's mean tau on
the first draw's pools, the second's and both as one). The held-out tasks (``run --held-out K``,
sets of tasks added after the objective's last change) get their own pool blocks and plots and
one block per set, ``outcomes-held-out-K`` (their metrics, and both scores on both arms' pools
when the with-data pools exist) and, when the locality arm's pools exist (``run --held-out K
--locality``), ``outcomes-locality-K`` (that arm's metrics on its own pools);
``outcomes-overview`` puts the tuned tasks, each held-out set
and all of them side by side; no other block reads them. The prose around
the blocks is written by hand and left alone. Only the runs of the current pool are read, at the
seeds the pool lists; a member with no finished run is left out of the figures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from bench.outcomes.data import HELD_OUT, TASKS
from bench.outcomes.metrics import (
    PREDICTORS,
    PoolRuns,
    TaskMetrics,
    rank_correlation,
    resampled_mean_taus,
    split_concordance,
    task_metrics,
)
from bench.outcomes.run import DESCRIPTION, LOCALITY, RESULTS, WITH_DATA, pool_folder
from bench.report import DOCS, no_options, update_section
from bench.validate.report import SeedAccuracies

__all__ = [
    "Row",
    "main",
    "metrics_markdown",
    "overview_markdown",
    "plot_task",
    "pool_markdown",
    "pool_runs",
    "draws_markdown",
    "families_markdown",
    "paired_markdown",
    "random_only",
    "rows",
    "sureness_markdown",
    "union_arm",
]

REPORT = "OUTCOMES.md"
_LABELS = {
    "score": "advisor score",
    "parameters": "#params",
    "synflow": "synflow",
    "naswot": "NASWOT",
}


@dataclass(frozen=True)
class Row(SeedAccuracies):
    """One trained pool member: its figures and test accuracies over the seeds."""

    record: dict[str, Any]
    accuracies: tuple[float, ...]
    cpu_seconds: float

    @property
    def source(self) -> str:
        """Where the member came from (``advisor #k``, ``random``, ``baseline-...``)."""
        return str(self.record["source"])


def rows(document: dict[str, Any]) -> list[Row]:
    """The pool members that have finished runs, in pool order."""
    found = []
    for record in document["pool"]:
        runs = [document["runs"][key] for key in record["runs"] if key in document["runs"]]
        if runs:
            found.append(
                Row(
                    record,
                    tuple(r["test_accuracy"] for r in runs),
                    sum(r["cpu_seconds"] for r in runs),
                )
            )
    return found


def pool_runs(found: list[Row], fields: Sequence[str] = PREDICTORS) -> PoolRuns:
    """The trained members' values of ``fields`` (default: the predictors) and runs."""
    return PoolRuns(
        {name: [float(row.record[name]) for row in found] for name in fields},
        [row.accuracies for row in found],
    )


def metrics_of(found: list[Row]) -> TaskMetrics:
    """The task's metrics over its trained members."""
    pool = pool_runs(found)
    return task_metrics(
        [row.source for row in found],
        pool.predictors,
        [row.mean for row in found],
        [row.std for row in found],
        pool.per_seed,
    )


def _design(record: dict[str, Any]) -> str:
    architecture = json.loads(record["architecture"])
    pools = ", ".join("x".join(str(n) for n in layer["pool"]) for layer in architecture["layers"])
    widths = "-".join(str(layer["channels"]) for layer in architecture["layers"])
    return f"{architecture.get('family', '')} M={architecture['representation']} {widths} ({pools})"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}"


def _points(value: float) -> Decimal:
    """A difference of two mean accuracies in points, exact to the hundredth the means hold.

    The means are whole hundredths of a point, and so is their difference, which a float holds
    as 0.8499999... or 0.8500000...: written to one decimal, exact halves went either way (0.85
    read 0.9, 0.95 read 0.9, 1.25 read 1.2).
    """
    return Decimal(f"{100 * value:.6f}")


def _gap(value: float, sign: str = "") -> str:
    """Write :func:`_points` of ``value`` to one decimal, halves away from zero."""
    rounded = _points(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{rounded:{sign}}"


def pool_markdown(document: dict[str, Any], found: list[Row]) -> str:
    """The task's pool table, best mean accuracy first."""
    lines = [
        f"Budget {document['budget']:,} parameters; {len(found)} of {len(document['pool'])} "
        f"members trained, CPU time {sum(r.cpu_seconds for r in found):.0f} s.",
        "",
        "| source | design (family, M, widths, windows) | params | MACs | advisor score "
        "| synflow | NASWOT | test acc. % (mean ± std, seeds) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in sorted(found, key=lambda r: -r.mean):
        record = row.record
        lines.append(
            f"| {row.source} | {_design(record)} | {record['parameters']:,} "
            f"| {record['multiply_adds']:,} | {record['score']:.3f} "
            f"| {float(record['synflow']):.3g} | {float(record['naswot']):.1f} "
            f"| {_percent(row.mean)} ± {_percent(row.std)} ({len(row.accuracies)}) |"
        )
    return "\n".join(lines)


def _number(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.2f}"


def metrics_markdown(results: dict[str, TaskMetrics]) -> str:
    """The metrics table: one row per task, then the mean over the tasks."""
    header = " | ".join(f"tau {_LABELS[p]} | rho {_LABELS[p]}" for p in PREDICTORS)
    lines = [
        f"| task | {header} | tau one run (ceiling) | best % | advisor #1 % | regret (points) "
        "| within 1 std | #1 - doubling baseline (points) |",
        "| --- |" + " ---: |" * (2 * len(PREDICTORS) + 6),
    ]
    for name, figures in results.items():
        cells = " | ".join(
            f"{_number(figures.correlations[p].kendall_tau)} | "
            f"{_number(figures.correlations[p].spearman_rho)}"
            for p in PREDICTORS
        )
        lines.append(
            f"| {name} | {cells} | {_number(figures.seed_tau)} "
            f"| {_percent(figures.best_accuracy)} "
            f"| {_percent(figures.advisor_accuracy)} | {_gap(figures.regret)} "
            f"| {'yes' if figures.within_one_std else 'no'} "
            f"| {_gap(figures.advisor_vs_baseline, '+')} |"
        )
    means = []
    for predictor in PREDICTORS:
        for field in ("kendall_tau", "spearman_rho"):
            values = [getattr(m.correlations[predictor], field) for m in results.values()]
            means.append(_number(_defined_mean(values)))
    means.append(_number(_defined_mean([m.seed_tau for m in results.values()])))
    regrets = [m.regret for m in results.values()]
    wins = _wins(results.values())
    within = sum(m.within_one_std for m in results.values())
    lines.append(
        f"| **mean** | {' | '.join(means)} | | | {_gap(float(np.mean(regrets)))} "
        f"| {within} of {len(results)} | ≥ +3 on {wins} of {len(results)} |"
    )
    return "\n".join(lines)


def _wins(results: Iterable[TaskMetrics]) -> int:
    """The tasks whose #1 is 3 points or more over the doubling baseline (:func:`_points`)."""
    return sum(_points(m.advisor_vs_baseline) >= 3 for m in results)


def sureness_markdown(pools: list[PoolRuns], replicates: int = 1000) -> str:
    """How sure the mean taus are: a 90% interval over resampled benchmarks, and how often the
    advisor's score ranks better than each other predictor (:func:`resampled_mean_taus`).

    Resamples where a predictor (or the score) has no tau on any task are left out of its row.
    """
    taus = resampled_mean_taus(pools, replicates)
    score = taus["score"]
    lines = [
        "| predictor | mean tau over the tasks, 90% of resamples within | resamples where the "
        "advisor's score ranks better |",
        "| --- | ---: | ---: |",
    ]
    for name, values in taus.items():
        drawn = ~np.isnan(values) & ~np.isnan(score)
        low, high = np.percentile(values[drawn], [5, 95]) if drawn.any() else (math.nan, math.nan)
        better = f"{100 * np.mean(score[drawn] > values[drawn]):.1f}%" if drawn.any() else "n/a"
        lines.append(
            f"| {_LABELS[name]} | {_number(low)} to {_number(high)} "
            f"| {'' if name == 'score' else better} |"
        )
    return "\n".join(lines) + (
        f"\n\n{replicates} resamples of the {len(pools)} pools: members drawn with replacement, "
        "each drawn member's runs too (`bench.outcomes.metrics.resampled_mean_taus`, seed 0)."
    )


def geometry(record: dict[str, Any]) -> str:
    """The member's pooling geometry: its family, the standard CNNs' being contiguous."""
    family = str(json.loads(record["architecture"]).get("family", ""))
    return "contiguous" if family.startswith("baseline-") else family


def families_markdown(pools: dict[str, list[Row]]) -> str:
    """Each predictor's tau-a on the pairs of one geometry and on the pairs of two, per task.

    (:func:`~bench.outcomes.metrics.split_concordance`; the means weigh every task alike.)
    """
    header = " | ".join(f"{_LABELS[p]} within | {_LABELS[p]} between" for p in PREDICTORS)
    lines = [
        f"| task | pairs within / between | {header} |",
        "| --- | ---: |" + " ---: |" * (2 * len(PREDICTORS)),
    ]
    sums: dict[str, list[float]] = {}
    for name, found in pools.items():
        accuracy = [row.mean for row in found]
        groups = [geometry(row.record) for row in found]
        cells, pairs = [], ""
        for predictor in PREDICTORS:
            split = split_concordance(
                [float(row.record[predictor]) for row in found], accuracy, groups
            )
            pairs = f"{split.within_pairs} / {split.between_pairs}"
            cells += [_number(split.within), _number(split.between)]
            sums.setdefault(f"{predictor} within", []).append(split.within)
            sums.setdefault(f"{predictor} between", []).append(split.between)
        lines.append(f"| {name} | {pairs} | {' | '.join(cells)} |")
    means = [_number(float(np.nanmean(values))) for values in sums.values()]
    lines.append(f"| **mean** | | {' | '.join(means)} |")
    return "\n".join(lines)


def plot_task(name: str, found: list[Row], path: Path) -> None:
    """Mean test accuracy (± std) against the advisor's score, sources marked."""
    figure, axes = plt.subplots(figsize=(7.5, 4))
    styles = {
        "random": ("o", "0.6", "random draw"),
        "advisor": ("o", "tab:blue", "advisor #2-8"),
        "advisor #1": ("*", "tab:blue", "advisor #1"),
        "baseline-doubling": ("s", "tab:red", "standard CNN (doubling)"),
        "baseline-constant": ("D", "tab:orange", "constant widths"),
    }
    seen = set()
    for row in found:
        style = row.source if row.source in styles else row.source.split(" ")[0]
        marker, colour, label = styles[style]
        axes.errorbar(
            row.record["score"],
            100 * row.mean,
            yerr=100 * row.std,
            fmt=marker,
            color=colour,
            markersize=16 if style == "advisor #1" else 7,
            markeredgecolor="black" if style == "advisor #1" else colour,
            zorder=3 if style == "advisor #1" else 2,
            label=None if style in seen else label,
            capsize=2,
        )
        seen.add(style)
    axes.set_xlabel("advisor score (score_architecture)")
    axes.set_ylabel("test accuracy % (mean ± std over seeds)")
    axes.set_title(name)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


@dataclass
class Arm:
    """The trained pools of one way of asking the advisor (the description, or with the data)."""

    metrics: dict[str, TaskMetrics]
    trained: dict[str, list[Row]]
    documents: dict[str, dict[str, Any]]

    @property
    def total(self) -> str:
        """The training CPU time and the runs of these pools, as a sentence."""
        found = [row for rows_ in self.trained.values() for row in rows_]
        minutes = sum(row.cpu_seconds for row in found) / 60
        runs = sum(len(row.accuracies) for row in found)
        return f"Training CPU time of these pools: {minutes:.1f} CPU-minutes, {runs} runs."


def read_arm(folder: Path, tasks: Sequence[str] = tuple(TASKS)) -> Arm:
    """Each of ``tasks``' trained pools in ``folder`` that has the advisor's #1 and the standard
    CNN (default: the tuned tasks)."""
    arm = Arm({}, {}, {})
    for name in tasks:
        path = folder / f"{name}.json"
        if not path.exists():
            continue
        document = json.loads(path.read_text())
        found = rows(document)
        if not {"advisor #1", "baseline-doubling"} <= {row.source for row in found}:
            continue
        arm.metrics[name] = metrics_of(found)
        arm.trained[name] = found
        arm.documents[name] = document
    return arm


def _score_tau(found: list[Row], field: str) -> float:
    accuracy = [row.mean for row in found]
    return rank_correlation([float(row.record[field]) for row in found], accuracy).kendall_tau


def paired_markdown(described: Arm, with_data: Arm, replicates: int = 1000) -> str:
    """Kendall tau of the description's score and of the score with the data, on both pools,
    and how often the score with the data ranks better on resampled pools."""
    lines = [
        "| task | description's pool: tau description | tau with the data "
        "| with-data pool: tau description | tau with the data |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    columns: list[list[float]] = [[], [], [], []]
    for name in described.trained:
        if name not in with_data.trained:
            continue
        taus = [
            _score_tau(found, field)
            for found in (described.trained[name], with_data.trained[name])
            for field in ("score_description", "score_with_data")
        ]
        for column, tau in zip(columns, taus, strict=True):
            column.append(tau)
        lines.append(f"| {name} | " + " | ".join(_number(tau) for tau in taus) + " |")
    means = [_number(float(np.mean(column))) if column else "" for column in columns]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n\n" + _paired_sentence(described, with_data, replicates)


def _paired_sentence(described: Arm, with_data: Arm, replicates: int) -> str:
    """How often the score with the data ranks better on resampled pools of both arms.

    Where the two scores are equal on every member of both arms, every resample ties (no
    resampling needed): said so, where "the higher mean tau on 0.0%" read as if the data never
    helped.
    """
    arms = {"description's": described, "with-data": with_data}
    if all(_scores_agree(arm) for arm in arms.values()):
        return (
            "The two scores are equal on every member of both arms' pools, so their mean taus tie "
            f"on all {replicates} resamples: these pools cannot tell whether the data helps."
        )
    shares = [
        f"{_paired_share(arm, replicates)} on the {label} pools" for label, arm in arms.items()
    ]
    return (
        f"On {replicates} resamples of each arm's pools (members and runs drawn again, as for the "
        f"sureness above), the score with the data has the higher mean tau on {shares[0]} and on "
        f"{shares[1]}."
    )


def _scores_agree(arm: Arm) -> bool:
    """Whether the score with the data is the description's on every member of ``arm``."""
    return all(
        row.record["score_description"] == row.record["score_with_data"]
        for found in arm.trained.values()
        for row in found
    )


def random_only(arm: Arm) -> Arm:
    """The arm with only its random members (the pools' draws from the search space)."""
    trained = {
        name: [row for row in found if row.source == "random"]
        for name, found in arm.trained.items()
    }
    return Arm({}, trained, arm.documents)


def union_arm(first: Arm, second: Arm) -> Arm:
    """Both draws' pools of the tasks both hold, as one pool each: every member once."""
    trained = {}
    for name, found in first.trained.items():
        if name in second.trained:
            members = {row.record["architecture"]: row for row in found}
            for row in second.trained[name]:
                members.setdefault(row.record["architecture"], row)
            trained[name] = list(members.values())
    return Arm({name: metrics_of(found) for name, found in trained.items()}, trained, {})


def draws_markdown(arms: Sequence[tuple[str, Arm, Arm]]) -> str:
    """Each predictor's mean tau over the tasks on the first draw's pools, the second's and
    both together, for each way of asking (``(label, first draw, second draw)``)."""
    header = " | ".join(f"tau {_LABELS[p]}" for p in PREDICTORS)
    lines = [
        f"| pools | members per task | {header} | tau one run (ceiling) |",
        "| --- | ---: |" + " ---: |" * (len(PREDICTORS) + 1),
    ]
    for label, first, second in arms:
        both = union_arm(first, second)
        for which, arm in (("first draw", first), ("second draw", second), ("both", both)):
            sizes = sorted({len(found) for found in arm.trained.values()}) or [0]
            counts = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
            means = [
                _number(
                    _defined_mean([m.correlations[p].kendall_tau for m in arm.metrics.values()])
                )
                for p in PREDICTORS
            ]
            ceiling = _defined_mean([m.seed_tau for m in arm.metrics.values()])
            lines.append(
                f"| {label}, {which} | {counts} | {' | '.join(means)} | {_number(ceiling)} |"
            )
    return "\n".join(lines)


def overview_markdown(groups: Sequence[tuple[str, dict[str, TaskMetrics]]]) -> str:
    """Each predictor's mean tau, the ceiling and the #1's two targets per group of tasks, then
    over every task of the groups (``(label, metrics by task)``)."""
    header = " | ".join(f"tau {_LABELS[p]}" for p in PREDICTORS)
    lines = [
        f"| tasks | count | {header} | tau one run (ceiling) | #1 within 1 std "
        "| #1 ≥ doubling baseline + 3 |",
        "| --- | ---: |" + " ---: |" * (len(PREDICTORS) + 3),
    ]
    every = {name: m for _, metrics in groups for name, m in metrics.items()}
    for label, metrics in [*groups, ("all", every)]:
        values = list(metrics.values())
        taus = [
            _number(_defined_mean([m.correlations[p].kendall_tau for m in values]))
            for p in PREDICTORS
        ]
        within = sum(m.within_one_std for m in values)
        wins = _wins(values)
        lines.append(
            f"| {label} | {len(values)} | {' | '.join(taus)} "
            f"| {_number(_defined_mean([m.seed_tau for m in values]))} "
            f"| {within} of {len(values)} | {wins} of {len(values)} |"
        )
    return "\n".join(lines)


def _defined_mean(values: Sequence[float]) -> float:
    """The mean of the values that are not NaN (NaN when none is)."""
    defined = [value for value in values if not math.isnan(value)]
    return math.fsum(defined) / len(defined) if defined else math.nan


def _paired_share(arm: Arm, replicates: int) -> str:
    """The share of resampled benchmarks where the score with the data ranks better, and the
    share where the two tie if any do (``"34.7% of them (the same on 2.0%)"``)."""
    fields = ("score_description", "score_with_data")
    pools = [pool_runs(found, fields) for found in arm.trained.values()]
    taus = resampled_mean_taus(pools, replicates)
    drawn = ~np.isnan(taus[fields[0]]) & ~np.isnan(taus[fields[1]])
    if not drawn.any():
        return "none of them (no resample ranks by both)"
    description, with_data = taus[fields[0]][drawn], taus[fields[1]][drawn]
    tied = np.mean(with_data == description)
    share = f"{100 * np.mean(with_data > description):.1f}% of them"
    return share + (f" (the same on {100 * tied:.1f}%)" if tied else "")


def _task_sections(arm: Arm) -> None:
    """Write each task's pool block and plot."""
    for name, found in arm.trained.items():
        update_section(REPORT, f"outcomes-{name}", pool_markdown(arm.documents[name], found))
        plot_task(name, found, DOCS / f"outcomes-{name}.png")


def main() -> None:
    """Rebuild every generated block of docs/OUTCOMES.md and every plot."""
    described = read_arm(pool_folder(RESULTS, DESCRIPTION, 0))
    _task_sections(described)
    update_section(
        REPORT, "outcomes-metrics", f"{metrics_markdown(described.metrics)}\n\n{described.total}"
    )
    if described.trained:
        pools = [pool_runs(found) for found in described.trained.values()]
        update_section(REPORT, "outcomes-sureness", sureness_markdown(pools))
        update_section(REPORT, "outcomes-families", families_markdown(described.trained))
    with_data = read_arm(pool_folder(RESULTS, WITH_DATA, 0))
    if with_data.trained:
        update_section(
            REPORT,
            "outcomes-data-metrics",
            f"{metrics_markdown(with_data.metrics)}\n\n{with_data.total}",
        )
        update_section(REPORT, "outcomes-data-families", families_markdown(with_data.trained))
        update_section(REPORT, "outcomes-data-paired", paired_markdown(described, with_data))
    fresh = read_arm(pool_folder(RESULTS, DESCRIPTION, 1))
    fresh_with_data = read_arm(pool_folder(RESULTS, WITH_DATA, 1))
    if fresh.trained and fresh_with_data.trained:
        paired = paired_markdown(random_only(fresh), random_only(fresh_with_data))
        update_section(REPORT, "outcomes-draw-paired", paired)
        draws = [("description", described, fresh), ("with the data", with_data, fresh_with_data)]
        update_section(REPORT, "outcomes-draws", draws_markdown(draws))
    groups = [("tuned", described.metrics)]
    data_groups = [("tuned", with_data.metrics)] if with_data.trained else []
    for number, tasks in enumerate(HELD_OUT, start=1):
        held_out = read_arm(pool_folder(RESULTS, DESCRIPTION, 0), list(tasks))
        if not held_out.trained:
            continue
        groups.append((f"held-out set {number}", held_out.metrics))
        _task_sections(held_out)
        metrics = f"{metrics_markdown(held_out.metrics)}\n\n{held_out.total}"
        held_out_with_data = read_arm(pool_folder(RESULTS, WITH_DATA, 0), list(tasks))
        if held_out_with_data.trained:
            metrics += "\n\n" + paired_markdown(held_out, held_out_with_data)
            data_groups.append((f"held-out set {number}", held_out_with_data.metrics))
        update_section(REPORT, f"outcomes-held-out-{number}", metrics)
        locality = read_arm(pool_folder(RESULTS, LOCALITY, 0), list(tasks))
        if locality.trained:
            update_section(
                REPORT,
                f"outcomes-locality-{number}",
                f"{metrics_markdown(locality.metrics)}\n\n{locality.total}",
            )
    if len(groups) > 1:
        update_section(REPORT, "outcomes-overview", overview_markdown(groups))
    if len(data_groups) > 1:
        update_section(REPORT, "outcomes-overview-data", overview_markdown(data_groups))


if __name__ == "__main__":
    no_options(__doc__)
    main()
