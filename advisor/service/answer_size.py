"""The estimated size of an answer, from the request alone: a page, an analysis, suggestions.

A request whose answer would exceed the server's ``max_message_bytes`` is refused before any
work (:mod:`advisor.service.answer_limits`), so the estimates are upper bounds counted from the
message: the names, the correlations, the permutations (one id per location of the largest grid
the search may pad the input to) and, for a mixture, its members' figures, with an allowance for
the rationale's prose.
"""

from __future__ import annotations

from advisor.model.grid import grid_problem
from advisor.model.padding import largest_grid
from advisor.protocol._proto.advisor.v1 import advisor_pb2

__all__ = ["analysis_bytes", "member_count", "recommendation_bytes", "suggestion_bytes"]

# A CorrelationAnalysis without its name: four doubles, an enum, tags and lengths.
_CORRELATION_BYTES = 64
# A recommendation without its names and permutations: numbers, layers, the rationale's prose
# and the summary's (its opening sentences again, about 600 bytes).
_RECOMMENDATION_BYTES = 6144
# The tags and lengths around a permutation's ids: at most five nested fields (a mixture member's
# Mixture, MixtureMember, Geometry, PermutationGeometry and its packed ids), each a tag of at
# most 2 bytes and a length of at most 5.
_PERMUTATION_FRAME_BYTES = 35
# A mixture's member beyond its permutation: a width per layer (at most 24, since every level
# pools at least two of at most 2^20 locations, padded to at most 2^24 in 3-D) of at most 5
# bytes, as many mixing levels of 1 byte, and their tags and lengths.
_MEMBER_BYTES = 256
# A mixture's figure per member on each correlation (CorrelationAnalysis.members): a double, an
# enum, their tags and the entry's tag and length.
_MEMBER_FIGURE_BYTES = 16
# The rationale quotes (``repr``) every correlation name once more, and up to six a second time;
# the summary repeats those six (the correlations modelled fully and those that fall short).
_RATIONALE_EXTRA_NAMES = 12
# A mixture's rationale also says which member carries which correlation
# (advisor.search.carriers.carriers): per member that carries some alone, for those each member
# reaches and for those only the sum reaches, up to three names, each with its figures (about 30
# bytes); the sentence, the members' names and those figures take at most _CARRIER_BYTES.
_CARRIER_NAMES = 12
_CARRIER_BYTES = 1024
# A task preset adds at most this many correlations (16 today) with names of at most this many
# bytes (29 today).
_PRESET_CORRELATIONS = 32
_PRESET_NAME_BYTES = 32


def _name_bytes(task: advisor_pb2.Task, quoted: bool = False) -> list[int]:
    r"""Return the encoded lengths of the task's correlation names, the preset's allowance too.

    ``quoted``: as a rationale quotes them (``repr``), which escapes what Python does not print:
    an unassigned character, 4 bytes, is quoted in 10 (``\U000e0080``), a backslash in 2.
    """
    names = [
        len((repr(correlation.name) if quoted else correlation.name).encode())
        for correlation in task.correlations
    ]
    if task.HasField("preset"):
        names += [_PRESET_NAME_BYTES] * _PRESET_CORRELATIONS
    return names


def analysis_bytes(task: advisor_pb2.Task, members: int) -> int:
    """Upper bound on the encoded size of the task's per-correlation figures.

    ``members``: the member networks of a mixture (0 for a tree), each with its own figure on
    every correlation.
    """
    per_correlation = _CORRELATION_BYTES + members * _MEMBER_FIGURE_BYTES
    return sum(per_correlation + name for name in _name_bytes(task))


def member_count(architecture: advisor_pb2.Architecture) -> int:
    """Return the member networks of an architecture with a mixture, its own included; else 0."""
    if not architecture.HasField("mixture"):
        return 0
    return len(architecture.mixture.members) + 1


def recommendation_bytes(task: advisor_pb2.Task, mixtures: bool) -> int:
    """Upper bound on the encoded size of one recommendation for ``task``.

    Its tree's permutation numbers the locations of the grid it pools
    (:func:`_pooled_locations`); a mixture (``mixtures``: the search may recommend one) carries
    a second tree's permutation and widths, each member's figure on every correlation, and says
    in its rationale which member carries which.
    """
    trees = 2 if mixtures else 1
    names = _name_bytes(task, quoted=True)
    return (
        _RECOMMENDATION_BYTES
        + trees * _permutation_bytes(_pooled_locations(task))
        + (_MEMBER_BYTES if mixtures else 0)
        + analysis_bytes(task, trees if mixtures else 0)
        + sum(names)
        + _RATIONALE_EXTRA_NAMES * max(names, default=0)
        + (_CARRIER_BYTES + _CARRIER_NAMES * max(names, default=0) if mixtures else 0)
    )


def suggestion_bytes(task: advisor_pb2.Task, mixtures: bool) -> int:
    """Upper bound on the encoded size of one Katib suggestion for ``task``.

    A suggestion is the architecture as JSON text (:mod:`advisor.integrations.katib`), whose
    permutation ids are decimal, about twice their packed varints
    (:func:`recommendation_bytes`): on a 128 x 128 grid a design is ~88 KB, where a
    recommendation's estimate is ~41 KB. Besides the permutations (a mixture: two, and a
    member's widths) the design has no more than a recommendation's numbers and layers
    (its labels and escaped quotes included), and no analysis.
    """
    trees = 2 if mixtures else 1
    return (
        _RECOMMENDATION_BYTES
        + trees * _json_permutation_bytes(_pooled_locations(task))
        + (_MEMBER_BYTES if mixtures else 0)
    )


def _pooled_locations(task: advisor_pb2.Task) -> int:
    """Return the locations a design's permutation numbers: the input padded (at most), or 0.

    The grid a tree pools may be the input padded (:func:`~advisor.model.padding.largest_grid`);
    a shape that is no grid gets no design (the library refuses it), hence no permutation.
    """
    shape = task.input.shape
    return largest_grid(shape) if grid_problem(shape) is None else 0


def _json_permutation_bytes(locations: int) -> int:
    """Upper bound on the JSON text of a permutation geometry of ``locations`` ids.

    The ids 0 to ``locations - 1`` in decimal, each with a comma, and the geometry's frame.
    """
    total, low, digits = _PERMUTATION_FRAME_BYTES, 0, 1
    while low < locations:
        high = min(locations, 10**digits)
        total += (digits + 1) * (high - low)
        low, digits = high, digits + 1
    return total


def _permutation_bytes(locations: int) -> int:
    """Upper bound on the encoded size of a permutation geometry of ``locations`` ids.

    The ids are 0 to ``locations - 1``, each once, as packed varints: 1 byte below 2^7, 2
    below 2^14, 3 below 2^21 (a padded grid of more than 16,384 locations takes 3 for most).
    """
    total, low, width = _PERMUTATION_FRAME_BYTES, 0, 1
    while low < locations:
        high = min(locations, 1 << (7 * width))
        total += width * (high - low)
        low, width = high, width + 1
    return total
