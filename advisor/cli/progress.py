"""A one-line progress bar for a running search or data read, drawn on a terminal and nowhere else.

``advisor recommend`` streams :class:`~advisor.model.results.SearchProgress` events and redraws
this bar in place with a carriage return; ``advisor infer`` and ``recommend --data`` draw the
passes over the data sample (the dependence graph's, computed locally: a minute on the largest
files). When stderr is a pipe or a file nothing is drawn, so logs and scripts see only the
result and error lines.
"""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

from advisor.model.results import SearchProgress

__all__ = ["ProgressBar", "progress_bar_for"]


class ProgressBar:
    """Redraws one status line on ``stream``: bar, percent, candidates, elapsed time, best score.

    Parameters
    ----------
    stream
        A terminal; every update overwrites the previous line, :meth:`close` erases it.
    width
        Characters between the brackets of the bar.
    """

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._drawn = 0

    def update(self, progress: SearchProgress) -> None:
        """Draw ``progress`` over the previous line."""
        self._draw(self.render(progress))

    def update_reading(self, read: int, total: int) -> None:
        """Draw a data read: ``read`` of ``total`` sample reads (every pass over the sample)."""
        self._draw(f"reading data [{self._bar(read / total)}] {read / total:4.0%}")

    def render(self, progress: SearchProgress) -> str:
        """Return the status line for ``progress``, without control characters."""
        fraction = progress.fraction_done
        best = "-" if progress.best_score is None else f"{progress.best_score:.2f}"
        return (
            f"searching [{self._bar(fraction)}] {fraction:4.0%}  "
            f"{progress.candidates_evaluated:,} candidates"
            f"  {progress.elapsed_seconds:.1f} s  best {best}"
        )

    def _bar(self, fraction: float) -> str:
        filled = round(fraction * self._width)
        return "#" * filled + "." * (self._width - filled)

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
