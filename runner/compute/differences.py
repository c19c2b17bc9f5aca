"""Central finite differences of a function of one flat vector of numbers.

The numerical kernel of :mod:`runner.compute.checks`: steps of ``eps^(1/3)
max(1, |z|)`` for first derivatives and ``eps^(1/4) max(1, |z|)`` for second ones,
rounded so that ``z + h - z`` is exactly ``h``, and the :class:`Layout` that names
the pieces of the vector.

Example:
    >>> import numpy as np
    >>> class Square:
    ...     z0, eps = np.array([3.0]), np.finfo(np.float64).eps
    ...     def __call__(self, z):
    ...         return z**2
    >>> f = Square()
    >>> round(float(first_derivatives(f, f(f.z0))[0, 0]), 6)  # d(z^2)/dz at 3
    6.0
    >>> round(float(second_derivatives(f, f(f.z0))[0, 0, 0]), 4)
    2.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

__all__ = ["Function", "Layout", "first_derivatives", "second_derivatives"]


class Function(Protocol):
    """A function of a flat vector: its point ``z0``, its precision's ``eps``."""

    z0: np.ndarray
    eps: float

    def __call__(self, z: np.ndarray) -> np.ndarray: ...


@dataclass
class Layout:
    """Where each named array sits in a flat vector."""

    names: list[str] = field(default_factory=list)
    slices: list[slice] = field(default_factory=list)
    shapes: list[tuple[int, ...]] = field(default_factory=list)

    def add(self, name: str, shape: tuple[int, ...]) -> None:
        start = self.slices[-1].stop if self.slices else 0
        self.names.append(name)
        self.slices.append(slice(start, start + int(np.prod(shape, dtype=int))))
        self.shapes.append(tuple(shape))

    @property
    def size(self) -> int:
        return self.slices[-1].stop if self.slices else 0


def _steps(z: np.ndarray, power: float, eps: float) -> np.ndarray:
    h = eps**power * np.maximum(1.0, np.abs(z))
    return (z + h) - z  # exactly representable steps


def first_derivatives(f: Function, y0: np.ndarray) -> np.ndarray:
    """``d y / d z`` of shape ``(len(y), len(z))`` by central differences."""
    z0 = f.z0
    steps = _steps(z0, 1 / 3, f.eps)
    out = np.empty((y0.size, z0.size))
    for k, h in enumerate(steps):
        e = np.zeros_like(z0)
        e[k] = h
        out[:, k] = (f(z0 + e) - f(z0 - e)) / (2 * h)
    return out


def second_derivatives(f: Function, y0: np.ndarray) -> np.ndarray:
    """``d2 y / dz dz`` of shape ``(len(y), len(z), len(z))`` by central differences."""
    z0 = f.z0
    n = z0.size
    steps = _steps(z0, 1 / 4, f.eps)
    out = np.empty((y0.size, n, n))

    def at(*moves: tuple[int, float]) -> np.ndarray:
        z = z0.copy()
        for k, h in moves:
            z[k] += h
        return f(z)

    for j in range(n):
        hj = steps[j]
        out[:, j, j] = (at((j, hj)) - 2 * y0 + at((j, -hj))) / hj**2
        for k in range(j + 1, n):
            hk = steps[k]
            block = (
                at((j, hj), (k, hk))
                - at((j, hj), (k, -hk))
                - at((j, -hj), (k, hk))
                + at((j, -hj), (k, -hk))
            ) / (4 * hj * hk)
            out[:, j, k] = out[:, k, j] = block
    return out
