"""The Optuna sampler that proposes the advisor's ranked designs, then defers to another.

:class:`AdvisorSampler` asks the advisor once, claims for each new trial the next design the
study does not hold (read from the study's trials, :mod:`advisor.integrations.optuna_trials`,
so resumed and distributed studies propose each design once), re-ranks them as the study's
values come in when asked to learn (:mod:`advisor.integrations.learning`), and hands every
other trial and parameter to its fallback, TPE by default. Needs the ``optuna`` extra
(:mod:`advisor.integrations.optuna` imports this module under it).
"""

from __future__ import annotations

import math
import threading
import warnings
import weakref
from collections.abc import Sequence
from typing import Any, Final

from advisor_client.conversions import BudgetLike, TaskLike, budget_model, task_model
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from advisor.errors import BadRequestError, InvalidRequestError
from advisor.integrations.learning import rerank
from advisor.integrations.optuna_studies import warn_renamed
from advisor.integrations.optuna_suggest import RENAME_HINT
from advisor.integrations.optuna_trials import (
    FINISHED,
    FIXED_PARAMS,
    PARAMS_ATTR,
    RANK_ATTR,
    SCORE_ATTR,
    DesignKey,
    design_key,
    encoded_designs,
    held_designs,
    proposal,
    study_trials,
)
from advisor.integrations.proposals import AdvisorSource, fetch_ranking
from advisor.integrations.space import ArchitectureSpace, design_parameter, flat_budget
from advisor.model.arguments import checked_integer, require_flag
from advisor.model.results import Recommendation
from advisor.model.schedule import grid_text
from advisor.words import counted

__all__ = ["AdvisorSampler"]

_MAX_SEED: Final = 2**32 - 1
"""The largest seed of the default fallback: TPE seeds NumPy's RandomState, which takes no more."""


_DERIVED: Final = ("_lock", "_space", "_params", "_keys", "_exhausted", "_asked")
"""What :class:`AdvisorSampler` does not pickle: a lock, what it rebuilds from its designs,
which studies hold every design (read again from a study's trials) and which running trials
asked for their proposal's parameters."""
_OBSOLETE: Final = ("_observed",)
"""What an earlier version's pickle of :class:`AdvisorSampler` holds that this one reads from
the study instead: the values learnt from."""


class AdvisorSampler(BaseSampler):
    """Proposes the advisor's ranked designs as trials, then defers to ``fallback``.

    Each design is proposed once per study: which designs a study holds, and the values
    learnt from, are read from its trials, as Optuna's own samplers read theirs, so a sampler
    resuming a study, another worker's, and one sampler serving several studies propose to
    each the designs it does not hold. A proposal counts once its trial asks for the design's
    parameters; a trial that finishes without asking gives it back (:meth:`after_trial`).

    Parameters
    ----------
    task, budget
        The search to ask the advisor for, as :class:`advisor_client.AdvisorClient` takes them
        (a model, its mapping, a task file); its ``top_k`` is how many designs are proposed
        unless ``proposals`` says otherwise (pages are fetched past 50).
    proposals
        How many ranked designs to propose before the fallback takes over (at least 0). A
        ranking that holds fewer at the budget proposes those it holds, with a warning (once,
        when the sampler first asks the advisor).
    source
        Where to ask: the library in-process (default) or a server (``AdvisorSource(target)``).
    fallback
        The sampler after the proposals, and for every parameter a proposal does not set;
        default ``TPESampler(seed=seed)``.
    seed
        Seed of the default fallback, a whole number from 0 to 2^32 - 1 (what TPE takes);
        refused with a ``fallback``, which has its own.
    learn
        Re-rank the proposals not tried yet from the study's completed proposals, before every
        trial (from the first objective in a multi-objective study); a boolean, NumPy's too.

    Raises
    ------
    InvalidRequestError
        Naming ``task``, ``budget``, ``proposals``, ``source`` (no :class:`AdvisorSource`),
        ``fallback`` (no Optuna sampler), ``seed`` (out of range, or given with a ``fallback``)
        or ``learn`` (no boolean), before the advisor is asked.
    """

    def __init__(
        self,
        task: TaskLike,
        budget: BudgetLike,
        *,
        proposals: int | None = None,
        source: AdvisorSource | None = None,
        fallback: BaseSampler | None = None,
        seed: int | None = None,
        learn: bool = False,
    ) -> None:
        self._task, self._budget = task_model(task), flat_budget(budget_model(budget))
        self._count = (
            self._budget.top_k if proposals is None else checked_integer("proposals", proposals, 0)
        )
        self._asked_as = "budget.top_k" if proposals is None else "proposals"  # to warn of
        self._source = AdvisorSource.of(source)
        if fallback is not None and not isinstance(fallback, BaseSampler):
            raise InvalidRequestError.single(
                "fallback", f"must be an Optuna sampler, got {type(fallback).__name__}"
            )
        if fallback is not None and seed is not None:
            raise InvalidRequestError.single(
                "seed",
                "seeds the default fallback only, and a fallback is given: seed that sampler "
                "instead (TPESampler(seed=...)), or the study would not repeat as asked",
            )
        if seed is not None:
            seed = checked_integer("seed", seed, 0, _MAX_SEED)
        self._fallback = fallback or TPESampler(seed=seed)
        self._learn = require_flag(learn, "learn")
        self._lock = threading.Lock()
        self._designs: list[Recommendation] | None = None
        self._space: ArchitectureSpace | None = None
        self._params: list[dict[str, Any]] = []
        self._keys: list[DesignKey | None] = []
        self._remaining: list[int] = []  # of the study last proposed in (the view .remaining)
        self._exhausted: weakref.WeakKeyDictionary[Any, set[int]] = weakref.WeakKeyDictionary()
        self._warned = False  # of a study's trials under an earlier version's names
        self._warned_unasked = False  # of a proposal given back (after_trial)
        self._asked: set[int] = set()  # trials asked for a proposal's parameter, by id

    def __repr__(self) -> str:
        """Name the task's input, the parameter budget and the designs left and held.

        What a notebook shows for a sampler; never asks the advisor (before the first trial,
        how many designs it will ask for). Left and held are of the study it last proposed in.
        """
        searched = (
            f"{grid_text(self._task.input.shape)}, max_parameters={self._budget.max_parameters:,}"
        )
        with self._lock:
            if self._designs is None:
                proposals = counted(self._count, "proposal")
                return f"<AdvisorSampler {searched}: {proposals}, not asked yet>"
            count, left = len(self._designs), len(self._remaining)
        designs = counted(count, "design")
        return f"<AdvisorSampler {searched}: {designs}, {left} left, {count - left} held>"

    def __getstate__(self) -> dict[str, Any]:
        """Return the state to pickle: what the sampler was given, asked and learnt.

        Ray Tune pickles its search algorithm, sampler included, and a study's sampler may be
        restored in another process. A lock does not pickle; the space and the proposals'
        parameters are left out too (:data:`_DERIVED`) and rebuilt from the designs on first
        use, so a pickle holds no version's parameter names.
        """
        return {name: value for name, value in self.__dict__.items() if name not in _DERIVED}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled sampler, of this version or an earlier one.

        An earlier version's pickle holds its space and the proposals' parameters under its
        names: both are dropped and rebuilt, else the proposals would be suggested under names
        the objective no longer asks for, and run the fallback's designs under their ranks.
        What it learnt from (:data:`_OBSOLETE`) is dropped too: read from the study.
        """
        dropped = (*_DERIVED, *_OBSOLETE)
        kept = {name: value for name, value in state.items() if name not in dropped}
        # Attributes an earlier version's pickle may lack.
        new = {"_warned": False, "_warned_unasked": False, "_asked_as": "proposals"}
        self.__dict__.update(new | kept)
        self._lock = threading.Lock()
        self._space, self._params, self._keys = None, [], []
        self._exhausted = weakref.WeakKeyDictionary()
        self._asked = set()

    def _ensure_ranking(self) -> None:
        if self._designs is None:
            designs = fetch_ranking(
                self._task, self._budget, self._count, self._source, asked_as=self._asked_as
            )
            self._remaining = list(range(len(designs)))
            self._designs = designs
        if self._space is None:
            self._space = ArchitectureSpace.for_search(self._task, self._budget, self._designs)
            self._params = encoded_designs(self._space, self._designs)
            self._keys = [design_key(self._space, params) for params in self._params]

    @property
    def designs(self) -> list[Recommendation]:
        """The advisor's designs this sampler proposes, in the advisor's order (asks once)."""
        with self._lock:
            self._ensure_ranking()
            assert self._designs is not None
            return list(self._designs)

    @property
    def space(self) -> ArchitectureSpace:
        """The space to decode the designs in, their permutations held.

        As :func:`~advisor.integrations.optuna_suggest.suggest_architecture` takes it.
        """
        with self._lock:
            self._ensure_ranking()
            assert self._space is not None
            return self._space

    @property
    def remaining(self) -> list[Recommendation]:
        """The designs not proposed yet, in the order they will be (after any re-ranking).

        Of the study this sampler last proposed a design in, as it stood then (every design,
        in the advisor's order, before the first).
        """
        designs = self.designs
        with self._lock:
            return [designs[i] for i in self._remaining]

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Assign the next design the study does not hold yet, unless the trial has its own.

        A trial queued with parameters of a design (any of them, :func:`design_parameter`)
        has its own; one queued with the objective's own parameters alone (``{"lr": 0.01}``)
        runs the next design with them. The designs the study holds are read from its trials
        (:meth:`_unheld`), until it holds every one: from then on the study is not scanned.
        """
        self._fallback.before_trial(study, trial)
        fixed = trial.system_attrs.get(FIXED_PARAMS) or {}
        if proposal(trial) is not None or any(design_parameter(name) for name in fixed):
            return
        with self._lock:
            self._ensure_ranking_for(study, trial)
            assert self._space is not None and self._designs is not None
            if not self._warned:
                self._warned = True
                warn_renamed(study, self._space)
            # Keyed by the storage (a HyperbandPruner's bracket study shares its study's):
            # finished trials never change, so a study whose finished trials hold every design
            # always will (a running trial may still give its proposal back, after_trial).
            exhausted = self._exhausted.setdefault(study._storage, set())
            if study._study_id in exhausted:
                self._remaining = []  # .remaining tells of this study, which holds every design
                return
            self._remaining = self._unheld(study)
            if not self._remaining:
                if set(self._keys) <= held_designs(study, self._space, states=FINISHED):
                    exhausted.add(study._study_id)
                return
            index = self._claim(study, trial)
            if index is None:
                return
            design = self._designs[index]
            # ``trial`` is the Trial's cached copy, which later writes start from (as
            # Trial.set_user_attr keeps it in step with the storage) and which the relative
            # sampling reads: without the params there, a multivariate fallback past its
            # start-up trials would sample the design's shared parameters itself.
            trial.system_attrs[PARAMS_ATTR] = self._params[index]
            for name, value in ((RANK_ATTR, design.rank), (SCORE_ATTR, design.score)):
                study._storage.set_trial_user_attr(trial._trial_id, name, value)
                trial.user_attrs[name] = value

    def _ensure_ranking_for(self, study: Study, trial: FrozenTrial) -> None:
        """Ask the advisor for the ranking at ``trial``; fail the trial where it cannot.

        Optuna creates the trial before :meth:`before_trial` and handles only the objective's
        errors, so a server down or a search refused left each attempt's trial RUNNING in the
        storage for good. The trial is marked FAIL and the error raised as it is (a caller's
        ``except`` still catches it), with a note naming the study, the trial and what to do.
        Called under the lock.
        """
        try:
            self._ensure_ranking()
        except (Exception, KeyboardInterrupt) as error:
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            error.add_note(self._unanswered(study, trial, error))
            raise

    def _unanswered(self, study: Study, trial: FrozenTrial, error: BaseException) -> str:
        """Say that ``error`` kept the ranking from ``trial``, now FAIL, and what to do."""
        if isinstance(error, BadRequestError):
            fields = ", ".join(dict.fromkeys(v.field for v in error.violations)) or "the request"
            remedy = (
                f"the advisor refused the search on {fields}: change the sampler's task or budget"
            )
        elif self._source.target is not None:
            remedy = (
                f"is the server at {self._source.target} running and reachable, with the "
                "source's token and TLS settings? Run the study again once it answers"
            )
        else:
            remedy = "the error above says why"
        return (
            f"AdvisorSampler could not get the advisor's ranking for trial {trial.number} of "
            f"study {study.study_name!r}, which is marked FAIL: {remedy}. Reading "
            "sampler.designs before study.optimize asks the advisor before any trial exists."
        )

    def _claim(self, study: Study, trial: FrozenTrial) -> int | None:
        """Claim for ``trial`` the first design of ``_remaining`` no other trial holds.

        Optuna's storages have no atomic claim: a worker in another process may read the study
        before this claim is written, and claim the same design. So the claim is written, the
        study read again, and a design another trial holds by then given up for the next one.
        Of two workers claiming one design at once, the one whose read comes later sees the
        other's claim (each writes before it reads), so at most one keeps it; both may give it
        up, and a later trial proposes it. With every design given up, the claim is withdrawn
        and the fallback runs the trial (None). Called under the lock.
        """
        assert self._space is not None
        storage = study._storage
        while self._remaining:
            index = self._remaining.pop(0)
            storage.set_trial_system_attr(trial._trial_id, PARAMS_ATTR, self._params[index])
            if self._keys[index] not in held_designs(study, self._space, other_than=trial):
                return index
        storage.set_trial_system_attr(trial._trial_id, PARAMS_ATTR, None)
        return None

    def _unheld(self, study: Study) -> list[int]:
        """Return the designs the study does not hold, in the order to propose them.

        The advisor's order, or with ``learn`` re-ranked from the values of the study's
        completed proposals (:meth:`_observed`). Called under the lock.
        """
        assert self._space is not None and self._designs is not None
        held = held_designs(study, self._space)
        unheld = [index for index, key in enumerate(self._keys) if key not in held]
        if not self._learn:
            return unheld
        maximize = study.directions[0] == StudyDirection.MAXIMIZE
        return rerank(self._designs, unheld, self._observed(study), maximize=maximize)

    def _observed(self, study: Study) -> dict[int, float]:
        """Return the value of each design the study's completed proposals ran, by index.

        Read from the study, not kept from this sampler's own trials, so a sampler on a resumed
        study (another process, a worker of a distributed study) learns from every proposal the
        study ran. The value is the first objective's (a multi-objective study's too), better
        in that objective's direction. Called under the lock.
        """
        assert self._designs is not None
        index_of: dict[Any, int] = {d.rank: index for index, d in enumerate(self._designs)}
        observed = {}
        for trial in study_trials(study, (TrialState.COMPLETE,)):
            index = index_of.get(trial.user_attrs.get(RANK_ATTR))
            # An infinite value (a diverged run's loss) is left out, as Katib's learning
            # leaves it: with it the fit was NaN, and nothing moved for the rest of the study.
            if index is not None and trial.values and math.isfinite(trial.values[0]):
                observed[index] = float(trial.values[0])
        return observed

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Nothing relative for a proposed design; the fallback's space otherwise."""
        if proposal(trial) is not None:
            return {}
        # Annotated: without the optuna extra installed, mypy sees the fallback as Any.
        relative: dict[str, BaseDistribution] = self._fallback.infer_relative_search_space(
            study, trial
        )
        # Free widths are drawn one by one, each capped to fit the budget (sample_independent);
        # sampled as a group beforehand, they could not be.
        space = self.space
        return {name: d for name, d in relative.items() if not space.free_width(name)}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Nothing relative for a proposed design; the fallback's sample otherwise."""
        if proposal(trial) is not None:
            return {}
        sampled: dict[str, Any] = self._fallback.sample_relative(study, trial, search_space)
        return sampled

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Return the proposed design's value of ``param_name``, else the fallback's.

        A proposed design whose value the trial's distribution does not offer (the objective
        suggests from another space than :attr:`space`), or whose earlier value the trial did
        not take (a sampler wrapping this one, such as ``PartialFixedSampler``, fixed another),
        is refused, naming the parameter: the trial would otherwise run another design under
        the proposal's rank. With free widths,
        the fallback's M or width is capped at the widest choice that still fits the budget
        (:meth:`ArchitectureSpace.fitting_widths`), so its design is not refused over budget.
        """
        params = proposal(trial)
        if params is not None and param_name in params:
            self._asked.add(trial._trial_id)  # the proposal counts, run or refused (after_trial)
            design = f"the advisor's design #{trial.user_attrs.get(RANK_ATTR)}"
            for name, drawn in trial.params.items():
                if name in params and drawn != params[name]:
                    if drawn in self.space.choices(name):
                        cause = (
                            "(a sampler wrapping AdvisorSampler, such as PartialFixedSampler, "
                            "fixed it); leave the design's parameters to AdvisorSampler, or "
                            "restrict the budget (budget.geometries, ...) instead"
                        )
                    else:  # no design's value: the objective's own parameter under its name
                        cause = f"(no choice of the space); {RENAME_HINT}"
                    raise ValueError(
                        f"{name}: {design} takes {params[name]!r}, but the trial took "
                        f"{drawn!r} {cause}"
                    )
            value = params[param_name]
            if isinstance(param_distribution, CategoricalDistribution) and (
                value in param_distribution.choices
            ):
                return value
            raise ValueError(
                f"{param_name}: {design} takes {value!r}, which this trial's distribution does "
                "not offer; suggest from AdvisorSampler.space, which holds every proposed "
                f"design, or, when the objective suggests a parameter of its own: {RENAME_HINT}"
            )
        value = self._fallback.sample_independent(study, trial, param_name, param_distribution)
        return self._within_budget(trial, param_name, param_distribution, value)

    def _within_budget(
        self, trial: FrozenTrial, name: str, distribution: BaseDistribution, value: Any
    ) -> Any:
        """Return ``value`` of free width ``name``, capped at the widest choice that fits.

        Unchanged when ``name`` is no free width of the trial's design, fits, or no choice of
        ``distribution`` does (the widths before it, given by hand, are too wide already: the
        design is refused by :func:`~advisor.integrations.optuna_suggest.suggest_architecture`).
        """
        space = self.space
        if not space.free_width(name):
            return value
        try:
            fitting = space.fitting_widths(trial.params, name)
        except KeyError:  # not this space's design: the objective suggests something else
            return value
        if value in fitting or not fitting:
            return value
        capped = fitting[-1]
        if isinstance(distribution, CategoricalDistribution) and capped in distribution.choices:
            return capped
        return value

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Pass the trial to the fallback; give its proposal back if it never asked for it.

        A proposal counts (the study holds the design for good, and learns from its value) once
        the trial asks for one of the design's parameters, whether it runs the design or is
        refused it. A trial that finished without asking (its objective never suggested from
        :attr:`space`) trained no design: the claim, rank and score are withdrawn (None), so a
        later trial is proposed the design, and learning does not read the trial's value as the
        design's; warned once. Learning reads the study (:meth:`before_trial`).
        """
        self._fallback.after_trial(study, trial, state, values)
        asked = trial._trial_id in self._asked
        self._asked.discard(trial._trial_id)
        params = proposal(trial)
        # A trial an Optuna retry callback recreated carries the parameters it suggested.
        if params is None or asked or any(name in trial.params for name in params):
            return
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, PARAMS_ATTR, None)
        storage.set_trial_user_attr(trial._trial_id, RANK_ATTR, None)
        storage.set_trial_user_attr(trial._trial_id, SCORE_ATTR, None)
        if not self._warned_unasked:
            self._warned_unasked = True
            warnings.warn(
                f"trial {trial.number} of study {study.study_name!r} finished without "
                f"suggesting the advisor's design #{trial.user_attrs.get(RANK_ATTR)} proposed "
                "to it (its objective never called suggest_architecture(trial, sampler.space)), "
                "so no design was trained: the design goes back to the queue, for a later trial "
                "that suggests it; warned once per sampler",
                UserWarning,
                stacklevel=2,
            )

    def reseed_rng(self) -> None:
        """Reseed the fallback (the advisor's order has no randomness to reseed)."""
        self._fallback.reseed_rng()
