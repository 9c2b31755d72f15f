"""The design space a hyperparameter tool samples: the choices of every flat parameter.

The advisor proposes designs; a tool's own sampler (TPE, random, ...) continues in the same
space, so its trials are designs of the kind the advisor searches: the window schedules of the
search on the input and on each padding of an awkward grid to a friendlier one
(:func:`advisor.search.candidates.grid_schedules`; within the window bounds the search holds
its recommendations to, ``max_window`` and ``max_step`` at their defaults too,
:meth:`advisor.search.run.SearchRun.recommendable`), the named geometries the budget allows
(``budget.geometries``) and the advisor's own permutations, and the widths and M that some
practical width ladder within the parameter budget uses (:mod:`advisor.search.profiles`; every
width choice for a free search), each widened by what the proposals use. Parameters are
categorical (schedules and geometries are names; widths come from a ladder of allowed values).

The geometry is drawn first and the schedule from those it can pool (its pairings, by the
architecture's own rule, :func:`advisor.model.geometries.applies_to`): mirror pooling only
where the windows below the top are 2, a permutation only on the grid it numbers (a
permutation of the 405 locations of a 5x9x9 input cannot pair with a schedule of its 6x10x10
padding), and the one-level schedule (one global pool: the shallow net, whatever the geometry)
under one geometry alone, on the input alone, as the search holds the shallow net. Drawn
independently, 16-45% of the trials after the advisor's proposals on padded grids were no design
at all (docs/INTEGRATIONS.md, "Flat parameters"). A schedule restricted so is suggested under
its own name, ``schedule[GEOMETRY]`` (:meth:`ArchitectureSpace.schedule_parameter`), since an
Optuna parameter keeps one set of choices; every draw is then a design.

The widths are drawn last, as one ladder of the drawn tree: ``widths[WINDOWS]``
(:meth:`ArchitectureSpace.ladder_parameter`), whose choices are the tree's practical width ladders
within the parameter budget and the search's compute bound (and ``max_activations`` where the
budget sets it; :meth:`advisor.search.ladders.Ladders.fitting`), those that spend at least half the
budget where the tree has any (:func:`advisor.search.ladders.spending`, as the search's own random
designs are drawn, :mod:`advisor.search.draws`). Drawn one by one from every width any ladder uses,
19-65% of the trials after the proposals exceeded the parameter budget and 1-15% more the compute
bound (docs/INTEGRATIONS.md, "Flat parameters"); drawn as a ladder of the tree, none does. A budget
with free widths (``width_profile: free``) has no ladders: M and each width are then drawn on their
own from the allowed widths, in that order, and a draw may exceed the budget. Each such parameter
keeps one set of choices (every allowed width), so the draw cannot be restricted by name; instead
:meth:`ArchitectureSpace.fitting_widths` says which of a width's choices still fit once the widths
before it are drawn (the count grows with every width, so they are the choices up to some width),
and the Optuna sampler caps its draw there (:class:`advisor.integrations.optuna.AdvisorSampler`).
Another sampler's draw may exceed the budget, which the Optuna helper refuses before training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from advisor.errors import InvalidRequestError
from advisor.geometry.layouts import input_permutation
from advisor.integrations.encoding import (
    DEPTH,
    GEOMETRY,
    REPRESENTATION,
    SCHEDULE,
    ArchitectureCodec,
    FlatValue,
    schedule_text,
    schedule_windows,
    width_name,
)
from advisor.model.budget import Budget
from advisor.model.geometries import Geometry, NamedGeometry, PermutationGeometry, applies_to
from advisor.model.parameters import ParameterModel
from advisor.model.results import Recommendation
from advisor.model.schedule import Schedule
from advisor.model.task import Task
from advisor.search.candidates import Candidate, deepest_schedule, grid_schedules
from advisor.search.ladders import Ladders, spending
from advisor.search.profiles import ProfileRules
from advisor.search.run import SearchRun
from advisor.stopping import StopSignal

__all__ = [
    "LADDER",
    "ArchitectureSpace",
    "design_parameter",
    "flat_budget",
    "ladder_text",
    "ladder_widths",
]

LADDER: Final = "widths"
"""The parameter of a tree's width ladder: ``widths[WINDOWS]``, a value ``M-r_0-...-r_{d-1}``."""

_NAMED_GEOMETRIES: tuple[NamedGeometry, ...] = ("contiguous", "mirror", "interleaved")
_PAIRED = (GEOMETRY, SCHEDULE, DEPTH)
"""The flat parameters :meth:`ArchitectureSpace.trial_parameters` renames or leaves out."""


def design_parameter(name: str) -> bool:
    """Whether ``name`` is a parameter of a design, this version's or an earlier one's.

    ``geometry``, ``schedule`` and ``schedule[GEOMETRY]``, ``widths[WINDOWS]``,
    ``representation`` and ``width_0`` ...: not one of the objective's own parameters. Not
    ``depth``, which no version suggested (the schedule implies it): an objective's own
    ``depth`` is its own.
    """
    if name in (GEOMETRY, SCHEDULE, REPRESENTATION) or _width_level(name):
        return True
    return any(_bracketed(name, prefix) is not None for prefix in (SCHEDULE, LADDER))


def _bracketed(name: str, prefix: str) -> str | None:
    """Return ``X`` of a parameter ``prefix[X]`` (``schedule[mirror]``); None for another."""
    if name.startswith(f"{prefix}[") and name.endswith("]"):
        return name[len(prefix) + 1 : -1]
    return None


def _width_level(name: str) -> bool:
    """Whether ``name`` is a hidden width's parameter, ``width_0`` ... (:func:`width_name`)."""
    prefix, _, level = name.partition("_")
    return prefix == "width" and level.isdigit()


def ladder_text(widths: Sequence[int]) -> str:
    """Return a ``widths[...]`` value: M, then the hidden widths bottom-up, joined by ``-``.

    >>> ladder_text([16, 32, 64, 64])
    '16-32-64-64'
    """
    return "-".join(str(width) for width in widths)


def ladder_widths(text: str) -> tuple[int, ...]:
    """Return the widths, M first, a ``widths[...]`` value names (:func:`ladder_text`)."""
    return tuple(int(width) for width in text.split("-"))


@dataclass(frozen=True)
class ArchitectureSpace:
    """The choices of every flat parameter, the codec that reads them and the parameter budget.

    ``geometries`` are the choices of ``geometry``; ``schedules`` every schedule of the space;
    ``pairings`` each geometry's schedules, those of ``schedules`` it can pool, in that order
    (the one-level schedule, the shallow net, under one geometry alone)
    (never empty: a geometry that pools none is not offered). ``ladders`` holds the choices of
    each ``widths[WINDOWS]`` parameter (:meth:`ladder_parameter`): the width ladders, M first,
    of the trees with those windows that fit the budgets; empty for free widths, whose M and
    widths are drawn from ``representations`` and ``widths`` one by one. ``representations``
    and ``widths`` are every M and hidden width the space's designs use.
    """

    codec: ArchitectureCodec
    geometries: tuple[str, ...]
    schedules: tuple[str, ...]
    widths: tuple[int, ...]
    representations: tuple[int, ...]
    max_parameters: int
    pairings: Mapping[str, tuple[str, ...]]
    ladders: Mapping[str, tuple[str, ...]]
    _named: dict[tuple[str, str], str] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Each permutation token's named geometry by schedule, or the token (:meth:`canonical`)."""

    @classmethod
    def for_search(
        cls, task: Task, budget: Budget, designs: Sequence[Recommendation] = ()
    ) -> ArchitectureSpace:
        """Return the space of the search ``task`` and ``budget`` describe, with ``designs``.

        Raises
        ------
        InvalidRequestError
            On ``budget.geometries`` when it leaves no geometry: it names no named geometry
            (contiguous, mirror, interleaved) and ``designs`` bring none of its families.
        """
        spec = task.input
        codec = ArchitectureCodec(
            spec, budget.outputs_for(task.outputs), budget.representation_kernel
        )
        encoded = [codec.encode(design.architecture) for design in designs]
        lowest, highest = budget.min_depth or 1, budget.max_depth or deepest_schedule(spec)
        schedules: dict[str, Schedule] = {}
        for padding, grid, pools_list in grid_schedules(spec.shape, lowest, highest):
            # One global pool is the shallow net, which the search holds on the input alone.
            for pools in (p for p in pools_list if len(p) > 1 or padding is None):
                schedule = Schedule.trusted(grid, pools, padding=padding)
                schedules[schedule_text(pools, padding)] = schedule
        # The named geometries the budget allows: a study asking for mirror designs alone had
        # its fallback draw contiguous and interleaved ones.
        allowed = budget.families()
        geometries: dict[str, Geometry] = {n: n for n in _NAMED_GEOMETRIES if n in allowed}
        for design, params in zip(designs, encoded, strict=True):
            schedules.setdefault(str(params[SCHEDULE]), design.architecture.schedule)
            geometries.setdefault(str(params[GEOMETRY]), design.architecture.geometry)
        ladders: dict[str, tuple[str, ...]] = {}
        if budget.width_profile == "practical":
            run = SearchRun(task, budget, StopSignal(), None, named=budget.geometries)
            # The window bounds bind the space as they bind the search's recommendations, the
            # defaults too: the space offered 16x16 windows that no default search recommends.
            # The designs' own schedules stay whatever their windows: a stopped search returns
            # the shallow net, one global window past the bound, and the space holds every design.
            proposed = {str(params[SCHEDULE]) for params in encoded}
            schedules = {
                text: schedule
                for text, schedule in schedules.items()
                if text in proposed or run.recommendable(_tree(schedule))
            }
            # A tree no ladder fits would only draw designs over the budgets: not offered.
            ladders = {
                name: choices
                for name, choices in _ladders(run, schedules, designs).items()
                if choices
            }
            schedules = {
                text: schedule
                for text, schedule in schedules.items()
                if _ladder_parameter(text) in ladders
            }
            values = [ladder_widths(text) for choices in ladders.values() for text in choices]
            representations = {widths[0] for widths in values}
            widths = {width for ladder in values for width in ladder[1:]}
        else:
            rules = ProfileRules.for_budget(budget, codec.outputs)
            representations, widths = set(rules.representations()), set(budget.choices())
        # One global pool ignores the geometry: the shallow net is offered once, under the
        # geometry of the search's own shallow net among the designs, else as contiguous.
        shallow = next(
            (str(params[GEOMETRY]) for params in encoded if params[DEPTH] == 1),
            "contiguous" if "contiguous" in geometries else next(iter(geometries), None),
        )
        pairings = {
            token: paired
            for token, geometry in geometries.items()
            if (paired := _pairing(geometry, schedules, shallow=token == shallow))
        }
        if not pairings and budget.geometries is not None:
            raise InvalidRequestError.single(
                "budget.geometries",
                f"names {', '.join(budget.geometries)}, which leaves the space no geometry to "
                "draw: of its families only contiguous, mirror and interleaved are drawn without "
                "the advisor's designs, and there are none; ask for at least one design, or allow "
                "one of those three",
            )
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
            ladders=ladders,
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
        if (geometry := _bracketed(name, SCHEDULE)) is not None:
            return self.pairings[geometry]
        if _bracketed(name, LADDER) is not None:
            return self.ladders[name]
        if name == REPRESENTATION:
            return self.representations
        if _width_level(name):
            return self.widths
        raise KeyError(name)

    def ladder_parameter(self, schedule: str) -> str | None:
        """Return the name a tree of ``schedule`` draws its width ladder under.

        ``widths[WINDOWS]``, the schedule's windows without its padding (the ladders that fit
        depend on the windows alone); None for free widths, drawn as ``representation`` and
        ``width_0`` ... one by one.
        """
        return _ladder_parameter(schedule) if self.ladders else None

    def parameter_names(self, geometry: str, schedule: str) -> list[str]:
        """Return the parameters a design of ``geometry`` and ``schedule`` suggests, in order."""
        ladder = self.ladder_parameter(schedule)
        depth = schedule.count("/") + 1
        widths = [REPRESENTATION, *(width_name(level) for level in range(depth))]
        return [GEOMETRY, self.schedule_parameter(geometry), *([ladder] if ladder else widths)]

    def fitting_widths(self, suggested: Mapping[str, FlatValue], name: str) -> tuple[int, ...]:
        """Return the choices of free width ``name`` that can still fit ``max_parameters``.

        ``suggested`` holds what the trial drew before ``name``: the geometry, its schedule and
        the widths before ``name`` (``representation`` first, then ``width_0`` ...). A choice
        fits when the design with it, and the narrowest width at every later level, is within
        the budget: the count grows with every width, so any choice returned leaves a design
        that fits, and drawing each width among these ones gives a design within the budget.
        Empty when none fits (the widths drawn so far are already too wide, e.g. set by hand).

        Raises
        ------
        KeyError
            When ``name`` is not a width this space draws on its own for the trial's tree (a
            ladder space, or not ``representation`` or ``width_i`` of its depth), or
            ``suggested`` lacks what is drawn before it.
        """
        geometry = str(suggested[GEOMETRY])
        schedule = str(suggested[self.schedule_parameter(geometry)])
        names = self.parameter_names(geometry, schedule)[2:]
        if not self.free_width(name) or name not in names:
            raise KeyError(name)
        level = names.index(name)
        drawn = [int(suggested[width]) for width in names[:level]]
        choices = self.representations if name == REPRESENTATION else self.widths
        narrowest = [self.widths[0]] * (len(names) - level - 1)
        model = ParameterModel.for_input(
            self.codec.input, self.codec.representation_kernel, self.codec.outputs
        )
        counts = model.count([[*drawn, choice, *narrowest] for choice in choices])
        fits = counts <= self.max_parameters
        return tuple(choice for choice, fit in zip(choices, fits.tolist(), strict=True) if fit)

    def free_width(self, name: str) -> bool:
        """Whether ``name`` is a width drawn on its own: ``representation`` or ``width_i``.

        Only a space of free widths has them (:attr:`ladders` empty).
        """
        return not self.ladders and (name == REPRESENTATION or _width_level(name))

    def trial_parameters(self, params: Mapping[str, FlatValue]) -> dict[str, FlatValue]:
        """Return what a trial suggests for the design whose flat parameters are ``params``.

        The flat encoding (:meth:`ArchitectureCodec.encode`) with its ``schedule`` under
        :meth:`schedule_parameter`, without ``depth`` (the schedule implies it) and, unless the
        widths are free, with M and the widths as one ladder under :meth:`ladder_parameter`:
        the parameters to enqueue, or to give Ray Tune as a point to evaluate, for the design.

        Raises
        ------
        KeyError
            When the design's geometry is not one of :attr:`geometries`.
        """
        geometry, schedule = str(params[GEOMETRY]), str(params[SCHEDULE])
        trial: dict[str, FlatValue] = {
            GEOMETRY: geometry,
            self.schedule_parameter(geometry): schedule,
        }
        ladder = self.ladder_parameter(schedule)
        if ladder is None:
            return trial | {name: value for name, value in params.items() if name not in _PAIRED}
        depth = schedule.count("/") + 1
        widths = [params[REPRESENTATION], *(params[width_name(level)] for level in range(depth))]
        return trial | {ladder: ladder_text([int(width) for width in widths])}

    def flat_parameters(self, suggested: Mapping[str, FlatValue]) -> dict[str, FlatValue]:
        """Return the flat parameters of a design from what a trial suggested for it.

        The inverse of :meth:`trial_parameters`: ``schedule`` by that name, and M and the
        widths (``representation``, ``width_0`` ...) read from the ladder, which the codec
        decodes (:meth:`ArchitectureCodec.decode`). The names of earlier versions are read
        too, so that a study saved under them is recognised (:meth:`renamed`): the schedule
        under ``schedule`` or ``schedule[GEOMETRY]`` whatever the geometry pools in this space,
        M and the widths one by one where there is no ladder. Other parameters (the
        objective's own) are left out.

        Raises
        ------
        KeyError
            When ``suggested`` lacks the geometry, its schedule or the schedule's widths.
        """
        geometry = str(suggested[GEOMETRY])
        restricted = f"{SCHEDULE}[{geometry}]"
        schedule = str(suggested[restricted if restricted in suggested else SCHEDULE])
        flat: dict[str, FlatValue] = {GEOMETRY: geometry, SCHEDULE: schedule}
        ladder = _ladder_parameter(schedule)
        if ladder not in suggested:
            depth = schedule.count("/") + 1
            names = [REPRESENTATION, *(width_name(level) for level in range(depth))]
            return flat | {name: suggested[name] for name in names}
        representation, *hidden = ladder_widths(str(suggested[ladder]))
        flat[REPRESENTATION] = representation
        return flat | {width_name(level): width for level, width in enumerate(hidden)}

    def canonical(self, flat: Mapping[str, FlatValue]) -> dict[str, FlatValue]:
        """Return the flat parameters ``flat`` with the geometry named as the network it pools.

        A permutation (or dilation order) that a named geometry realises on the same schedule
        is that named geometry: the advisor's mirror design pooling 2x2 four times,
        ``mirror:825dd5cdff81``, is the network the named ``mirror`` pools there, and a study
        that held the one trained the other again when its fallback sampler drew it. Each
        permutation is compared once per schedule (cached); a token the codec cannot read is
        left as it is.
        """
        token, schedule = str(flat[GEOMETRY]), str(flat[SCHEDULE])
        if token in _NAMED_GEOMETRIES:
            return dict(flat)
        key = (token, schedule)
        named = self._named.get(key)
        if named is None:
            named = self._named[key] = self._named_alike(flat) or token
        return {**flat, GEOMETRY: named}

    def _named_alike(self, flat: Mapping[str, FlatValue]) -> str | None:
        """Return the named geometry pooling ``flat``'s design as its permutation does, if any."""
        try:
            permutation = input_permutation(self.codec.decode(flat))
        except (InvalidRequestError, KeyError):
            return None
        for name in _NAMED_GEOMETRIES:
            try:
                named = self.codec.decode({**flat, GEOMETRY: name})
            except InvalidRequestError:  # it does not pool this schedule
                continue
            if np.array_equal(input_permutation(named), permutation):
                return name
        return None

    def renamed(self, params: Mapping[str, FlatValue]) -> bool:
        """Whether ``params`` hold a design under other names than this space suggests.

        True for a trial of an earlier version: ``schedule`` where the geometry now has its
        own ``schedule[GEOMETRY]``, or M and the widths one by one where this space draws a
        ladder, ``widths[WINDOWS]``. False for a design of this space's names and for
        parameters that hold no design of a geometry this space offers.
        """
        try:
            names = self.trial_parameters(self.flat_parameters(params))
        except KeyError:
            return False
        return not names.keys() <= params.keys()


def _pairing(
    geometry: Geometry, schedules: Mapping[str, Schedule], *, shallow: bool
) -> tuple[str, ...]:
    """Return the schedules ``geometry`` can pool (:func:`applies_to`, the architecture's rule).

    The one-level schedule (one global pool, the shallow net) only where ``shallow`` says: every
    geometry pools it, into one and the same net.

    A permutation's check reads only the grid it numbers, and costs a sort of the permutation
    (a million entries on the largest grids): it is made once per grid, not once per schedule.
    """
    on_grid: dict[tuple[int, ...], bool] = {}
    paired = []
    for text, schedule in schedules.items():
        if schedule.depth == 1 and not shallow:
            continue
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


def _ladder_parameter(schedule: str) -> str:
    """Return ``widths[WINDOWS]`` for a schedule parameter (:meth:`ladder_parameter`)."""
    return f"{LADDER}[{schedule_windows(schedule)}]"


def _tree(schedule: Schedule) -> Candidate:
    """Return the search's tree of ``schedule`` (contiguous: the windows are what count)."""
    return Candidate(-1, "contiguous", schedule.pools, padding=schedule.padding)


def _ladders(
    run: SearchRun, schedules: Mapping[str, Schedule], designs: Sequence[Recommendation]
) -> dict[str, tuple[str, ...]]:
    """Return the choices of every ``widths[WINDOWS]`` parameter of ``schedules``.

    Each tree's practical ladders within the parameter budget and the compute bound (and the
    activation bound the budget sets), as the search holds them
    (:meth:`~advisor.search.ladders.Ladders.fitting`, of the search's own ``run``, so the bound
    is the one the search applies), those
    that spend at least half the budget where the tree has any
    (:func:`~advisor.search.ladders.spending`, as the search's random designs are drawn), and
    the ladders of the ``designs`` on their trees. A ladder's parameters and multiply-adds
    depend on the windows alone, not on the geometry or where the padding lies, so the trees
    with the same windows share one parameter. Empty choices for a tree no ladder fits.
    """
    ladders: Ladders = run.ladders
    choices: dict[str, dict[str, None]] = {}
    for text, schedule in schedules.items():
        name = _ladder_parameter(text)
        if name not in choices:
            profiles, _ = spending(*ladders.fitting(_tree(schedule)), run.budget.max_parameters)
            choices[name] = dict.fromkeys(ladder_text(row) for row in profiles.tolist())
    for design in designs:
        architecture = design.architecture
        windows = [layer.pool for layer in architecture.layers]
        name = _ladder_parameter(schedule_text(windows))
        widths = [architecture.representation, *(layer.channels for layer in architecture.layers)]
        choices[name].setdefault(ladder_text(widths))
    return {name: tuple(values) for name, values in choices.items()}


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
