"""Rendering of results for the ``advisor`` command: a table for people, JSON or YAML for programs.

The JSON and YAML documents are the library's (:mod:`advisor.export.document`): docs/FORMATS.md's
field names, every architecture in the architecture *file* format, so the ``architecture`` of a
recommendation can be saved as it is and passed to ``advisor analyze --arch``. The table shows
the same facts laid out for reading: the result's own (``as_table``, what a notebook shows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from advisor.cli.options import OutputFormat
from advisor.cli.output import stdout_document
from advisor.export.document import analysis_document, presets_document, search_result_document
from advisor.layout import TableHints
from advisor.model.architecture import Architecture
from advisor.model.results import Analysis, SearchResult
from advisor.model.task import Presets

__all__ = ["render_analysis", "render_presets", "render_search_result"]

_COMMAND_HINTS: Final = TableHints(
    explain="why: each design's summary; --explain prints the whole rationales (the score's "
    "parts, the contiguous and shallow nets at this budget, what 10% more budget buys)",
    next_page="next page: --page-token {token}",
)
"""Where a search result's table tells the command's reader to see more: its options."""
_T = TypeVar("_T")


def render_search_result(
    result: SearchResult,
    output_format: OutputFormat,
    explain: bool = False,
    top_k: int | None = None,
) -> str:
    """Render a recommendation result in ``output_format``.

    The table says why each design in its ``summary``, or with ``explain`` its whole rationale
    (the documents hold both), and, given the request's ``top_k``, why a complete search's
    page holds fewer designs.
    """
    return _render(
        result,
        output_format,
        search_result_document,
        lambda r: r.as_table(explain, _COMMAND_HINTS, top_k),
    )


def render_analysis(
    analysis: Analysis, output_format: OutputFormat, architecture: Architecture | None = None
) -> str:
    """Render an analysis in ``output_format``.

    The table says the analysed ``architecture``'s padding, which its costs count (the
    documents leave it to the architecture file).
    """
    return _render(analysis, output_format, analysis_document, lambda a: a.as_table(architecture))


def render_presets(presets: Presets, output_format: OutputFormat) -> str:
    """Render the preset list in ``output_format``."""
    return _render(presets, output_format, presets_document, Presets.as_table)


def _render(
    value: _T,
    output_format: OutputFormat,
    document: Callable[[_T], Mapping[str, Any]],
    as_table: Callable[[_T], str],
) -> str:
    if output_format == "table":
        return as_table(value)
    return stdout_document(document(value), output_format)
