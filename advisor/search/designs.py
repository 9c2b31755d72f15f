"""An entry of a search's board described for the rationale: its tree in words, widths, figures.

The page's designs, their reference nets and the 10%-more design are described alike
(:class:`~advisor.search.rationale_inputs.Design`).
"""

from __future__ import annotations

import numpy as np

from advisor.model.text import family_words
from advisor.search.board import Entry
from advisor.search.candidates import Candidate
from advisor.search.rationale_inputs import Design
from advisor.search.run import SearchRun

__all__ = ["design", "tree_words"]


def tree_words(run: SearchRun, candidate: Candidate, *, padded: bool = True) -> str:
    """Say a tree in words: its family and windows, ``mirror pooling (2x2, global 2x2)``.

    And the padding it pools, unless ``padded`` is False (a sentence that names the grid).
    """
    if candidate.family == "shallow":
        return "one global pooling"
    detail = ""
    if candidate.dilations is not None:
        detail = f", dilations {', '.join(str(d) for d in candidate.dilations)}"
    elif candidate.variant is not None:
        detail = f", {candidate.variant.describe(run.names)}"
    elif candidate.family == "data_arranged":
        detail = ", contiguous on the data's arrangement"
    return (
        f"{family_words(candidate.family)} pooling ({candidate.schedule_text()}{detail})"
        f"{candidate.padding_text(run.task.input.shape) if padded else ''}"
    )


def design(run: SearchRun, entry: Entry) -> Design:
    """Describe an entry for the rationale: its tree in words, widths and figures."""
    candidate = entry.candidate
    widths = np.asarray([entry.allocation.widths])
    return Design(
        description=tree_words(run, candidate),
        widths=entry.allocation.widths,
        parameters=entry.allocation.parameters,
        log2_ranks=entry.allocation.log2_ranks,
        score=entry.allocation.keys[0],
        multiply_adds=int(run.ladders.multiply_adds(candidate, widths)[0]),
        discarded=run.discarded(candidate),
        coherence=(run.coherent(candidate) if run.objective.best_coherence is not None else 0.0),
    )
