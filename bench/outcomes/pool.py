"""A task's candidate pool at one parameter budget, and what each candidate costs.

The budget is the parameter count of **the standard CNN**: contiguous pooling by 2 per axis at
every level, widths doubling per level (16x16 images: M = 8, widths 8-16-32-64, four levels;
64-step sequences: M = 4, widths 4-8-...-128, six levels). The pool:

- the advisor's top :data:`ADVISOR_TOP` from the full default search
  (:func:`advisor.search.recommend.recommend`, no restriction but ``outputs``);
- :data:`RANDOM_DRAWS` random draws from the advisor's own candidate space
  (:class:`advisor.search.candidates.CandidateSpace`, built as the search builds it): a family
  drawn uniformly among those the space holds for the input (shallow excluded), one of its trees
  uniformly, then widths ``(M, r_0, ...)`` uniformly from the budget's channel choices until the
  count lands in ``[RANDOM_FLOOR * budget, budget]`` (a draw that is not a pool member yet);
- the baselines: the standard CNN (``baseline-doubling``), and the same tree with one constant
  width (M included, M moved off it only when no constant width lands within 5% of the budget;
  ``baseline-constant``).

Every member carries its score from :func:`advisor.search.recommend.score_architecture` (the
search's own score) and its multiply-adds per input (:func:`multiply_adds`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from advisor.model.architecture import Architecture, Layer, architecture_document
from advisor.model.budget import FAMILIES, Budget
from advisor.model.grid import InputSpec
from advisor.model.task import Task
from advisor.search.candidates import Candidate, CandidateSpace
from advisor.search.recommend import recommend, score_architecture
from advisor.search.synthesis import Synthesizer, synthesis_variants
from advisor.search.widths import ParameterModel
from advisor.seprank.labels import correlation_labels

__all__ = [
    "ADVISOR_TOP",
    "BASELINE_TOLERANCE",
    "RANDOM_DRAWS",
    "RANDOM_FLOOR",
    "Member",
    "architecture_key",
    "build_pool",
    "constant_baseline",
    "doubling_baseline",
    "multiply_adds",
    "search_budget",
]

ADVISOR_TOP: Final = 8
RANDOM_DRAWS: Final = 14
RANDOM_FLOOR: Final = 0.5
"""A random draw uses at least this fraction of the budget."""
BASELINE_TOLERANCE: Final = 0.05
_MAX_TRIES: Final = 200_000
DOUBLING = "baseline-doubling"
CONSTANT = "baseline-constant"


@dataclass(frozen=True)
class Member:
    """One pool member: where it came from and its architecture.

    Attributes
    ----------
    source
        ``advisor #k``, ``random``, ``baseline-doubling`` or ``baseline-constant``.
    architecture
        The network to train.
    """

    source: str
    architecture: Architecture

    @property
    def key(self) -> str:
        """The architecture document as canonical JSON (identifies the member)."""
        return architecture_key(self.architecture)


def architecture_key(architecture: Architecture) -> str:
    """``architecture``'s document as canonical JSON (sorted keys, no spaces)."""
    return json.dumps(architecture_document(architecture), sort_keys=True, separators=(",", ":"))


def _contiguous(
    shape: tuple[int, ...], representation: int, widths: list[int], classes: int, family: str
) -> Architecture:
    pool = (2,) * len(shape)
    return Architecture(
        input=InputSpec(shape=shape),
        representation=representation,
        layers=tuple(Layer(channels=w, pool=pool) for w in widths),
        outputs=classes,
        family=family,
    )


def _levels(shape: tuple[int, ...]) -> int:
    return int(math.log2(max(shape)))


def doubling_baseline(shape: tuple[int, ...], classes: int) -> Architecture:
    """The standard CNN of the module docstring for ``shape`` (square power-of-two sides)."""
    base = 8 if len(shape) == 2 else 4
    widths = [base << level for level in range(_levels(shape))]
    return _contiguous(shape, base, widths, classes, DOUBLING)


def constant_baseline(shape: tuple[int, ...], classes: int, budget: int) -> Architecture:
    """The standard CNN's tree with one constant width, its count closest to ``budget``."""
    levels = _levels(shape)
    grid = np.arange(1, 513)
    representation, width = (a.ravel() for a in np.meshgrid(grid, grid))
    counts = ParameterModel(1, classes).count(np.column_stack([representation, *[width] * levels]))
    off = np.abs(counts - budget)
    best = np.lexsort((off, np.abs(representation - width), off > BASELINE_TOLERANCE * budget))[0]
    widths = [int(width[best])] * levels
    return _contiguous(shape, int(representation[best]), widths, classes, CONSTANT)


def search_budget(parameters: int, classes: int, top_k: int = ADVISOR_TOP) -> Budget:
    """The full default search's budget: only the parameter count, outputs and top_k set."""
    return Budget(max_parameters=parameters, top_k=top_k, outputs=classes, time_limit_seconds=None)


def multiply_adds(architecture: Architecture) -> int:
    """Multiply-adds per input: the representation conv and every 1x1 conv at every location.

    Plus the output layer. Pooling and biases are not counted.
    """
    spec = architecture.input
    locations = spec.num_locations
    kernel: int = architecture.representation_kernel**spec.ndim * spec.channels
    total = kernel * architecture.representation * locations
    fan_in = architecture.representation
    for layer in architecture.layers:
        total += fan_in * layer.channels * locations
        locations //= math.prod(layer.pool)
        fan_in = layer.channels
    return total + fan_in * architecture.outputs


def _space(task: Task, budget: Budget) -> CandidateSpace:
    """The search's candidate space for ``task``, every family allowed (as recommend builds it)."""
    spec = task.input
    correlations = task.resolved()
    labels = correlation_labels(correlations, spec.num_locations)
    return CandidateSpace(
        spec,
        1,
        max(1, spec.num_locations.bit_length()),
        list(FAMILIES),
        dilations=budget.search_dilations,
        synthesizer=Synthesizer(labels, spec.shape),
        variants=synthesis_variants([c.weight for c in correlations]),
        seed=budget.seed,
    )


def random_members(
    task: Task, budget: Budget, count: int, seed: int, taken: set[str]
) -> list[Member]:
    """``count`` random draws from the search's candidate space (see the module docstring)."""
    space = _space(task, budget)
    by_family: dict[str, list[Candidate]] = {}
    for candidate in space.candidates:
        if candidate.family != "shallow":
            by_family.setdefault(candidate.family, []).append(candidate)
    families = sorted(by_family)
    choices = np.array(budget.choices())
    rng = np.random.default_rng(seed)
    drawn: list[Member] = []
    for _ in range(_MAX_TRIES):
        if len(drawn) == count:
            return drawn
        group = by_family[families[rng.integers(len(families))]]
        candidate = group[rng.integers(len(group))]
        widths = [int(w) for w in rng.choice(choices, size=candidate.depth + 1)]
        skeleton = space.skeleton(candidate, widths).model_copy(update={"outputs": budget.outputs})
        if not RANDOM_FLOOR * budget.max_parameters <= skeleton.parameters <= budget.max_parameters:
            continue
        architecture = space.architecture(
            candidate,
            widths,
            outputs=budget.outputs,
            representation_kernel=budget.representation_kernel,
        )
        member = Member("random", architecture)
        if member.key not in taken:
            taken.add(member.key)
            drawn.append(member)
    raise RuntimeError(f"drew only {len(drawn)} of {count} random candidates")


def build_pool(
    task: Task, classes: int, seed: int, random_draws: int = RANDOM_DRAWS
) -> tuple[Budget, list[Member]]:
    """The task's budget and pool: advisor's top, random draws, baselines (module docstring)."""
    shape = task.input.shape
    doubling = doubling_baseline(shape, classes)
    budget = search_budget(doubling.parameters, classes)
    result = recommend(task, budget)
    members = [Member(f"advisor #{r.rank}", r.architecture) for r in result.recommendations]
    members += [
        Member(DOUBLING, doubling),
        Member(CONSTANT, constant_baseline(shape, classes, doubling.parameters)),
    ]
    taken = {m.key for m in members}
    members += random_members(task, budget, random_draws, seed, taken)
    return budget, members


def member_record(task: Task, budget: Budget, member: Member) -> dict[str, Any]:
    """The member's figures that do not need training: source, size, cost and advisor score.

    The architecture is stored as its canonical JSON text (:attr:`Member.key`), one line.
    """
    return {
        "source": member.source,
        "architecture": member.key,
        "parameters": member.architecture.parameters,
        "multiply_adds": multiply_adds(member.architecture),
        "score": score_architecture(task, budget, member.architecture),
    }
