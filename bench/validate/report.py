"""Turn the experiments' JSON results into docs/VALIDATION.md tables and docs/validation-*.png.

Run after the experiments and the advisor query::

    .venv/bin/python -m bench.validate.report

Every ``bench/validate/results/<experiment>.json`` gets a generated block ``results-<experiment>``
in docs/VALIDATION.md (test accuracy mean ± sample std per task and candidate, with the protocol)
and a plot ``docs/validation-<experiment>.png``; ``advisor_picks.json`` gets the block
``advisor-picks``. The prose around the blocks is written by hand and left alone.

A difference is called *within noise* when it is smaller than twice its standard error
(``sqrt(s1^2/n1 + s2^2/n2)``): with three seeds that is a coarse screen, not a test.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from bench.report import DOCS, no_options, update_section
from bench.validate.experiment import RESULTS, stored_experiments
from bench.validate.training import mean_accuracy

__all__ = [
    "SeedAccuracies",
    "ADVISOR_PICKS",
    "Summary",
    "advisor_markdown",
    "main",
    "plot_results",
    "results_markdown",
    "summarize",
    "winner",
]

ADVISOR_PICKS = "advisor_picks"
"""Stem of the advisor query's results file (not an experiment)."""
REPORT = "VALIDATION.md"


class SeedAccuracies:
    """Mean and sample std over the seeds of ``accuracies`` (a field of the dataclass)."""

    accuracies: tuple[float, ...]

    @property
    def mean(self) -> float:
        """Mean test accuracy."""
        return mean_accuracy(self.accuracies)

    @property
    def std(self) -> float:
        """Sample standard deviation of the test accuracy (0 for one seed)."""
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else 0.0


@dataclass(frozen=True)
class Summary(SeedAccuracies):
    """Test accuracies of one candidate on one task over the seeds."""

    task: str
    candidate: str
    parameters: int
    accuracies: tuple[float, ...]
    train_mean: float


def summarize(document: dict[str, Any]) -> list[Summary]:
    """One :class:`Summary` per (task, candidate), in the order the runs were made."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in document["runs"]:
        groups.setdefault((run["task"], run["candidate"]), []).append(run)
    return [
        Summary(
            task=task,
            candidate=candidate,
            parameters=runs[0]["parameters"],
            accuracies=tuple(run["test_accuracy"] for run in runs),
            train_mean=float(np.mean([run["train_accuracy"] for run in runs])),
        )
        for (task, candidate), runs in groups.items()
    ]


def winner(summaries: list[Summary], task: str) -> tuple[str, float, bool]:
    """The best candidate on ``task``, its lead over the runner-up, and whether it is clear.

    The lead is clear when it exceeds twice its standard error (see the module docstring).
    """
    ranked = sorted((s for s in summaries if s.task == task), key=lambda s: -s.mean)
    best, second = ranked[0], ranked[1]
    lead = best.mean - second.mean
    error = math.sqrt(best.std**2 / len(best.accuracies) + second.std**2 / len(second.accuracies))
    return best.candidate, lead, lead > 2 * error


def results_markdown(document: dict[str, Any]) -> str:
    """The block of one experiment: protocol line, table, winners."""
    protocol = document["protocol"]
    plan = protocol["plan"]
    summaries = summarize(document)
    tasks = list(dict.fromkeys(s.task for s in summaries))
    lines = [
        f"Data: {protocol['data']}. Network: {protocol['network']}.",
        f"Training: {plan['epochs']} epochs, batch {plan['batch_size']}, Adam lr "
        f"{plan['learning_rate']:g} (x0.1 after {plan['decay_after']:.0%} of the steps), "
        f"weight decay {plan['weight_decay']:g}; seeds {protocol['seeds']}. "
        f"Time: {document['total_cpu_seconds'] / 60:.1f} CPU-min on one thread, "
        f"{document['total_seconds'] / 60:.1f} min wall-clock on the shared box "
        f"(torch {document['environment']['torch']}).",
        "",
        "| task | train / test images | candidate | parameters | test accuracy (mean ± std) "
        "| per seed | train accuracy (mean) |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        sizes = f"{protocol['train_sizes'][s.task]:,} / {protocol['test_sizes'][s.task]:,}"
        seeds = ", ".join(f"{a:.4f}" for a in s.accuracies)
        lines.append(
            f"| {s.task} | {sizes} | {s.candidate} | {s.parameters:,} | "
            f"{s.mean:.4f} ± {s.std:.4f} | {seeds} | {s.train_mean:.4f} |"
        )
    lines.append("")
    for task in tasks:
        best, lead, clear = winner(summaries, task)
        verdict = "clear (> 2 standard errors)" if clear else "within noise"
        lines.append(f"- **{task}**: {best} leads by {lead * 100:.2f} points, {verdict}.")
    return "\n".join(lines)


def plot_results(document: dict[str, Any], path: Path) -> Path:
    """Left: mean test accuracy (± std) per task and candidate, one dot per seed.

    Right: the training loss of every run per epoch (colour: candidate, line style: task), which
    shows how far each run got in its budget.
    """
    summaries = summarize(document)
    tasks = list(dict.fromkeys(s.task for s in summaries))
    candidates = list(dict.fromkeys(s.candidate for s in summaries))
    colours = {c: f"C{i}" for i, c in enumerate(candidates)}
    styles = {t: ("-", "--", ":", "-.")[i % 4] for i, t in enumerate(tasks)}
    width = 0.8 / len(candidates)
    figure, (bars, losses) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    for index, candidate in enumerate(candidates):
        rows = [
            next(s for s in summaries if s.task == t and s.candidate == candidate) for t in tasks
        ]
        positions = np.arange(len(tasks)) + (index - (len(candidates) - 1) / 2) * width
        bars.bar(
            positions,
            [s.mean for s in rows],
            width,
            yerr=[s.std for s in rows],
            capsize=4,
            color=colours[candidate],
            label=f"{candidate} ({rows[0].parameters:,} parameters)",
            alpha=0.8,
        )
        for position, s in zip(positions, rows, strict=True):
            bars.plot([position] * len(s.accuracies), s.accuracies, "k.", markersize=5)
    accuracies = [a for s in summaries for a in s.accuracies]
    bars.set_ylim(max(0.0, min(accuracies) - 0.05), min(1.0, max(accuracies) + 0.08))
    bars.set_xticks(np.arange(len(tasks)), tasks)
    bars.set_ylabel("test accuracy")
    seeds = len(document["protocol"]["seeds"])
    bars.set_title(f"mean ± std over {seeds} seeds (dots: seeds)")
    bars.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(candidates), fontsize=8)
    for run in document["runs"]:
        epochs = np.arange(1, len(run["epoch_losses"]) + 1)
        losses.plot(
            epochs,
            run["epoch_losses"],
            styles[run["task"]],
            color=colours[run["candidate"]],
            alpha=0.7,
        )
    for task, style in styles.items():
        losses.plot([], [], style, color="grey", label=task)
    losses.set_xlabel("epoch")
    losses.set_ylabel("training loss (epoch mean)")
    losses.set_title("training loss of every run")
    losses.legend(fontsize=8)
    figure.suptitle(document["experiment"])
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def advisor_markdown(picks: dict[str, Any], experiments: dict[str, dict[str, Any]]) -> str:
    """The advisor-picks block: per task and description, scores, pick, and the trained winner."""
    lines = [
        f"Scored with `{picks['method']}`.",
        "",
        "| experiment | task | description | correlations | scores | advisor's pick "
        "| trained winner | pick won? | search's top design (same depth, families, budget) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for query in picks["queries"]:
        document = experiments.get(query["experiment"])
        if document is None:
            trained, verdict = "not run", "-"
        else:
            best, lead, clear = winner(summarize(document), query["task"])
            if clear:
                trained, verdict = best, "yes" if best == query["pick"] else "no"
            else:
                trained = f"none clear ({best} +{lead * 100:.1f} points)"
                verdict = "undecided"
        scores = ", ".join(f"{name} {score:.4f}" for name, score in query["scores"].items())
        search = query["search"]
        design = (
            f"{search['family']}, M {search['representation']}, widths {search['widths']}, "
            f"{search['parameters']:,} parameters, score {search['score']:.4f}"
        )
        lines.append(
            f"| {query['experiment']} | {query['task']} | {query['description']} | "
            f"{query['correlations']} | {scores} | {query['pick']} | {trained} | {verdict} "
            f"| {design} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Rebuild every generated block and plot from the stored results."""
    experiments: dict[str, dict[str, Any]] = {}
    for document in stored_experiments(RESULTS):
        name = document["experiment"]
        experiments[name] = document
        update_section(REPORT, f"results-{name}", results_markdown(document))
        plot_results(document, DOCS / f"validation-{name}.png")
    picks_path = RESULTS / f"{ADVISOR_PICKS}.json"
    if picks_path.exists():
        picks = json.loads(picks_path.read_text())
        update_section(REPORT, "advisor-picks", advisor_markdown(picks, experiments))


if __name__ == "__main__":
    no_options(__doc__)
    main()
