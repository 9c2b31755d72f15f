"""A one-line progress bar for a running search or data read, drawn on a terminal and nowhere else.

``advisor recommend`` streams :class:`~advisor.model.results.SearchProgress` events and redraws
this bar in place with a carriage return; ``advisor infer`` and ``recommend --data`` draw the
passes over the data sample (the dependence graph's, computed locally: a minute on the largest
files). When stderr is a pipe or a file nothing is drawn, so logs and scripts see only the
result and error lines.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Final, TextIO

from advisor.model.results import SearchProgress

__all__ = ["ProgressBar", "progress_bar_for"]

_FALLBACK_COLUMNS: Final = 80
"""A terminal's width where it cannot be measured: a terminal's customary default."""


class ProgressBar:
    """Redraws one status line on ``stream``: bar, percent, candidates, elapsed time, best score.

    Parameters
    ----------
    stream
        A terminal; every update overwrites the previous line, :meth:`close` erases it.
    width
        Characters between the brackets of the bar, at most: the bar narrows to keep the line
        within ``columns``.
    columns
        The terminal's width; by default measured on ``stream`` at every draw (a window can be
        resized during a search), 80 where it cannot be.
    """

    def __init__(self, stream: TextIO, width: int = 30, columns: int | None = None) -> None:
        self._stream = stream
        self._width = width
        self._columns = columns
        self._drawn = 0

    def update(self, progress: SearchProgress) -> None:
        """Draw ``progress`` over the previous line."""
        self._draw(self.render(progress))

    def update_reading(self, read: int, total: int) -> None:
        """Draw a data read: ``read`` of ``total`` sample reads (every pass over the sample)."""
        fraction = read / total
        self._draw(self._fitted("reading data [", fraction, f"] {fraction:4.0%}"))

    def render(self, progress: SearchProgress) -> str:
        """Return the status line for ``progress``, without control characters."""
        fraction = progress.fraction_done
        best = "-" if progress.best_score is None else f"{progress.best_score:.2f}"
        return self._fitted(
            "searching [",
            fraction,
            f"] {fraction:4.0%}  {progress.candidates_evaluated:,} candidates"
            f"  {progress.elapsed_seconds:.1f} s  best {best}",
        )

    def _fitted(self, head: str, fraction: float, tail: str) -> str:
        """Return ``head``, the bar at ``fraction`` and ``tail``, short of the terminal's width.

        A line as wide as the terminal wraps, and the carriage return then redraws only its
        last row: on an 80-column terminal a search's line (85 characters from some 60,000
        candidates and 10 s on) left one row per update. The bar narrows first; a terminal too
        narrow for the figures cuts the line.
        """
        room = self._terminal_columns() - 1
        width = max(0, min(self._width, room - len(head) - len(tail)))
        filled = round(fraction * width)
        return (head + "#" * filled + "." * (width - filled) + tail)[:room]

    def _terminal_columns(self) -> int:
        if self._columns is not None:
            return self._columns
        try:
            return os.get_terminal_size(self._stream.fileno()).columns or _FALLBACK_COLUMNS
        except (AttributeError, OSError, ValueError):  # no descriptor, or not a terminal's
            return _FALLBACK_COLUMNS

    def _draw(self, line: str) -> None:
        self._stream.write("\r" + line.ljust(self._drawn))
        self._stream.flush()
        self._drawn = len(line)

    def close(self) -> None:
        """Erase the line so the result starts on a clean line."""
        if self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._stream.flush()
            self._drawn = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def progress_bar_for(stream: TextIO) -> ProgressBar | None:
    """Return a bar on ``stream`` if it is a terminal, else ``None`` (pipes stay clean)."""
    return ProgressBar(stream) if stream.isatty() else None
