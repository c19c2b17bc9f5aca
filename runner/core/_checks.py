"""Argument checks and normal forms shared by the transforms.

Every message names the transform the user called and the argument the user wrote,
says what was expected and what was received, and how to fix it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from ._state import Array

ArgNums = int | Sequence[int] | None
GradVars = Array | Sequence[Array] | dict[str, Array] | None

_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING = object()


def _blame(error: Exception, argument: str) -> Exception:
    """Name the transform argument at fault in ``error.argument``.

    The core's own argument errors carry it; errors raised by the differentiated
    function do not (not even those of a transform called inside it), so a caller
    can tell them apart without reading messages.
    ``argument`` is ``func``, ``grad_vars``, ``dyn_vars``, ``argnums``, ``has_aux``
    (also for ``grad`` of a function returning a tuple), ``output`` (the
    scalar-output rule of ``grad``), ``allow_int`` (an integer argument; an integer
    ``grad_vars`` entry is ``grad_vars``) or ``mode`` (``jacobian``).
    """
    error.argument = argument  # type: ignore[attr-defined]
    return error


def _disown(error: BaseException) -> None:
    """An error leaving the differentiated function is the function's: drop the
    ``argument`` that a transform called inside it named (see :func:`_blame`)."""
    vars(error).pop("argument", None)


def _decorator_form(transform: _F) -> _F:
    """Let ``transform(**options)`` without a function return a decorator.

    So ``@bm.jit(static_argnums=1)`` and ``@bm.grad(argnums=0)`` work as in BrainPy
    and JAX, besides ``bm.jit(f, static_argnums=1)``.
    """

    @functools.wraps(transform)
    def wrapper(func: Any = _MISSING, *args: Any, **kwargs: Any) -> Any:
        if func is _MISSING:  # not None: ``grad(None)`` is an error, not a decorator

            def decorate(f: Callable[..., Any]) -> Any:
                return transform(f, *args, **kwargs)

            return decorate
        return transform(func, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _check_callable(kind: str, func: Any) -> None:
    if not callable(func):
        raise _blame(
            TypeError(
                f"{kind}(func): expected a callable (function, bound method or "
                f"callable Base object), received {type(func).__name__} {func!r}."
            ),
            "func",
        )


def _normalize_grad_vars(
    kind: str, grad_vars: GradVars, arg: str = "grad_vars"
) -> tuple[list[Array], Any]:
    """Flatten ``grad_vars`` (or ``dyn_vars``, named by ``arg``) to a list of Arrays
    and the treedef to rebuild it. ``dyn_vars`` may repeat an Array (it is kept once).
    """
    if grad_vars is None:
        return [], None
    leaves, treedef = jax.tree_util.tree_flatten(
        grad_vars, is_leaf=lambda x: isinstance(x, Array)
    )
    seen: dict[int, int] = {}
    for position, leaf in enumerate(leaves):
        if not isinstance(leaf, Array):
            raise _blame(
                TypeError(
                    f"{kind}({arg}=...): entry {position} is a {type(leaf).__name__}, "
                    f"expected a bm.Array or bm.Variable; wrap it (bm.Variable(x)) and "
                    f"store it on the object the function reads."
                ),
                arg,
            )
        if id(leaf) in seen and arg == "grad_vars":
            raise _blame(
                ValueError(
                    f"{kind}(grad_vars=...): entries {seen[id(leaf)]} and "
                    f"{position} are the same Array; list each variable once."
                ),
                "grad_vars",
            )
        seen.setdefault(id(leaf), position)
    if arg != "grad_vars":  # dyn_vars: only a hint, so empty is fine
        return list({id(leaf): leaf for leaf in leaves}.values()), treedef
    if not leaves:
        raise _blame(
            ValueError(
                f"{kind}(grad_vars=...): received an empty {type(grad_vars).__name__}; "
                f"pass at least one Array, or leave grad_vars out to use argnums."
            ),
            "grad_vars",
        )
    return leaves, treedef


def _normalize_argnums(kind: str, argnums: ArgNums, has_vars: bool) -> Any:
    """``argnums`` as an int, a tuple of ints, or None (no argument gradients)."""
    if argnums is None:
        return None if has_vars else 0
    if isinstance(argnums, (list, tuple)):
        checked = tuple(_check_argnum(kind, a) for a in argnums)
        if len(set(checked)) != len(checked):
            raise _blame(
                ValueError(
                    f"{kind}(argnums={list(argnums)}): repeated entries; list each "
                    f"positional argument once."
                ),
                "argnums",
            )
        if not checked:
            raise _blame(
                ValueError(
                    f"{kind}(argnums=()): empty; pass an int, a non-empty tuple, "
                    f"or None."
                ),
                "argnums",
            )
        return checked
    return _check_argnum(kind, argnums)


def _check_argnum(kind: str, argnum: Any) -> int:
    if isinstance(argnum, bool) or not isinstance(argnum, (int, np.integer)):
        raise _blame(
            TypeError(
                f"{kind}(argnums=...): expected ints (positional argument indices), "
                f"received {type(argnum).__name__} {argnum!r}; pass e.g. argnums=0 or "
                f"argnums=(0, 1)."
            ),
            "argnums",
        )
    if argnum < 0:
        raise _blame(
            ValueError(
                f"{kind}(argnums=...): expected non-negative ints, received {argnum}; "
                f"count positional arguments from 0."
            ),
            "argnums",
        )
    return int(argnum)


def _check_nargs(kind: str, argnums: tuple[int, ...], nargs: int) -> None:
    if argnums and max(argnums) >= nargs:
        raise _blame(
            ValueError(
                f"{kind}(argnums={argnums if len(argnums) > 1 else argnums[0]}): the "
                f"function was called with {nargs} positional argument(s), so argnums "
                f"must be below {nargs}; pass the argument positionally or fix argnums."
            ),
            "argnums",
        )


def _check_aux_pair(kind: str, out: Any) -> tuple[Any, Any]:
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return out[0], out[1]
    if isinstance(out, (tuple, list)):
        what = f"a {type(out).__name__} of length {len(out)}"
    elif hasattr(out, "shape"):
        what = f"a single array of shape {tuple(out.shape)}"
    else:
        what = f"a {type(out).__name__}"
    raise _blame(
        TypeError(
            f"{kind}(has_aux=True): the function must return a (value, aux) pair, but "
            f"it returned {what}; return `value, aux` or set has_aux=False."
        ),
        "has_aux",
    )


def _check_scalar(out: Any) -> None:
    shape = getattr(out, "shape", None)
    if shape == ():
        return
    if shape is None:
        received = f"a {type(out).__name__}"
        hint = " (if it returns (value, aux), pass has_aux=True)"
    else:
        received = f"an output of shape {shape}"
        hint = ""
    raise _blame(
        TypeError(
            f"Gradient only defined for scalar-output functions. grad received "
            f"{received}{hint}. Reduce it to a scalar (e.g. `.sum()` or `.mean()`), or "
            f"use vector_grad (gradient of the sum) or jacobian (all partials)."
        ),
        "output" if shape is not None else "has_aux",  # a pair: the aux is unflagged
    )


def _entry_name(i: int, path: tuple[Any, ...]) -> str:
    """``grad_vars entry i``, with its key when ``grad_vars`` is a dict."""
    if any(isinstance(k, jax.tree_util.DictKey) for k in path):
        return f"grad_vars entry {i} (grad_vars{jax.tree_util.keystr(path)})"
    return f"grad_vars entry {i}"


def _check_inexact(kind: str, entries: list[tuple[str, Any, str]]) -> None:
    """Explain an integer input that JAX refused, naming which input it was.

    ``entries`` are ``(name, value, argument)``: an integer ``grad_vars`` entry (a
    random key, a counter) is blamed on ``grad_vars``, an integer argument on
    ``allow_int``.
    """
    for name, value, argument in entries:
        for leaf in jax.tree_util.tree_leaves(value):
            dtype = jnp.result_type(leaf)
            if not jnp.issubdtype(dtype, jnp.inexact):
                fix = (
                    "Leave it out of grad_vars (e.g. use train_vars())"
                    if argument == "grad_vars"
                    else "Pass floats (e.g. 2. instead of 2)"
                )
                raise _blame(
                    TypeError(
                        f"{kind} requires real- or complex-valued inputs (input "
                        f"dtype that is a sub-dtype of np.inexact), but {name} has "
                        f"dtype {dtype}. {fix}, or set allow_int=True (grad, "
                        f"jacrev) to get float0 zeros for it."
                    ),
                    argument,
                )
