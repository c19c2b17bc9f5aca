"""Input generators that configs may name: ``_target_: runner.inputs.<name>``.

Each returns a float32 ``jax.Array`` (``random`` uses its own ``seed``, so an input
does not depend on what else the run draws). A request larger than the machine's
memory is refused with its size before anything is allocated.

Example:
    >>> from runner import inputs
    >>> inputs.linspace(0.0, 1.0, 3).tolist()
    [0.0, 0.5, 1.0]
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import jax
import jax.numpy as jnp

__all__ = ["arange", "full", "linspace", "ones", "random", "zeros"]

Shape = int | Sequence[int]


def _shape(shape: Shape) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in dims):
        raise ValueError(
            f"expected a shape of non-negative ints, received {shape!r}; e.g. [3]."
        )
    _check_size(math.prod(dims), f"shape {list(dims)}")
    return dims


def _check_size(count: int, what: str) -> None:
    """Refuse ``count`` float32 values that cannot fit in this machine's memory."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: JAX says
        return
    if count * 4 > memory:
        raise ValueError(
            f"{what} asks for {count:,} float32 values ({count * 4 / 1e9:,.1f} GB), "
            f"more than this machine's memory ({memory / 1e9:,.1f} GB); ask for "
            f"fewer."
        )


def zeros(shape: Shape) -> jax.Array:
    """Zeros of ``shape``.

    Example:
        >>> zeros([2]).tolist()
        [0.0, 0.0]
    """
    return jnp.zeros(_shape(shape), jnp.float32)


def ones(shape: Shape) -> jax.Array:
    """Ones of ``shape``.

    Example:
        >>> ones(2).tolist()
        [1.0, 1.0]
    """
    return jnp.ones(_shape(shape), jnp.float32)


def full(shape: Shape, fill_value: float) -> jax.Array:
    """``fill_value`` everywhere in ``shape``.

    Example:
        >>> full(2, 3.0).tolist()
        [3.0, 3.0]
    """
    return jnp.full(_shape(shape), fill_value, jnp.float32)


def arange(start: float, stop: float | None = None, step: float = 1.0) -> jax.Array:
    """Evenly spaced floats in ``[start, stop)`` (or ``[0, start)``).

    Example:
        >>> arange(3).tolist()
        [0.0, 1.0, 2.0]
    """
    low, high = (0.0, start) if stop is None else (start, stop)
    if step != 0:
        _check_size(max(0, math.ceil((high - low) / step)), f"arange({start}, {stop})")
    return jnp.arange(start, stop, step, dtype=jnp.float32)


def linspace(start: float, stop: float, num: int = 50) -> jax.Array:
    """``num`` evenly spaced floats from ``start`` to ``stop`` inclusive.

    Example:
        >>> linspace(0.0, 2.0, 3).tolist()
        [0.0, 1.0, 2.0]
    """
    _check_size(num, f"num={num}")
    return jnp.linspace(start, stop, num, dtype=jnp.float32)


def random(
    shape: Shape, seed: int = 0, low: float = 0.0, high: float = 1.0
) -> jax.Array:
    """Uniform floats in ``[low, high)`` from their own ``seed``.

    Example:
        >>> bool((random(4, seed=1) == random(4, seed=1)).all())
        True
    """
    key = jax.random.key(seed)
    return jax.random.uniform(key, _shape(shape), jnp.float32, low, high)
