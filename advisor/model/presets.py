"""Task presets: named families of correlations a task can ask for with ``preset: NAME``.

Every preset is a function of the input shape returning its correlations
(:class:`~advisor.model.regions.ResolvedCorrelation`, disjoint non-empty ``a`` and ``b``), named
``PRESET/MEMBER`` (e.g. ``local/columns-s1``) with the weight its docstring gives; the docstring
is the exact definition ``ListPresets`` serves. A preset that does not apply to the input
(``top_bottom`` on a sequence, ``periodic`` on an odd length) raises
:class:`~advisor.errors.InvalidRequestError` on field ``preset`` saying why; none is ever cut
down silently.

**The measure.** A correlation (A, B) is scored by the A-B separation rank of docs/THEORY.md §3: the
generic rank of the coefficient tensor matricized (A, B), locations outside A and B contracted with
generic vectors; the analysis computes it as the tensor-network min-cut (docs/THEORY.md §4-6). Which
widths decide it depends on where A and B first meet in the pooling tree: partitions that split
many low-level windows are decided by the early widths (M, r_0, r_1, ...), regions that meet only
near the root by the deep ones (docs/THEORY.md §11). Each family below is chosen so that the network
features it should reward (early vs deep widths, which locations share a window) are the ones
that decide its ranks; the figures quoted are sums of log2 ranks over a preset's members on a
16x16 input, 2x2 windows at every level, every width and M equal to 8.

Axes are named as in :mod:`advisor.model.regions`: *columns* is the last axis (a 1-D input is one
row of columns), *rows* the one before it, *depth* axis 0 of a 3-D input [D, H, W] (slices of a
volume, frames of a video); halves of an odd axis leave the centre line out. On a 3-D input every
2-D preset applies slice by slice (its regions span the depth), the per-axis families (local,
periodic, long_range) gain a depth member, and front_back pairs the slices as top_bottom pairs
the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from advisor.errors import InvalidRequestError
from advisor.model.grid import channel_axis_hint, squeezed_shape
from advisor.model.regions import (
    PresetInfo,
    ResolvedCorrelation,
    along_axis,
    high_half,
    low_half,
    preset_description,
    preset_mask,
)
from advisor.model.text import listed
from advisor.suggestions import unknown_name

__all__ = [
    "LOCAL_SCALES",
    "PERIODIC_BLOCKS",
    "TASK_PRESETS",
    "center_surround",
    "expand_task_preset",
    "front_back",
    "local",
    "long_range",
    "periodic",
    "start_end",
    "symmetry",
    "task_preset_infos",
    "top_bottom",
]

_Mask = npt.NDArray[np.bool_]
_Shape = tuple[int, ...]

LOCAL_SCALES = (1, 2)
"""Stripe widths of :func:`local`; a scale ``s`` applies to an axis of length at least ``4 s``."""

PERIODIC_BLOCKS = 8
"""Most blocks :func:`periodic` cuts the first half of an axis into."""


def _pair(name: str, a: _Mask, b: _Mask) -> ResolvedCorrelation:
    a_ids, b_ids = np.flatnonzero(a), np.flatnonzero(b)
    a_ids.flags.writeable = False
    b_ids.flags.writeable = False
    return ResolvedCorrelation(name, a_ids, b_ids)


def _axes(shape: _Shape) -> list[tuple[int, str]]:
    """List the axes a per-axis family runs along, columns first, with their name prefixes."""
    if len(shape) == 1:
        return [(0, "")]
    names = [(len(shape) - 1, "columns-"), (len(shape) - 2, "rows-")]
    return [*names, (0, "depth-")] if len(shape) == 3 else names


def _reject(preset: str, shape: _Shape, why: str, instead: str = "") -> InvalidRequestError:
    """Refuse ``preset`` on ``shape``, saying ``why``.

    A shape that reads as another (channels written as an axis, an axis of one location) is
    told that shape; any other is told ``instead``, what to write for it, where given.
    """
    hint = channel_axis_hint(shape) or _squeezed_hint(preset, shape)
    return InvalidRequestError.single(
        "preset",
        f"{preset} does not apply to the input {list(shape)}: {why}"
        + (f" ({hint})" if hint else instead),
    )


def _squeezed_hint(preset: str, shape: _Shape) -> str | None:
    """Offer the shape without its axes of one location, where ``preset`` applies to it.

    A sequence written as an image (``[1, 64]``, ``[64, 1]``) has no rows to pair or no second
    axis to read as 1-D, and was refused with no way out; the same locations as ``[64]`` take
    the preset. None where it does not apply to that shape either (``front_back`` on
    ``[1, 32, 32]``), and where the axes kept would change their names (only leading axes are
    left out, or the shape left is 1-D): ``top_bottom`` on ``[16, 1, 64]`` pairs rows, and on
    ``[16, 64]`` it would pair the frames.
    """
    squeezed = squeezed_shape(shape)
    leading = all(n == 1 for n in shape[: len(shape) - len(squeezed or shape)])
    if squeezed is None or not (leading or len(squeezed) == 1):
        return None
    try:
        TASK_PRESETS[preset](tuple(squeezed))
    except InvalidRequestError:
        return None
    return (
        f"an axis of one location pools nothing: {preset} applies to the same locations given "
        f"as the shape {squeezed}"
    )


def _require_length(preset: str, shape: _Shape, axis: int, minimum: int) -> int:
    n = shape[axis]
    if n < minimum:
        where = "" if len(shape) == 1 else f" on axis {axis}"
        raise _reject(preset, shape, f"it needs at least {minimum} locations{where}, not {n}")
    return n


def _mirror_strips(preset: str, shape: _Shape, axis: int) -> list[ResolvedCorrelation]:
    n = _require_length(preset, shape, axis, 4)
    index, quarter = np.arange(n), n // 4
    pairs = {
        "halves": (low_half(n), high_half(n)),
        "outer": (index < quarter, index >= n - quarter),
        "inner": (low_half(n) & (index >= quarter), high_half(n) & (index < n - quarter)),
        "alternate": (low_half(n) & (index % 2 == 0), high_half(n) & ((n - 1 - index) % 2 == 0)),
    }
    # On 4 or 5 locations the alternate strips are the outer ones: one partition counts once.
    distinct: dict[str, tuple[_Mask, _Mask]] = {}
    for member, (a, b) in pairs.items():
        if not any(np.array_equal(a, x) and np.array_equal(b, y) for x, y in distinct.values()):
            distinct[member] = (a, b)
    return [
        _pair(f"{preset}/{member}", along_axis(shape, axis, a), along_axis(shape, axis, b))
        for member, (a, b) in distinct.items()
    ]


def symmetry(shape: _Shape) -> list[ResolvedCorrelation]:
    """Left-right mirror symmetry: each region paired with its reflection about the centre column.

    Along the columns (1-D: the positions) of length W >= 4, with q = W // 4:

    - ``symmetry/halves``: columns [0, W//2) vs [W - W//2, W) (left_half vs right_half);
    - ``symmetry/outer``: columns [0, q) vs [W - q, W), the outermost strips;
    - ``symmetry/inner``: columns [q, W//2) vs [W - W//2, W - q), the strips along the centre;
    - ``symmetry/alternate``: the even columns of the left half vs their reflections.

    Weights 1; with odd W the centre column is in no region; on W < 6 the alternate columns are
    the outer ones, and the member is left out (a partition counts once). All four are decided
    by the deep widths under contiguous pooling and at level 0 under mirror pooling, which pools
    a column with its reflection. The strips tell mirror pooling apart from other far-pairing
    geometries on an image but not on a sequence, where their ranks saturate alike; the
    alternate columns meet their reflections below the root only under mirror pooling, at any
    width (16x16 figures: contiguous 12, mirror 480, interleaved 291; per member at 64 steps, M
    and every width 4: mirror 64 / 32 / 32 / 32, interleaved 64 / 32 / 32 / 2).
    """
    return _mirror_strips("symmetry", shape, len(shape) - 1)


def top_bottom(shape: _Shape) -> list[ResolvedCorrelation]:
    """Top-bottom mirror symmetry: symmetry transposed, for 2-D and 3-D inputs.

    Along the rows of length H >= 4, with q = H // 4 (3-D: in every slice):

    - ``top_bottom/halves``: rows [0, H//2) vs [H - H//2, H) (top_half vs bottom_half);
    - ``top_bottom/outer``: rows [0, q) vs [H - q, H);
    - ``top_bottom/inner``: rows [q, H//2) vs [H - H//2, H - q);
    - ``top_bottom/alternate``: the even rows of the top half vs their reflections.

    Weights 1; with odd H the centre row is in no region; on H < 6 the alternate rows are the
    outer ones, and the member is left out. A sequence has no rows: use symmetry.
    """
    if len(shape) < 2:
        raise _reject(
            "top_bottom", shape, "it needs a 2-D or 3-D input; for a sequence use symmetry"
        )
    return _mirror_strips("top_bottom", shape, len(shape) - 2)


def front_back(shape: _Shape) -> list[ResolvedCorrelation]:
    """Front-back mirror symmetry: symmetry along the depth of a 3-D input [D, H, W] only.

    Along the depth of length D >= 4, with q = D // 4 (whole slices):

    - ``front_back/halves``: slices [0, D//2) vs [D - D//2, D);
    - ``front_back/outer``: slices [0, q) vs [D - q, D);
    - ``front_back/inner``: slices [q, D//2) vs [D - D//2, D - q);
    - ``front_back/alternate``: the even slices of the front half vs their reflections.

    Weights 1; with odd D the centre slice is in no region; on D < 6 the alternate slices are the
    outer ones, and the member is left out. For a video [T, H, W] it pairs the
    first frames with the last ones, mirrored in time.
    """
    if len(shape) != 3:
        raise _reject("front_back", shape, "it needs a 3-D input [D, H, W]")
    return _mirror_strips("front_back", shape, 0)


def _stripe_patterns(n: int, scale: int) -> list[tuple[str, _Mask]]:
    """Distinct stripe partitions of width ``scale`` of an axis of length ``n``, by suffix."""
    index = np.arange(n)
    distance_to_edge = np.minimum(index, n - 1 - index)
    patterns: list[tuple[str, _Mask]] = []
    for layout, position in (("", index), ("-mirrored", distance_to_edge)):
        for shift in range(scale):
            side_a = ((position + shift) // scale) % 2 == 0
            # Index 0 is on side A of every pattern, so equal A sides mean equal partitions.
            if not any(np.array_equal(side_a, seen) for _, seen in patterns):
                suffix = f"-shift{shift}" if shift else ""
                patterns.append((f"s{scale}{suffix}{layout}", side_a))
    return patterns


def local(shape: _Shape) -> list[ResolvedCorrelation]:
    """Short-range correlations: fine stripes that put neighbouring locations on opposite sides.

    For every axis (columns, rows, then depth; 1-D: the positions) and every scale s in (1, 2) with
    4 s <= the axis length n (each half of the axis holds two stripes or more; coarser stripes
    are long-range), the distinct partitions of the grid into stripes s wide, A being the stripes
    of even index (location 0 is in A) and B the others:

    - ``local/columns-s{s}[-shift{k}]``: stripe index (x + k) // s, for every shift k < s (the
      other shifts give the same partitions with A and B swapped);
    - ``local/columns-s{s}[-shift{k}]-mirrored``: stripe index (min(x, n-1-x) + k) // s, the same
      stripes laid out symmetrically about the centre line (where a phase flips), kept when it
      differs from every plain layout.

    1-D members drop ``columns-``. Weights 1; every member is a partition (B = complement of A).
    On 16x16: columns-s1, columns-s1-mirrored, columns-s2, columns-s2-shift1,
    columns-s2-mirrored, and the same five for rows.

    Under contiguous pooling with 2-wide windows every member is decided at levels 0 and 1, so its
    rank depends on M, r_0 and r_1 only: deeper widths do not matter, early ones do (wide-base,
    docs/THEORY.md §11). The family holds every phase and both layouts, so a geometry that pools
    far-apart locations first gains on one member only by losing on another: plain odd/even
    columns tie contiguous and mirror pooling (192 each) but the mirrored layout, odd/even XOR
    left/right, does not (192 vs 48), and interleaved pooling loses the plain layouts (16x16
    figures: contiguous 1344, mirror 966, interleaved 822).
    """
    members = [
        _pair(
            f"local/{axis_name}{suffix}",
            along_axis(shape, axis, side_a),
            along_axis(shape, axis, ~side_a),
        )
        for axis, axis_name in _axes(shape)
        for scale in LOCAL_SCALES
        if 4 * scale <= shape[axis]
        for suffix, side_a in _stripe_patterns(shape[axis], scale)
    ]
    if not members:
        raise _reject("local", shape, "its finest stripes need an axis of at least 4 locations")
    return members


def long_range(shape: _Shape) -> list[ResolvedCorrelation]:
    """Long-range correlations: coarse partitions and far-apart regions, every axis at least 4.

    1-D input of length N, with q = N // 4:

    - ``long_range/halves``: positions [0, N//2) vs [N - N//2, N);
    - ``long_range/ends``: positions [0, q) vs [N - q, N).

    2-D input [H, W] (3-D [D, H, W]: the same in every slice, plus the two depth members):

    - ``long_range/left-right``: left_half vs right_half;
    - ``long_range/left-right-borders``: columns [0, W//4) vs [W - W//4, W);
    - ``long_range/top-bottom``: top_half vs bottom_half;
    - ``long_range/top-bottom-borders``: rows [0, H//4) vs [H - H//4, H);
    - ``long_range/diagonal``: top_left vs bottom_right quadrant;
    - ``long_range/anti-diagonal``: top_right vs bottom_left quadrant;
    - ``long_range/front-back``: slices [0, D//2) vs [D - D//2, D) (3-D only);
    - ``long_range/front-back-borders``: slices [0, D//4) vs [D - D//4, D) (3-D only).

    Weights 1. Each region fills whole subtrees of the contiguous tree and meets the other only
    near the root, so under contiguous pooling the ranks are decided by the deep widths (wide-tip,
    docs/THEORY.md §11); geometries that pool far-apart locations early (mirror, interleaved) serve
    them at low levels (16x16 figures: contiguous 18, mirror 960, interleaved 864).
    """
    for axis in range(len(shape)):
        _require_length("long_range", shape, axis, 4)
    if len(shape) == 1:
        n, quarter = shape[0], shape[0] // 4
        index = np.arange(n)
        return [
            _pair("long_range/halves", low_half(n), high_half(n)),
            _pair("long_range/ends", index < quarter, index >= n - quarter),
        ]
    members = []
    labels = ["left-right", "top-bottom", "front-back"][: len(shape)]
    for axis, label in zip(range(len(shape) - 1, -1, -1), labels, strict=True):
        n, quarter = shape[axis], shape[axis] // 4
        index = np.arange(n)
        members += [
            _pair(
                f"long_range/{label}",
                along_axis(shape, axis, low_half(n)),
                along_axis(shape, axis, high_half(n)),
            ),
            _pair(
                f"long_range/{label}-borders",
                along_axis(shape, axis, index < quarter),
                along_axis(shape, axis, index >= n - quarter),
            ),
        ]
    depth = members[4:]  # the depth members follow the 2-D ones in the documented order
    return [
        *members[:4],
        _pair(
            "long_range/diagonal",
            preset_mask("top_left", shape),
            preset_mask("bottom_right", shape),
        ),
        _pair(
            "long_range/anti-diagonal",
            preset_mask("top_right", shape),
            preset_mask("bottom_left", shape),
        ),
        *depth,
    ]


def _even_advice(shape: _Shape) -> str:
    """Say which inputs of even lengths near ``shape`` periodic applies to ('' where none is).

    Every odd axis cropped by one location, or padded by one; axes of one location are left out
    first, as they hold no neighbour (``[1, 431]`` is advised ``[430]``, not ``[1, 430]``, which
    periodic refuses as it does ``[1, 431]``). A spectrogram of 431 frames (``[128, 431]``) was
    told it needs an even length, with no word of the inputs that have one. '' where only axes
    of one location are odd: the refusal then gives the shape without them.
    """
    kept = squeezed_shape(shape) or list(shape)
    if all(n % 2 == 0 for n in kept):
        return ""
    cropped = [n - n % 2 for n in kept]
    padded = [n + n % 2 for n in kept]
    if 0 in cropped:  # an axis of one location left after all: only padding keeps it
        return f": give the input padded to {padded}"
    return f": give the input cropped or padded to {cropped} or {padded}"


def periodic(shape: _Shape) -> list[ResolvedCorrelation]:
    """Periodicity: index i correlated with index i + n/2 along every axis, as blocks.

    Every axis (columns, rows, then depth; 1-D: the positions) must have an even length n. Its first
    half [0, n/2) is cut into k = min(8, n/2) consecutive blocks, block j being
    [j h // k, (j+1) h // k) with h = n/2, and each block is paired with its translate by h:

    - ``periodic/columns-block{j}``: columns of block j vs the same columns + W/2 (all rows);
    - ``periodic/rows-block{j}``: likewise for rows (2-D and 3-D);
    - ``periodic/depth-block{j}``: likewise for the depth (3-D only).

    1-D members drop ``columns-``. Weights 1; locations outside the pair are free. Interleaved
    pooling and the reversed dilation order pair i with i + n/2 in their first windows
    (docs/THEORY.md §7), contiguous pooling only at the root (16x16 figures: contiguous 48, mirror
    192, interleaved 384).
    """
    odd = sorted(axis for axis, _ in _axes(shape) if shape[axis] % 2)
    if odd:
        where = ""
        if len(shape) > 1:
            axes = listed([str(axis) for axis in odd], quoted=False)
            where = f" on axis {axes}" if len(odd) == 1 else f" on axes {axes}"
        raise _reject(
            "periodic",
            shape,
            f"it pairs i with i + n/2, so it needs an even length{where}{_even_advice(shape)}",
        )
    members = []
    for axis, axis_name in _axes(shape):
        n = shape[axis]
        half = n // 2
        blocks = min(PERIODIC_BLOCKS, half)
        index = np.arange(n)
        for j in range(blocks):
            start, stop = j * half // blocks, (j + 1) * half // blocks
            block = (index >= start) & (index < stop)
            members.append(
                _pair(
                    f"periodic/{axis_name}block{j}",
                    along_axis(shape, axis, block),
                    along_axis(shape, axis, np.roll(block, half)),
                )
            )
    return members


def start_end(shape: _Shape) -> list[ResolvedCorrelation]:
    """Pair the start of a sequence with its end, at growing widths; 1-D inputs of length N >= 4.

    For every w in 1, 2, 4, ... up to N // 4:

    - ``start_end/w{w}``: positions [0, w) vs [N - w, N).

    Weights 1; positions in between are free. Mirror pooling (a position with its reflection
    N-1-i) meets the two ends in its first windows, contiguous pooling only at the root.
    An image or a volume has no single start and end: 2-D and 3-D inputs are rejected, told
    the preset mirroring axis 0 (top_bottom, front_back), whose outer strips are these widest
    ends, and a box at each end of axis 0.
    """
    if len(shape) != 1:
        raise _reject(
            "start_end", shape, "it needs a 1-D input [N] (a sequence)", _ends_instead(shape)
        )
    n = _require_length("start_end", shape, 0, 4)
    index = np.arange(n)
    widths = [1 << k for k in range((n // 4).bit_length())]
    return [_pair(f"start_end/w{w}", index < w, index >= n - w) for w in widths]


_FIRST_AXIS_MIRRORS: Mapping[int, tuple[str, str]] = {
    2: ("top_bottom", "rows"),
    3: ("front_back", "slices or frames"),
}
"""Per number of axes, the preset mirroring axis 0 and what that axis holds."""


def _ends_instead(shape: _Shape) -> str:
    """Say what pairs the start of axis 0 with its end on a 2-D or 3-D input, as start_end would.

    The preset mirroring axis 0, where it applies (its ``outer`` member is start_end's widest,
    ``[0, n // 4)`` against ``[n - n // 4, n)``), and a box at each end of the axis, which any
    axis of two or more locations takes. '' on an axis of one location: it has no two ends.
    """
    n = shape[0]
    if n < 2:
        return ""
    preset, held = _FIRST_AXIS_MIRRORS[len(shape)]
    width, rest, zeros = max(1, n // 4), list(shape[1:]), [0] * (len(shape) - 1)
    boxes = (
        f"a box at each end of axis 0: a: {{box: {{start: {[0, *zeros]}, stop: {[width, *rest]}}}}}"
        f", b: {{box: {{start: {[n - width, *zeros]}, stop: {list(shape)}}}}}"
    )
    use = f"; for the first {held} against the last, use "
    try:
        TASK_PRESETS[preset](shape)
    except InvalidRequestError:
        return use + boxes
    outer = f"{preset}/outer pairs [0, {width}) and [{n - width}, {n}) of axis 0"
    return f"{use}{preset} (mirrored strips: {outer}) or {boxes}"


def center_surround(shape: _Shape) -> list[ResolvedCorrelation]:
    """Pair the centre of the input with its surround.

    - ``center_surround/center-border``: center vs border, a partition: on every axis of length
      n, center keeps indices [n//4, n - n//4); border is every other location.

    Weight 1. Needs an axis of at least 4 locations (otherwise border is empty). On 16x16 this is
    the centre-vs-border figure of docs/THEORY.md §3 (contiguous 12, mirror 48, interleaved 192).
    """
    center = preset_mask("center", shape)
    if center.all():
        raise _reject("center_surround", shape, "its border is empty on axes shorter than 4")
    return [_pair("center_surround/center-border", center, ~center)]


TASK_PRESETS: Mapping[str, Callable[[_Shape], list[ResolvedCorrelation]]] = {
    "symmetry": symmetry,
    "top_bottom": top_bottom,
    "local": local,
    "long_range": long_range,
    "periodic": periodic,
    "start_end": start_end,
    "center_surround": center_surround,
    "front_back": front_back,
}
"""Task presets by name; each maps an input shape to its correlations (docstring = definition)."""


def expand_task_preset(name: str, shape: _Shape) -> tuple[ResolvedCorrelation, ...]:
    """Return the correlations the task preset ``name`` stands for on an input of ``shape``.

    Raises
    ------
    InvalidRequestError
        On field ``preset`` when the name is unknown or the preset does not apply to ``shape``.
    """
    expand = TASK_PRESETS.get(name)
    if expand is None:
        raise InvalidRequestError.single(
            "preset",
            unknown_name("task preset", name, TASK_PRESETS),
        )
    return tuple(expand(shape))


def task_preset_infos() -> list[PresetInfo]:
    """Describe every task preset, in :data:`TASK_PRESETS` order."""
    return [
        PresetInfo(name, "task", preset_description(expand))
        for name, expand in TASK_PRESETS.items()
    ]
