"""Optuna: the advisor's ranked designs as a study's first trials, then another sampler.

Needs the ``optuna`` extra. The objective draws its design with :func:`suggest_architecture`,
which suggests the flat parameters of :mod:`advisor.integrations.encoding` from an
:class:`~advisor.integrations.space.ArchitectureSpace` and decodes them:

- :class:`AdvisorSampler` asks the advisor once (in-process or a server, following page tokens
  past ``top_k``) and proposes its designs as trials, best first, skipping any design the study
  already holds; then it hands over to a fallback sampler (TPE by default), which also sees the
  advisor's trials. The order is deterministic: the search is for its budget (``budget.seed``)
  and the fallback for ``seed``. With ``learn=True`` the designs not tried yet are re-ranked
  before every trial from the values the study's completed proposals have (the first
  objective's; :mod:`advisor.integrations.learning`), whichever process ran them.
- :func:`enqueue_recommendations` puts the top ``k`` designs in any study's queue instead.
- A design is recognised whatever else its trial suggests and under an earlier version's
  parameter names (``schedule`` for every geometry, ``representation``, ``width_0`` ... one by
  one), so neither proposes it again; a study holding such trials gets a warning, since a
  fallback such as TPE models parameters by name and does not learn from them, and
  :func:`renamed_trials` copies them under this version's names for a new study.
- The parameter budget: :func:`suggest_architecture` refuses (prunes) a design over it before
  any training, and records the constraint with ``Trial.set_constraint`` (Optuna 5's way: a
  trial over budget is infeasible and never the study's best; samplers that model feasibility
  read it). :func:`budget_constraints` is the same rule as a ``constraints_func``, for code on
  the older API (deprecated in Optuna 5).
- :class:`AnalyzePruner` scores a design another sampler proposed with the advisor's analysis
  and prunes it when it couples the task's correlations far less than the advisor's best.

Each trial keeps its architecture as JSON in the user attribute ``architecture`` (the
permutation in full), its parameter count in ``advisor.parameters``, and a proposed or queued
design its rank in ``advisor.rank`` and its score in ``advisor.score`` (as Katib's labels).

The integration is one module per job, whose public names this one gathers:
:mod:`~advisor.integrations.optuna_sampler` (the sampler),
:mod:`~advisor.integrations.optuna_suggest` (the objective's draw and the budget),
:mod:`~advisor.integrations.optuna_studies` (queueing, renamed trials),
:mod:`~advisor.integrations.optuna_pruner` (the pruner) and
:mod:`~advisor.integrations.optuna_trials` (what a trial keeps, the designs a study holds).
Each imports optuna at load: they are imported here under :func:`~advisor.extras.extra_needed`,
so importing this module without the extra names the install.
"""

from __future__ import annotations

from advisor.extras import extra_needed

with extra_needed("advisor.integrations.optuna", "optuna", "optuna"):
    from advisor.integrations.optuna_pruner import AnalyzePruner
    from advisor.integrations.optuna_sampler import AdvisorSampler
    from advisor.integrations.optuna_studies import enqueue_recommendations, renamed_trials
    from advisor.integrations.optuna_suggest import (
        budget_constraints,
        suggest_architecture,
        suggest_parameters,
    )
    from advisor.integrations.optuna_trials import (
        ARCHITECTURE_ATTR,
        BUDGET_CONSTRAINT,
        COUPLING_ATTR,
        PARAMETERS_ATTR,
        PARAMS_ATTR,
        RANK_ATTR,
        SCORE_ATTR,
    )

__all__ = [
    "ARCHITECTURE_ATTR",
    "BUDGET_CONSTRAINT",
    "COUPLING_ATTR",
    "PARAMETERS_ATTR",
    "PARAMS_ATTR",
    "RANK_ATTR",
    "SCORE_ATTR",
    "AdvisorSampler",
    "AnalyzePruner",
    "budget_constraints",
    "enqueue_recommendations",
    "renamed_trials",
    "suggest_architecture",
    "suggest_parameters",
]
