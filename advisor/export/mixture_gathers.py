"""A mixture's gathers as exported nets hold them in buffers (no torch needed).

The PyTorch module (:class:`advisor.export.torch_mixture.MixtureNet`) and its standalone source
(:mod:`advisor.export.torch_source`) register the same buffers from here: the source is written
without torch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from advisor.geometry.layouts import input_permutation
from advisor.model.architecture import Architecture
from advisor.model.mixture import member_geometries

__all__ = ["mixture_gathers"]

_Gather = npt.NDArray[np.int64]


def mixture_gathers(architecture: Architecture) -> dict[str, _Gather]:
    """Return a mixture's gather buffers by name, in the order the nets register them.

    Per member ``m`` (member 0 the architecture's own): ``gather_m``, its geometry's permutation
    of the representation's output; then per summing level ``i`` (the mixing levels, the root
    last) ``to_canonical_m_i``, where ``to_canonical_m_i[c]`` is the member's position holding
    the node at member 0's position ``c``, and ``from_canonical_m_i``, its inverse.
    """
    mixture = architecture.mixture
    assert mixture is not None, "only a mixture has member gathers"
    levels = (*mixture.mixing, len(architecture.layers))
    permutations = [
        input_permutation(architecture.model_copy(update={"geometry": geometry, "mixture": None}))
        for geometry in member_geometries(architecture.geometry, mixture)
    ]
    gathers: dict[str, _Gather] = {}
    for member, permutation in enumerate(permutations):
        gathers[f"gather_{member}"] = np.asarray(permutation, dtype=np.int64)
        for index, level in enumerate(levels):
            to, back = _alignment(architecture, permutations[0], permutation, level)
            gathers[f"to_canonical_{member}_{index}"] = to
            gathers[f"from_canonical_{member}_{index}"] = back
    return gathers


def _alignment(
    architecture: Architecture,
    reference: npt.NDArray[np.intp],
    permutation: npt.NDArray[np.intp],
    level: int,
) -> tuple[_Gather, _Gather]:
    """Gathers between a member's level-``level`` positions and the reference (member 0) order.

    ``to[c]`` is the member's position holding the node at canonical position ``c``; ``back[q]``
    the canonical position of the member's position ``q``.
    """
    reference_positions = _positions(architecture, reference, level)
    own_positions = _positions(architecture, permutation, level)
    count = int(reference_positions.max()) + 1
    to = np.empty(count, dtype=np.int64)
    to[reference_positions] = own_positions
    back = np.empty(count, dtype=np.int64)
    back[own_positions] = reference_positions
    return to, back


def _positions(
    architecture: Architecture, permutation: npt.NDArray[np.intp], level: int
) -> npt.NDArray[np.intp]:
    """Per input location, its position (row-major) in the map pooled ``level`` times."""
    schedule = architecture.schedule
    grid = schedule.grids[0]
    where = np.empty(len(permutation), dtype=np.intp)
    where[permutation] = np.arange(len(permutation))
    coordinates = np.array(np.unravel_index(where, grid))
    span = np.prod(np.array(schedule.pools[:level]).reshape(level, -1), axis=0)
    return np.asarray(
        np.ravel_multi_index(tuple(coordinates // span[:, None]), schedule.grids[level]),
        dtype=np.intp,
    )
