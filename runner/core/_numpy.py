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
    "abs", "absolute", "add", "all", "any", "arccos", "arcsin", "arctan",
    "arctan2", "argmax", "argmin", "clip", "concatenate", "cos", "cosh", "cumsum",
    "diag", "divide", "dot", "einsum", "equal", "exp", "expand_dims", "expm1",
    "flip", "floor", "greater", "hstack", "inner", "isfinite", "isnan", "less",
    "log", "log1p", "matmul", "max", "maximum", "mean", "min", "minimum", "multiply",
    "negative", "outer", "power", "prod", "reshape", "round", "sign", "sin", "sinh",
    "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "tanh", "tan",
    "tensordot", "tile", "trace", "transpose", "tril", "triu", "var", "vstack",
    "where",
)  # fmt: skip


# NumPy's predicates, each with the example shown in its docstring (call, output).
PREDICATES = {
    "allclose": ("bm.allclose(bm.array([1.0, 2.0]), [1.0, 2.0 + 1e-9])", "True"),
    "array_equal": ("bm.array_equal(bm.array([1, 2]), [1, 2])", "True"),
    "array_equiv": ("bm.array_equiv(bm.ones((2, 2)), [1.0, 1.0])", "True"),
    "isclose": ("bm.isclose(bm.array([1.0, 2.0]), [1.0, 2.1])", "[ True False]"),
    "isinf": ("bm.isinf(bm.array([1.0, bm.inf]))", "[False  True]"),
    "isneginf": ("bm.isneginf(bm.array([-bm.inf, bm.inf]))", "[ True False]"),
    "isposinf": ("bm.isposinf(bm.array([-bm.inf, bm.inf]))", "[False  True]"),
    "isreal": ("bm.isreal(bm.array([1.0, 2.0 + 1.0j]))", "[ True False]"),
    "iscomplex": ("bm.iscomplex(bm.array([1.0, 2.0 + 1.0j]))", "[False  True]"),
    "isrealobj": ("bm.isrealobj(bm.array([1.0]))", "True"),
    "iscomplexobj": ("bm.iscomplexobj(bm.array([1.0j]))", "True"),
    "logical_and": ("bm.logical_and(bm.array([True, True]), [True, False])",
                    "[ True False]"),
    "logical_or": ("bm.logical_or(bm.array([False, False]), [True, False])",
                   "[ True False]"),
    "logical_xor": ("bm.logical_xor(bm.array([True, True]), [True, False])",
                    "[False  True]"),
    "logical_not": ("bm.logical_not(bm.array([True, False]))", "[False  True]"),
    "not_equal": ("bm.not_equal(bm.array([1, 2]), [1, 3])", "[False  True]"),
    "greater_equal": ("bm.greater_equal(bm.array([1, 2]), 2)", "[False  True]"),
    "less_equal": ("bm.less_equal(bm.array([1, 2]), 1)", "[ True False]"),
}  # fmt: skip

#: Constants, as in NumPy.
CONSTANTS = {"inf": jnp.inf, "nan": jnp.nan, "pi": jnp.pi, "e": jnp.e}


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


def _predicate(name: str) -> Any:
    fn = getattr(jnp, name)

    @functools.wraps(fn, assigned=("__name__", "__qualname__"))
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # As in NumPy, lists and tuples are arrays here (jax.numpy refuses them).
        args = tuple(
            jnp.asarray(unwrap(a)) if isinstance(a, (list, tuple)) else a for a in args
        )
        return _unwrap_call(fn, args, kwargs)

    call, output = PREDICATES[name]
    wrapper.__doc__ = (
        f"``numpy.{name}`` (as ``jax.numpy.{name}``) accepting Arrays anywhere.\n\n"
        f"Example:\n    >>> import numpy as np\n    >>> import runner.core as bm\n"
        f"    >>> print(np.asarray({call}))\n    {output}\n"
    )
    return wrapper


FUNCTIONS: dict[str, Any] = {name: _math(name) for name in MATH}
FUNCTIONS.update({name: _predicate(name) for name in PREDICATES})
FUNCTIONS.update({name: _creation(name) for name in CREATION})
