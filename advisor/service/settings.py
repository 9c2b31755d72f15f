"""The base of the server's settings models, :class:`ServerConfig` and :class:`RequestLimits`.

Both are read from a config file, ``--limit`` options or keywords, by one rule: every value is
typed as a setting (:func:`~advisor.model.scalars.setting_value`: a flag is a boolean, a number
is none), and a bad one built by keywords is refused with
:class:`~advisor.errors.InvalidRequestError` naming the field, as the library's entry points
refuse.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from advisor.model.scalars import setting_value
from advisor.validation_messages import invalid_request_from_pydantic

__all__ = ["Settings"]


class Settings(BaseModel):
    """A frozen model of settings, typed as settings, refusing a bad keyword naming its field.

    Built by keywords (``RequestLimits(max_top_k="x")``), a model raises
    :class:`~advisor.errors.InvalidRequestError` whose violations name each field, never
    pydantic's ``ValidationError``: an embedding program catches the one error type the
    server's other refusals have. Validated inside another model (a config's ``limits``) or
    through ``model_validate``, its errors stay pydantic's, so the outer model names them under
    its own field (``limits.max_top_k``) and a value can be tested for a field (``settable``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise invalid_request_from_pydantic(error, model=type(self)) from None

    # Marked as pydantic marks BaseModel's own: validated inside another model, this one is
    # built as pydantic builds it, not through this __init__, so its errors stay pydantic's.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @field_validator("*", mode="before")
    @classmethod
    def _typed(cls, value: Any, info: ValidationInfo) -> Any:
        # A flag must be a boolean and a number must not be one (a config file's `workers:
        # true`, `max_top_k: true`).
        assert info.field_name is not None
        return setting_value(cls.model_fields[info.field_name].annotation, value)
