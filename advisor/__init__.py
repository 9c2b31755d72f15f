"""The architecture advisor: separation-rank analysis and search for convolutional networks.

The curated public API::

    from advisor import Budget, load_task, recommend

    task = load_task("examples/symmetry.yaml")
    result = recommend(task, Budget(max_parameters=200_000))
    print(result.recommendations[0].architecture)

Names are imported on first use (PEP 562), so ``import advisor.model.task`` — what the client
library does — does not load the separation-rank engine or the search. ``advisor.__version__``
is the version ``advisor --version`` prints (:mod:`advisor.version`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.errors import (
        AdvisorError,
        BadRequestError,
        FieldViolation,
        InvalidRequestError,
        LimitExceededError,
        StalePageTokenError,
        StoppedError,
    )
    from advisor.export.document import (
        analysis_document,
        architecture_yaml,
        parse_analysis,
        parse_search_result,
        search_result_document,
        torch_module,
    )
    from advisor.infer.combine import with_data
    from advisor.infer.inference import infer_task
    from advisor.infer.report import InferenceReport
    from advisor.model.architecture import (
        Architecture,
        Layer,
        load_architecture,
        parse_architecture,
    )
    from advisor.model.budget import Budget
    from advisor.model.grid import InputSpec
    from advisor.model.results import (
        Analysis,
        CorrelationAnalysis,
        Efficiency,
        MemberFigure,
        Recommendation,
        SearchProgress,
        SearchResult,
    )
    from advisor.model.task import (
        Correlation,
        PresetInfo,
        Presets,
        Task,
        list_presets,
        load_task,
        parse_task,
    )
    from advisor.search.recommend import recommend
    from advisor.seprank.analysis import analyze
    from advisor.stopping import StopSignal
    from advisor.version import __version__ as __version__

__all__ = [
    "AdvisorError",
    "Analysis",
    "Architecture",
    "BadRequestError",
    "Budget",
    "Correlation",
    "CorrelationAnalysis",
    "Efficiency",
    "FieldViolation",
    "InferenceReport",
    "InputSpec",
    "InvalidRequestError",
    "Layer",
    "LimitExceededError",
    "MemberFigure",
    "PresetInfo",
    "Presets",
    "Recommendation",
    "SearchProgress",
    "SearchResult",
    "StalePageTokenError",
    "StopSignal",
    "StoppedError",
    "Task",
    "analysis_document",
    "analyze",
    "architecture_yaml",
    "infer_task",
    "list_presets",
    "load_architecture",
    "load_task",
    "parse_analysis",
    "parse_architecture",
    "parse_search_result",
    "parse_task",
    "recommend",
    "search_result_document",
    "torch_module",
    "with_data",
]

_HOMES: dict[str, str] = {
    "AdvisorError": "advisor.errors",
    "BadRequestError": "advisor.errors",
    "FieldViolation": "advisor.errors",
    "InvalidRequestError": "advisor.errors",
    "LimitExceededError": "advisor.errors",
    "StalePageTokenError": "advisor.errors",
    "StoppedError": "advisor.errors",
    "analysis_document": "advisor.export.document",
    "architecture_yaml": "advisor.export.document",
    "parse_analysis": "advisor.export.document",
    "parse_search_result": "advisor.export.document",
    "search_result_document": "advisor.export.document",
    "torch_module": "advisor.export.document",
    "with_data": "advisor.infer.combine",
    "infer_task": "advisor.infer.inference",
    "InferenceReport": "advisor.infer.report",
    "Architecture": "advisor.model.architecture",
    "Layer": "advisor.model.architecture",
    "load_architecture": "advisor.model.architecture",
    "parse_architecture": "advisor.model.architecture",
    "Budget": "advisor.model.budget",
    "InputSpec": "advisor.model.grid",
    "Analysis": "advisor.model.results",
    "CorrelationAnalysis": "advisor.model.results",
    "Efficiency": "advisor.model.results",
    "MemberFigure": "advisor.model.results",
    "Recommendation": "advisor.model.results",
    "SearchProgress": "advisor.model.results",
    "SearchResult": "advisor.model.results",
    "Correlation": "advisor.model.task",
    "PresetInfo": "advisor.model.task",
    "Presets": "advisor.model.task",
    "Task": "advisor.model.task",
    "list_presets": "advisor.model.task",
    "load_task": "advisor.model.task",
    "parse_task": "advisor.model.task",
    "recommend": "advisor.search.recommend",
    "analyze": "advisor.seprank.analysis",
    "StopSignal": "advisor.stopping",
    "__version__": "advisor.version",
}


if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above: a module __getattr__ returning
    # Any let a caller's mypy --strict pass a misspelt name (`from advisor import recomend`).

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'advisor' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """List the curated API and the module's own dunders, not its imports (tab completion)."""
    return sorted({*__all__, *_HOMES, *(name for name in globals() if name.startswith("__"))})
