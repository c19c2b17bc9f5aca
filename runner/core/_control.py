"""Control flow that carries state: ``for_loop``, ``scan``, ``while_loop``, ``cond``,
``ifelse`` and BrainPy 2.1's ``make_loop``.

One engine (:mod:`runner.core._loop_engine`) serves them all. The loop body (or
each branch) runs inside a :class:`~runner.core._state.StateTrace` while JAX
traces it, with the values of the Arrays it writes swapped in from the loop
carry; an Array first written while tracing aborts the trace, joins the carry,
and the JAX loop is traced again (as :func:`~runner.core.jit` does with its
inputs). Arrays that are only read are not carried: their current values
(concrete, or tracers of an enclosing transform) enter as constants, so gradients
flow to them. After the JAX loop has returned, the carried values are written
back, as the derivative transforms do. Arrays made inside a loop body live one
step: one still reachable after the loop is refused, since it would hold a value
traced inside the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._autograd import _owner_arrays
from ._checks import _blame, _normalize_grad_vars
from ._loop_engine import (
    _arguments,
    _branches,
    _Carry,
    _check_function,
    _check_length,
    _check_options,
    _check_scalar_condition,
    _normalize_out_vars,
    _python_loop,
    _scan,
)
from ._progress import ProgressBar, _normalize_progress_bar
from ._state import Array, unwrap

__all__ = ["cond", "for_loop", "ifelse", "make_loop", "scan", "while_loop"]


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
