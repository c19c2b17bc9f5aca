"""``substitute``: evaluate with other values in some Arrays, then restore them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ._state import Array, StateTrace

__all__ = ["substitute"]


@contextmanager
def substitute(arrays: Sequence[Array], values: Sequence[Any]) -> Iterator[None]:
    """Hold ``values`` in ``arrays`` inside the block; restore everything after.

    Values may be tracers (e.g. inside ``jax.vmap``), which makes model state an
    input of a pure function. Everything the block writes to any Array is undone
    at exit too, also after an exception.

    Args:
        arrays: the Arrays to fill.
        values: one value per Array, of the same shape and dtype.

    Raises:
        ValueError: ``arrays`` and ``values`` differ in length, or a shape differs.

    Example:
        >>> import jax
        >>> import runner.core as bm
        >>> gain = bm.Variable(bm.ones(()))
        >>> def scaled(g, x):
        ...     with bm.substitute([gain], [g]):
        ...         return gain * x
        >>> jax.vmap(scaled, in_axes=(0, None))(bm.arange(3.0).value, 2.0)
        Array([0., 2., 4.], dtype=float32)
        >>> gain
        Variable(1., dtype=float32)
    """
    arrays, values = list(arrays), list(values)
    if len(arrays) != len(values):
        raise ValueError(
            f"substitute: received {len(arrays)} arrays but {len(values)} values; "
            f"give one value per Array."
        )
    for i, (array, value) in enumerate(zip(arrays, values)):
        if not isinstance(array, Array):
            raise TypeError(
                f"substitute: entry {i} of arrays is a {type(array).__name__}, "
                f"expected a bm.Array."
            )
        if getattr(value, "shape", ()) != array.shape:
            raise ValueError(
                f"substitute: value {i} has shape {getattr(value, 'shape', ())}, "
                f"expected {array.shape} (the Array's shape)."
            )
    with StateTrace() as trace:
        trace.swap_in(arrays, values)
        yield
