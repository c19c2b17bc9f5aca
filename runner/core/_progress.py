"""Progress reports for long loops: :class:`ProgressBar`.

A report never changes a result. Inside a compiled loop, every ``freq`` steps a
``jax.debug.callback`` hands the step number back to Python, which writes one line
(``desc 40/100 (40%)``, redrawn in place) to standard error; a closed or failing
stream is ignored. Without a bar no callback is compiled into the loop at all.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import jax
import numpy as np

from ._checks import _blame

__all__ = ["ProgressBar"]

#: Reports per loop when neither ``freq`` nor ``count`` is given (every 5 %).
_DEFAULT_COUNT = 20


class ProgressBar:
    """A text progress bar for :func:`~runner.core.for_loop` and
    :func:`~runner.core.scan` (``progress_bar=ProgressBar(...)``).

    ``progress_bar=True`` is ``ProgressBar()`` and ``progress_bar=n`` (an int) is
    ``ProgressBar(freq=n)``. The bar writes to standard error and never changes
    what the loop computes.

    Args:
        freq: report every ``freq`` steps (and after the last one).
        desc: text written before the step counts.
        count: report about ``count`` times in all instead; not with ``freq``.
            Without both, the bar reports about every 5 % of the loop.

    Raises:
        TypeError: ``freq`` or ``count`` is not an int, or ``desc`` not a str.
        ValueError: ``freq`` or ``count`` is below 1, or both are given.

    Example:
        >>> import runner.core as bm
        >>> bar = bm.ProgressBar(freq=5, desc="simulating")
        >>> bm.for_loop(lambda x: x * 2.0, bm.arange(10.0), progress_bar=bar)[-1]
        Array(18., dtype=float32)
    """

    def __init__(
        self, freq: int | None = None, desc: str | None = None, count: int | None = None
    ) -> None:
        if freq is not None and count is not None:
            raise _blame(
                ValueError(
                    f"ProgressBar(freq={freq!r}, count={count!r}): give freq (steps "
                    f"between reports) or count (reports in all), not both."
                ),
                "count",
            )
        self.freq = _check_positive("ProgressBar", "freq", freq)
        self.count = _check_positive("ProgressBar", "count", count)
        if desc is not None and not isinstance(desc, str):
            raise _blame(
                TypeError(
                    f"ProgressBar(desc=...): expected a str, received "
                    f"{type(desc).__name__} {desc!r}; pass e.g. desc='simulating'."
                ),
                "desc",
            )
        self.desc = desc

    def every(self, total: int) -> int:
        """The number of steps between two reports in a loop of ``total`` steps.

        Example:
            >>> import runner.core as bm
            >>> bm.ProgressBar().every(1000), bm.ProgressBar(count=4).every(10)
            (50, 3)
        """
        if self.freq is not None:
            return self.freq
        count = self.count if self.count is not None else _DEFAULT_COUNT
        return max(1, math.ceil(total / count))

    def __repr__(self) -> str:
        return f"ProgressBar(freq={self.freq}, desc={self.desc!r}, count={self.count})"


def _check_positive(where: str, arg: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise _blame(
            TypeError(
                f"{where}({arg}=...): expected a positive int, received "
                f"{type(value).__name__} {value!r}; pass e.g. {arg}=10."
            ),
            arg,
        )
    if value < 1:
        raise _blame(
            ValueError(
                f"{where}({arg}={value}): expected a positive int; pass e.g. {arg}=10."
            ),
            arg,
        )
    return int(value)


def _normalize_progress_bar(name: str, progress_bar: Any) -> ProgressBar | None:
    """``progress_bar`` of ``name`` (a loop) as a :class:`ProgressBar` or None."""
    if isinstance(progress_bar, ProgressBar):
        return progress_bar
    if progress_bar is None or progress_bar is False:
        return None
    if progress_bar is True:
        return ProgressBar()
    if isinstance(progress_bar, (int, np.integer)) and not isinstance(
        progress_bar, (bool, np.bool_)
    ):
        return ProgressBar(freq=_check_positive(name, "progress_bar", progress_bar))
    raise _blame(
        TypeError(
            f"{name}(progress_bar=...): expected a bool, an int (steps between "
            f"reports) or a bm.ProgressBar, received {type(progress_bar).__name__} "
            f"{progress_bar!r}; pass e.g. progress_bar=True."
        ),
        "progress_bar",
    )


class _Report:
    """The reports of one loop of ``total`` steps: :meth:`tick` from inside the
    traced loop, :meth:`show` from Python (``jit=False``)."""

    def __init__(self, bar: ProgressBar, total: int) -> None:
        self.prefix = f"{bar.desc}: " if bar.desc else ""
        self.total = total
        self.every = bar.every(total)

    def show(self, step: Any) -> None:
        """Write the line for ``step`` (counted from 0) if it is due."""
        done = int(step) + 1
        if done % self.every and done != self.total:
            return
        line = f"\r{self.prefix}{done}/{self.total} ({100 * done // self.total}%)"
        try:
            stream = sys.stderr
            stream.write(line + ("\n" if done == self.total else ""))
            stream.flush()
        except (AttributeError, OSError, ValueError):  # no stream, or a closed one
            pass

    def tick(self, step: jax.Array) -> None:
        """Compile a report of ``step`` (traced), called back only when it is due."""
        done = step + 1
        due = (done % self.every == 0) | (done == self.total)
        jax.lax.cond(due, lambda: jax.debug.callback(self.show, step), lambda: None)
