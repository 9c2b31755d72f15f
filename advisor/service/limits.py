"""The request limits a server holds: :class:`RequestLimits`, its settings and their bounds.

Upper bounds on what one request may ask for (docs/SERVICE.md lists the defaults), the
``advisor`` command's embedded server's :data:`LOCAL_LIMITS`, what value a setting may take
(:func:`settable`, :func:`setting_ceiling`, which a refusal reads to say how to raise it or that
no server may), and a search's defaults brought within them (:func:`defaults_within`). The
checks of a request against them are :mod:`advisor.service.request_checks`'s: a setting is what
a server's configuration holds, a check what each call runs.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import Field, ValidationError

from advisor.model.budget import INT32_MAX, Budget
from advisor.model.exact_bounds import EXACT_MAX_LOG2_SIZE
from advisor.model.grid import MAX_LOCATIONS
from advisor.protocol._proto.advisor.v1 import advisor_pb2
from advisor.protocol.metadata import DEFAULT_MAX_MESSAGE_BYTES
from advisor.service.settings import Settings
from advisor.words import number_text

__all__ = [
    "LOCAL_LIMITS",
    "LONGEST_SECONDS",
    "MIN_MESSAGE_BYTES",
    "RequestLimits",
    "Setting",
    "defaults_within",
    "settable",
    "setting_ceiling",
    "unset_top_k",
]


LONGEST_SECONDS: Final = 7 * 24 * 3600
"""The longest duration a server setting may hold (a week). gRPC takes its durations as 32-bit
milliseconds, and the longest call (time limit, drain and a margin) must fit one: 2^31 ms is about
24.8 days."""


MIN_MESSAGE_BYTES: Final = 6271
"""The least ``max_message_bytes`` a server accepts: the estimated answer of the smallest search.

Every search is refused up front when its response estimate exceeds the limit
(:func:`~advisor.service.request_checks.check_recommend_request`), and the least estimate, for
one design (``top_k`` 1) of one unnamed correlation on a 2-location input, is this many bytes; a
server with a lower limit refused every search (and answered nothing but health checks and the
smallest analyses), so it is refused at start-up. Larger answers need more: ``ListPresets``
about 8.9 kB, the default five designs of a 128 x 128 task about 200 kB.
tests/service/test_limits.py keeps it equal to the estimate."""


class RequestLimits(Settings):
    """Upper bounds on what one request may ask for (all inclusive)."""

    max_locations: int = Field(
        default=128 * 128,
        gt=0,
        # The library refuses a larger grid whatever the server admits (a server set to 2^22
        # logged it and answered a 2048 x 2048 task with the library's refusal of 2^20).
        le=MAX_LOCATIONS,
        description="Input grid size.",
    )
    max_correlations: int = Field(default=256, gt=0, description="Correlations in a task.")
    max_layers: int = Field(default=16, gt=0, description="Hidden layers; also Budget.max_depth.")
    max_channels: int = Field(default=4096, gt=0, description="Any width, M included.")
    max_channel_choices: int = Field(default=64, gt=0, description="Budget.channel_choices.")
    max_top_k: int = Field(default=50, gt=0, description="Recommendations per search.")
    max_time_limit_seconds: float = Field(
        default=60.0,
        gt=0,
        le=LONGEST_SECONDS,
        allow_inf_nan=False,
        description="Search time limit; also the longest an Analyze or InferTask call works.",
    )
    max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=MIN_MESSAGE_BYTES,
        le=INT32_MAX,  # gRPC's message size options are 32-bit
        description="Serialized request or response size; a search or analysis whose response "
        "is estimated larger is refused before it starts.",
    )
    max_name_chars: int = Field(
        default=256, gt=0, description="Any name: correlations, presets, a family."
    )
    max_representation_kernel: int = Field(
        default=64, gt=0, description="k of the representation conv (budget and architecture)."
    )
    # Measured on the two-core machines: about 15 ns per window entry and correlation for the
    # min-cut; about 0.1 s per correlation (two draws) for the exact engine at the bounds below,
    # which admit the N = 16, M = 2 instances exact certification exists for.
    max_window_entries: int = Field(
        default=2**21, gt=0, description="Analyze: pooling-window entries summed over layers."
    )
    max_exact_locations: int = Field(
        default=256,
        gt=0,
        description="Analyze with exact: the grid pooled (the input with its padding).",
    )
    max_exact_channels: int = Field(
        default=64, gt=0, description="Analyze with exact: any width, M included."
    )
    max_exact_log2_size: float = Field(
        default=16.0,
        gt=0,
        le=EXACT_MAX_LOG2_SIZE,  # the exact engine refuses anything larger
        allow_inf_nan=False,
        description="Analyze with exact: (|A| + |B|) log2 M per correlation.",
    )
    # Past the ranking, each design of a Katib sequence is sampled and scored (a few ms), and a
    # space smaller than asked is only found out after about 50 draws per design asked (~10 s
    # for 1,000 on the two-core machines).
    max_katib_designs: int = Field(
        default=1000,
        gt=0,
        description="Katib GetSuggestions: designs of the sequence one call computes "
        "(total_request_number, plus the experiment's trials it skips).",
    )


def settable(setting: str, value: str) -> bool:
    """Whether a server may set the limit named ``setting`` to ``value``, as ``--limit`` gives it.

    Not every refused value is one: a time limit of 1e10 seconds is past the longest a setting
    holds (:data:`LONGEST_SECONDS`), so a hint to raise the limit to it would only be refused.
    """
    try:
        RequestLimits.model_validate({setting: value})
    except ValidationError:
        return False
    return True


def setting_ceiling(setting: str) -> str | None:
    """Return the most any server may set the limit named ``setting`` to; None: no such bound.

    Written as a refusal quotes a number. A value past it cannot be admitted by any server (a
    time limit past a week; an exact rank larger than the exact engine computes), so a refusal
    says so rather than how to raise it.
    """
    for bound in RequestLimits.model_fields[setting].metadata:
        if (most := getattr(bound, "le", None)) is not None:  # pydantic's Field(le=...)
            return number_text(most)
    return None


_LOCAL_LOCATIONS: Final = 1024 * 1024

Setting = Literal[
    "max_locations",
    "max_correlations",
    "max_layers",
    "max_channels",
    "max_channel_choices",
    "max_top_k",
    "max_time_limit_seconds",
    "max_message_bytes",
    "max_name_chars",
    "max_representation_kernel",
    "max_window_entries",
    "max_exact_locations",
    "max_exact_channels",
    "max_exact_log2_size",
    "max_katib_designs",
]
"""The name of a :class:`RequestLimits` setting, as a refusal quotes it (every field, in order)."""

LOCAL_LIMITS = RequestLimits(
    max_locations=_LOCAL_LOCATIONS,
    # The search's deepest tree on any grid of that many locations, 3-D and padded included
    # (advisor.search.candidates.deepest_schedule).
    max_layers=_LOCAL_LOCATIONS.bit_length() + 3,
    max_correlations=1024,
    max_time_limit_seconds=3600.0,
    max_message_bytes=512 * 1024 * 1024,
    max_window_entries=2**23,
)
"""What the ``advisor`` command's embedded server admits: what one machine can do (1024 x 1024 or
1-D 1,048,576 locations and trees of every depth they have, 1,024 correlations, an hour's search,
answers up to 512 MiB). Only the user's own process calls it; a public server keeps the
protective defaults of :class:`RequestLimits`."""

# The library's top_k, which a search that leaves it unset gets within max_top_k.
_DEFAULT_TOP_K: int = Budget.model_fields["top_k"].default


def defaults_within(budget: Budget, message: advisor_pb2.Budget, limits: RequestLimits) -> Budget:
    """Return ``budget`` with the defaults its request left unset brought within ``limits``.

    A limit bounds its field whether the request sets it or leaves it to the library's default:
    a server with ``max_top_k`` 4 answers a search without ``top_k`` with 4 designs (not the
    default 5), one with ``max_time_limit_seconds`` 2 stops it after 2 s (not 10), and one with
    ``max_layers`` 16 searches trees of at most 16 levels (not the deepest the grid has), one with
    ``max_channels`` 256 widths of at most 256 (not 512): an ``Analyze`` of a design it returned
    would be refused. A value the request sets over a limit is refused instead
    (:func:`~advisor.service.request_checks.check_recommend_request`).
    """
    update: dict[str, object] = {}
    if not message.HasField("top_k") and budget.top_k != unset_top_k(limits):
        update["top_k"] = unset_top_k(limits)
    if not message.HasField("max_depth") and (budget.max_depth or math.inf) > limits.max_layers:
        update["max_depth"] = limits.max_layers
    default_widths = budget.channel_choices is None and not message.HasField("max_channels")
    if default_widths and budget.max_channels > limits.max_channels:
        update["max_channels"] = limits.max_channels
    seconds = budget.time_limit_seconds
    if not message.HasField("time_limit_seconds") and (
        seconds is None or seconds > limits.max_time_limit_seconds
    ):
        update["time_limit_seconds"] = limits.max_time_limit_seconds
    return budget.model_copy(update=update) if update else budget


def unset_top_k(limits: RequestLimits) -> int:
    """Return the ``top_k`` of a search that leaves it unset: the default, within the limit."""
    return min(_DEFAULT_TOP_K, limits.max_top_k)
