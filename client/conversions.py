"""The client's conversions: its arguments to models and request messages, answers to models.

A ``task``, ``architecture`` or ``budget`` argument (a model, its file-format mapping, or a file's
path) is read into the library's model as every call reads it, validated by the library, and
encoded by :mod:`advisor.protocol.wire`, the one converter; whatever cannot go (a wrong type, a
violation of the model, a number past its wire field) is refused with
:class:`~advisor.errors.InvalidRequestError`, its field path under the argument's name, before
anything is sent. An answer is decoded by the same converter, and one the library rejects is the
server's fault (``INTERNAL``). The integrations (advisor/integrations) read their arguments with
:func:`task_model` and :func:`budget_model`, so they take what the client takes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeAlias, TypeVar

import grpc
import pydantic
from advisor_client.errors import AdvisorRpcError
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.model.architecture import Architecture, checked_rank, parse_architecture
from advisor.model.arguments import whole_result_hint
from advisor.model.budget import Budget
from advisor.model.documents import read_document
from advisor.model.results import SearchResult
from advisor.model.task import Task, parse_task
from advisor.model.text import article
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2

__all__ = [
    "ArchitectureLike",
    "BudgetLike",
    "TaskLike",
    "architecture_model",
    "architecture_proto",
    "budget_model",
    "budget_proto",
    "decoded_response",
    "decoded_page",
    "task_model",
    "task_proto",
]

TaskLike: TypeAlias = Task | Mapping[str, Any] | str | os.PathLike[str]
"""A :class:`~advisor.model.task.Task`, its file-format mapping, or the path of a YAML/JSON task
file."""
ArchitectureLike: TypeAlias = Architecture | Mapping[str, Any] | str | os.PathLike[str]
"""An :class:`~advisor.model.architecture.Architecture`, its file-format mapping, or the path of
an architecture file or of a saved ``advisor recommend --format json|yaml`` result."""
BudgetLike: TypeAlias = Budget | Mapping[str, Any]
"""A :class:`~advisor.model.budget.Budget` or the mapping of its fields (``{"max_parameters":
...}``)."""

_Message = TypeVar("_Message", bound=Message)
_Decoded = TypeVar("_Decoded")
_Model = TypeVar("_Model", bound=pydantic.BaseModel)


def task_model(task: TaskLike) -> Task:
    """Return the :class:`Task` a ``task`` argument stands for, as every call reads it.

    The integrations (advisor/integrations) read their ``task`` arguments with it too, so they
    take what the client takes.

    Raises
    ------
    InvalidRequestError
        With every violation under ``task`` (``task.correlations[0].a.indices``), or on
        ``task`` for a value of the wrong type.
    """
    return _model("task", task, Task, parse_task, _task_document)


def _task_document(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """Read a task file; one that cannot be read, or holds no mapping, is refused on ``task``."""
    try:
        return read_document(path, "task")
    except InvalidRequestError as error:
        raise error.prefixed("task") from None


def budget_model(budget: BudgetLike) -> Budget:
    """Return the :class:`Budget` a ``budget`` argument stands for, as every call reads it.

    Raises
    ------
    InvalidRequestError
        With every violation under ``budget`` (``budget.max_parameters``), a value of the wrong
        type included, as :class:`Budget` raises it.
    """
    return budget if isinstance(budget, Budget) else Budget.model_validate(budget)


def task_proto(task: TaskLike) -> advisor_pb2.Task:
    """Return the request message of a ``task`` argument, read by :func:`task_model`."""
    model = task_model(task)
    return _encoded("task", model, wire.task_to_proto, advisor_pb2.Task.DESCRIPTOR)


def architecture_model(architecture: ArchitectureLike, rank: int | None) -> Architecture:
    """Return the design an ``analyze`` argument stands for (``rank``: a result file's pick)."""
    if rank is not None:
        rank = checked_rank(rank)
        if not isinstance(architecture, str | os.PathLike):
            kind = type(architecture).__name__
            raise InvalidRequestError.single(
                "rank",
                "picks a recommendation of a result file; the architecture is "
                f"{article(kind)} {kind}, not a file path",
            )
    return _model(
        "architecture",
        architecture,
        Architecture,
        parse_architecture,
        lambda path: _design(path, rank),
    )


def _design(path: str | os.PathLike[str], rank: int | None) -> Architecture:
    """Read the design a path stands for as ``advisor analyze --arch`` does, by its reader.

    So a result file whose chosen recommendation states a dilation order its architecture does
    not pool by is refused here too, naming ``architecture.recommendations[i].dilations``.
    """
    # Loaded on first use: the reader needs the geometry, which importing the client does not.
    from advisor.export.document import design_argument

    return design_argument(path, rank).architecture


def architecture_proto(design: Architecture) -> advisor_pb2.Architecture:
    """Encode the design :func:`architecture_model` read (``analyze`` decodes its answer by it)."""
    return _encoded(
        "architecture", design, wire.architecture_to_proto, advisor_pb2.Architecture.DESCRIPTOR
    )


def budget_proto(budget: BudgetLike) -> advisor_pb2.Budget:
    """Return the request message of a ``budget`` argument, read by :func:`budget_model`."""
    model = budget_model(budget)
    return _encoded("budget", model, wire.budget_to_proto, advisor_pb2.Budget.DESCRIPTOR)


def _model(
    field: str,
    value: Any,
    model_type: type[_Model],
    parse: Callable[[Mapping[str, Any]], _Model],
    read: Callable[[str | os.PathLike[str]], Mapping[str, Any] | _Model],
) -> _Model:
    """Return the model a task or architecture argument stands for, validated by the library.

    A model is taken as it is, a mapping parsed, and a path's file read by ``read`` (whose
    refusals name their fields in full) and parsed, or taken as it is where ``read`` validated
    it already (an architecture argument, :func:`_design`); anything else (a
    number, None) is refused naming ``field``, as is every violation of the parse, placed
    under it. A value that holds the model as its attribute ``field`` (a recommendation's
    ``.architecture``, an inference report's ``.task``) is told to pass that, and a whole
    search result where an architecture goes to pass one of its recommendations'.
    """
    if isinstance(value, str | os.PathLike):
        value = read(value)
    try:
        if isinstance(value, model_type):
            return value
        if isinstance(value, Mapping):
            return parse(value)
    except InvalidRequestError as error:
        raise error.prefixed(field) from None
    holds = isinstance(getattr(value, field, None), model_type)
    hint = f": pass its .{field}" if holds else ""
    if model_type is Architecture:
        hint = hint or whole_result_hint(value)
    raise InvalidRequestError.single(
        field,
        f"expected {model_type.__name__}, a mapping or a file path; got {type(value).__name__}"
        + hint,
    )


def _encoded(
    field: str, model: _Model, encode: Callable[[_Model], _Message], message: Descriptor
) -> _Message:
    """Encode ``model`` as the request field ``field`` (a ``message``), naming what cannot go.

    The library's models refuse a number past its wire field on their own
    (:data:`~advisor.model.scalars.PositiveInt32`), but a model built without validation
    (``model_construct``) may hold one: protobuf
    refuses it (``ValueError``: a channel count past 2^31 - 1), and the number is then found in
    the model's file form, so the error has its field path (``architecture.layers[0].channels``)
    like any other rejection.
    """
    try:
        return encode(model)
    except InvalidRequestError as error:
        raise error.prefixed(field) from None
    except ValueError as error:
        document = model.model_dump(mode="json", exclude_none=True)
        violations = list(_out_of_range(document, message, field))
        raise InvalidRequestError(
            violations
            or [FieldViolation(field, f"a value cannot be carried by the request ({error})")]
        ) from None


_INTEGER_RANGES: Final = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
"""What a proto integer field can hold, by its C++ type (sint32 and sfixed32 are int32, ...)."""


def _out_of_range(document: object, message: Descriptor, path: str) -> Iterator[FieldViolation]:
    """Yield a violation, at its path, for each whole number too large for its field.

    ``document`` is a model's file form (``model_dump(mode="json")``) and ``message`` the proto
    message carrying it; their names agree. Where the file form writes a message as a list, the
    list is the values of its one repeated field (``indices: [...]``, ``permutation: [...]``)
    or its fields in order (a padding's ``[before, after]``).
    """
    if isinstance(document, Mapping):
        entries = [
            (message.fields_by_name.get(key), f"{path}.{key}", value)
            for key, value in document.items()
        ]
    elif isinstance(document, list) and len(message.fields) == 1 and message.fields[0].is_repeated:
        entries = [(message.fields[0], path, document)]
    elif isinstance(document, list):
        entries = [
            (field, f"{path}[{index}]", value)
            for index, (field, value) in enumerate(zip(message.fields, document, strict=False))
        ]
    else:
        return
    for field, at, value in entries:
        if field is not None and field.is_repeated and isinstance(value, list):
            for index, item in enumerate(value):
                yield from _value_out_of_range(field, item, f"{at}[{index}]")
        elif field is not None:
            yield from _value_out_of_range(field, value, at)


def _value_out_of_range(
    field: FieldDescriptor, value: object, path: str
) -> Iterator[FieldViolation]:
    if field.message_type is not None:
        yield from _out_of_range(value, field.message_type, path)
        return
    bounds = _INTEGER_RANGES.get(field.cpp_type)
    if bounds is None or not isinstance(value, int) or isinstance(value, bool):
        return
    lowest, highest = bounds
    if not lowest <= value <= highest:
        # The bound passed is the one to state: "-2147483648 to 2147483647" beside a count
        # read as if negative counts were allowed.
        side, bound = ("more", highest) if value > highest else ("less", lowest)
        yield FieldViolation(path, f"{value:,} is {side} than the request can carry ({bound:,})")


def decoded_page(message: advisor_pb2.SearchResult, budget: advisor_pb2.Budget) -> SearchResult:
    """Decode a search's result; refuse the first page answered to ``budget``'s page token.

    A page a token asks for starts after the second design at least, so its ranks never start
    at 1. A server that predates page tokens skips the field unread and answers the first page,
    without a next page's token: read as the page asked for, it repeated designs and ended the
    ranking there.

    Raises
    ------
    AdvisorRpcError
        ``UNIMPLEMENTED``, for such an answer.
    """
    result = decoded_response(wire.search_result_from_proto, message)
    first = [r.rank for r in result.recommendations[:1]]
    if budget.HasField("page_token") and first == [1]:
        raise AdvisorRpcError(
            grpc.StatusCode.UNIMPLEMENTED,
            "the server answered the first page: it skipped budget.page_token, which it "
            "predates (page tokens need a server as recent as the client)",
        )
    return result


def decoded_response(decode: Callable[[_Message], _Decoded], message: _Message) -> _Decoded:
    """Decode a response message; one the library rejects is the server's fault (INTERNAL)."""
    try:
        return decode(message)
    except InvalidRequestError as error:
        raise AdvisorRpcError(
            grpc.StatusCode.INTERNAL, f"the server sent a malformed response: {error}"
        ) from None
