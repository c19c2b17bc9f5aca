"""The engine of the core's control flow (:mod:`runner.core._control`): the loop
carry that finds the Arrays a body writes, the JAX loops over it, and the checks of
the arguments every control-flow function shares.

:class:`_Carry` runs the loop body (or each branch) inside a
:class:`~runner.core._state.StateTrace` while JAX traces it, with the values of the
Arrays it writes swapped in from the loop carry; an Array first written while
tracing aborts the trace, joins the carry, and the JAX loop is traced again. Arrays
only read enter as constants, so gradients flow to them.
"""

from __future__ import annotations

import gc
import math
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import _blame, _normalize_grad_vars
from ._progress import _Report
from ._state import _STACK, Array, StateTrace, _record_write, _refuse_tracers, unwrap


# -- the engine --------------------------------------------------------------------
class _Retrace(Exception):
    """Raised while tracing when a function wrote Arrays its carry lacks."""

    def __init__(self, carry: _Carry) -> None:
        super().__init__(f"{carry.name}: new state to carry")
        self.carry = carry


class _Carry:
    """The Arrays that the functions of one control-flow call write.

    ``n_funcs`` functions (a body, or each branch) are traced per attempt; once all
    were traced, new writes abort the trace (:class:`_Retrace`) and :meth:`run`
    traces again with them carried.
    """

    def __init__(self, name: str, func_arg: str, n_funcs: float = 1) -> None:
        self.name, self.func_arg, self.n_funcs = name, func_arg, n_funcs
        self.arrays: list[Array] = []
        self.pending: dict[int, Array] = {}
        self.made: list[weakref.ref] = []
        self.traced = 0

    def run(self, build: Callable[[list[Any]], Any]) -> Any:
        """``build(values)`` (the JAX loop, given the carried Arrays' values) until
        no traced function wrote an Array that is not carried."""
        while True:
            self.traced, self.pending = 0, {}
            try:
                result = build([a.value for a in self.arrays])
            except _Retrace as retrace:
                if retrace.carry is not self:
                    raise
            else:
                if not self.pending:  # also if JAX skipped tracing a function
                    return result
            self.arrays += self.pending.values()

    def call(
        self, func: Callable[..., Any], values: list[Any], args: tuple, role: str = ""
    ) -> tuple[Any, list[Any]]:
        """``func(*args)`` with ``values`` in the carried Arrays: its unwrapped
        output and the carried values after it. ``role`` names a function that
        must not write state (``cond_fun``)."""
        carried = {id(a) for a in self.arrays}
        with StateTrace() as trace:
            try:
                trace.swap_in(self.arrays, values)
                out = unwrap(func(*args))
                new = {k: a for k, a in trace.external(trace.writes).items()
                       if k not in carried}  # fmt: skip
                if new and role:
                    raise _writes_in(self.name, role, new.values())
                self.pending.update(new)
                after = [a._value for a in self.arrays]
            finally:  # Arrays made here live one step: the parent must not see them
                for key in trace.created:
                    trace.reads.pop(key, None)
                self.made += [weakref.ref(a) for a in trace.created.values()]
                trace.created = {}
        self.traced += 1
        if self.pending and self.traced >= self.n_funcs:
            raise _Retrace(self)
        return out, after

    def finish(self, values: list[Any]) -> None:
        """Write the carried values back; refuse Arrays made inside that outlive
        the loop (they hold values traced inside it)."""
        _refuse_tracers(self.arrays, values)
        for array, value in zip(self.arrays, values):
            if _STACK:
                _record_write(array)
            array._value = value
        if any(ref() is not None for ref in self.made):
            gc.collect()  # a reference cycle may hold a dead one
        kept = [a for a in (ref() for ref in self.made)
                if a is not None and isinstance(a._value, jax.core.Tracer)]  # fmt: skip
        self.made = []
        if kept:
            raise _blame(
                TypeError(
                    f"{self.name}({self.func_arg}): {len(kept)} Array(s) made inside "
                    f"{self.func_arg} are still reachable after {self.name} returned "
                    f"(stored on an object?), holding values traced inside it. Make "
                    f"state before {self.name} and assign its .value inside."
                ),
                self.func_arg,
            )


def _writes_in(name: str, role: str, arrays: Any) -> Exception:
    what = ", ".join(f"a {type(a).__name__} of shape {a.shape}" for a in arrays)
    return _blame(
        ValueError(
            f"{name}({role}): {role} must only read state, but it wrote {what}; "
            f"move the update into body_fun (a random draw writes its generator)."
        ),
        role,
    )


def _scan(name: str, fn: Callable, init: Any, xs: Any, n: int, options: dict) -> Any:
    """``jax.lax.scan`` of ``fn(carry, x) -> (carry, y)``, carrying state too.

    ``options``: ``reverse``, ``unroll``, ``remat`` and ``bar`` (a ProgressBar or
    None). Returns ``(carry, ys)``.
    """
    state = _Carry(name, "body_fun")
    report = None if options["bar"] is None else _Report(options["bar"], n)

    def core(values: list[Any], c: Any, x: Any) -> Any:
        (c, y), values = state.call(fn, values, (c, x))
        return values, c, y

    core = jax.checkpoint(core, prevent_cse=False) if options["remat"] else core

    def step(carry: Any, x: Any) -> Any:
        k, x = x if report else (None, x)
        values, c, y = core(*carry, x)
        if report:
            report.tick(k)  # outside the checkpoint: reported once under grad
        return (values, c), y

    if report:  # the k-th step run is numbered k, also in reverse
        xs = (jnp.arange(n)[::-1] if options["reverse"] else jnp.arange(n), xs)
    reverse, unroll = options["reverse"], options["unroll"]
    (values, c), ys = state.run(
        lambda v: jax.lax.scan(step, (v, init), xs, n, reverse=reverse, unroll=unroll)
    )
    state.finish(values)
    return c, ys


def _python_loop(name: str, fn: Callable, xs: Any, n: int, options: dict) -> Any:
    """``fn(None, x)`` step by step in Python (``jit=False``): the stacked ys."""
    if n == 0:
        warnings.warn(
            f"{name}(operands): the leading axis has length 0, so body_fun never "
            f"runs and state is left unchanged; the outputs are empty.",
            UserWarning,
            stacklevel=3,
        )
        return _empty_outputs(name, fn, xs)
    report = None if options["bar"] is None else _Report(options["bar"], n)
    ys = []
    for k in range(n):
        i = n - 1 - k if options["reverse"] else k
        ys.append(unwrap(fn(None, jax.tree_util.tree_map(lambda a, i=i: a[i], xs))[1]))
        if report:
            report.show(k)
    if options["reverse"]:
        ys.reverse()  # ys line up with xs, as in jax.lax.scan(reverse=True)
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *ys)


def _empty_outputs(name: str, fn: Callable, xs: Any) -> Any:
    """Outputs of zero steps, shaped by an abstract trace that changes no state."""
    state = _Carry(name, "body_fun", n_funcs=math.inf)  # writes are not carried
    x = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), xs)
    shapes = jax.eval_shape(lambda x: state.call(fn, [], (None, x))[0][1], x)
    state.finish([])
    return jax.tree_util.tree_map(lambda s: jnp.zeros((0, *s.shape), s.dtype), shapes)


def _branches(
    name: str, arg: str, branches: list[Any], args: tuple, select: Callable
) -> Any:
    """``select(functions, values, *args)``: a ``jax.lax.cond`` or ``switch`` over
    ``branches`` (the argument ``arg``), carrying the state any branch writes."""
    state = _Carry(name, arg, n_funcs=len(branches))

    def wrap(branch: Any) -> Callable[..., Any]:
        func = branch if callable(branch) else (lambda *_: branch)

        def run(values: list[Any], *args: Any) -> Any:
            out, values = state.call(func, values, args)
            return values, out

        return run

    wrapped = [wrap(b) for b in branches]
    values, out = state.run(lambda values: select(wrapped, values, *args))
    state.finish(values)
    return out


# -- argument checks ---------------------------------------------------------------
def _check_function(name: str, arg: str, func: Any) -> None:
    if not callable(func):
        raise _blame(
            TypeError(
                f"{name}({arg}): expected a callable (function, bound method or "
                f"callable Base object), received {type(func).__name__} {func!r}."
            ),
            arg,
        )


def _check_options(name: str, reverse: Any, unroll: Any, remat: Any) -> None:
    for arg, value in (("reverse", reverse), ("remat", remat)):
        if not isinstance(value, (bool, np.bool_)):
            hint = (
                " (BrainPy 2.1's for_loop(body_fun, dyn_vars, operands) is now "
                "for_loop(body_fun, operands, dyn_vars=...))"
                if arg == "reverse" and name == "for_loop"
                else ""
            )
            raise _blame(
                TypeError(
                    f"{name}({arg}=...): expected a bool, received "
                    f"{type(value).__name__}{hint}; pass {arg}=True or {arg}=False."
                ),
                arg,
            )
    integer = isinstance(unroll, (int, np.integer))
    if not isinstance(unroll, bool) and not (integer and unroll >= 1):
        raise _blame(
            ValueError(
                f"{name}(unroll={unroll!r}): expected a positive int (steps per "
                f"compiled iteration) or a bool; pass e.g. unroll=1."
            ),
            "unroll",
        )


def _check_length(name: str, xs: Any) -> int:
    """The common leading axis (the number of steps) of every array in ``xs``."""
    shapes = [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(xs)]
    fix = None
    if not shapes:
        fix = "received no arrays; pass e.g. bm.arange(n) to run n steps"
    elif () in shapes:
        fix = ("one is a scalar; stack the values into an array (a Python list "
               "gives one operand per element)")  # fmt: skip
    elif len({s[0] for s in shapes}) > 1:
        fix = (f"their leading axes differ ({', '.join(str(s[0]) for s in shapes)});"
               f" give every operand the same number of steps")  # fmt: skip
    if fix:
        raise _blame(
            ValueError(
                f"{name}(operands): expected arrays to loop over along their "
                f"leading axis, but {fix}."
            ),
            "operands",
        )
    return shapes[0][0]


def _check_scalar_condition(name: str, arg: str, value: Any, entry: str = "") -> Any:
    value = unwrap(value)
    if np.shape(value) != ():
        raise _blame(
            TypeError(
                f"{name}({arg}{entry}): expected a scalar boolean, received an array "
                f"of shape {np.shape(value)}; reduce it first (e.g. x.any() or x[0])."
            ),
            arg,
        )
    return value


def _normalize_out_vars(name: str, out_vars: Any) -> tuple[list[Array], Any]:
    """``out_vars`` as a list of Arrays and the treedef that rebuilds it."""
    if out_vars is None:
        return [], None
    _normalize_grad_vars(name, out_vars, "out_vars")  # checks every entry
    return jax.tree_util.tree_flatten(out_vars, is_leaf=lambda x: isinstance(x, Array))


def _arguments(operands: Any) -> tuple[Any, ...]:
    """Operands as positional arguments: a tuple or list is unpacked."""
    operands = unwrap(operands)
    return tuple(operands) if isinstance(operands, (tuple, list)) else (operands,)


# -- public functions ----------------------------------------------------------------
