"""Array functions over ``jax.numpy`` that accept Arrays anywhere.

Creation functions return :class:`Array` (so what they make can be state or
``grad_vars``); math functions return plain ``jax.Array``.

Example:
    >>> import runner.core as bm
    >>> w = bm.ones((2, 3))
    >>> bm.dot(w, bm.arange(3.0))
    Array([3., 3.], dtype=float32)
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from ._state import Array, unwrap

CREATION = (
    "array", "asarray", "zeros", "ones", "full", "empty", "eye", "identity",
    "arange", "linspace", "logspace", "zeros_like", "ones_like", "full_like",
    "empty_like",
)  # fmt: skip

MATH = (
    "abs", "absolute", "add", "all", "allclose", "any", "arccos", "arcsin", "arctan",
    "arctan2", "argmax", "argmin", "clip", "concatenate", "cos", "cosh", "cumsum",
    "diag", "divide", "dot", "einsum", "equal", "exp", "expand_dims", "expm1",
    "flip", "floor", "greater", "hstack", "inner", "isfinite", "isnan", "less",
    "log", "log1p", "matmul", "max", "maximum", "mean", "min", "minimum", "multiply",
    "negative", "outer", "power", "prod", "reshape", "round", "sign", "sin", "sinh",
    "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "tanh", "tan",
    "tensordot", "tile", "trace", "transpose", "tril", "triu", "var", "vstack",
    "where",
)  # fmt: skip


def _unwrap_call(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    args = tuple(unwrap(a) for a in args)
    if kwargs:
        kwargs = {k: unwrap(v) for k, v in kwargs.items()}
    return fn(*args, **kwargs)


def _math(name: str) -> Any:
    fn = getattr(jnp, name)

    @functools.wraps(fn, assigned=("__name__", "__qualname__"))
    def wrapper(*args: Any, **kwargs: Any) -> jax.Array:
        return _unwrap_call(fn, args, kwargs)

    wrapper.__doc__ = (
        f"``jax.numpy.{name}`` accepting Arrays anywhere; returns a ``jax.Array``."
    )
    return wrapper


def _creation(name: str) -> Any:
    fn = getattr(jnp, name)

    @functools.wraps(fn, assigned=("__name__", "__qualname__"))
    def wrapper(*args: Any, **kwargs: Any) -> Array:
        return Array(_unwrap_call(fn, args, kwargs))

    wrapper.__doc__ = (
        f"``jax.numpy.{name}`` accepting Arrays anywhere; returns a mutable ``Array``."
    )
    return wrapper


FUNCTIONS: dict[str, Any] = {name: _math(name) for name in MATH}
FUNCTIONS.update({name: _creation(name) for name in CREATION})
