"""The design space a hyperparameter tool samples: the choices of every flat parameter.

The advisor proposes designs; a tool's own sampler (TPE, random, ...) continues in the same
space, so its trials are designs of the kind the advisor searches: the window schedules of the
search on the input and on each padding of an awkward grid to a friendlier one
(:func:`advisor.search.candidates.grid_schedules`), the
named geometries and the advisor's own permutations, and the widths and M that some practical
width ladder within the parameter budget uses (:mod:`advisor.search.profiles`; every width
choice for a free search), each widened by what the proposals use. A sampler combines them
freely, so a draw may still exceed the budget or not be a valid design; the Optuna helper
refuses those before training. Parameters are categorical (schedules and geometries are names;
widths come from a ladder of allowed values).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from advisor.errors import InvalidRequestError
from advisor.integrations.encoding import (
    GEOMETRY,
    REPRESENTATION,
    SCHEDULE,
    ArchitectureCodec,
    FlatValue,
    schedule_text,
    width_name,
)
from advisor.model.budget import Budget
from advisor.model.grid import InputSpec
from advisor.model.parameters import ParameterModel
from advisor.model.results import Recommendation
from advisor.model.task import Task
from advisor.search.candidates import deepest_schedule, grid_schedules
from advisor.search.profiles import ProfileRules, practical_profiles

__all__ = ["ArchitectureSpace", "flat_budget"]

_NAMED_GEOMETRIES = ("contiguous", "mirror", "interleaved")


@dataclass(frozen=True)
class ArchitectureSpace:
    """The choices of every flat parameter, the codec that reads them and the parameter budget."""

    codec: ArchitectureCodec
    geometries: tuple[str, ...]
    schedules: tuple[str, ...]
    widths: tuple[int, ...]
    representations: tuple[int, ...]
    max_parameters: int

    @classmethod
    def for_search(
        cls, task: Task, budget: Budget, designs: Sequence[Recommendation] = ()
    ) -> ArchitectureSpace:
        """Return the space of the search ``task`` and ``budget`` describe, with ``designs``."""
        spec = task.input
        codec = ArchitectureCodec(
            spec, budget.outputs_for(task.outputs), budget.representation_kernel
        )
        encoded = [codec.encode(design.architecture) for design in designs]
        lowest, highest = budget.min_depth or 1, budget.max_depth or deepest_schedule(spec)
        schedules = [
            schedule_text(pools, padding)
            for padding, _, on_grid in grid_schedules(spec.shape, lowest, highest)
            for pools in on_grid
        ]
        depths = range(lowest, highest + 1)
        representations, widths = _widths_within_budget(spec, budget, codec.outputs, depths)
        hidden = [layer.channels for d in designs for layer in d.architecture.layers]
        return cls(
            codec=codec,
            geometries=_merged(_NAMED_GEOMETRIES, [str(p[GEOMETRY]) for p in encoded]),
            schedules=_merged(schedules, [str(p[SCHEDULE]) for p in encoded]),
            widths=tuple(sorted({*widths, *hidden})),
            representations=tuple(
                sorted({*representations, *(d.architecture.representation for d in designs)})
            ),
            max_parameters=budget.max_parameters,
        )

    def choices(self, name: str) -> tuple[FlatValue, ...]:
        """Return the choices of parameter ``name`` (``geometry``, ``schedule``, ...)."""
        if name == GEOMETRY:
            return self.geometries
        if name == SCHEDULE:
            return self.schedules
        if name == REPRESENTATION:
            return self.representations
        if name.startswith("width_"):
            return self.widths
        raise KeyError(name)

    def parameter_names(self, depth: int) -> list[str]:
        """Return the parameters of a design with ``depth`` hidden layers, in suggestion order."""
        return [GEOMETRY, SCHEDULE, REPRESENTATION, *(width_name(level) for level in range(depth))]


def _widths_within_budget(
    spec: InputSpec, budget: Budget, outputs: int, depths: Iterable[int]
) -> tuple[set[int], set[int]]:
    """Return the M and hidden widths the search could give a design at these depths."""
    rules = ProfileRules(
        tuple(budget.profile_choices()),
        budget.hidden_floor(outputs),
        budget.min_representation,
        budget.max_representation,
    )
    if budget.width_profile == "free":
        return set(rules.representations()), set(budget.choices())
    model = ParameterModel.for_input(spec, budget.representation_kernel, outputs)
    representations: set[int] = set()
    hidden: set[int] = set()
    for depth in depths:
        profiles = practical_profiles(depth, rules)
        fitting = profiles[model.count(profiles) <= budget.max_parameters]
        representations.update(int(m) for m in fitting[:, 0])
        hidden.update(int(w) for w in fitting[:, 1:].ravel())
    return representations, hidden


def _merged(base: Sequence[str], extra: Sequence[str]) -> tuple[str, ...]:
    """Return ``base`` then the values of ``extra`` it lacks, in first-seen order."""
    return tuple(dict.fromkeys([*base, *extra]))


def flat_budget(budget: Budget) -> Budget:
    """Return ``budget`` if its designs have a flat encoding; refuse one that names mixtures.

    A mixture (two trees summed, :class:`~advisor.model.architecture.Mixture`) has no flat
    parameters: a trial given one would train its first tree alone under the mixture's rank.

    Raises
    ------
    InvalidRequestError
        On ``budget.geometries`` when it names ``mixture``.
    """
    if budget.geometries is not None and "mixture" in budget.geometries:
        raise InvalidRequestError.single(
            "budget.geometries",
            "names mixture, which the flat encoding of the AutoML integrations cannot express "
            "(a trial would run the first tree alone); leave it out",
        )
    return budget
