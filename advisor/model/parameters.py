"""The parameter count of a ConvAC as a function of its widths: defined here, once.

Every layer is a conv (weights shared across locations) with a bias per output channel, so a
layer from ``c_in`` to ``c_out`` channels has ``(k^d * c_in + 1) * c_out`` parameters (``k^d``
only for the representation layer's ``k x k`` patch). With ``w = (M, r_0, ..., r_{L-1})``:

    parameters(w) = (a + 1) M + sum_{l=1..L} (w_{l-1} + 1) w_l + (w_L + 1) Y,   a = k^d C_in

(pooling has no parameters). :attr:`Architecture.parameters
<advisor.model.architecture.Architecture.parameters>`, its per-part breakdown and the search's
width allocation all evaluate this one formula, through :class:`ParameterModel`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from advisor.model.grid import InputSpec

__all__ = ["ParameterCount", "ParameterModel"]

_Ints = npt.NDArray[np.int64]
_Widths = _Ints | int


@dataclass(frozen=True)
class ParameterCount:
    """Trainable parameters of an architecture, with shared (convolutional) weights.

    Attributes
    ----------
    representation
        Weights of the representation layer, a k x k conv (k^d for a d-axis input) from the
        input channels C_in to M: ``k^d * C_in * M``.
    hidden
        Weights of each hidden layer's 1x1 conv, ``r_{l-1} * r_l`` with ``r_{-1} = M``.
    output
        Weights of the final linear layer, ``r_{L-1} * Y``.
    biases
        One per output channel of every layer: ``M + sum(r_l) + Y``.
    total
        Everything above; what :attr:`Architecture.parameters` returns and what an exported
        framework model has. Pooling has no parameters.
    """

    representation: int
    hidden: tuple[int, ...]
    output: int
    biases: int
    total: int


@dataclass(frozen=True)
class ParameterModel:
    """The parameter count of the module docstring for one input and output layer.

    Attributes
    ----------
    representation_weights
        ``a = k^d * C_in``: weights of one representation channel (``k x k`` conv over ``C_in``).
    outputs
        ``Y``.

    Examples
    --------
    >>> model = ParameterModel.for_input(InputSpec(shape=(4,)), representation_kernel=1, outputs=2)
    >>> int(model.count([2, 4, 2])[0])  # (1 + 1) 2 + (2 + 1) 4 + (4 + 1) 2 + (2 + 1) 2
    32
    """

    representation_weights: int
    outputs: int

    @classmethod
    def for_input(cls, spec: InputSpec, representation_kernel: int, outputs: int) -> ParameterModel:
        """Return the model of a network on ``spec`` with this representation kernel and ``Y``."""
        return cls(representation_kernel**spec.ndim * spec.channels, outputs)

    @staticmethod
    def layer(fan_in: _Widths, fan_out: _Widths) -> _Ints:
        """Parameters of one layer: ``fan_in`` weights and one bias per output channel."""
        weights, biases = _weights_and_biases(np.asarray(fan_in), np.asarray(fan_out))
        return np.asarray(weights + biases, dtype=np.int64)

    def count(self, widths: npt.ArrayLike) -> _Ints:
        """Return the parameters of each row of ``(P, L + 1)`` widths ``(M, r_0, ...)``."""
        weights, biases = self._layers(widths)
        total: _Ints = (weights + biases).sum(axis=1)
        return total

    def breakdown(self, widths: tuple[int, ...]) -> ParameterCount:
        """Return the parameters of one width vector ``(M, r_0, ...)`` part by part."""
        weights, biases = (part[0].tolist() for part in self._layers([widths]))
        return ParameterCount(
            representation=weights[0],
            hidden=tuple(weights[1:-1]),
            output=weights[-1],
            biases=sum(biases),
            total=sum(weights) + sum(biases),
        )

    def representation(self, representation: _Widths) -> _Ints:
        """Parameters of the representation layer for each ``M``."""
        return self.layer(self.representation_weights, representation)

    def tail(self, last: _Widths, rest: _Widths, remaining: int) -> _Ints:
        """Return the parameters after width ``last`` when ``remaining`` widths all equal ``rest``.

        ``last`` is the last assigned width (``(P,)``); ``rest`` broadcasts against it. The
        output layer is included.
        """
        if remaining == 0:
            return self.layer(last, self.outputs)
        return (
            self.layer(last, rest)
            + (remaining - 1) * self.layer(rest, rest)
            + self.layer(rest, self.outputs)
        )

    def marginal(self, left: _Widths, right: _Widths) -> _Ints:
        """Parameters one more channel of a width between widths ``left`` and ``right`` costs.

        The count is affine in each width, so this is the same at every value of that width.
        """
        return self.layer(left, 1) + self.layer(1, right) - self.layer(0, right)

    def log2_count(self, log2_widths: Sequence[float]) -> float:
        """Return ``log2`` of the count for real widths given by their logs ``(M, r_0, ...)``.

        The same per-layer rule as :meth:`count`, evaluated in log space, for the networks the
        expressive-efficiency figures describe (a shallow net may need 2^500 channels, far beyond
        ``int64``). Exact up to float rounding; equals ``log2(count(2 ** log2_widths))``.
        """
        fan_in = [math.log2(self.representation_weights), *log2_widths]
        fan_out = [*log2_widths, math.log2(self.outputs)]
        # A layer costs fan_in * fan_out weights and fan_out biases: 2^out (2^in + 1).
        layers = zip(fan_in, fan_out, strict=True)
        terms = [out + float(np.logaddexp2(inp, 0.0)) for inp, out in layers]
        return float(np.logaddexp2.reduce(terms))

    def _layers(self, widths: npt.ArrayLike) -> tuple[_Ints, _Ints]:
        """Per row, every layer's weights and biases, ``(P, L + 2)`` each, bottom-up."""
        w = np.atleast_2d(np.asarray(widths, dtype=np.int64))
        rows = w.shape[0]
        fan_in = np.hstack([np.full((rows, 1), self.representation_weights, np.int64), w])
        fan_out = np.hstack([w, np.full((rows, 1), self.outputs, np.int64)])
        return _weights_and_biases(fan_in, fan_out)


def _weights_and_biases(fan_in: _Ints, fan_out: _Ints) -> tuple[_Ints, _Ints]:
    """Return a layer's weights (``fan_in`` per output channel) and biases (one per channel)."""
    return np.asarray(fan_in * fan_out, dtype=np.int64), np.asarray(fan_out, dtype=np.int64)
