"""Naming a run's results: the derivative's output becomes named arrays.

:func:`label` turns what a plan's derivative returned into :class:`Result` s, one
array per differentiated position (``arg<i>`` or a ``grad_vars`` path, ``row,col``
for Hessian blocks) and output leaf, plus the value, aux, eigenvalues and residual
the spec asks for.

Example:
    >>> from runner.models.tutorial import linear
    >>> from runner.compute.plan import make_plan
    >>> from runner.config.spec import DiffSpec
    >>> plan = make_plan(linear, [2.0, 1.0], DiffSpec(argnums=[0, 1]))
    >>> [(r.wrt, float(r.array)) for r in label(plan, plan.derivative(*plan.inputs))]
    [('arg0', 2.0), ('arg1', 1.0)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import numpy as np

from ..config.errors import ConfigError
from ..config.schema import JACOBIAN_KINDS, Dynamics, Kind
from ..config.spec import fixed_point_argnum
from .stability import residual

if TYPE_CHECKING:
    from .plan import Plan

__all__ = ["Result", "arg_wrt", "label"]


class Result(NamedTuple):
    """One array of an experiment's output: what it is and its values.

    Example:
        >>> Result("grad", "arg0", "", np.array([1.0])).wrt
        'arg0'
    """

    quantity: str
    wrt: str
    output: str
    array: np.ndarray


def arg_wrt(position: int) -> str:
    """The ``wrt`` name of a positional argument in every table.

    Example:
        >>> arg_wrt(1)
        'arg1'
    """
    return f"arg{int(position)}"


def label(plan: Plan, out: Any, batch: int = 0) -> list[Result]:
    """Name the arrays of ``out``, what ``plan.derivative`` returned.

    Args:
        plan: the plan whose derivative ran.
        out: its output ``(grads by position, value, aux)``, possibly with ``batch``
            leading batch axes (from ``jax.vmap``).
        batch: the number of leading batch axes.

    Returns:
        The gradients, then the value, aux, eigenvalues and residual asked for.
    """
    grads, value, aux = out
    diff, positions = plan.diff, plan.positions
    if diff.kind in JACOBIAN_KINDS and not jax.tree_util.treedef_is_leaf(
        jax.tree_util.tree_structure(value)
    ):
        blocks = _output_major(grads, value, positions)
    elif diff.kind == Kind.hessian:  # rows by the first position, then by the second
        blocks = [
            (f"{row},{col}", block)
            for pos_k, row_k in zip(positions, grads)
            for row, line in _entries(pos_k, row_k)
            for pos_m, cell in zip(positions, line)
            for col, block in _entries(pos_m, cell)
        ]
    else:  # one output: JAX's tuple over positions
        blocks = [pair for pos, g in zip(positions, grads) for pair in _entries(pos, g)]
    results = [r for wrt, g in blocks for r in _leaves("grad", wrt, g)]
    if diff.return_value:
        results += _leaves("value", "", value)
    if diff.has_aux:
        results += _leaves("aux", "", aux)
    if diff.eigenvalues:
        results += _eigenvalues(results, batch)
    if diff.dynamics == Dynamics.map and diff.eigenvalues:  # phi(x) = x?
        state = plan.inputs[fixed_point_argnum(diff, "diff.dynamics")]
        results.append(Result("map_residual", "", "", _map_residual(value, state)))
    elif diff.eigenvalues or diff.fixed_point:  # is the point a fixed point?
        results.append(Result("residual", "", "", residual(value, batch)))
    return results


def _map_residual(value: Any, state: Any) -> np.ndarray:
    """``|phi(x) - x|`` of a map's value at its state ``x``."""
    if np.shape(value) != np.shape(state):
        raise ConfigError(
            "diff.dynamics",
            f"map needs the function to return a state of the input's shape "
            f"{np.shape(state)}, received {np.shape(value)}; set "
            f"diff.dynamics=vector_field.",
        )
    step = np.asarray(value, np.float64) - np.asarray(state, np.float64)
    return residual(step)


def _output_major(
    grads: Any, value: Any, positions: list[Any]
) -> list[tuple[str, Any]]:
    """Jacobians of a structured output: JAX nests positions inside output leaves."""
    treedef = jax.tree_util.tree_structure(value)
    by_wrt: dict[str, list[Any]] = {}
    for per_position in treedef.flatten_up_to(grads):
        for pos, g in zip(positions, per_position):
            for wrt, block in _entries(pos, g):
                by_wrt.setdefault(wrt, []).append(block)
    # Each wrt gets a tree shaped like the output, so rows say which output it is.
    return [(wrt, treedef.unflatten(blocks)) for wrt, blocks in by_wrt.items()]


def _entries(position: Any, tree: Any) -> list[tuple[str, Any]]:
    """``(name, array)`` pairs of one position: an argument, or the grad_vars."""
    if isinstance(position, str):
        return [(position, tree)]
    if isinstance(tree, dict):
        return [(name, tree[name]) for name in position]
    if isinstance(tree, (list, tuple)):
        return list(zip(position, tree, strict=True))
    return [(position[0], tree)]


def _leaves(quantity: str, wrt: str, tree: Any) -> list[Result]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [
        Result(quantity, wrt, jax.tree_util.keystr(path), np.asarray(leaf))
        for path, leaf in leaves
    ]


def _eigenvalues(results: list[Result], batch: int = 0) -> list[Result]:
    """Eigenvalues of each square Jacobian, after ``batch`` leading batch axes."""
    out = []
    for r in results:
        if r.quantity != "grad":
            continue
        if r.array.ndim - batch != 2 or r.array.shape[-1] != r.array.shape[-2]:
            raise ConfigError(
                "diff.eigenvalues",
                f"needs square Jacobians, but the one for {r.wrt!r} has shape "
                f"{r.array.shape[batch:]}; set diff.eigenvalues=false.",
            )
        matrix = r.array.astype(np.float64)
        # A Jacobian holding NaN/Inf (flagged) has NaN eigenvalues, both parts, and
        # at that point only: the other points of a sweep keep theirs.
        finite = np.isfinite(matrix).all(axis=(-2, -1))
        eig = np.full(matrix.shape[:-1], complex(np.nan, np.nan))
        if finite.any():
            found = np.linalg.eigvals(matrix[finite])
            order = np.lexsort((-found.imag, -found.real), axis=-1)
            eig[finite] = np.take_along_axis(found, order, axis=-1)
        out.append(Result("eigenvalue_real", r.wrt, r.output, eig.real))
        out.append(Result("eigenvalue_imag", r.wrt, r.output, eig.imag))
    return out
