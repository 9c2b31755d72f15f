"""The input grid shared by task and architecture files: ``input: {shape: [H, W], channels: C}``.

Locations are numbered row-major from 0, so a location of a 2-D grid is ``h * W + w``.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MAX_LOCATIONS", "InputSpec"]

MAX_LOCATIONS = 2**20
"""Largest grid the library accepts (e.g. 1024 x 1024). Tasks and architectures allocate
per-location arrays while they are validated, so an absurd shape must be refused before anything
is built; the service enforces its own, lower limit (docs/SERVICE.md)."""


class InputSpec(BaseModel):
    """Shape of the input (``[N]`` for sequences, ``[H, W]`` for images) and its channel count."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    shape: tuple[int, ...] = Field(description="[N] or [H, W]; locations are numbered row-major.")
    channels: int = Field(default=1, gt=0, description="Input channels (e.g. 3 for RGB).")

    @field_validator("shape")
    @classmethod
    def _shape_is_a_grid(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) not in (1, 2):
            raise ValueError(f"must have 1 or 2 dimensions, got {len(shape)}")
        if any(n <= 0 for n in shape):
            raise ValueError(f"every dimension must be positive, got {list(shape)}")
        if math.prod(shape) > MAX_LOCATIONS:
            raise ValueError(f"has more than {MAX_LOCATIONS} locations: {list(shape)}")
        return shape

    @property
    def num_locations(self) -> int:
        """Number of input locations (pixels or time steps)."""
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        """1 for sequences, 2 for images."""
        return len(self.shape)
