"""The search request's options: the parameter budget and what the search may choose.

The geometry family names and objective kinds live here, beside the budget that names them, so
the request model needs nothing of the search itself.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from advisor.errors import FieldViolation, InvalidRequestError

__all__ = [
    "DEFAULT_MIN_CHANNELS",
    "FAMILIES",
    "Budget",
    "Family",
    "ObjectiveKind",
]

Family: TypeAlias = Literal[
    "shallow", "contiguous", "mirror", "interleaved", "dilations", "synthesized"
]

FAMILIES: Final[tuple[Family, ...]] = (
    "contiguous",
    "mirror",
    "interleaved",
    "dilations",
    "synthesized",
)
"""The families a budget may allow (the shallow baseline is always evaluated)."""

ObjectiveKind: TypeAlias = Literal["weighted", "maximin"]


DEFAULT_MIN_CHANNELS: Final = 4
"""Narrowest default width choice (see :meth:`Budget.choices`)."""


class Budget(BaseModel):
    """The search request's options (docs/FORMATS.md §5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_parameters: int = Field(gt=0, description="Upper bound on Architecture.parameters.")
    min_depth: int | None = Field(default=None, gt=0, description="Fewest hidden layers.")
    max_depth: int | None = Field(default=None, gt=0, description="Most hidden layers.")
    channel_choices: list[int] | None = Field(
        default=None,
        min_length=1,
        description="Allowed widths, M included; default powers of two from "
        "DEFAULT_MIN_CHANNELS up to max_channels.",
    )
    max_channels: int = Field(default=512, gt=1, description="Largest default width choice.")
    geometries: list[Family] | None = Field(
        default=None, description="Families that may be recommended; default all that apply."
    )
    search_dilations: bool = Field(default=True, description="Search dilation orders (1-D).")
    top_k: int = Field(default=5, gt=0, description="Recommendations to return.")
    time_limit_seconds: float | None = Field(
        default=10.0, gt=0, allow_inf_nan=False, description="Wall-clock limit; None: none."
    )
    seed: int = Field(default=0, description="Seed of every random choice (dilation samples).")
    objective: ObjectiveKind = "weighted"
    log2_rank_target: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="Target per correlation (log2)."
    )
    outputs: int = Field(default=1, gt=0, description="Y, the outputs of every candidate.")
    representation_kernel: int = Field(
        default=1, gt=0, description="k of the k x k representation conv of every candidate."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Budget:
        violations = []
        low, high = self.min_depth, self.max_depth
        if low is not None and high is not None and low > high:
            violations.append(("max_depth", f"must be at least min_depth ({low})"))
        if self.channel_choices is not None:
            for i, width in enumerate(self.channel_choices):
                if width <= 0:
                    violations.append((f"channel_choices[{i}]", "must be positive"))
                elif width in self.channel_choices[:i]:
                    violations.append((f"channel_choices[{i}]", f"repeats {width}"))
            if max(self.channel_choices) < 2:
                violations.append(("channel_choices", "needs a width of at least 2"))
        if self.geometries is not None:
            if not self.geometries:
                violations.append(("geometries", "must name at least one family"))
            for i, family in enumerate(self.geometries):
                if family == "shallow" or family in self.geometries[:i]:
                    violations.append(
                        (f"geometries[{i}]", f"must be one of {', '.join(FAMILIES)}, once each")
                    )
        if violations:
            raise InvalidRequestError([FieldViolation(path, text) for path, text in violations])
        return self

    def choices(self) -> list[int]:
        """Return the allowed widths, ascending.

        By default no layer is narrower than :data:`DEFAULT_MIN_CHANNELS`: a width the task's
        correlations do not need would otherwise fall to 1 (ties go to fewer parameters), and a
        1- or 2-channel layer is a bottleneck for everything the task does not describe, such as
        the classifier's outputs. Explicit ``channel_choices`` may go lower.
        """
        if self.channel_choices is not None:
            return sorted(self.channel_choices)
        floor = min(DEFAULT_MIN_CHANNELS, self.max_channels).bit_length() - 1
        return [1 << bit for bit in range(floor, self.max_channels.bit_length())]
