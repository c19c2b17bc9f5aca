"""``jit`` for functions that read and write Arrays.

The Arrays a function touches become inputs of one ``jax.jit`` function, and the
values it writes become outputs, keyed by their index in the known-state list so
that the output structure itself says what to write back. The known states start
as every Array reachable from the function's owner, from the Arrays and ``Base``
objects its code names (closure cells and globals), and the ``grad_vars`` of a
transform; an Array first met while tracing aborts that trace, joins the list and
the call is traced again, so a new input signature is traced once (twice when state
is reached only through another function). Arrays made while tracing get concrete
values after the call; those then reachable from the owner become known states.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax

from ._autograd import _owner_arrays
from ._checks import _check_callable, _decorator_form, _normalize_grad_vars
from ._state import (
    _STACK,
    Array,
    StateTrace,
    _record_write,
    _refuse_tracers,
    unwrap,
)

__all__ = ["jit"]


class _NewStates(Exception):
    """Raised inside a trace that met Arrays not yet passed as inputs."""

    def __init__(self, arrays: list[Array]) -> None:
        super().__init__(f"{len(arrays)} new state arrays")
        self.arrays = arrays


def _values_of_arrays(tree: Any) -> Any:
    """``tree`` with every Array replaced by its value."""
    return jax.tree_util.tree_map(
        lambda a: a.value if isinstance(a, Array) else a,
        tree,
        is_leaf=lambda a: isinstance(a, Array),
    )


class _Jitted:
    def __init__(
        self,
        func: Callable[..., Any],
        states: list[Array],
        static_argnums: tuple[int, ...],
        static_argnames: Sequence[str],
    ) -> None:
        self.func = func
        unique = {id(a): a for a in states}
        self.states: list[Array] = list(unique.values())
        self._jitted = jax.jit(
            self._pure,
            static_argnums=tuple(a + 1 for a in static_argnums),
            static_argnames=tuple(static_argnames),
        )
        self._created: list[Array] = []
        self.__doc__ = getattr(func, "__doc__", None)
        self.__wrapped__ = func

    def known_states(self) -> list[Array]:
        return list(self.states)

    def _pure(self, values: list[Any], *args: Any, **kwargs: Any) -> Any:
        states = self.states
        known = {id(a) for a in states}
        with StateTrace() as trace:
            trace.swap_in(states, values)
            out = unwrap(self.func(*args, **kwargs))
            touched = trace.external(trace.reads) | trace.external(trace.writes)
            new = [a for k, a in touched.items() if k not in known]
            if new:
                raise _NewStates(new)
            writes = trace.writes
            written = {i: a._value for i, a in enumerate(states) if id(a) in writes}
            # Arrays made while tracing hold tracers; return their values as well.
            self._created = list(trace.created.values())
            made = [a._value for a in self._created]
        # A read-only function returns no extra outputs: less to flatten per call.
        return out, ((written, made) if written or made else None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Arrays passed in are inputs: their values, wherever they sit (a
        # keyword, a list, a dict). A loop first: cheaper than a tree walk per call.
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, (Array, list, tuple, dict)):
                args, kwargs = _values_of_arrays((args, kwargs))
                break
        states = self.states
        if _STACK:
            values = [a.value for a in states]
        else:
            values = [a._value for a in states]
        try:
            out, extra = self._jitted(values, *args, **kwargs)
        except _NewStates as new:
            self._created = []
            states.extend(new.arrays)
            return self(*args, **kwargs)
        except BaseException:
            self._created = []  # a trace that failed later must not adopt anything
            raise
        if extra is not None:  # the common read-only call skips all of this
            written, made = extra
            self._write_back(written)
            if self._created:  # only right after a trace
                self._adopt(made)
        return out

    def _write_back(self, written: dict[int, Any]) -> None:
        states = self.states
        _refuse_tracers([states[i] for i in written], written.values())
        for i, value in written.items():
            array = states[i]
            if _STACK:
                _record_write(array)
            array._value = value

    def _adopt(self, made: list[Any]) -> None:
        """After a trace: give Arrays made in it their values; keep the owner's."""
        created, self._created = self._created, []
        for array, value in zip(created, made):
            array._value = value
        reachable = {id(a) for a in _owner_arrays(self.func)}
        known = {id(a) for a in self.states}
        for array in created:
            if id(array) in reachable and id(array) not in known:
                self.states.append(array)


@_decorator_form
def jit(
    func: Callable[..., Any],
    dyn_vars: Any = None,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
) -> Callable[..., Any]:
    """Compile ``func`` with ``jax.jit``, treating the Arrays it uses as inputs.

    Arrays read inside ``func`` are passed in on every call (so later changes to
    them are seen) and Arrays written inside it are written back after the call.
    Repeated calls with the same argument shapes and dtypes never retrace.

    Args:
        func: a function, bound method, callable ``Base`` or transform of them.
            Leave it out to get a decorator: ``@bm.jit(static_argnums=1)``.
        dyn_vars: Arrays (one, or a tuple/list/dict of them) the function uses;
            optional, since Arrays are found automatically.
        static_argnums: positional arguments to treat as compile-time constants.
        static_argnames: keyword arguments to treat as compile-time constants.

    Returns:
        A function with ``func``'s signature.

    Raises:
        TypeError: ``func`` is not callable.

    Example:
        >>> import runner.core as bm
        >>> class Counter(bm.Base):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.n = bm.Variable(bm.zeros(()))
        ...     def step(self, k):
        ...         self.n.value = self.n + k
        ...         return self.n.value
        >>> c = Counter()
        >>> step = bm.jit(c.step)
        >>> _ = step(1.0); step(2.0)
        Array(3., dtype=float32)
        >>> @bm.jit(static_argnums=1)
        ... def power(x, n):
        ...     return x**n
        >>> power(bm.array([2.0]), 3)
        Array([8.], dtype=float32)
    """
    _check_callable("jit", func)
    extra = _normalize_grad_vars("jit", dyn_vars, "dyn_vars")[0]
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    states = _owner_arrays(func) + extra
    return _Jitted(func, states, tuple(static_argnums), static_argnames)
