"""The design space a hyperparameter tool samples: the choices of every flat parameter.

The advisor proposes designs; a tool's own sampler (TPE, random, ...) continues in the same
space, so its trials are designs of the kind the advisor searches: the window schedules of the
search on the input and on each padding of an awkward grid to a friendlier one
(:func:`advisor.search.candidates.grid_schedules`), the named geometries and the advisor's own
permutations, and the widths and M that some practical width ladder within the parameter budget
uses (:mod:`advisor.search.profiles`; every width choice for a free search), each widened by
what the proposals use. Parameters are categorical (schedules and geometries are names; widths
come from a ladder of allowed values).

The geometry is drawn first and the schedule from those it can pool (its pairings, by the
architecture's own rule, :func:`advisor.model.geometries.applies_to`): mirror pooling only
where the windows below the top are 2, a permutation only on the grid it numbers (a
permutation of the 405 locations of a 5x9x9 input cannot pair with a schedule of its 6x10x10
padding). Drawn independently, 16-45% of the trials after the advisor's proposals on padded
grids were no design at all (docs/INTEGRATIONS.md, "Flat parameters"). A schedule restricted
so is suggested under its own name, ``schedule[GEOMETRY]``
(:meth:`ArchitectureSpace.schedule_parameter`), since an Optuna parameter keeps one set of
choices; every draw is then a design, though it may still exceed the budget, which the Optuna
helper refuses before training.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from advisor.errors import InvalidRequestError
from advisor.integrations.encoding import (
    DEPTH,
    GEOMETRY,
    REPRESENTATION,
    SCHEDULE,
    ArchitectureCodec,
    FlatValue,
    schedule_text,
    width_name,
)
from advisor.model.budget import Budget
from advisor.model.geometries import Geometry, NamedGeometry, PermutationGeometry, applies_to
from advisor.model.grid import InputSpec
from advisor.model.parameters import ParameterModel
from advisor.model.results import Recommendation
from advisor.model.schedule import Schedule
from advisor.model.task import Task
from advisor.search.candidates import deepest_schedule, grid_schedules
from advisor.search.profiles import ProfileRules, practical_profiles

__all__ = ["ArchitectureSpace", "flat_budget"]

_NAMED_GEOMETRIES: tuple[NamedGeometry, ...] = ("contiguous", "mirror", "interleaved")
_PAIRED = (GEOMETRY, SCHEDULE, DEPTH)
"""The flat parameters :meth:`ArchitectureSpace.trial_parameters` renames or leaves out."""


@dataclass(frozen=True)
class ArchitectureSpace:
    """The choices of every flat parameter, the codec that reads them and the parameter budget.

    ``geometries`` are the choices of ``geometry``; ``schedules`` every schedule of the space;
    ``pairings`` each geometry's schedules, those of ``schedules`` it can pool, in that order
    (never empty: a geometry that pools none is not offered).
    """

    codec: ArchitectureCodec
    geometries: tuple[str, ...]
    schedules: tuple[str, ...]
    widths: tuple[int, ...]
    representations: tuple[int, ...]
    max_parameters: int
    pairings: Mapping[str, tuple[str, ...]]

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
        schedules: dict[str, Schedule] = {}
        for padding, grid, pools_list in grid_schedules(spec.shape, lowest, highest):
            for pools in pools_list:
                schedule = Schedule.trusted(grid, pools, padding=padding)
                schedules[schedule_text(pools, padding)] = schedule
        geometries: dict[str, Geometry] = {name: name for name in _NAMED_GEOMETRIES}
        for design, params in zip(designs, encoded, strict=True):
            schedules.setdefault(str(params[SCHEDULE]), design.architecture.schedule)
            geometries.setdefault(str(params[GEOMETRY]), design.architecture.geometry)
        pairings = {
            token: paired
            for token, geometry in geometries.items()
            if (paired := _pairing(geometry, schedules))
        }
        depths = range(lowest, highest + 1)
        representations, widths = _widths_within_budget(spec, budget, codec.outputs, depths)
        hidden = [layer.channels for d in designs for layer in d.architecture.layers]
        return cls(
            codec=codec,
            geometries=tuple(pairings),
            schedules=tuple(schedules),
            widths=tuple(sorted({*widths, *hidden})),
            representations=tuple(
                sorted({*representations, *(d.architecture.representation for d in designs)})
            ),
            max_parameters=budget.max_parameters,
            pairings=pairings,
        )

    def schedule_parameter(self, geometry: str) -> str:
        """Return the name the schedule is suggested under once ``geometry`` is drawn.

        ``schedule`` when the geometry pools every schedule of the space (contiguous and
        interleaved pooling; a permutation on an input that is not padded), else
        ``schedule[GEOMETRY]``, whose choices are the geometry's :attr:`pairings`: an Optuna
        parameter must offer the same choices in every trial, so a restricted one is another
        parameter.

        Raises
        ------
        KeyError
            When ``geometry`` is not one of :attr:`geometries`.
        """
        if self.pairings[geometry] == self.schedules:
            return SCHEDULE
        return f"{SCHEDULE}[{geometry}]"

    def choices(self, name: str) -> tuple[FlatValue, ...]:
        """Return the choices of parameter ``name`` (``geometry``, ``schedule[mirror]``, ...)."""
        if name == GEOMETRY:
            return self.geometries
        if name == SCHEDULE:
            return self.schedules
        if name.startswith(f"{SCHEDULE}[") and name.endswith("]"):
            return self.pairings[name[len(SCHEDULE) + 1 : -1]]
        if name == REPRESENTATION:
            return self.representations
        if name.startswith("width_"):
            return self.widths
        raise KeyError(name)

    def parameter_names(self, geometry: str, depth: int) -> list[str]:
        """Return the parameters of a design of ``geometry`` and ``depth`` levels, in order."""
        return [
            GEOMETRY,
            self.schedule_parameter(geometry),
            REPRESENTATION,
            *(width_name(level) for level in range(depth)),
        ]

    def trial_parameters(self, params: Mapping[str, FlatValue]) -> dict[str, FlatValue]:
        """Return what a trial suggests for the design whose flat parameters are ``params``.

        The flat encoding (:meth:`ArchitectureCodec.encode`) with its ``schedule`` under
        :meth:`schedule_parameter` and without ``depth`` (the schedule implies it): the
        parameters to enqueue, or to give Ray Tune as a point to evaluate, for the design.

        Raises
        ------
        KeyError
            When the design's geometry is not one of :attr:`geometries`.
        """
        geometry, schedule = str(params[GEOMETRY]), params[SCHEDULE]
        trial = {GEOMETRY: geometry, self.schedule_parameter(geometry): schedule}
        return trial | {name: value for name, value in params.items() if name not in _PAIRED}


def _pairing(geometry: Geometry, schedules: Mapping[str, Schedule]) -> tuple[str, ...]:
    """Return the schedules ``geometry`` can pool (:func:`applies_to`, the architecture's rule).

    A permutation's check reads only the grid it numbers, and costs a sort of the permutation
    (a million entries on the largest grids): it is made once per grid, not once per schedule.
    """
    on_grid: dict[tuple[int, ...], bool] = {}
    paired = []
    for text, schedule in schedules.items():
        if isinstance(geometry, PermutationGeometry):
            grid = schedule.grids[0]
            if grid not in on_grid:
                on_grid[grid] = applies_to(geometry, schedule)
            pools = on_grid[grid]
        else:
            pools = applies_to(geometry, schedule)
        if pools:
            paired.append(text)
    return tuple(paired)


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
