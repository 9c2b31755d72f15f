"""Task inference in-process: the library's counterpart of the client's ``infer_task``.

It reads and checks the data as the client does (:mod:`advisor.infer.source`), checks the graph
as the service checks the one it receives, and infers what the service's ``InferTask`` infers,
so it returns the report a client gets from a server for the same arguments, with no server.
"""

from __future__ import annotations

from collections.abc import Sequence

from advisor.errors import InvalidRequestError
from advisor.infer.graph import check_graph
from advisor.infer.polling import poll
from advisor.infer.report import InferenceReport
from advisor.infer.source import DataLike, data_graph, graph_options
from advisor.infer.task import infer_task as infer_from_graph
from advisor.model.arguments import checked_inference_arguments, require_instance
from advisor.model.grid import MAX_LOCATIONS
from advisor.stopping import StopSignal

__all__ = ["infer_task"]


def infer_task(
    data: DataLike,
    *,
    shape: Sequence[int] | None = None,
    top_k: int | None = None,
    allow_constant: bool | None = None,
    outputs: int | None = None,
    seed: int = 0,
    stop: StopSignal | None = None,
) -> InferenceReport:
    """Infer a task and an arrangement from a data sample, in this process.

    The arguments are the client's ``infer_task``'s (``AdvisorClient.infer_task``), but for
    ``stop`` in place of its ``timeout``; the report is the one a server sends for them. Its
    ``task`` is None when the data shows no dependence to model.

    Parameters
    ----------
    data
        An array ``(samples, *grid[, channels])``, a file (``.npy``, ``.npz``, ``.csv``), a
        :class:`~advisor.infer.data.DataSample` or an already computed
        :class:`~advisor.infer.graph.DependenceGraph`.
    shape
        The grid of an array or a file (default: the array's shape after the samples axis).
    top_k, allow_constant
        As :func:`advisor.infer.dependence.dependence_graph`; None (the default) leaves its
        defaults (``DEFAULT_TOP_K``, 16, and False).
    outputs
        The task's classes (e.g. the distinct labels), if known.
    seed
        Seed of the graph partitioner.
    stop
        Polled after each chunk of samples read and between the units of the inference
        (:mod:`advisor.infer.polling`); None never stops.

    Raises
    ------
    InvalidRequestError
        Before any work, for an argument of the wrong type or out of range, naming it, as the
        client does; then for an argument the data already fixes (``shape`` with a
        ``DataSample``, any of ``shape``, ``top_k`` and ``allow_constant`` with a
        ``DependenceGraph``); then for bad data (``data``, ``data.shape``; a given graph's
        fields under ``data``, as the service names them under ``graph``, and a grid over
        ``MAX_LOCATIONS``).
    StoppedError
        Once ``stop`` has stopped: an inference has no partial result.
    """
    outputs, seed = checked_inference_arguments(outputs, seed)
    options = graph_options(shape, top_k, allow_constant)
    if stop is not None:
        require_instance(stop, StopSignal, "stop")
    poll(stop)
    graph = data_graph(data, options, None if stop is None else lambda _done, _to_do: poll(stop))
    try:
        check_graph(graph, MAX_LOCATIONS)
    except InvalidRequestError as error:
        raise error.prefixed("data") from None
    return infer_from_graph(graph, outputs=outputs, seed=seed, stop=stop).report()
