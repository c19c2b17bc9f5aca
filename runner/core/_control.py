"""Control flow that carries state: ``for_loop``, ``scan``, ``while_loop``, ``cond``,
``ifelse`` and BrainPy 2.1's ``make_loop``.

One engine, :class:`_Carry`, serves them all. The loop body (or each branch) runs
inside a :class:`~runner.core._state.StateTrace` while JAX traces it, with the
values of the Arrays it writes swapped in from the loop carry; an Array first
written while tracing aborts the trace, joins the carry, and the JAX loop is traced
again (as :func:`~runner.core.jit` does with its inputs). Arrays that are only read
are not carried: their current values (concrete, or tracers of an enclosing
transform) enter as constants, so gradients flow to them. After the JAX loop has
returned, the carried values are written back, as the derivative transforms do.
Arrays made inside a loop body live one step: one still reachable after the loop is
refused, since it would hold a value traced inside the loop.
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

from ._autograd import _owner_arrays
from ._checks import _blame, _normalize_grad_vars
from ._progress import ProgressBar, _normalize_progress_bar, _Report
from ._state import _STACK, Array, StateTrace, _record_write, _refuse_tracers, unwrap

__all__ = ["cond", "for_loop", "ifelse", "make_loop", "scan", "while_loop"]


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
def for_loop(
    body_fun: Callable[..., Any],
    operands: Any,
    reverse: bool = False,
    unroll: int = 1,
    remat: bool = False,
    jit: bool | None = None,
    progress_bar: bool | int | ProgressBar = False,
    dyn_vars: Any = None,
    out_vars: Any = None,
) -> Any:
    """Run ``body_fun`` over the leading axis of ``operands``; stack its outputs.

    A tuple or list of operands is unpacked (``body_fun(*slices)``); anything else,
    a dict included, is passed whole. Arrays that ``body_fun`` writes are carried
    through one ``jax.lax.scan`` and written back after it (a random draw advances
    its generator), also under :func:`jit` and the derivative transforms.

    Args:
        body_fun: the step, ``body_fun(*x)``; it may read and write Arrays.
        operands: arrays (or a pytree of them) sharing the leading axis (steps).
        reverse: run from the last step to the first; outputs stay aligned.
        unroll: steps per compiled loop iteration, as in ``jax.lax.scan``.
        remat: recompute each step in the backward pass (``jax.checkpoint``):
            less memory, more compute.
        jit: ``False`` runs ``body_fun`` step by step in Python; ``None`` (the
            default) means ``True`` unless ``jax.disable_jit()`` is active.
        progress_bar: ``True``, an int (steps between reports) or a
            :class:`ProgressBar`; never changes the results.
        dyn_vars: BrainPy 2.1's state list: optional (state is found), checked.
        out_vars: Arrays (one, or a tuple/list/dict) whose value after every
            step is also returned, in their structure (BrainPy 2.1).

    Returns:
        The outputs of ``body_fun`` stacked along a new leading axis, or
        ``(out_vars history, outputs)`` when ``out_vars`` is given.

    Raises:
        TypeError: ``body_fun`` is not callable, or an option has a wrong type.
        ValueError: ``operands`` have no leading axis, or leading axes differ.

    Example:
        >>> import runner.core as bm
        >>> a = bm.Variable(bm.zeros(1))
        >>> def body(x):
        ...     a.value += x
        ...     return a.value
        >>> bm.for_loop(body, bm.arange(1.0, 5.0)).ravel()
        Array([ 1.,  3.,  6., 10.], dtype=float32)
        >>> a
        Variable([10.], dtype=float32)
    """
    _check_function("for_loop", "body_fun", body_fun)
    _check_options("for_loop", reverse, unroll, remat)
    if jit is not None and not isinstance(jit, (bool, np.bool_)):
        raise _blame(TypeError(f"for_loop(jit=...): expected True, False or None, "
                               f"received {type(jit).__name__}."), "jit")  # fmt: skip
    _normalize_grad_vars("for_loop", dyn_vars, "dyn_vars")
    outs, out_tree = _normalize_out_vars("for_loop", out_vars)
    xs = unwrap(operands)
    n = _check_length("for_loop", xs)
    unpack = isinstance(operands, (tuple, list))
    options = dict(reverse=bool(reverse), unroll=unroll, remat=bool(remat),
                   bar=_normalize_progress_bar("for_loop", progress_bar))  # fmt: skip

    def step(_: Any, x: Any) -> Any:
        out = body_fun(*x) if unpack else body_fun(x)
        return None, (out, [a.value for a in outs])

    if jit is False or (jit is None and jax.config.jax_disable_jit):
        ys, history = _python_loop("for_loop", step, xs, n, options)
    else:
        ys, history = _scan("for_loop", step, None, xs, n, options)[1]
    return ys if out_tree is None else (out_tree.unflatten(history), ys)


def scan(
    body_fun: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    operands: Any,
    reverse: bool = False,
    unroll: int = 1,
    remat: bool = False,
    progress_bar: bool | int | ProgressBar = False,
) -> tuple[Any, Any]:
    """``jax.lax.scan`` for functions that read and write Arrays.

    ``body_fun(carry, x)`` returns ``(carry, y)``; ``x`` is a slice of ``operands``
    (passed whole, not unpacked). State is carried as in :func:`for_loop`.

    Args:
        body_fun: the step; it may read and write Arrays.
        init: the first carry (a pytree; Arrays are read).
        operands: arrays (or a pytree of them) sharing the leading axis (steps).
        reverse, unroll, remat, progress_bar: as in :func:`for_loop`.

    Returns:
        ``(carry, ys)``: the last carry and the stacked ``y``.

    Raises:
        TypeError: ``body_fun`` is not callable or returns no ``(carry, y)`` pair.
        ValueError: ``operands`` have no leading axis, or leading axes differ.

    Example:
        >>> import runner.core as bm
        >>> calls = bm.Variable(bm.zeros(()))
        >>> def body(total, x):
        ...     calls.value += 1.0
        ...     return total + x, calls.value
        >>> total, counts = bm.scan(body, 0.0, bm.arange(4.0))
        >>> total, counts
        (Array(6., dtype=float32), Array([1., 2., 3., 4.], dtype=float32))
    """
    _check_function("scan", "body_fun", body_fun)
    _check_options("scan", reverse, unroll, remat)
    xs = unwrap(operands)
    n = _check_length("scan", xs)
    options = dict(reverse=bool(reverse), unroll=unroll, remat=bool(remat),
                   bar=_normalize_progress_bar("scan", progress_bar))  # fmt: skip

    def step(carry: Any, x: Any) -> Any:
        out = body_fun(carry, x)
        if isinstance(out, (tuple, list)) and len(out) == 2:
            return out
        raise _blame(
            TypeError(f"scan(body_fun): body_fun must return a (carry, y) pair, but "
                      f"it returned a {type(out).__name__}; return `carry, y`."),
            "body_fun",
        )  # fmt: skip

    return _scan("scan", step, unwrap(init), xs, n, options)


def while_loop(
    body_fun: Callable[..., Any],
    cond_fun: Callable[..., Any],
    operands: Any,
    dyn_vars: Any = None,
) -> Any:
    """Call ``body_fun`` while ``cond_fun`` is true (one ``jax.lax.while_loop``).

    A tuple or list of operands is unpacked into both functions; ``body_fun``
    returns the next operands (or ``None`` to keep them) and may write Arrays,
    which are carried and written back. ``cond_fun`` may only read state. Forward
    derivatives (``jacfwd``) work; reverse ones do not (JAX cannot reverse a loop
    of unknown length): use :func:`for_loop` there.

    Args:
        body_fun: the step, ``body_fun(*operands) -> operands or None``.
        cond_fun: ``cond_fun(*operands) -> scalar bool``.
        operands: the initial operands (any pytree).
        dyn_vars: BrainPy 2.1's state list: optional (state is found), checked.

    Returns:
        The final operands, in the structure of ``operands``.

    Raises:
        TypeError: a function is not callable, ``cond_fun`` returns no scalar, or
            ``body_fun`` returns operands of another structure.
        ValueError: ``cond_fun`` writes state.

    Example:
        >>> import runner.core as bm
        >>> a = bm.Variable(bm.zeros(1))
        >>> def body(x):
        ...     a.value += x
        ...     return x + 1.0
        >>> bm.while_loop(body, lambda x: x < 4.0, 1.0), a
        (Array(4., dtype=float32, weak_type=True), Variable([6.], dtype=float32))
    """
    _check_function("while_loop", "body_fun", body_fun)
    _check_function("while_loop", "cond_fun", cond_fun)
    _normalize_grad_vars("while_loop", dyn_vars, "dyn_vars")
    args, unpack = _arguments(operands), isinstance(operands, (tuple, list))
    state = _Carry("while_loop", "body_fun", n_funcs=2)

    def test(carry: Any) -> Any:
        out = state.call(cond_fun, carry[0], carry[1], role="cond_fun")[0]
        return _check_scalar_condition("while_loop", "cond_fun", out)

    def step(carry: Any) -> Any:
        new, values = state.call(body_fun, *carry)
        if new is None:
            new = carry[1]
        else:  # as the operands were passed: a tuple, or one value
            new = tuple(new) if unpack and isinstance(new, (tuple, list)) else (new,)
        if jax.tree_util.tree_structure(new) != jax.tree_util.tree_structure(carry[1]):
            raise _blame(TypeError(
                f"while_loop(body_fun): body_fun must return the next operands in "
                f"the structure of operands, {jax.tree_util.tree_structure(args)}, "
                f"or None; it returned {jax.tree_util.tree_structure(new)}."
            ), "body_fun")  # fmt: skip
        return values, new

    values, out = state.run(lambda vals: jax.lax.while_loop(test, step, (vals, args)))
    state.finish(values)
    if not unpack:
        return out[0]
    return list(out) if isinstance(operands, list) else out


def cond(
    pred: Any,
    true_fun: Any,
    false_fun: Any,
    operands: Any = (),
    dyn_vars: Any = None,
) -> Any:
    """``if pred: true_fun(*operands) else: false_fun(*operands)``, in one
    ``jax.lax.cond`` (both branches are traced; one runs).

    A tuple or list of operands is unpacked, so ``()`` (the default) calls the
    branches without arguments; anything else is passed as one argument. A branch
    that is not callable is a constant. Arrays that either branch writes are
    carried and written back.

    Args:
        pred: a scalar boolean (may be traced).
        true_fun: the branch for a true ``pred``, or a constant.
        false_fun: the branch for a false ``pred``, or a constant.
        operands: the branches' arguments.
        dyn_vars: BrainPy 2.1's state list: optional (state is found), checked.

    Returns:
        The chosen branch's output.

    Raises:
        TypeError: ``pred`` is not a scalar.

    Example:
        >>> import runner.core as bm
        >>> a = bm.Variable(bm.zeros(2))
        >>> def grow():
        ...     a.value += 1.0
        >>> bm.cond(True, grow, None); a
        Variable([1., 1.], dtype=float32)
        >>> bm.cond(False, lambda x: x, lambda x: -x, 3.0)
        Array(-3., dtype=float32, weak_type=True)
    """
    _normalize_grad_vars("cond", dyn_vars, "dyn_vars")
    pred = _check_scalar_condition("cond", "pred", pred)
    select = lambda fs, *ops: jax.lax.cond(pred, *fs, *ops)  # noqa: E731
    args = _arguments(operands)
    return _branches("cond", "true_fun/false_fun", [true_fun, false_fun], args, select)


def ifelse(
    conditions: Any,
    branches: Any,
    operands: Any = None,
    dyn_vars: Any = None,
) -> Any:
    """``if c0: b0() elif c1: b1() ... else: bN()`` in one ``jax.lax.switch``.

    The first true condition wins. Give one more branch than conditions (the last
    is the else), or as many (the last branch is the else, its condition unused).
    A bare bool is one condition. Operands are passed as in :func:`cond` (``None``:
    no argument). Works with traced conditions (``jax.vmap``, ``bm.grad``).

    Args:
        conditions: a scalar boolean or a sequence of them.
        branches: a sequence of functions or constants.
        operands: the branches' arguments; a tuple or list is unpacked.
        dyn_vars: BrainPy 2.1's state list: optional (state is found), checked.

    Returns:
        The chosen branch's output.

    Raises:
        TypeError: ``branches`` is not a sequence, or a condition not a scalar.
        ValueError: the numbers of conditions and branches do not match.

    Example:
        >>> import runner.core as bm
        >>> def grade(x):
        ...     return bm.ifelse([x > 10, x > 5, x > 0], [1, 2, 3, 4])
        >>> int(grade(7)), int(grade(-1))
        (2, 4)
    """
    _normalize_grad_vars("ifelse", dyn_vars, "dyn_vars")
    if not isinstance(conditions, (tuple, list)):
        conditions = [conditions]
    if not isinstance(branches, (tuple, list)):
        raise _blame(TypeError(f"ifelse(branches): expected a list or tuple of "
                               f"functions or constants, received "
                               f"{type(branches).__name__}."), "branches")  # fmt: skip
    if len(branches) < 2 or len(branches) - len(conditions) not in (0, 1):
        raise _blame(ValueError(
            f"ifelse(branches): received {len(conditions)} condition(s) and "
            f"{len(branches)} branch(es); give len(conditions) + 1 branches (the last "
            f"is the else), or as many as conditions (the last branch is the else), "
            f"and at least two."), "branches")  # fmt: skip
    index = jnp.asarray(len(branches) - 1)
    for i in reversed(range(len(branches) - 1)):  # the first true one wins
        c = _check_scalar_condition("ifelse", "conditions", conditions[i], f"[{i}]")
        index = jnp.where(c, i, index)
    args = () if operands is None else _arguments(operands)
    select = lambda fs, *ops: jax.lax.switch(index, fs, *ops)  # noqa: E731
    return _branches("ifelse", "branches", list(branches), args, select)


class _Loop:
    """The loop function of :func:`make_loop`: ``loop(xs)``."""

    def __init__(self, body_fun: Callable, dyn: list, outs: list, tree: Any,
                 has_return: bool) -> None:  # fmt: skip
        self.body_fun, self.dyn, self.outs = body_fun, dyn, outs
        self.tree, self.has_return = tree, has_return

    def known_states(self) -> list[Array]:
        """Arrays this loop is known to touch (for :func:`jit`)."""
        return self.dyn + self.outs + _owner_arrays(self.body_fun)

    def __call__(self, xs: Any) -> Any:
        xs = unwrap(xs)
        n = _check_length("make_loop", xs)

        def step(_: Any, x: Any) -> Any:
            return None, (self.body_fun(x), [a.value for a in self.outs])

        options = dict(reverse=False, unroll=1, remat=False, bar=None)
        returns, history = _scan("make_loop", step, None, xs, n, options)[1]
        outs = self.tree.unflatten(history)
        return (outs, returns) if self.has_return else outs


def make_loop(
    body_fun: Callable[[Any], Any],
    dyn_vars: Any,
    out_vars: Any = None,
    has_return: bool = False,
) -> Callable[[Any], Any]:
    """BrainPy 2.1's loop maker: ``loop = make_loop(...)``, then ``loop(xs)``.

    ``loop(xs)`` calls ``body_fun(x)`` for every slice ``x`` of ``xs`` (passed
    whole) in one ``jax.lax.scan``, carrying the state it writes like
    :func:`for_loop`; ``dyn_vars`` is checked but optional.

    Args:
        body_fun: the step, ``body_fun(x)``.
        dyn_vars: the Arrays the step uses (a hint; None is fine).
        out_vars: Arrays (one, or a tuple/list/dict) whose values after each step
            form the history ``outs``, in their structure (``()`` without them).
        has_return: ``loop`` also returns the stacked outputs of ``body_fun``.

    Returns:
        ``loop(xs) -> outs``, or ``-> (outs, returns)`` with ``has_return``.

    Raises:
        TypeError: ``body_fun`` is not callable, or an entry of ``dyn_vars`` or
            ``out_vars`` is not an Array.

    Example:
        >>> import runner.core as bm
        >>> b = bm.Variable(bm.zeros(1))
        >>> def f(x):
        ...     b.value += 1.0
        ...     return b + 1.0
        >>> loop = bm.make_loop(f, dyn_vars=[b], out_vars=b, has_return=True)
        >>> hist_b, hist_b_plus = loop(bm.arange(3))
        >>> hist_b.ravel(), hist_b_plus.ravel()
        (Array([1., 2., 3.], dtype=float32), Array([2., 3., 4.], dtype=float32))
    """
    _check_function("make_loop", "body_fun", body_fun)
    dyn = _normalize_grad_vars("make_loop", dyn_vars, "dyn_vars")[0]
    outs, tree = _normalize_out_vars("make_loop", out_vars)
    if tree is None:
        tree = jax.tree_util.tree_structure(())
    if not isinstance(has_return, (bool, np.bool_)):
        raise _blame(TypeError(f"make_loop(has_return=...): expected a bool, "
                               f"received {type(has_return).__name__}."),
                     "has_return")  # fmt: skip
    return _Loop(body_fun, dyn, outs, tree, bool(has_return))
