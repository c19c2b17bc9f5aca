"""What a model accepts and returns, checked around the call.

A model may declare the shapes of its positional inputs with a plain attribute on
the function or method (models need not import the runner to do so)::

    def f1(x, y): ...
    f1.input_shapes = ((3,), (2,))  # x of length 3, y of length 2

One entry per input, in order: a tuple of ints (``None`` for an axis of any length)
or ``None`` (that input is not checked). A declaration fixes the number of inputs
too. Models that declare nothing are called with whatever the config gives.

Example:
    >>> from runner.models.tutorial import f1
    >>> declared_shapes(f1)
    ((3,), (2,))
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..config.errors import ConfigError

__all__ = ["check_inputs", "checked_output", "declared_shapes"]


def declared_shapes(target: Any) -> tuple[Any, ...] | None:
    """The ``input_shapes`` declared by a function, method or callable object.

    Args:
        target: what the runner calls: a function, a bound method, a
            ``functools.partial`` of a function, or a callable object (whose
            ``__call__`` carries the declaration).

    Returns:
        The declaration, or None when there is none.

    Example:
        >>> from runner.models.neuro import FitzHughNagumo
        >>> declared_shapes(FitzHughNagumo().vector_field)
        ((2,),)
    """
    if isinstance(target, functools.partial):
        target = target.func
    elif not inspect.isroutine(target):
        target = type(target).__call__ if callable(target) else None
    return getattr(target, "input_shapes", None)


def check_inputs(
    target: Any, name: str, inputs: Sequence[Any], argnums: Any
) -> list[jax.Array]:
    """Turn the inputs into the arrays JAX computes with, checking each.

    Checks, naming ``inputs.<i>``: a rectangular numeric array; floats where an
    input is differentiated; finite values in the dtype actually used (float32
    unless 64-bit mode is on), so ``1e39`` is refused rather than becoming Inf;
    integers that fit; and the shapes the model declares (:func:`declared_shapes`).

    Args:
        target: the function or method to be called (for its declaration).
        name: its name for messages, e.g. ``f1`` or ``FitzHughNagumo.vector_field``.
        inputs: the positional arguments.
        argnums: the differentiated positions (an int, a list of ints, or None).

    Returns:
        One array per input.

    Raises:
        ConfigError: naming the first input at fault.

    Example:
        >>> from runner.models.tutorial import f1
        >>> [a.shape for a in check_inputs(f1, "f1", [[1.0, 2.0, 3.0], [1.0, 2.0]], 0)]
        [(3,), (2,)]
        >>> check_inputs(f1, "f1", [[1.0], [1.0, 2.0]], 0)
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: inputs.0: f1 takes input 0 of shape (3,), ...
    """
    diffed = argnums if isinstance(argnums, list) else [argnums]
    arrays = [_to_array(i, x, i in diffed) for i, x in enumerate(inputs)]
    shapes = declared_shapes(target)
    if shapes is not None:
        _check_declared(name, shapes, arrays)
    return [jnp.asarray(a) for a in arrays]


def _to_array(i: int, x: Any, diffed: bool) -> np.ndarray:
    key = f"inputs.{i}"
    try:
        arr = np.asarray(x)
    except ValueError as err:
        raise ConfigError(
            key, f"cannot be made an array ({err}); give a rectangular list."
        ) from err
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ConfigError(
            key,
            f"expected numbers (floats) in a rectangular list, received dtype "
            f"{arr.dtype}; give numbers in a rectangular list.",
        )
    if diffed and not np.issubdtype(arr.dtype, np.inexact):
        raise ConfigError(
            key,
            f"is differentiated (argnums) so it must hold floats, received dtype "
            f"{arr.dtype}; write 10.0 instead of 10.",
        )
    inexact = np.issubdtype(arr.dtype, np.inexact)
    if inexact and not np.isfinite(arr).all():
        raise ConfigError(
            key,
            "contains NaN or Inf; derivatives there mean nothing, give finite values.",
        )
    dtype = jax.dtypes.canonicalize_dtype(arr.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        cast = arr.astype(dtype)
    if inexact and not np.isfinite(cast).all():
        largest = float(np.abs(arr).max())
        raise ConfigError(
            key,
            f"holds {largest:g}, beyond the largest {dtype} "
            f"({float(np.finfo(dtype).max):.4g}) that JAX computes with; rescale "
            f"the input (e.g. other units) so it stays below that.",
        )
    if not inexact and not (cast == arr).all():
        raise ConfigError(
            key,
            f"holds integers outside {dtype} ({np.iinfo(dtype).min}.."
            f"{np.iinfo(dtype).max}), the integer type JAX computes with; give "
            f"smaller values or floats.",
        )
    return cast


def _shape_text(shape: Sequence[Any]) -> str:
    dims = ["n" if d is None else str(d) for d in shape]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def _is_shape(entry: Any) -> bool:
    return entry is None or (
        isinstance(entry, (tuple, list))
        and all(d is None or (isinstance(d, int) and d >= 0) for d in entry)
    )


def _check_declared(
    name: str, shapes: Sequence[Any], arrays: Sequence[np.ndarray]
) -> None:
    if not isinstance(shapes, (tuple, list)) or not all(map(_is_shape, shapes)):
        raise ConfigError(
            "model",
            f"{name}.input_shapes is {shapes!r}; expected one entry per input, each a "
            f"tuple of ints (None for any length) or None; fix the model's "
            f"declaration.",
        )
    declared = ", ".join("any" if s is None else _shape_text(s) for s in shapes)
    if len(arrays) != len(shapes):
        raise ConfigError(
            "inputs",
            f"{name} takes {len(shapes)} input(s) of shape(s) {declared}, received "
            f"{len(arrays)}; give one entry per input.",
        )
    for i, (shape, arr) in enumerate(zip(shapes, arrays)):
        if shape is None:
            continue
        if arr.ndim != len(shape) or any(
            d is not None and d != n for d, n in zip(shape, arr.shape)
        ):
            raise ConfigError(
                f"inputs.{i}",
                f"{name} takes input {i} of shape {_shape_text(shape)}, received "
                f"shape {arr.shape} ({np.array2string(arr, threshold=6)}); give an "
                f"input of shape {_shape_text(shape)} (its inputs: {declared}).",
            )


def checked_output(
    target: Callable[..., Any], key: str, name: str, kind: str, has_aux: bool
) -> Callable[..., Any]:
    """``target``, checking what it returns before it is differentiated.

    A value that cannot be differentiated (None, a string, an object, nothing at
    all; for ``grad`` anything but one array) is refused with a ConfigError naming
    ``key`` (``model`` or ``method``) and what was returned, in place of JAX's error
    about outputs or the core's about ``has_aux``. The check runs while the
    derivative is traced, so it costs nothing per compiled call.

    Args:
        target: the function, bound method or callable object.
        key: the config key to blame, ``model`` or ``method``.
        name: the callable's name for the message.
        kind: the derivative (``grad``, ``jacobian``, ...).
        has_aux: whether ``target`` returns ``(value, aux)``.

    Returns:
        A callable with the owner (``__self__``, ``__func__``) of ``target``, so
        that ``runner.core`` finds the same state.

    Example:
        >>> import runner.core as bm
        >>> f = checked_output(lambda x: None, "model", "f", "jacobian", False)
        >>> try:
        ...     bm.jacobian(f)(bm.ones(2))
        ... except ConfigError as err:
        ...     print(str(err)[:36])
        model: f returned None; expected an
    """
    return _Checked(target, key, name, kind, has_aux)


class _Checked:
    def __init__(
        self, target: Any, key: str, name: str, kind: str, has_aux: bool
    ) -> None:
        self.target, self.key, self.name = target, key, name
        self.kind, self.has_aux = kind, has_aux
        self.__self__ = getattr(target, "__self__", target)
        self.__func__ = getattr(target, "__func__", target)
        self.__doc__ = getattr(target, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.target(*args, **kwargs)
        self._check(out)
        return out

    def _check(self, out: Any) -> None:
        value, aux = out, ()
        if self.has_aux:
            if _is_array(out):
                return  # the core explains has_aux for a single array
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                self._refuse(
                    out,
                    "a (value, aux) pair, since diff.has_aux=true",
                    "return `value, aux`, or set diff.has_aux=false",
                )
            value, aux = out
        elif self.kind == "grad" and isinstance(out, (tuple, list)):
            return  # the core suggests has_aux=true for a pair
        leaves = jax.tree_util.tree_leaves(value)
        if self.kind == "grad" and not _is_array(value):
            self._refuse(out, "one scalar array (the value to differentiate)")
        if not leaves or not all(map(_is_array, leaves)):
            self._refuse(out, "an array, or a tuple, list or dict of arrays")
        if not all(map(_is_array, jax.tree_util.tree_leaves(aux))):
            self._refuse(out, "an aux made of arrays")

    def _refuse(self, out: Any, expected: str, fix: str = "") -> None:
        fix = fix or "make it return the value to differentiate" + (
            ", or name another method" if self.key == "method" else ""
        )
        raise ConfigError(
            self.key,
            f"{self.name} returned {_describe(out)}; expected {expected}; {fix}.",
        )


def _is_array(x: Any) -> bool:
    if isinstance(x, (str, bytes)):
        return False
    return isinstance(x, numbers.Number) or (
        hasattr(x, "dtype") and hasattr(x, "shape") and x.dtype != object
    )


def _describe(out: Any) -> str:
    if out is None:
        return "None"
    if _is_array(out):
        return f"an array of shape {tuple(np.shape(out))}"
    if isinstance(out, dict):
        return f"a dict with keys {sorted(map(str, out))}"
    if isinstance(out, (tuple, list)):
        items = ", ".join(_describe(x) for x in out[:3])
        more = ", ..." if len(out) > 3 else ""
        return f"a {type(out).__name__} of {len(out)} ({items}{more})"
    text = repr(out)
    return f"a {type(out).__name__} ({text[:40]}{'...' if len(text) > 40 else ''})"
