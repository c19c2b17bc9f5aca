"""A seeded global random generator that returns :class:`~runner.core.Array`.

The JAX key is kept here and split on every draw, so callers never handle keys;
``seed(n)`` makes every later draw repeatable.

Example:
    >>> import runner.core as bm
    >>> bm.random.seed(0)
    >>> a = bm.random.random(3)
    >>> bm.random.seed(0)
    >>> bool((a == bm.random.random(3)).all())
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

from ._state import Array

__all__ = ["normal", "rand", "randint", "randn", "random", "seed", "uniform"]

Shape = int | Sequence[int] | None

_KEY: list[jax.Array] = []


def _shape(size: Shape) -> tuple[int, ...]:
    if size is None:
        return ()
    if isinstance(size, int):
        return (size,)
    return tuple(int(s) for s in size)


def _next_key() -> jax.Array:
    if not _KEY:
        seed(0)
    key, sub = jax.random.split(_KEY[0])
    _KEY[0] = key
    return sub


def seed(value: int) -> None:
    """Reset the global generator so that later draws repeat.

    Args:
        value: a non-negative integer seed.

    Raises:
        TypeError: if ``value`` is not an int.

    Example:
        >>> import runner.core as bm
        >>> bm.random.seed(42)
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"random.seed(value): expected an int, received {type(value).__name__} "
            f"{value!r}; pass e.g. seed(0)."
        )
    _KEY[:] = [jax.random.key(value)]


def random(size: Shape = None) -> Array:
    """Uniform floats in ``[0, 1)`` of shape ``size``.

    Example:
        >>> import runner.core as bm
        >>> bm.random.random((1, 10)).shape
        (1, 10)
    """
    return Array(jax.random.uniform(_next_key(), _shape(size)))


def rand(*shape: int) -> Array:
    """Uniform floats in ``[0, 1)``; the shape is given as separate ints.

    Example:
        >>> import runner.core as bm
        >>> bm.random.rand(2, 3).shape
        (2, 3)
    """
    return random(shape)


def randn(*shape: int) -> Array:
    """Standard normal floats; the shape is given as separate ints.

    Example:
        >>> import runner.core as bm
        >>> bm.random.randn(4).shape
        (4,)
    """
    return Array(jax.random.normal(_next_key(), shape))


def normal(loc: Any = 0.0, scale: Any = 1.0, size: Shape = None) -> Array:
    """Normal floats with mean ``loc`` and standard deviation ``scale``.

    Example:
        >>> import runner.core as bm
        >>> bm.random.normal(1.0, 0.0, 2)
        Array([1., 1.], dtype=float32)
    """
    draw = jax.random.normal(_next_key(), _shape(size))
    return Array(draw * scale + loc)


def uniform(low: Any = 0.0, high: Any = 1.0, size: Shape = None) -> Array:
    """Uniform floats in ``[low, high)``.

    Example:
        >>> import runner.core as bm
        >>> bool((bm.random.uniform(2.0, 3.0, 5) >= 2.0).all())
        True
    """
    return Array(jax.random.uniform(_next_key(), _shape(size), minval=low, maxval=high))


def randint(low: int, high: int | None = None, size: Shape = None) -> Array:
    """Integers in ``[low, high)`` (or ``[0, low)`` when ``high`` is None).

    Example:
        >>> import runner.core as bm
        >>> bool((bm.random.randint(3, size=10) < 3).all())
        True
    """
    if high is None:
        low, high = 0, low
    return Array(jax.random.randint(_next_key(), _shape(size), low, high))
