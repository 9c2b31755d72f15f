"""Katib's ``api.v1.beta1.Suggestion`` servicer: the advisor as a Katib suggestion algorithm.

``GetSuggestions`` reads the experiment as a search (:mod:`advisor.integrations.katib`) and
answers exactly ``current_request_number`` designs, continuing from ``total_request_number`` -
``current_request_number`` (Katib's controller refuses any other count);
``ValidateAlgorithmSettings`` answers OK or ``INVALID_ARGUMENT`` with every field violation (the
BadRequest detail of :mod:`advisor.service.status`). Both apply the server's
:class:`~advisor.service.limits.RequestLimits` to the experiment before any work. Calls are
admitted through their own :class:`~advisor.service.admission.Admission`, and their work follows
the call's stop signal as the advisor RPCs' does
(:func:`~advisor.service.servicer.call_stop_signal`: the deadline, cancellation, shutdown drain).
Each servicer keeps the sequences of the experiments it was asked for lately
(:class:`~advisor.integrations.katib.SuggestionCache`), so a call continues its experiment's
sequence where the last call left it instead of computing it from position 1. With the
experiment's ``learn`` setting, a call re-ranks the designs not tried from the trials' results
(:func:`~advisor.integrations.katib.observations`), and remembers what it handed out; with
``files`` (``--katib-data-dir``), in files that outlive a restart
(:class:`~advisor.integrations.katib.HandedOutFiles`). The parts of an experiment's search space
its designs ignore (operation types, parameters other than ``num_filter``) are logged at
WARNING, once per experiment.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import grpc

from advisor.errors import FieldViolation, InvalidRequestError
from advisor.integrations.katib import (
    MAX_CACHED_EXPERIMENTS,
    HandedOutFiles,
    SuggestionCache,
    architectures_held,
    check_trial_count,
    observations,
    read_experiment,
    suggestion_assignments,
    suggestions,
    unread_space,
)
from advisor.protocol._proto.katib.v1beta1 import api_pb2, api_pb2_grpc
from advisor.service.admission import Admission
from advisor.service.limits import RequestLimits
from advisor.service.request_checks import check_katib_request, check_katib_search
from advisor.service.servicer import call_stop_signal, shutdown_named
from advisor.service.status import unary_errors

__all__ = ["KatibSuggestionServicer"]

_LOGGER = logging.getLogger(__name__)


class KatibSuggestionServicer(api_pb2_grpc.SuggestionServicer):
    """Serves Katib's Suggestion RPCs, at most ``admission``'s slots at once."""

    def __init__(
        self, limits: RequestLimits, admission: Admission, files: HandedOutFiles | None = None
    ) -> None:
        self._limits = limits
        self._admission = admission
        self._sequences = SuggestionCache(files=files)
        self._warned = _RecentKeys(MAX_CACHED_EXPERIMENTS)

    @unary_errors
    def GetSuggestions(  # noqa: N802 - gRPC method names come from the proto
        self, request: api_pb2.GetSuggestionsRequest, context: grpc.ServicerContext
    ) -> api_pb2.GetSuggestionsReply:
        """Return the next ``current_request_number`` designs of the experiment's sequence."""
        with self._admission.admit():
            start = _start(request)
            check_katib_request(request, self._limits)
            search = read_experiment(request.experiment)
            self._warn_unread(request.experiment)
            check_katib_search(
                request.experiment, search, request.current_request_number, self._limits
            )
            stop = call_stop_signal(context, self._admission.drain)
            with shutdown_named(self._admission):
                picked = suggestions(
                    search,
                    start,
                    request.current_request_number,
                    architectures_held(request.trials),
                    observed=observations(search, request.trials),
                    stop=stop,
                    max_length=self._limits.max_katib_designs,
                    cache=self._sequences,
                )
        return api_pb2.GetSuggestionsReply(
            parameter_assignments=[suggestion_assignments(s) for s in picked],
            algorithm=request.experiment.spec.algorithm,
        )

    @unary_errors
    def ValidateAlgorithmSettings(  # noqa: N802 - gRPC method names come from the proto
        self, request: api_pb2.ValidateAlgorithmSettingsRequest, context: grpc.ServicerContext
    ) -> api_pb2.ValidateAlgorithmSettingsReply:
        """Answer OK when the experiment reads as a search; INVALID_ARGUMENT naming each field.

        With a ``max_trial_count``, its first designs are computed (and kept for the calls
        that follow): an experiment whose space holds fewer is refused
        (:func:`~advisor.integrations.katib.check_trial_count`).
        """
        with self._admission.admit():
            check_katib_request(request, self._limits)
            search = read_experiment(request.experiment)
            self._warn_unread(request.experiment)
            check_katib_search(request.experiment, search, None, self._limits)
            trials = request.experiment.spec.max_trial_count
            if trials > 0:
                stop = call_stop_signal(context, self._admission.drain)
                with shutdown_named(self._admission):
                    check_trial_count(search, trials, stop=stop, cache=self._sequences)
        return api_pb2.ValidateAlgorithmSettingsReply()

    def _warn_unread(self, experiment: api_pb2.Experiment) -> None:
        """Log at WARNING, once per experiment, what of its search space the designs ignore.

        Katib calls an experiment's service once per trial round: once is enough to tell the
        operator that, say, its ``filter_size`` choices shape no design
        (:func:`~advisor.integrations.katib.unread_space`); an experiment sent again with
        another space is told again.
        """
        unread = unread_space(experiment.spec.nas_config.operations.operation)
        if unread is not None and self._warned.add((experiment.name, unread)):
            _LOGGER.warning("Katib experiment %r: %s", experiment.name, unread)


class _RecentKeys:
    """The last ``size`` distinct keys added, thread-safe: says whether a key is new."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: tuple[str, str]) -> bool:
        """Keep ``key`` as the latest; return whether it was not kept already."""
        with self._lock:
            new = key not in self._keys
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)
            return new


def _start(request: api_pb2.GetSuggestionsRequest) -> int:
    """Return the 0-based position of the first design this call asks for."""
    violations = []
    if request.current_request_number <= 0:
        violations.append(FieldViolation("current_request_number", "must be positive"))
    start = request.total_request_number - request.current_request_number
    if start < 0:
        violations.append(
            FieldViolation(
                "total_request_number",
                f"{request.total_request_number} is less than current_request_number "
                f"{request.current_request_number} (it counts every request, this one included)",
            )
        )
    if violations:
        raise InvalidRequestError(violations)
    return start
