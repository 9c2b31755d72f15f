"""The design space a hyperparameter tool samples: the choices of every flat parameter.

The advisor proposes designs; a tool's own sampler (TPE, random, ...) continues in the same
space, so its trials are designs of the kind the advisor searches: the window schedules of the
search (:func:`advisor.search.candidates.window_schedules`), the named geometries and the
advisor's own permutations, the practical width choices and the range of M, each widened by what
the proposals use. Parameters are categorical (schedules and geometries are names; widths come
from a ladder of allowed values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
from advisor.model.results import Recommendation
from advisor.model.task import Task
from advisor.search.candidates import window_schedules

__all__ = ["ArchitectureSpace"]

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
        deepest = max(1, spec.num_locations.bit_length())
        schedules = [
            schedule_text(pools)
            for pools in window_schedules(
                spec.shape, budget.min_depth or 1, budget.max_depth or deepest
            )
        ]
        widths = [w for w in budget.profile_choices() if w >= budget.hidden_floor(codec.outputs)]
        representations = [
            w
            for w in budget.profile_choices()
            if budget.min_representation <= w <= budget.max_representation
        ]
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


def _merged(base: Sequence[str], extra: Sequence[str]) -> tuple[str, ...]:
    """Return ``base`` then the values of ``extra`` it lacks, in first-seen order."""
    return tuple(dict.fromkeys([*base, *extra]))
