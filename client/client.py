"""The typed Python client of the ``advisor.v1.ArchitectureAdvisor`` service.

Calls take and return the library's own pydantic models (converted by :mod:`advisor.protocol.wire`,
the one converter), so code written against :mod:`advisor` in-process works unchanged against a
remote server. Every call has a deadline; failures raise the typed exceptions of
:mod:`advisor_client.errors`. Its helpers have a module of their own each, by job: the checks
of its arguments (:mod:`advisor_client.checks`), the connection's settings
(:mod:`advisor_client.connection`), the conversions of arguments and answers
(:mod:`advisor_client.conversions`) and the reading of a stream ahead
(:mod:`advisor_client.streams`).

Retries. Transient ``UNAVAILABLE`` failures (a server restarting, a connection reset) are retried
with exponential backoff, by gRPC itself from the channel's service config, for the idempotent
calls: ``Analyze``, ``ListPresets``, ``InferTask``, ``Recommend`` (deterministic for the same
request) and ``FinishSearch`` (asked again, a search keeps its first deadline), and
``StreamRecommend`` only until its first event arrives (gRPC commits a call once the server has
answered, so a started stream is never replayed). Every attempt shares the call's one deadline,
and each is sent to the next of the target's addresses (``round_robin``): a retry of a call that a
draining replica refused meets another replica.
gRPC replays a request only while it still holds it in its retry buffer (256 KiB by default); the
client sizes that buffer to the largest message it may send, ``max_message_bytes``, so large
requests are retried like small ones. A channel whose server went away tries to reconnect at
least every ``max_backoff_seconds`` of the policy (gRPC's own wait grows to 120 s, and every
call fails at once while it waits), so a server that comes back is reached within the backoff.
A connection whose calls carry nothing for 20 s is pinged, and ended when a ping goes unanswered
for 20 s: its calls fail ``UNAVAILABLE`` rather than wait for their deadlines. A busy server's
refusal (``RESOURCE_EXHAUSTED``, ``SERVER_BUSY``) is retried by the client itself, and only when
the policy waits for a slot (``RetryPolicy.busy_wait_seconds``, :mod:`advisor_client.busy`),
within the call's one deadline; a stream only before its first event.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from types import TracebackType
from typing import Any, Final, NoReturn, Self, TypeVar

import grpc
from advisor_client.busy import BusyWait, Ended, Waiting
from advisor_client.checks import (
    MAX_TIMEOUT_SECONDS,
    checked_search_id,
    checked_target,
    checked_timeout,
)
from advisor_client.connection import (
    SERVICE,
    RetryPolicy,
    ServerVersion,
    TlsConfig,
    check_connection,
    server_version_from,
)
from advisor_client.conversions import (
    ArchitectureLike,
    BudgetLike,
    TaskLike,
    architecture_model,
    architecture_proto,
    budget_proto,
    decoded_page,
    decoded_response,
    task_model,
    task_proto,
)
from advisor_client.errors import (
    AdvisorRpcError,
    ClientClosedError,
    DeadlineExceededError,
    ResourceExhaustedError,
    answered_by_server,
    error_from_rpc,
)
from advisor_client.streams import StreamCalls, last_result, pass_on, read_status
from advisor_client.targets import is_loopback
from google.protobuf.message import Message

from advisor.errors import FieldViolation, LimitExceededError, RefusedLimit
from advisor.infer.report import InferenceReport
from advisor.infer.source import DataLike, data_graph, graph_options
from advisor.model.architecture import with_task_outputs
from advisor.model.arguments import (
    checked_inference_arguments,
    require_callback,
    require_flag,
    require_instance,
)
from advisor.model.budget import Budget
from advisor.model.results import Analysis, SearchProgress, SearchResult
from advisor.model.task import Presets
from advisor.protocol import wire
from advisor.protocol._proto.advisor.v1 import advisor_pb2, advisor_pb2_grpc
from advisor.protocol.metadata import (
    DEFAULT_MAX_MESSAGE_BYTES,
    INCOMING_REQUEST_ID_KEY,
    REQUEST_ID_METADATA_KEY,
    bearer_metadata,
)

__all__ = ["AdvisorClient"]

_Request = TypeVar("_Request", bound=Message)
_Response = TypeVar("_Response", bound=Message)

_ARGUMENT_OF_FIELD: Final = {"graph": "data"}
"""The argument a request field comes from, where their names differ (``infer_task``)."""


def _new_request_id() -> str:
    """Return the id a call sends as ``x-request-id``, which a server names the call by.

    A server answers with it, and an error keeps it where no status of the server's came: a
    search that ran into the caller's deadline was logged by the server under an id its
    caller never learned.
    """
    return uuid.uuid4().hex


_KEEPALIVE_SECONDS: Final = 20.0
"""How long a connection with calls open may carry nothing before the channel pings it. A server
(or a balancer) that stopped answering without closing the connection (a host lost, a process
stopped, a path dropped by a NAT) left a call waiting for its deadline, up to a search's time
limit and more; a ping not answered within :data:`_KEEPALIVE_TIMEOUT_SECONDS` now ends the
connection, and the call fails ``UNAVAILABLE``. At least the 10 s a server permits between a
client's pings (``grpc.http2.min_ping_interval_without_data_ms``), or it closes the connection
with GOAWAY ``too_many_pings``."""

_KEEPALIVE_TIMEOUT_SECONDS: Final = 20.0
"""How long a keepalive ping may go unanswered: the server's own bound on its pings."""

_HEALTH_RECHECK_SECONDS: Final = 0.1
"""How often ``check_health(wait_for_ready=True)`` asks again a server that answers NOT_SERVING."""

# A search stops itself at its time limit and then still has to send its result; a deadline equal
# to the limit would turn most complete-at-the-limit searches into DEADLINE_EXCEEDED.
_SEARCH_DEADLINE_MARGIN_SECONDS = 10.0

# The time limit of a search whose budget leaves it to the default (a server may lower it).
_DEFAULT_TIME_LIMIT_SECONDS: float = Budget.model_fields["time_limit_seconds"].default


class AdvisorClient:
    """A connection to an architecture-advisor server; use it as a context manager.

    Parameters
    ----------
    target
        ``host:port`` of the server (any gRPC target string: ``dns:///host:port``,
        ``unix:/path``, ``[::1]:50051``); a URL (``http://host:port``), an IPv6 address with
        a port but no brackets (``::1:50051``), a port that is no port number from 1 to
        65535 (``localhost:115587``, which gRPC would call as port 50051), an address with a
        path after it (``localhost:50051/``), one without a port on a plaintext channel
        (``localhost``, which gRPC would call on port 443, TLS's, in plaintext; with ``tls``
        it is left to that default), a Unix socket of no name (``unix:``) and
        ``unix://adv.sock`` (a typo of ``unix:adv.sock``) are refused, naming it.
    token
        Bearer token sent with every call when the server requires one: one line of printable
        ASCII with no space at either end, as gRPC sends it.
    tls
        TLS settings; ``None`` means a plaintext channel (local or trusted networks only).
    default_timeout
        Deadline in seconds of every call that does not pass its own ``timeout``. This and every
        ``timeout`` must be a finite number of seconds above 0 and at most
        :data:`MAX_TIMEOUT_SECONDS` (a year); NaN, infinity and larger values are refused with
        :class:`~advisor.errors.InvalidRequestError` naming the parameter, since gRPC cannot
        hold such a deadline.
    retry
        Retry policy for ``UNAVAILABLE`` on the idempotent calls, and how long a call waits for
        a busy server's slot (``busy_wait_seconds``, 0 by default: not at all).
    max_message_bytes
        Largest request the client sends and response it accepts; requests up to it are held for
        retries (each call its own copy, so any number in flight at once), larger ones refused
        before any call (:class:`~advisor.errors.LimitExceededError`, an
        ``InvalidRequestError`` naming the largest argument: ``task``, ``architecture`` or
        ``data``). Match the server's limit (``max_message_bytes``, 4 MiB by default); at most
        :data:`~advisor_client.connection.MAX_MESSAGE_BYTES` (2^31 - 1), what gRPC can hold.

    Raises
    ------
    InvalidRequestError
        From here and from every call, before anything is sent, for a setting or argument that
        cannot be sent, naming it: ``target`` (not a non-empty string), ``token``, ``tls`` and
        ``retry`` (not their types), ``max_message_bytes`` (not a whole number from 1 to
        :data:`~advisor_client.connection.MAX_MESSAGE_BYTES`), ``timeout``, ``exact`` (not a
        boolean, Python's or NumPy's), ``progress`` (not callable, or an ``async def`` one, never
        awaited), ``architecture.layers[0].channels``; and for a task, architecture or budget of the
        wrong type (``task: must be ...``).

    Examples
    --------
    >>> with AdvisorClient("localhost:50051") as advisor:  # doctest: +SKIP
    ...     result = advisor.recommend("examples/symmetry.yaml", {"max_parameters": 200_000})
    ...     print(result.recommendations[0].architecture.family)
    mirror
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        tls: TlsConfig | None = None,
        default_timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen: one shared default is safe
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        target = checked_target(target, plaintext=tls is None)
        max_message_bytes = check_connection(
            token=token, tls=tls, max_message_bytes=max_message_bytes
        )
        require_instance(retry, RetryPolicy, "retry")
        self._max_message_bytes = max_message_bytes
        self._default_timeout = checked_timeout("default_timeout", default_timeout)
        self._metadata = () if token is None else (bearer_metadata(token),)
        options: list[tuple[str, str | int]] = [
            *retry.channel_options(),
            # Each call holds its own request for retries; gRPC's core has no channel-wide
            # retry buffer (no ``grpc.retry_buffer_size``), so calls in flight at once on
            # this channel do not share one.
            ("grpc.per_rpc_retry_buffer_size", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.keepalive_time_ms", round(_KEEPALIVE_SECONDS * 1000)),
            ("grpc.keepalive_timeout_ms", round(_KEEPALIVE_TIMEOUT_SECONDS * 1000)),
            # What bounds the wait for a keepalive ping's answer in gRPC's transport: 1 minute
            # when unset, whatever the keepalive timeout says.
            ("grpc.http2.ping_timeout_ms", round(_KEEPALIVE_TIMEOUT_SECONDS * 1000)),
            # gRPC stops pinging after two pings with no data between them: a search that sends
            # nothing for a minute would go unwatched after its first 40 s.
            ("grpc.http2.max_pings_without_data", 0),
        ]
        if is_loopback(target):
            options.append(("grpc.enable_http_proxy", 0))
        self._target = target
        self._plaintext = tls is None
        # Whether a server answered on the channel, a result or a refusal: a plaintext one, if
        # the channel is, which gRPC's "Socket closed" then does not mean a server that wants
        # TLS (it died mid-call); a call's deadline then ran out on a server reached, not
        # maybe on none.
        self._answered = False
        self._server_version: ServerVersion | None = None
        self._without_certificate = tls is not None and tls.client_cert is None
        self._with_certificate = tls is not None and tls.client_cert is not None
        if tls is None:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            options += tls.channel_options()
            self._channel = grpc.secure_channel(target, tls.credentials(), options=options)
        self._stub = advisor_pb2_grpc.ArchitectureAdvisorStub(self._channel)
        self._health_check: grpc.UnaryUnaryMultiCallable[Any, Any] | None = None
        # Held by close() and wherever the channel is touched outside a call (a stub built):
        # gRPC's C core crashes the interpreter on a stub built on a closed channel.
        self._lock = threading.Lock()
        self._closed = False
        # Every call's wait for a busy server's slot, which close() and finish_search() end.
        self._waiting: set[Waiting] = set()
        self._retry = retry

    def recommend(
        self,
        task: TaskLike,
        budget: BudgetLike,
        *,
        progress: Callable[[SearchProgress], object] | None = None,
        timeout: float | None = None,
        search_id: str | None = None,
    ) -> SearchResult:
        """Search architectures for ``task`` under ``budget``; return the ranked recommendations.

        Parameters
        ----------
        task, budget
            The request; invalid input raises :class:`~advisor.errors.InvalidRequestError` before
            any call, with field paths under ``task`` / ``budget``.
        progress
            If given, the call streams (``StreamRecommend``) and ``progress`` receives the events
            on this thread: the newest one each time it is ready for one, and always the last
            before the result. The stream is read as it arrives (:meth:`stream_recommend`), so
            a callback slower than the events (a plot redrawn) skips the stale ones.
        timeout
            Deadline in seconds, as given: one shorter than the budget's time limit cuts the
            search, which returns its best designs so far (``complete`` false). None (the
            default) is ``default_timeout``, or the time limit plus a margin of 10 s when that is
            longer, so the search can use all the time it was given (at most
            :data:`MAX_TIMEOUT_SECONDS`: a longer time limit is the server's to refuse).
        search_id
            A name for the search (1 to 128 ASCII letters, digits and ``-._~``, e.g. a UUID),
            so that :meth:`finish_search` can end it early from another thread or process and
            this call still returns its best designs so far (``complete`` false). No other
            search of this caller running on the server may hold it
            (:class:`~advisor_client.errors.SearchIdInUseError`, ``ALREADY_EXISTS``);
            under mutual TLS the names are each client certificate's own, otherwise anyone who
            may call the server may finish a search whose name they know.
        """
        require_callback(progress, "progress")
        if progress is not None:
            stream = self._stream_request(task, budget, timeout, search_id)
            return self._result_with_progress(*stream, progress)
        request = advisor_pb2.RecommendRequest(
            task=task_proto(task),
            budget=budget_proto(budget),
            search_id=checked_search_id(search_id),
        )
        response = self._call(
            self._stub.Recommend,
            request,
            self._search_timeout(request.budget, timeout),
            search_id=request.search_id,
        )
        return decoded_page(response.result, request.budget)

    def stream_recommend(
        self,
        task: TaskLike,
        budget: BudgetLike,
        *,
        timeout: float | None = None,
        search_id: str | None = None,
    ) -> Generator[SearchProgress | SearchResult, None, None]:
        """Search like :meth:`recommend`, yielding progress events and then the result.

        The request is checked now; the call starts at the first ``next()``. The last item is
        always the :class:`~advisor.model.results.SearchResult`. A helper thread reads the
        events as they arrive, so a loop slower than they come (a plot redrawn per event)
        still gets the result, however late it reads it: read at the loop's pace, the result
        came after the call's deadline, which failed the call. Closing the generator
        (``close()``, or ``contextlib.closing`` around the loop) cancels the call, which stops
        the search on the server with no result; so does abandoning it, but only once nothing
        refers to it (an exception's traceback does while the exception lives). To stop it and
        keep its best designs so far, name it (``search_id``, as :meth:`recommend`) and call
        :meth:`finish_search`: the stream then ends with that result.
        """
        # Checked here, not in the generator: its body runs at the first next().
        return self._stream_events(*self._stream_request(task, budget, timeout, search_id))

    def _stream_request(
        self, task: TaskLike, budget: BudgetLike, timeout: float | None, search_id: str | None
    ) -> tuple[advisor_pb2.StreamRecommendRequest, float]:
        """Return a search's checked ``StreamRecommend`` request and its deadline in seconds."""
        request = advisor_pb2.StreamRecommendRequest(
            task=task_proto(task),
            budget=budget_proto(budget),
            search_id=checked_search_id(search_id),
        )
        deadline = self._search_timeout(request.budget, timeout)
        self._check_open()
        self._check_size(request)
        return request, deadline

    def analyze(
        self,
        task: TaskLike,
        architecture: ArchitectureLike,
        exact: bool = False,
        *,
        rank: int | None = None,
        timeout: float | None = None,
    ) -> Analysis:
        """Score ``architecture`` against every correlation of ``task``.

        A path is read as ``advisor analyze --arch`` reads it, by the command's own reader: an
        architecture file, or a saved ``advisor recommend --format json|yaml`` result, whose
        first recommendation is analysed, or the one of rank ``rank`` (refused, naming
        ``rank``, with an architecture file, a rank the result does not hold, or an
        architecture that is not a path). An architecture that states no ``outputs`` is sent
        with the task's (:func:`~advisor.model.architecture.with_task_outputs`), as ``analyze``
        scores it. ``exact=True`` asks the server to certify each rank
        with the exact engine (small inputs only; larger ones are rejected as
        ``INVALID_ARGUMENT``).
        """
        read = task_model(task)  # checked first, as the server checks it first
        task_message = task_proto(read)
        design = with_task_outputs(architecture_model(architecture, rank), read.outputs)
        request = advisor_pb2.AnalyzeRequest(
            task=task_message,
            architecture=architecture_proto(design),
            exact=require_flag(exact, "exact"),
        )
        response = self._call(self._stub.Analyze, request, timeout)
        return decoded_response(
            lambda message: wire.analysis_from_proto(message, design), response.analysis
        )

    def infer_task(
        self,
        data: DataLike,
        *,
        shape: Sequence[int] | None = None,
        top_k: int | None = None,
        allow_constant: bool | None = None,
        outputs: int | None = None,
        seed: int = 0,
        timeout: float | None = None,
    ) -> InferenceReport:
        """Infer a task and an arrangement from a data sample.

        The dependence graph (each location's ``top_k`` strongest |Pearson| pairs) is computed
        here, streaming over ``data``; only that summary is sent, never the data. The server reads
        only the pairs above what independent locations reach (the report's ``threshold`` and
        ``evidence``); the report's ``task`` is None when the data shows no dependence to model.

        Parameters
        ----------
        data
            An array ``(samples, *grid[, channels])``, a file (``.npy``, ``.npz``, ``.csv``), a
            :class:`~advisor.infer.data.DataSample` or an already computed
            :class:`~advisor.infer.graph.DependenceGraph`. A masked array with a value masked
            is refused (``data``): its mask would not be read, its masked-out values would.
        shape
            The grid of an array or a file (default: the array's shape after the samples axis).
        top_k, allow_constant
            As :func:`advisor.infer.dependence.dependence_graph`; None (the default) leaves its
            defaults (``DEFAULT_TOP_K``, 16, and False).
        outputs
            The task's classes (e.g. the distinct labels), if known.
        seed
            Seed of the server's graph partitioner.
        timeout
            Deadline of the call in seconds (default: the client's): of the call alone, which
            starts once the dependence graph is computed here (seconds on a large sample), so
            it does not bound that computation.

        Raises
        ------
        ClientClosedError
            On a closed client, after the arguments are checked and before the graph is
            computed.
        InvalidRequestError
            Before any call: for an argument of the wrong type or out of range, naming it
            (``outputs``: 1 to 2^31 - 1 or None; ``seed``: 0 to 2^63 - 1; ``top_k``: 1 to
            ``MAX_TOP_K``; ``allow_constant``: a boolean, NumPy's too; ``shape``: positive whole
            numbers), whatever the data; then for an argument the data already fixes, which
            would go unread (``shape`` with a ``DataSample``, any of the three with a
            ``DependenceGraph``); then for bad data (``data``, ``data.shape``).
        """
        outputs, seed = checked_inference_arguments(outputs, seed)
        options = graph_options(shape, top_k, allow_constant)
        self._check_open()  # before the graph, which may take seconds to compute
        graph = data_graph(data, options)
        request = advisor_pb2.InferTaskRequest(
            graph=wire.dependence_graph_to_proto(graph), outputs=outputs, seed=seed
        )
        response = self._call(self._stub.InferTask, request, timeout)
        return decoded_response(wire.inference_report_from_proto, response)

    def finish_search(self, search_id: str, *, timeout: float | None = None) -> bool:
        """Ask the running search named ``search_id`` to finish now; False if none runs so named.

        The search's own call (:meth:`recommend` or :meth:`stream_recommend` with this
        ``search_id``, from any thread or process) then returns as its time limit would have it:
        ``complete`` false, with the best designs found so far. False: no search of that name
        runs on the server (not yet started, or already answered of itself; under mutual TLS,
        started with another client certificate). True also for a search this caller asked to
        finish that ended within the last minute, so a retry after a lost reply (retried on
        ``UNAVAILABLE``) is True. Safe to call from any thread.
        The request must reach the server running the search (the same target; behind a load
        balancer, one that keeps a client on one server).

        A call of this client that is still waiting for a busy server's slot to start the search
        (``RetryPolicy.busy_wait_seconds``) stops waiting: it raises
        :class:`~advisor_client.errors.SearchNotStartedError`, as no search ran. The answer is
        still the server's: False, or True where the ask met an attempt on its way (the server
        then refuses it, or finishes the search it starts), so a caller that asks again until the
        call returns, as the command's Ctrl-C does, also finishes a search an attempt in flight
        started.
        """
        request = advisor_pb2.FinishSearchRequest(
            search_id=checked_search_id(search_id, required=True)
        )
        with self._lock:
            waiting = [w for w in self._waiting if w.search_id == request.search_id]
        for named in waiting:
            named.end(Ended.FINISHED)
        try:
            self._call(self._stub.FinishSearch, request, timeout)
        except AdvisorRpcError as error:
            if error.code is grpc.StatusCode.NOT_FOUND:
                return False
            raise
        return True

    def list_presets(self, *, timeout: float | None = None) -> Presets:
        """List the named regions and task presets the server knows.

        A list that shows as ``advisor presets``' table in a notebook. A preset of a kind a newer
        server added, which no field of this version takes, is left out
        (:func:`~advisor.protocol.wire.preset_from_proto`).
        """
        response = self._call(self._stub.ListPresets, advisor_pb2.ListPresetsRequest(), timeout)
        decoded = [decoded_response(wire.preset_from_proto, preset) for preset in response.presets]
        return Presets(preset for preset in decoded if preset is not None)

    def check_health(self, *, wait_for_ready: bool = False, timeout: float | None = None) -> bool:
        """Return whether the server is serving the advisor, by its ``grpc.health.v1`` check.

        False while it drains for a shutdown (``NOT_SERVING``), so a pipeline can pick another
        server; the check needs no token, as load balancers probe without one. With
        ``wait_for_ready``, a server not up yet, or not serving yet (``advisor serve`` answers
        ``NOT_SERVING`` while its workers start), is waited for until it serves or the deadline
        passes, where the call would fail or answer False at once: checked again every
        0.1 s while it answers ``NOT_SERVING``, and False at the deadline if it answered so (a
        draining server, which never serves again, too).

        Raises
        ------
        UnavailableError
            The server cannot be reached (without ``wait_for_ready``).
        DeadlineExceededError
            No answer before the deadline (``timeout``, by default ``default_timeout``).
        AdvisorRpcError
            ``NOT_FOUND``: the target's health service does not know the advisor (another gRPC
            server, such as the Katib endpoint of ``advisor serve --katib-port``); its details
            say so. ``UNIMPLEMENTED``: the target serves no health check at all.
        InvalidRequestError
            On ``wait_for_ready`` (not a boolean) or ``timeout``, before any call.
        """
        wait = require_flag(wait_for_ready, "wait_for_ready")
        # Loaded on first use, as the status details are: most clients never check health.
        from grpc_health.v1 import health_pb2

        request = health_pb2.HealthCheckRequest(service=SERVICE.full_name)
        check = self._health_stub()
        deadline = time.monotonic() + self._timeout(timeout)
        response = self._call(check, request, timeout, wait_for_ready=wait)
        while wait and response.status != health_pb2.HealthCheckResponse.SERVING:
            time.sleep(min(_HEALTH_RECHECK_SECONDS, max(0.0, deadline - time.monotonic())))
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                response = self._call(check, request, left, wait_for_ready=True)
            except DeadlineExceededError:  # it answered NOT_SERVING, and nothing since
                return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    def close(self) -> None:
        """Close the channel: calls in flight, and any made later, raise ClientClosedError.

        gRPC cancels the calls in flight; each raises :class:`ClientClosedError` as a call made
        after the close does, so a caller catches a close with one ``except``, whenever it came.
        """
        with self._lock:
            self._closed = True
            for waiting in self._waiting:
                waiting.end(Ended.CLOSED)
            self._channel.close()

    def __repr__(self) -> str:
        """Name the target, the channel's security and whether the client is closed.

        What a notebook shows for a client; never the token.
        """
        if self._plaintext:
            security = "plaintext"
        else:
            security = "TLS" if self._without_certificate else "mutual TLS"
        state = "closed" if self._closed else "open"
        return f"<AdvisorClient {self._target!r} {security}, {state}>"

    def __reduce__(self) -> NoReturn:
        """Refuse to be pickled, saying what to send instead.

        Process pools, Ray and joblib pickle what a task captures; gRPC's own refusal ("no
        default __reduce__ due to non-trivial __cinit__") named neither the client nor a way on.
        """
        raise TypeError(
            "an AdvisorClient cannot be pickled: its gRPC channel belongs to the process that "
            "opened it; send its settings (target, token, tls, ...) and open a client in the "
            "process that calls (advisor.integrations.proposals.AdvisorSource does)"
        )

    def __copy__(self) -> NoReturn:
        """Refuse to be copied (``copy.copy``, ``copy.deepcopy``), saying what to do instead.

        Without it, a copy met :meth:`__reduce__`'s refusal, which spoke of pickling.
        """
        raise TypeError(
            "an AdvisorClient cannot be copied: its gRPC channel is its own; use the client "
            "itself, or open another with the same settings (target, token, tls, ...)"
        )

    def __deepcopy__(self, memo: dict[int, object]) -> NoReturn:
        self.__copy__()

    def __enter__(self) -> Self:
        """Return the client; a closed one raises ClientClosedError, as a closed file raises."""
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Request, _Response],
        request: _Request,
        timeout: float | None,
        *,
        wait_for_ready: bool = False,
        search_id: str = "",
    ) -> _Response:
        self._check_open()
        self._check_size(request)
        request_id = _new_request_id()
        seconds = self._timeout(timeout)
        busy = BusyWait(self._retry, seconds)
        with self._waiting_for_slot(search_id) as waiting:
            while True:
                try:
                    with self._typed_errors(request_id, seconds):
                        response, call = method.with_call(
                            request,
                            timeout=busy.remaining(),
                            metadata=(*self._metadata, (INCOMING_REQUEST_ID_KEY, request_id)),
                            wait_for_ready=wait_for_ready or self._retry.wait_for_ready,
                        )
                    break
                except AdvisorRpcError as error:
                    self._wait_for_slot(busy, error, waiting)
        self._answered = True
        self._note_server(call)
        return response

    @contextlib.contextmanager
    def _waiting_for_slot(self, search_id: str) -> Iterator[Waiting]:
        """Yield what ends a call's wait for a slot, known to :meth:`close` while the call runs.

        ``search_id``: the call's search's name, which :meth:`finish_search` ends it by.
        """
        waiting = Waiting(search_id)
        with self._lock:
            if self._closed:
                waiting.end(Ended.CLOSED)
            self._waiting.add(waiting)
        try:
            yield waiting
        finally:
            with self._lock:
                self._waiting.discard(waiting)

    @staticmethod
    def _wait_for_slot(busy: BusyWait, error: AdvisorRpcError, waiting: Waiting) -> None:
        """Wait before retrying a call a busy server refused, or raise ``error`` (see BusyWait).

        ``waiting`` may end the wait: :meth:`close`, or leaving a stream, raises
        :class:`ClientClosedError`, as a call made after the close does; :meth:`finish_search`
        of the call's search raises :class:`SearchNotStartedError`, no search having run.
        """
        pause = busy.pause(error)
        if pause is None:
            raise busy.refusal(error) from error.__cause__
        why = waiting.wait(pause)
        if why is Ended.FINISHED and isinstance(error, ResourceExhaustedError):
            raise busy.not_started(error) from error.__cause__
        if why is not None:
            raise ClientClosedError() from None

    @property
    def server_version(self) -> ServerVersion | None:
        """The versions of the server that last answered one of this client's calls.

        Read off its answer's trailers, a result's or a refusal's alike (a call the client
        itself ended, by its deadline or by leaving a stream, has none and changes nothing).
        None until a server answered, or when the one that answered last predates the trailers.
        Behind a load balancer, the replica that answered last.
        """
        return self._server_version

    def _note_server(self, call: grpc.Call) -> None:
        """Keep the versions of the server whose status ``call`` ended with, if a server's.

        Its request id tells a server's status from one the client's gRPC made.
        """
        metadata = {k: v for k, v in call.trailing_metadata() or () if isinstance(v, str)}
        if REQUEST_ID_METADATA_KEY in metadata:
            self._server_version = server_version_from(metadata)

    def _stream_events(
        self, request: advisor_pb2.StreamRecommendRequest, timeout: float
    ) -> Generator[SearchProgress | SearchResult, None, None]:
        """Run the call whose request :meth:`_stream_request` checked, yielding every event."""
        with self._read_ahead(request, timeout) as arrived:
            while True:
                event = arrived.get()
                if isinstance(event, Exception):
                    raise event
                yield event
                if isinstance(event, SearchResult):
                    return

    def _result_with_progress(
        self,
        request: advisor_pb2.StreamRecommendRequest,
        timeout: float,
        progress: Callable[[SearchProgress], object],
    ) -> SearchResult:
        """Run the call whose request :meth:`_stream_request` checked; return its result.

        ``progress`` runs here on the newest event each time
        (:func:`~advisor_client.streams.last_result`).
        """
        with self._read_ahead(request, timeout) as arrived:
            return last_result(arrived, progress)

    @contextlib.contextmanager
    def _read_ahead(
        self, request: advisor_pb2.StreamRecommendRequest, timeout: float
    ) -> Iterator[queue.SimpleQueue[SearchProgress | SearchResult | Exception]]:
        """Start a stream and yield the queue a helper thread reads its events into.

        The events, then the error that ended the call if one did. Read at the pace of the
        code that takes them (a plot redrawn per event), the events queued up and the result
        behind them came after the call's deadline, which failed it. The call is cancelled on
        the way out, whatever ends it (the generator closed, an exception from ``progress``,
        a Ctrl-C), so the search does not run on.
        """
        request_id = _new_request_id()
        busy = BusyWait(self._retry, timeout)
        with self._waiting_for_slot(request.search_id) as waiting:
            calls = StreamCalls(self._open_stream(request, busy, request_id), waiting)
            arrived: queue.SimpleQueue[SearchProgress | SearchResult | Exception]
            arrived = queue.SimpleQueue()
            events = self._events_of(request, busy, calls, request_id)
            reader = threading.Thread(
                target=pass_on, args=(events, arrived), name="advisor-stream", daemon=True
            )
            reader.start()
            try:
                yield arrived
            finally:
                calls.cancel()
                reader.join()
                self._note_server(calls.latest)

    def _open_stream(
        self, request: advisor_pb2.StreamRecommendRequest, busy: BusyWait, request_id: str
    ) -> grpc._CallIterator[advisor_pb2.StreamRecommendResponse]:
        """Start a ``StreamRecommend`` call; its caller cancels it once done with it."""
        metadata = (*self._metadata, (INCOMING_REQUEST_ID_KEY, request_id))
        with self._typed_errors(request_id, busy.timeout):
            return self._stub.StreamRecommend(
                request,
                timeout=busy.remaining(),
                metadata=metadata,
                wait_for_ready=self._retry.wait_for_ready,
            )

    def _events_of(
        self,
        request: advisor_pb2.StreamRecommendRequest,
        busy: BusyWait,
        calls: StreamCalls,
        request_id: str,
    ) -> Iterator[SearchProgress | SearchResult]:
        """Read a stream's events, opened anew after a busy server's refusal (:class:`BusyWait`).

        A busy server refuses before any event, so no event is read twice.
        """
        while True:
            try:
                yield from self._read_events(calls.latest, request.budget, request_id, busy.timeout)
                return
            except AdvisorRpcError as error:
                self._wait_for_slot(busy, error, calls.waiting)
            calls.add(self._open_stream(request, busy, request_id))

    def _read_events(
        self,
        responses: Iterator[advisor_pb2.StreamRecommendResponse],
        budget: advisor_pb2.Budget,
        request_id: str,
        timeout: float,
    ) -> Iterator[SearchProgress | SearchResult]:
        """Decode a stream's responses up to its result, raising a failed call's typed error.

        An event of a kind this version does not know (a member a newer server added to the
        response's ``event``) is skipped: read as progress, it was an empty one, its counts 0
        after the events before it.
        """
        with self._typed_errors(request_id, timeout):
            for response in responses:
                self._answered = True
                event = response.WhichOneof("event")
                if event == "result":
                    result = decoded_page(response.result, budget)
                    read_status(responses)
                    yield result
                    return
                if event == "progress":
                    yield decoded_response(wire.search_progress_from_proto, response.progress)
        raise AdvisorRpcError(
            grpc.StatusCode.INTERNAL, "the server closed the stream without sending a result"
        )

    @contextlib.contextmanager
    def _typed_errors(self, request_id: str, timeout: float) -> Iterator[None]:
        """Raise a failed call's typed error, keeping gRPC's as its cause.

        ``request_id`` is the ``x-request-id`` the call sent: the error's where no status of
        the server's came (:func:`~advisor_client.errors.error_from_rpc`); ``timeout`` its
        deadline in seconds, which a ``DEADLINE_EXCEEDED`` of it names (and, where no server has
        answered on the channel yet, the target to check it can reach).

        A close from another thread can land after :meth:`_check_open` passed: gRPC then
        refuses to start the call with a bare ``ValueError``, raised as the
        :class:`ClientClosedError` the check would have raised.
        """
        try:
            yield
        except grpc.RpcError as error:
            if isinstance(error, grpc.Call):
                self._answered = self._answered or answered_by_server(error)
                self._note_server(error)
            raise error_from_rpc(
                error,
                client_closed=self._closed,
                plaintext=self._plaintext and not self._answered,
                without_certificate=self._without_certificate,
                with_certificate=self._with_certificate,
                sent_request_id=request_id,
                timeout=timeout,
                unanswered_target=None if self._answered else self._target,
            ) from error
        except ValueError:
            if not self._closed:
                raise
            raise ClientClosedError() from None

    def _health_stub(self) -> grpc.UnaryUnaryMultiCallable[Any, Any]:
        """Return the health service's ``Check``, built on first use; refuse a closed client.

        Built under the lock :meth:`close` takes: gRPC registers the method on the channel, and
        on a closed one that crashes the interpreter (a segfault, not an exception).
        """
        from grpc_health.v1 import health_pb2_grpc

        with self._lock:
            self._check_open()
            if self._health_check is None:
                self._health_check = health_pb2_grpc.HealthStub(self._channel).Check
            return self._health_check

    def _check_open(self) -> None:
        """Raise :class:`ClientClosedError` after :meth:`close` (gRPC raises a bare ValueError)."""
        if self._closed:
            raise ClientClosedError()

    def _check_size(self, request: Message) -> None:
        """Refuse a request over ``max_message_bytes``, naming its largest argument.

        It raises :class:`LimitExceededError`, whose ``limits`` name ``max_message_bytes`` and
        the request's size, as a server's refusal of a limit does. gRPC refuses it itself, but as
        ``RESOURCE_EXHAUSTED``, which reads as a saturated server to retry later: a pipeline
        following that advice retried, forever, a request no attempt can send.
        """
        size = request.ByteSize()
        if size <= self._max_message_bytes:
            return
        field, _ = max(
            request.ListFields(),
            key=lambda item: item[1].ByteSize() if isinstance(item[1], Message) else 0,
        )
        refused = RefusedLimit("max_message_bytes", self._max_message_bytes, size)
        description = (
            f"makes the request {refused.needed:,} bytes, over this client's {refused.setting} "
            f"({refused.limit:,}): make it smaller, or raise {refused.setting} as far as the "
            "server's limit (4 MiB unless the server raised it)"
        )
        field_name = _ARGUMENT_OF_FIELD.get(field.name, field.name)
        raise LimitExceededError([FieldViolation(field_name, description, limit=refused)])

    def _timeout(self, timeout: float | None) -> float:
        if timeout is None:
            return self._default_timeout
        return checked_timeout("timeout", timeout)

    def _search_timeout(self, budget: advisor_pb2.Budget, timeout: float | None) -> float:
        if timeout is not None:
            return self._timeout(timeout)
        seconds = (
            budget.time_limit_seconds
            if budget.HasField("time_limit_seconds")
            else _DEFAULT_TIME_LIMIT_SECONDS
        )
        limit = seconds + _SEARCH_DEADLINE_MARGIN_SECONDS
        # Capped, never refused: the server names a time limit past its own maximum, as
        # budget.time_limit_seconds, where a deadline that overflowed would fail at once.
        return min(max(self._default_timeout, limit), MAX_TIMEOUT_SECONDS)
