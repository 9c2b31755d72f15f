"""The search request's options: the parameter budget and what the search may choose.

The geometry family names and objective kinds live here, beside the budget that names them, so
the request model needs nothing of the search itself. Every integer is bounded by the range of
its wire field (``int32`` or ``int64``), so a value the wire cannot carry is refused here, naming
its field, rather than failing in the encoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Final, Literal, TypeAlias

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.documents import NullsOmitted
from advisor.model.integer_text import read_count
from advisor.model.scalars import (
    INT32_MAX,
    INT64_MAX,
    boolean_problem,
    finite_number,
    is_boolean,
    whole_number,
)
from advisor.words import number_text

__all__ = [
    "CLASS_COUNT_KEYS",
    "AllowedFamily",
    "DEFAULT_COMPUTE_FACTOR",
    "DEFAULT_FAMILIES",
    "DEFAULT_MAX_WINDOW",
    "DEFAULT_MIN_CHANNELS",
    "DEFAULT_MIN_WIDTH",
    "FAMILIES",
    "INT32_MAX",
    "INT64_MAX",
    "PRACTICAL_ONLY",
    "Budget",
    "Family",
    "ObjectiveKind",
    "WidthProfile",
    "default_hidden_floor",
    "default_profile_choices",
    "scaled_parameters",
    "seed_problem",
]

AllowedFamily: TypeAlias = Literal[
    "contiguous",
    "mirror",
    "interleaved",
    "dilations",
    "synthesized",
    "mixture",
    "data_arranged",
]
"""A family a budget may allow (``geometries``)."""

Family: TypeAlias = Literal["shallow"] | AllowedFamily
"""A candidate's family: an allowed one, or the shallow baseline every search evaluates."""

FAMILIES: Final[tuple[AllowedFamily, ...]] = (
    "contiguous",
    "mirror",
    "interleaved",
    "dilations",
    "synthesized",
    "mixture",
    "data_arranged",
)
"""The families a budget may allow (the shallow baseline is always evaluated). ``mixture``
(two of the best trees summed at their shared levels, advisor/search/mixtures.py) only on
request."""

DEFAULT_FAMILIES: Final[tuple[AllowedFamily, ...]] = (
    "contiguous",
    "mirror",
    "interleaved",
    "dilations",
    "data_arranged",
)
"""The families searched when a budget names none (``data_arranged`` applies to tasks with an
arrangement only). ``synthesized`` trees are searched only on
request: they win on the model by scattering every window across the grid, and trained they lose
to contiguous pooling on local tasks and to mirror pooling on symmetry (docs/OUTCOMES.md)."""

ObjectiveKind: TypeAlias = Literal["weighted", "maximin"]

WidthProfile: TypeAlias = Literal["practical", "free"]
"""``practical``: geometric width ladders in a standard CNN's shape, equal scores going to the one
that uses more of the budget (:mod:`advisor.search.profiles`); ``free``: any widths from the
choices, the rank optimum alone (the first version's search, which favours bottlenecks that train
badly)."""


PRACTICAL_ONLY: Final = (
    "min_width",
    "min_representation",
    "max_representation",
    "max_window",
    "max_step",
    "max_multiply_adds",
    "max_activations",
)
"""Budget fields only a practical search uses; a free budget that sets one is refused."""

DEFAULT_MIN_CHANNELS: Final = 4
"""Narrowest default width choice (see :meth:`Budget.choices`)."""

DEFAULT_MIN_WIDTH: Final = 8
"""Narrowest hidden width of a practical profile unless the outputs ask for more."""

DEFAULT_COMPUTE_FACTOR: Final = 4
"""A practical search's default compute bound, in multiples of the multiply-adds of the standard
CNN of the same parameter budget (contiguous 2-per-axis pooling, widths doubling per level): two
nets of one parameter count can differ a hundredfold in compute, and a recommendation that trains
twenty times slower than what a practitioner would build is no recommendation."""

DEFAULT_MAX_WINDOW: Final = 16
"""Largest pooling window (locations) of a recommendable tree by default: a max-pooled window of
k locations passes one value of k per channel, so a 16x16 global max pool throws away most of
what the layers below computed."""


def _whole(value: Any) -> Any:
    """Refuse a boolean (Python's or NumPy's) or a text where a budget takes a whole number.

    Left to pydantic's lax mode, ``top_k: true`` and ``np.True_`` read as 1 and
    ``max_parameters: "3"`` as 3, as the task's fields never do; a whole float (``2e5``) stays
    accepted, as Python callers write budgets that way. A text is told the count to write
    (:func:`_text_for_count`). A whole float and a NumPy integer are handed on as the ``int``
    they equal, so one past the field's range is refused by its bound ("less than or equal to
    ..."): pydantic says "Unable to parse input string as an integer" of ``1e300`` or
    ``np.uint64(2**64 - 1)``, which are no strings.
    """
    if isinstance(value, str):
        raise PydanticCustomError("int_type", _TEXT_FOR_COUNT, {"advice": _text_for_count(value)})
    if is_boolean(value):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    number = whole_number(value)
    return value if number is None else number


_TEXT_FOR_COUNT: Final = "Input should be a valid integer, not a text: {advice}"
"""The refusal of a text where a budget takes a count, as a float's and a boolean's name theirs."""


def _text_for_count(text: str) -> str:
    """Say what to write for a budget count given as ``text``: the count it reads as, if any.

    ``"200k"`` is the command line's and Katib's form of a count (:func:`read_count`), easily
    carried into a budget built in Python, where pydantic's "Input should be a valid integer"
    did not say that a text was given, nor what to write instead.
    """
    try:
        count = read_count(text)
    except ValueError:  # a CountTooLongError too: no count to write
        return f"got {text!r}"
    return f"write {count} ({text.strip()!r} is the command line's form)"


def scaled_parameters(max_parameters: int, scale: float) -> int:
    """Return ``scale`` times a parameter budget, rounded down: the one rule for a larger budget.

    The rationale prices 10% more budget in four places (the ladders that fit it, the ranking's
    tie-break, the reason no wider ladder is taken, the figure it prints); each takes its limit
    here, so a count fits the larger budget in one of them exactly when it fits in all.
    """
    return int(max_parameters * scale)


def default_hidden_floor(outputs: int) -> int:
    """Return the narrowest hidden width of a practical profile that sets no ``min_width``.

    :data:`DEFAULT_MIN_WIDTH`, or the outputs where there are more of them; the one rule for
    the search's floor and for the page token, which reads ``min_width`` at this value as unset.
    """
    return max(outputs, DEFAULT_MIN_WIDTH)


def _default_choices(max_channels: int) -> list[int]:
    """Return the default allowed widths up to ``max_channels`` (:meth:`Budget.choices`)."""
    floor = min(DEFAULT_MIN_CHANNELS, max_channels).bit_length() - 1
    powers = {1 << bit for bit in range(floor, max_channels.bit_length())}
    return sorted({*powers, max_channels})


def default_profile_choices(max_channels: int) -> list[int]:
    """Return the default widths of a practical profile up to ``max_channels``, ascending.

    The default allowed widths with the quarter steps between them
    (:meth:`Budget.profile_choices`).
    """
    powers = _default_choices(max_channels)
    steps = {p * quarters // 4 for p in powers for quarters in (5, 6, 7)}
    return sorted({*powers, *(step for step in steps if step < max_channels)})


def seed_problem(seed: int) -> str | None:
    """Return why ``seed`` is refused, or None: a seed runs from 0 to 2^63 - 1.

    numpy's generators take non-negative seeds only, and the wire carries a seed as ``int64``.
    Every seed a request carries (``budget.seed``, InferTask's ``seed``) is checked here, so
    each refusal states the whole range in the same words (the caller names the field).
    """
    if 0 <= seed <= INT64_MAX:
        return None
    return f"is {seed:,}: must be between 0 and 2^63 - 1"


_UNORDERED: Final = frozenset({"channel_choices", "geometries"})
"""Budget fields whose lists the search reads as sets: their order asks for no other search."""


CLASS_COUNT_KEYS: Final[Mapping[str, str]] = dict.fromkeys(
    ("classes", "num_classes", "n_classes", "num_outputs"),
    "write the class count as outputs (the network's outputs)",
)
"""Other frameworks' names for ``outputs``, a task's and a budget's: refused with its name
(``foreign_keys``, which :func:`advisor.validation_messages.invalid_request_from_pydantic`
reads)."""


class Budget(NullsOmitted):
    """The search request's options (docs/FORMATS.md §5).

    Built in Python (``Budget(max_parameters=200_000)``) or from a mapping
    (``Budget.model_validate(...)``), it raises :class:`~advisor.errors.InvalidRequestError`
    naming each offending field as the search and the service do (``budget.top_k``), never
    pydantic's own error: a budget is what a library caller writes by hand, the one request
    part not read from a document (:func:`~advisor.model.task.parse_task`).

    Save one as its caller set it, ``model_dump(exclude_unset=True)`` (or pickle it): which
    fields it sets means more than their values (a ``max_window`` set binds where the default
    gives way; a practical-only field set on a free budget is refused), so a whole
    ``model_dump()`` reads back as another budget, or not at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    # Every refusal, pydantic's and the checks across fields, on budget.<field> (RequestModel).
    _error_prefix: ClassVar[str] = "budget"
    foreign_keys: ClassVar[Mapping[str, str]] = CLASS_COUNT_KEYS

    max_parameters: int = Field(
        gt=0, le=INT64_MAX, description="Upper bound on Architecture.parameters."
    )
    min_depth: int | None = Field(
        default=None, gt=0, le=INT32_MAX, description="Fewest hidden layers."
    )
    max_depth: int | None = Field(
        default=None, gt=0, le=INT32_MAX, description="Most hidden layers."
    )
    channel_choices: (
        tuple[Annotated[int, BeforeValidator(_whole), Field(le=INT32_MAX)], ...] | None
    ) = Field(
        default=None,
        min_length=1,
        description="Allowed widths, M included; default powers of two from "
        "DEFAULT_MIN_CHANNELS up to max_channels.",
    )
    max_channels: int = Field(
        default=512, gt=1, le=INT32_MAX, description="Largest default width choice."
    )
    geometries: tuple[AllowedFamily, ...] | None = Field(
        default=None,
        description="Families that may be recommended; default DEFAULT_FAMILIES where they apply.",
    )
    search_dilations: bool = Field(
        default=True,
        description="Search dilation orders (1-D inputs, or a sequence written with axes of one "
        "location, as [1, 64]).",
    )
    top_k: int = Field(default=5, gt=0, le=INT32_MAX, description="Recommendations to return.")
    time_limit_seconds: float | None = Field(
        default=10.0, gt=0, allow_inf_nan=False, description="Wall-clock limit; None: none."
    )
    seed: int = Field(
        default=0,
        description="Seed of every random choice, 0 to 2^63 - 1 (numpy's generators take "
        "non-negative seeds only): the dilation orders sampled where there are more than "
        "MAX_DILATION_ORDERS, and the order a time-limited search visits dilation orders and "
        "synthesized layouts in.",
    )
    objective: ObjectiveKind = "weighted"
    log2_rank_target: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="Target per correlation (log2)."
    )
    outputs: int | None = Field(
        default=None,
        gt=0,
        le=INT32_MAX,
        description="Y, the outputs of every candidate; None: the task's outputs, else 1.",
    )
    representation_kernel: int = Field(
        default=1,
        gt=0,
        le=INT32_MAX,
        description="k of the k x k representation conv of every candidate.",
    )
    width_profile: WidthProfile = Field(
        default="practical", description="practical (default) or free widths; see WidthProfile."
    )
    min_width: int | None = Field(
        default=None,
        gt=0,
        le=INT32_MAX,
        description="Narrowest hidden width of a practical profile; default "
        "max(outputs, DEFAULT_MIN_WIDTH).",
    )
    min_representation: int = Field(
        default=4, gt=0, le=INT32_MAX, description="Smallest M (practical)."
    )
    max_representation: int = Field(
        default=64, gt=0, le=INT32_MAX, description="Largest M (practical)."
    )
    max_window: int | None = Field(
        default=DEFAULT_MAX_WINDOW,
        gt=1,
        le=INT32_MAX,
        description="Largest pooling window (locations) a practical recommendation may have; the "
        "default gives way where no tree meets it, a value set that no tree meets is refused; "
        "None: no bound.",
    )
    max_step: int | None = Field(
        default=None,
        gt=1,
        le=INT32_MAX,
        description="Widest pooling step per axis below the top level of a practical "
        "recommendation (2: 2x2 pooling only); a value no tree meets is refused; None: no bound.",
    )
    max_multiply_adds: int | None = Field(
        default=None,
        gt=0,
        le=INT64_MAX,
        description="Upper bound on multiply-adds per input; default (practical): "
        "DEFAULT_COMPUTE_FACTOR times the standard CNN's at this parameter budget.",
    )
    max_activations: int | None = Field(
        default=None,
        gt=0,
        le=INT64_MAX,
        description="Upper bound on Architecture.activations, the values one input's forward "
        "pass holds (the memory a batch needs beyond the weights); practical only, as the "
        "compute bound is: the free profile allocates widths by parameters alone. None (the "
        "default): no bound; unlike max_multiply_adds there is none by default, since no "
        "standard CNN's figure says what memory the caller's device has.",
    )
    page_token: str | None = Field(
        default=None,
        min_length=1,
        description="Continue a ranking: the next_page_token of the previous result of the same "
        "request (all fields but top_k, time_limit_seconds and page_token equal); None: page 1.",
    )

    @field_validator(
        "max_parameters",
        "min_depth",
        "max_depth",
        "max_channels",
        "top_k",
        "seed",
        "outputs",
        "representation_kernel",
        "min_width",
        "min_representation",
        "max_representation",
        "max_window",
        "max_step",
        "max_multiply_adds",
        "max_activations",
        mode="before",
    )
    @classmethod
    def _an_integer(cls, value: Any) -> Any:
        return _whole(value)

    @field_validator("max_window", "max_step", mode="wrap")
    @classmethod
    def _a_bound(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # "is 1: must be greater than 1" did not say how to set no bound, which each way of
        # giving a budget writes otherwise (a request's 0 is one).
        try:
            return handler(value)
        except ValidationError as refused:
            if refused.errors()[0]["type"] != "greater_than":
                raise
            given = refused.errors()[0]["input"]
            raise ValueError(
                f"is {number_text(given)}: must be at least 2 (a window or step of 1 pools "
                "nothing); for no bound give null (none on the command line, 0 in a gRPC request)"
            ) from None

    @field_validator("time_limit_seconds", "log2_rank_target", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        return finite_number(value)

    @field_validator("search_dilations", mode="before")
    @classmethod
    def _a_boolean(cls, value: Any) -> bool:
        # pydantic reads "no", "off", 0 and 1.0 as booleans; a NumPy boolean is one.
        problem = boolean_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return bool(value)

    @field_validator("seed")
    @classmethod
    def _seed_in_range(cls, seed: int) -> int:
        problem = seed_problem(seed)
        if problem is not None:
            raise ValueError(problem)
        return seed

    def practical_fields(self) -> list[str]:
        """Return the :data:`PRACTICAL_ONLY` fields this budget sets: a free search refuses them."""
        return [
            field
            for field in PRACTICAL_ONLY
            if field in self.model_fields_set and getattr(self, field) is not None
        ]

    @model_validator(mode="after")
    def _consistent(self) -> Budget:
        """Refuse fields that contradict each other, each on the field to change, all at once.

        Depth and ``M`` bounds that cross, practical-only fields beside the free profile,
        ``max_channels`` beside ``channel_choices``, repeated or non-positive widths and
        families, then (a practical budget otherwise sound) an ``M`` range no width reaches.
        """
        violations = []
        low, high = self.min_depth, self.max_depth
        if low is not None and high is not None and low > high:
            violations.append(("max_depth", f"must be at least budget.min_depth ({low})"))
        if self.min_representation > self.max_representation:
            violations.append(self._representation_order())
        if self.width_profile == "free":
            violations.extend(
                (
                    field,
                    "applies to the practical width profile only (budget.width_profile): the "
                    "free profile allocates widths by parameters alone",
                )
                for field in self.practical_fields()
            )
        if self.channel_choices is not None and "max_channels" in self.model_fields_set:
            violations.append(
                (
                    "max_channels",
                    "applies to the default widths only: budget.channel_choices lists the "
                    "widths, the widest of them the widest layer; give one of the two",
                )
            )
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
                if family in self.geometries[:i]:
                    violations.append((f"geometries[{i}]", f"repeats {family}"))
        if not violations and self.width_profile == "practical":
            violations.extend(self._representation_range())
        if violations:
            raise InvalidRequestError([FieldViolation(path, text) for path, text in violations])
        return self

    def _representation_order(self) -> tuple[str, str]:
        """Refuse an M range whose bounds cross, on the bound the caller set.

        A ``min_representation`` above the default ``max_representation`` (64) is that bound's
        problem: blaming ``max_representation``, which the caller never gave, sent them to an
        option they had not written.
        """
        low, high = self.min_representation, self.max_representation
        if "max_representation" in self.model_fields_set:
            return ("max_representation", f"must be at least budget.min_representation ({low})")
        return (
            "min_representation",
            f"is {low:,}, above budget.max_representation ({high}, its default); lower it or "
            "raise budget.max_representation",
        )

    def _representation_range(self) -> list[tuple[str, str]]:
        """Refuse an M range the caller set that holds no width a practical profile may take.

        Left at its defaults, the range gives way to the allowed widths (a caller who allows
        only narrow widths gets narrow nets, and the search says so); a range the caller set
        is kept, or refused naming its bound.
        """
        stated = {"min_representation", "max_representation"} & self.model_fields_set
        low, high = self.min_representation, self.max_representation
        allowed = self.profile_choices()
        if not stated or any(low <= width <= high for width in allowed):
            return []
        if low > allowed[-1]:
            return [
                (
                    "min_representation",
                    f"is {low:,}, wider than every allowed width (the widest is "
                    f"{allowed[-1]:,}, budget.{self.widest_field()}); lower it or allow wider "
                    "widths",
                )
            ]
        if high < allowed[0]:
            return [
                (
                    "max_representation",
                    f"is {high:,}, narrower than every allowed width (the narrowest is "
                    f"{allowed[0]:,}); raise it or allow narrower widths (budget.channel_choices)",
                )
            ]
        below = max(width for width in allowed if width < low)
        above = min(width for width in allowed if width > high)
        field = "min_representation" if "min_representation" in stated else "max_representation"
        return [
            (
                field,
                f"leaves no allowed width for M from {low:,} to {high:,} (the nearest allowed "
                f"are {below:,} and {above:,})",
            )
        ]

    def stated_bounds(self) -> frozenset[str]:
        """Return the window bounds (``max_window``, ``max_step``) the caller set to a number.

        A bound the caller set binds: a tree past it is not recommended, not even when a stop
        leaves only the shallow net, and one no tree meets is refused
        (:func:`~advisor.search.checks.check_bounds`). ``max_window`` left at its default of
        :data:`DEFAULT_MAX_WINDOW` gives way instead, so equal values can ask for two searches.
        """
        return frozenset(
            field
            for field in ("max_window", "max_step")
            if field in self.model_fields_set and getattr(self, field) is not None
        )

    def _search_identity(self) -> tuple[object, ...]:
        """Return what tells budgets that ask for different searches apart.

        The fields, ``channel_choices`` and ``geometries`` as the sets the search reads them as
        (it sorts the widths and only asks whether it may use each family), and the
        :meth:`stated_bounds`. The fields themselves keep the order the caller gave.
        """
        fields = (
            frozenset(value) if name in _UNORDERED and value is not None else value
            for name, value in self.__dict__.items()
        )
        return (*fields, self.stated_bounds())

    def __eq__(self, other: object) -> bool:
        """Whether ``other`` asks for the same search (:meth:`_search_identity`).

        pydantic compares the fields alone, as given: ``Budget(max_parameters=N)`` equalled
        ``Budget(max_parameters=N, max_window=16)`` and hashed alike while the second was
        refused where no tree meets the bound, and a cache of results keyed by budget answered
        it with the first's search; and the same families (or widths) listed in another order,
        one search, compared unequal, so such a cache searched again (a Python set of
        families lists them otherwise in each process, with ``PYTHONHASHSEED``).
        """
        if not isinstance(other, Budget):
            return NotImplemented
        return type(self) is type(other) and self._search_identity() == other._search_identity()

    def __hash__(self) -> int:
        return hash(self._search_identity())

    def widest_field(self) -> str:
        """Return the field that sets the widest allowed width."""
        return "channel_choices" if self.channel_choices is not None else "max_channels"

    def choices(self) -> list[int]:
        """Return the allowed widths, ascending.

        By default no layer is narrower than :data:`DEFAULT_MIN_CHANNELS`: a width the task's
        correlations do not need would otherwise fall to 1 (ties go to fewer parameters), and a
        1- or 2-channel layer is a bottleneck for everything the task does not describe, such as
        the classifier's outputs. Explicit ``channel_choices`` may go lower. The default
        choices are the powers of two up to ``max_channels`` and ``max_channels`` itself, so the
        widest layer can be as wide as the caller allows.
        """
        if self.channel_choices is not None:
            return sorted(self.channel_choices)
        return _default_choices(self.max_channels)

    def families(self) -> list[AllowedFamily]:
        """Return the families the search may recommend (``geometries`` or the defaults)."""
        return list(self.geometries or DEFAULT_FAMILIES)

    def profile_choices(self) -> list[int]:
        """Return the widths a practical profile may take, ascending.

        The explicit ``channel_choices``, else the default powers of two with the quarter
        steps ``5 * 2^k``, ``6 * 2^k`` and ``7 * 2^k`` between them (4, 5, 6, 7, 8, 10, 12, 14,
        16, 20, ...): consecutive widths at most a factor 1.25 apart, so a ladder's parameters
        (about the square of its width) step by at most 1.56 and a practical net spends most of
        its budget. With steps of 1.33-1.5 (8, 12, 16, 24, ...) picks often stopped at 55-80% of
        it, a level or a width short of the deepest constant ladders, which trained best
        (docs/OUTCOMES.md, "Widths a quarter step apart").
        """
        if self.channel_choices is not None:
            return sorted(self.channel_choices)
        return default_profile_choices(self.max_channels)

    def outputs_for(self, task_outputs: int | None) -> int:
        """Return the outputs of every candidate: the budget's, else the task's, else 1."""
        return self.outputs or task_outputs or 1

    def hidden_floor(self, outputs: int) -> int:
        """Return the narrowest hidden width of a practical profile with ``outputs`` outputs."""
        return self.min_width if self.min_width is not None else default_hidden_floor(outputs)

    def floor_outputs(self, outputs: int) -> int | None:
        """Return ``outputs`` when they set :meth:`hidden_floor`, else None.

        They do without a min_width, above its default; the messages say where the floor
        comes from.
        """
        floor = self.hidden_floor(outputs)
        return floor if self.min_width is None and floor > DEFAULT_MIN_WIDTH else None
