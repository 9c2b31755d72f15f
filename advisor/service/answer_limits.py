"""Refusals of a request whose answer is estimated over the server's ``max_message_bytes``.

A search, an analysis or a Katib call whose response would exceed the limit is refused up
front, before any work, on the field that sets its size, from the estimates of
:mod:`advisor.service.answer_size` (which only counts bytes, and knows no limit). Where the
answer is a number of designs, the refusal says how many fit
(:func:`designs_response_violations`), and a Katib experiment whose every call would be
refused is refused once, up front (:func:`call_answer_violations`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from advisor.errors import FieldViolation
from advisor.protocol._proto.katib.v1beta1 import api_pb2
from advisor.service.limit_violations import quoted_limit, refused_setting, with_limit
from advisor.service.limits import RequestLimits

__all__ = ["call_answer_violations", "designs_response_violations", "response_violations"]


def call_answer_violations(
    spec: api_pb2.ExperimentSpec, design: int, limits: RequestLimits
) -> Iterator[FieldViolation]:
    """Refuse a ``parallel_trial_count`` whose call's answer, ``design`` bytes each, is too large.

    Katib's controller asks one GetSuggestions call for at most ``parallel_trial_count`` designs
    (no more than ``max_trial_count``, when set) and retries a refused call without end: an
    experiment whose every call would be refused over ``max_message_bytes`` is refused up front,
    saying the count that fits.
    """
    designs = spec.parallel_trial_count
    if spec.max_trial_count > 0:
        designs = min(designs, spec.max_trial_count)
    whose = f"for the {designs:,} designs a call of the experiment may ask for"
    yield from designs_response_violations(
        "experiment.spec.parallel_trial_count",
        whose,
        designs,
        design,
        limits,
        ("a parallelTrialCount", "a smaller inputSizes grid"),
    )


def designs_response_violations(
    field: str,
    whose: str,
    designs: int,
    design: int,
    limits: RequestLimits,
    remedies: tuple[str, str],
) -> Iterator[FieldViolation]:
    """Refuse on ``field`` an answer of ``designs`` of ``design`` bytes each over the limit.

    Said with the count that fits, ``remedies`` naming the count (``a top_k``) and what serves
    where not one design fits (``a smaller input grid``): a refusal of ``--top 50`` left its
    reader to divide the limit by the estimate.
    """
    fits = limits.max_message_bytes // design
    count, smaller = remedies
    advice = f"{count} of at most {fits:,} fits it"
    if fits == 0:
        advice = f"not one design fits it: {smaller} does"
    for violation in response_violations(field, whose, designs * design, limits):
        yield replace(violation, description=f"{violation.description}; {advice}")


def response_violations(
    field: str, whose: str, estimate: int, limits: RequestLimits
) -> Iterator[FieldViolation]:
    """Refuse on ``field`` an answer estimated over ``max_message_bytes`` (``whose``: which)."""
    if estimate > limits.max_message_bytes:
        refused = refused_setting(limits, "max_message_bytes", estimate)
        refusal = FieldViolation(
            field,
            f"the response {whose} is estimated at {refused.needed:,} bytes, over "
            f"{quoted_limit(refused)}",
        )
        yield with_limit(refusal, refused)
