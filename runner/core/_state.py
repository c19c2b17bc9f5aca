"""Mutable array containers and the one place where traced values enter them.

An :class:`Array` holds a JAX array in ``_value``. Transforms make state functional by
swapping tracers into Arrays inside a :class:`StateTrace`, which records every Array
read, written or created while it is active and restores every swapped or written
value when it exits, also after an exception. New values are written back by the
transforms only after the JAX transform has returned concrete (or outer-level) arrays.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Array", "TrainVar", "Variable", "StateTrace", "unwrap"]

#: Active state traces, innermost last. Empty outside every transform.
_STACK: list[StateTrace] = []

_SCALAR_TYPES = (bool, int, float, complex)


class StateTrace:
    """Record Array reads, writes and creations; restore swapped values on exit.

    Used as a context manager by the transforms; nested traces pass the Arrays they
    saw on to their parent, so an outer ``jit`` learns what an inner ``grad`` read.
    """

    __slots__ = ("reads", "writes", "originals", "created")

    def __init__(self) -> None:
        self.reads: dict[int, Array] = {}
        self.writes: dict[int, Array] = {}
        self.originals: dict[int, tuple[Array, Any]] = {}
        self.created: dict[int, Array] = {}

    def swap_in(self, arrays: list[Array], values: Any) -> None:
        """Put ``values`` (usually tracers) into ``arrays`` until the trace exits."""
        originals = self.originals
        for array, value in zip(arrays, values):
            originals.setdefault(id(array), (array, array._value))
            array._value = value

    def external(self, arrays: dict[int, Array]) -> dict[int, Array]:
        """The Arrays of ``arrays`` that existed before this trace began."""
        created = self.created
        return {k: a for k, a in arrays.items() if k not in created}

    def __enter__(self) -> StateTrace:
        _STACK.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _STACK.pop()
        for array, value in self.originals.values():
            array._value = value
        if _STACK:
            parent = _STACK[-1]
            parent.created.update(self.created)
            parent.reads.update(self.external(self.reads))


def _refuse_tracers(arrays: Any, values: Any) -> None:
    """Refuse to store tracers in state when none of this package's traces is active.

    That happens only under a JAX transform called directly (``jax.jit``,
    ``jax.vmap``, ...) around code that writes state: the tracer would outlive it.
    """
    if _STACK:
        return
    for array, value in zip(arrays, values):
        if isinstance(value, jax.core.Tracer):
            name = type(array).__name__
            raise TypeError(
                f"{name}.value: received a traced value outside the runner.core "
                f"transforms (is a jax transform such as jax.jit, jax.vmap or "
                f"jax.grad applied directly to code that writes state?); it would "
                f"outlive that transform. Use bm.jit/bm.grad/... instead, or do not "
                f"write state inside it{array._write_hint}."
            )


def _record_write(array: Array) -> None:
    trace = _STACK[-1]
    trace.originals.setdefault(id(array), (array, array._value))
    trace.writes[id(array)] = array


def unwrap(x: Any) -> Any:
    """Return the JAX value of an Array (recursively in lists, tuples and dicts)."""
    if isinstance(x, Array):
        return x.value
    if isinstance(x, (list, tuple, dict)):
        return jax.tree_util.tree_map(unwrap, x, is_leaf=_is_array)
    return x


def _strong(x: Any) -> Any:
    """``x`` without JAX's weak type, so that state keeps one jit signature.

    A weakly typed value (``jnp.asarray(0.0)``) and a strongly typed one of the same
    dtype are different ``jit`` inputs; stored state is always strongly typed.
    """
    if getattr(x, "weak_type", False):
        return jnp.asarray(x, dtype=x.dtype)
    return x


def _is_array(x: Any) -> bool:
    return isinstance(x, Array)


def _binary(op: Any, reflected: bool = False) -> Any:
    if reflected:

        def method(self: Array, other: Any) -> Any:
            return op(unwrap(other), self.value)

    else:

        def method(self: Array, other: Any) -> Any:
            return op(self.value, unwrap(other))

    return method


def _inplace(op: Any, symbol: str) -> Any:
    """``a op= b``: write the result into ``a.value`` and return ``a`` itself."""

    def method(self: Array, other: Any) -> Array:
        new = op(self.value, unwrap(other))
        self._assign(new, f"{type(self).__name__} {symbol}")
        return self

    return method


def _unary(op: Any) -> Any:
    def method(self: Array) -> Any:
        return op(self.value)

    return method


class Array:
    """A mutable container of one JAX array.

    Operators, indexing and array methods read the current value and return plain
    ``jax.Array`` results; assigning ``.value`` keeps the shape and dtype. In-place
    operators (``+=``, ``*=``, ``@=``, ...) and item assignment write ``.value`` of
    the same object, so aliases see the change and transforms write it back.

    Args:
        value: anything ``jax.numpy.asarray`` accepts, or another Array.
        dtype: optional dtype to convert to.

    Example:
        >>> import runner.core as bm
        >>> a = bm.Array([1.0, 2.0])
        >>> a.value = a * 3
        >>> a
        Array([3., 6.], dtype=float32)
        >>> float(a.sum())
        9.0
        >>> alias = a
        >>> a += 1.0
        >>> alias
        Array([4., 7.], dtype=float32)
    """

    __slots__ = ("_value", "__weakref__")
    __array_priority__ = 100
    #: Added to the error for a write under a raw JAX transform.
    _write_hint = ""

    def __init__(self, value: Any, dtype: Any = None) -> None:
        if isinstance(value, Array):
            value = value.value
        self._value = _strong(jnp.asarray(value, dtype=dtype))
        if _STACK:
            _STACK[-1].created[id(self)] = self

    @property
    def value(self) -> jax.Array:
        """The current JAX array; assigning keeps shape and dtype."""
        if _STACK:
            _STACK[-1].reads[id(self)] = self
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        self._assign(new, f"{type(self).__name__}.value")

    def _assign(self, new: Any, where: str) -> None:
        """Store ``new`` (checked against the shape and dtype) as a recorded write."""
        new = self._check_assign(new, where)
        if _STACK:
            _record_write(self)
        else:
            _refuse_tracers([self], [new])
        self._value = new

    def _check_assign(self, new: Any, where: str) -> Any:
        old = self._value
        if isinstance(new, Array):
            new = new.value
        elif isinstance(new, _SCALAR_TYPES):
            new = jnp.asarray(new, dtype=old.dtype)
        elif not isinstance(new, jax.Array):
            new = jnp.asarray(new)
        new = _strong(new)
        name = type(self).__name__
        inplace = not where.endswith(".value")
        if new.shape != old.shape:
            fix = (
                "an in-place operator keeps the shape; use x = x op y for a new array"
                if inplace
                else f"assign an array of the same shape (or make a new {name})"
            )
            raise ValueError(
                f"{where}: expected shape {old.shape}, received shape {new.shape}; "
                f"{fix}."
            )
        if new.dtype != old.dtype:
            fix = (
                f"an in-place operator keeps the dtype; cast the right-hand side "
                f"(e.g. .astype({old.dtype}))"
                if inplace
                else f"cast it first with .astype({old.dtype})"
            )
            raise TypeError(
                f"{where}: expected dtype {old.dtype}, received dtype {new.dtype}; "
                f"{fix}."
            )
        return new

    # -- array protocol -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the value."""
        return self._value.shape

    @property
    def dtype(self) -> Any:
        """The dtype of the value."""
        return self._value.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions of the value."""
        return self._value.ndim

    @property
    def size(self) -> int:
        """The number of elements of the value."""
        return self._value.size

    def __len__(self) -> int:
        return len(self._value)

    def __iter__(self) -> Iterator[jax.Array]:
        return iter(self.value)

    def __getitem__(self, index: Any) -> jax.Array:
        return self.value[unwrap(index)]

    def __setitem__(self, index: Any, new: Any) -> None:
        self.value = self.value.at[unwrap(index)].set(unwrap(new))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self.value, dtype=dtype)
        return out.copy() if copy else out

    def __jax_array__(self) -> jax.Array:
        return self.value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __index__(self) -> int:
        return operator.index(self.value)

    def __repr__(self) -> str:
        text = repr(self._value)
        name = type(self).__name__
        if text.startswith("Array("):
            body = text[len("Array(") :].replace("\n", "\n" + " " * (len(name) - 5))
            return f"{name}({body}"
        return f"{name}({text})"

    __hash__ = object.__hash__

    def __getattr__(self, name: str) -> Any:
        # Everything else (sum, mean, reshape, T, astype, ...) comes from jax.Array.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.value, name)

    __add__ = _binary(operator.add)
    __radd__ = _binary(operator.add, reflected=True)
    __sub__ = _binary(operator.sub)
    __rsub__ = _binary(operator.sub, reflected=True)
    __mul__ = _binary(operator.mul)
    __rmul__ = _binary(operator.mul, reflected=True)
    __truediv__ = _binary(operator.truediv)
    __rtruediv__ = _binary(operator.truediv, reflected=True)
    __floordiv__ = _binary(operator.floordiv)
    __rfloordiv__ = _binary(operator.floordiv, reflected=True)
    __mod__ = _binary(operator.mod)
    __rmod__ = _binary(operator.mod, reflected=True)
    __pow__ = _binary(operator.pow)
    __rpow__ = _binary(operator.pow, reflected=True)
    __matmul__ = _binary(operator.matmul)
    __rmatmul__ = _binary(operator.matmul, reflected=True)
    __and__ = _binary(operator.and_)
    __rand__ = _binary(operator.and_, reflected=True)
    __or__ = _binary(operator.or_)
    __ror__ = _binary(operator.or_, reflected=True)
    __xor__ = _binary(operator.xor)
    __rxor__ = _binary(operator.xor, reflected=True)
    __lshift__ = _binary(operator.lshift)
    __rlshift__ = _binary(operator.lshift, reflected=True)
    __rshift__ = _binary(operator.rshift)
    __rrshift__ = _binary(operator.rshift, reflected=True)
    # In place: ``a += b`` writes ``a.value`` (same shape and dtype) and keeps ``a``.
    __iadd__ = _inplace(operator.add, "+=")
    __isub__ = _inplace(operator.sub, "-=")
    __imul__ = _inplace(operator.mul, "*=")
    __itruediv__ = _inplace(operator.truediv, "/=")
    __ifloordiv__ = _inplace(operator.floordiv, "//=")
    __imod__ = _inplace(operator.mod, "%=")
    __ipow__ = _inplace(operator.pow, "**=")
    __imatmul__ = _inplace(operator.matmul, "@=")
    __iand__ = _inplace(operator.and_, "&=")
    __ior__ = _inplace(operator.or_, "|=")
    __ixor__ = _inplace(operator.xor, "^=")
    __ilshift__ = _inplace(operator.lshift, "<<=")
    __irshift__ = _inplace(operator.rshift, ">>=")
    __eq__ = _binary(operator.eq)  # type: ignore[assignment]
    __ne__ = _binary(operator.ne)  # type: ignore[assignment]
    __lt__ = _binary(operator.lt)
    __le__ = _binary(operator.le)
    __gt__ = _binary(operator.gt)
    __ge__ = _binary(operator.ge)
    __neg__ = _unary(operator.neg)
    __pos__ = _unary(operator.pos)
    __abs__ = _unary(operator.abs)
    __invert__ = _unary(operator.invert)


class Variable(Array):
    """An Array that is model state: collected by ``Base.vars()``.

    Example:
        >>> import runner.core as bm
        >>> v = bm.Variable(bm.zeros(2))
        >>> v.value = v + 1.0
        >>> v
        Variable([1., 1.], dtype=float32)
    """

    __slots__ = ()


class TrainVar(Variable):
    """A trainable Variable: collected by ``Base.train_vars()``.

    Example:
        >>> import runner.core as bm
        >>> bm.TrainVar(bm.ones(1))
        TrainVar([1.], dtype=float32)
    """

    __slots__ = ()


def _flatten(array: Array) -> tuple[tuple[Any], None]:
    return (array._value,), None


def _make_unflatten(cls: type[Array]) -> Any:
    def unflatten(_: None, children: tuple[Any]) -> Array:
        out = object.__new__(cls)
        out._value = children[0]
        return out

    return unflatten


for _cls in (Array, Variable, TrainVar):
    jax.tree_util.register_pytree_node(_cls, _flatten, _make_unflatten(_cls))
