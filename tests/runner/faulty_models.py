"""Models that misbehave on purpose, for the fault and bad-input tests.

Configs name them as ``tests.runner.faulty_models.<name>`` with
``allowed_targets: [tests.runner.faulty_models.]`` and the repository root on the
Python path (``python -m runner`` run from the root has it).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import runner.core as bm

PREFIX = "tests.runner.faulty_models."


def sleepy(x: Any) -> Any:
    """``sum(x**2)``, after writing ``$FAULT_MARKER`` and sleeping ``$FAULT_SLEEP`` s.

    Only inputs of at least ``$FAULT_MIN_SIZE`` elements (default 0) wait, so a
    sweep can have quick points and a slow one.

    Args:
        x: an array.

    Returns:
        The sum of squares.

    Example:
        >>> float(sleepy(jnp.array([1.0, 2.0])))
        5.0
    """
    if x.size < int(os.environ.get("FAULT_MIN_SIZE", "0")):
        return (x**2).sum()
    marker = os.environ.get("FAULT_MARKER")
    if marker:
        Path(marker).write_text("computing\n")
    time.sleep(float(os.environ.get("FAULT_SLEEP", "0")))
    return (x**2).sum()


def sqrt_sum(x: Any) -> Any:
    """``sum(sqrt(x))``: its gradient is infinite at 0.

    Args:
        x: an array of non-negative floats.

    Returns:
        The sum of square roots.

    Example:
        >>> float(sqrt_sum(jnp.array([4.0, 9.0])))
        5.0
    """
    return jnp.sqrt(x).sum()


@jax.custom_jvp
def _square(x: Any) -> Any:
    return x**2


@_square.defjvp
def _square_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return x**2, 3 * x * t  # wrong on purpose: the derivative is 2x


def wrong_derivative(x: Any) -> Any:
    """``sum(x**2)`` with a custom derivative that says ``3x`` instead of ``2x``.

    Args:
        x: an array.

    Returns:
        The sum of squares.

    Example:
        >>> float(bm.grad(wrong_derivative)(jnp.array(2.0)))
        6.0
    """
    return _square(x).sum()


def lookup(x: Any) -> Any:
    """Raise ``KeyError`` whatever ``x`` is: a model that fails while computing.

    Args:
        x: anything.

    Returns:
        Never returns.

    Example:
        >>> lookup(1.0)
        Traceback (most recent call last):
        ...
        KeyError: 'weights'
    """
    return {}["weights"]


class Exploding(bm.Base):
    """A model whose constructor raises.

    Example:
        >>> Exploding()
        Traceback (most recent call last):
        ...
        RuntimeError: cannot load the weights file
    """

    def __init__(self, name: str | None = None) -> None:
        raise RuntimeError("cannot load the weights file")


def exits(x: Any) -> Any:
    """``sum(x**2)``, but calls ``sys.exit(3)`` when ``x`` has three elements.

    Args:
        x: an array.

    Returns:
        The sum of squares (never, for three elements).

    Example:
        >>> float(exits(jnp.array([1.0, 2.0])))
        5.0
        >>> exits(jnp.zeros(3))
        Traceback (most recent call last):
        ...
        SystemExit: 3
    """
    if x.size == 3:
        sys.exit(3)
    return (x**2).sum()


class LibraryStop(BaseException):
    """A library's own ``BaseException`` (not an ``Exception``)."""


def cancelled(x: Any) -> Any:
    """As :func:`exits`, but raises ``asyncio.CancelledError`` (a
    ``BaseException``) when ``x`` has three elements.

    Example:
        >>> float(cancelled(jnp.array([1.0, 2.0])))
        5.0
    """
    import asyncio

    if x.size == 3:
        raise asyncio.CancelledError("the event loop was stopped")
    return (x**2).sum()


def library_stop(x: Any) -> Any:
    """As :func:`exits`, but raises :class:`LibraryStop` when ``x`` has three
    elements.

    Example:
        >>> float(library_stop(jnp.array([1.0, 2.0])))
        5.0
    """
    if x.size == 3:
        raise LibraryStop("stopped by the library")
    return (x**2).sum()


def dies(x: Any) -> Any:
    """As :func:`exits`, but ends the process at once (``os._exit(70)``, as a
    segfault or the OOM killer would) when ``x`` has three elements.

    Example:
        >>> float(dies(jnp.array([1.0, 2.0])))
        5.0
    """
    if x.size == 3:
        os._exit(70)
    return (x**2).sum()


def returns_none(x: Any) -> None:
    """A model that forgot its ``return``.

    Example:
        >>> returns_none(jnp.ones(2)) is None
        True
    """
    x.sum()


def returns_text(x: Any) -> str:
    """A model that returns a string instead of a number.

    Example:
        >>> returns_text(jnp.ones(2))
        'abc'
    """
    return "abc"


def returns_dict(x: Any) -> dict[str, Any]:
    """A model that returns a dict of one array where a scalar is needed.

    Example:
        >>> float(returns_dict(jnp.ones(2))["a"])
        2.0
    """
    return {"a": x.sum()}


class DiesAt:
    """``2 x + y`` (the tutorial's ``linear``), whose process is killed (SIGKILL)
    when a computed point has ``x == at``: a Ray worker dying mid-chunk.

    Tracing (as the driver does to learn the sweep's shapes) never kills; only
    running the compiled chunk does. With ``marker`` (a file path), only the
    first process to reach the point dies (the file says it did), so a retry
    succeeds.
    """

    def __init__(self, at: float, marker: str | None = None) -> None:
        self.at, self.marker = float(at), marker

    def __call__(self, x: Any, y: Any) -> Any:
        jax.debug.callback(self._maybe_die, x)
        return 2 * x + y

    def _maybe_die(self, x: Any) -> None:
        import signal

        import numpy as np

        if not np.any(np.asarray(x) == self.at):
            return
        if self.marker is not None:
            if Path(self.marker).exists():
                return
            Path(self.marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
