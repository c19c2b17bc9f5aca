"""Fixed points of vector fields, and the residual that says whether a point is one.

Eigenvalues of the Jacobian of a vector field ``F`` decide stability only at a fixed
point, where ``F(x) = 0``. :func:`residual` measures ``|F(x)|`` at the point an
experiment evaluated; :func:`newton` finds a fixed point from a starting guess with
Newton's method, its Jacobians computed by ``runner.core.jacfwd``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import runner.core as bm

from ..config.errors import ConfigError
from ..config.schema import DiffConfig
from ..config.spec import fixed_point_argnum
from .rows import value_text

__all__ = [
    "FIXED_POINT_TOL",
    "MAX_ITERATIONS",
    "Solution",
    "is_fixed_point",
    "newton",
    "residual",
    "solve_fixed_point",
]

#: A point is a fixed point when ``|F(x)|`` (Euclidean norm) is at most this: the
#: schema's default ``diff.fixed_point_tol``.
FIXED_POINT_TOL: float = DiffConfig.fixed_point_tol
#: Newton iterations before :func:`newton` gives up.
MAX_ITERATIONS = 50


class Solution(NamedTuple):
    """The outcome of :func:`newton`: the last iterate and how good it is."""

    x: np.ndarray
    residual: float
    iterations: int
    converged: bool


def residual(value: Any, batch: int = 0) -> np.ndarray:
    """``|F(x)|``: the Euclidean norm of every leaf of ``value`` together.

    Args:
        value: the function's value at the point (an array or a pytree of them).
        batch: leading axes that index points (a vectorized sweep); the norm is
            taken over the others, one per point.

    Returns:
        A 0-d array, or one of shape ``value.shape[:batch]``: finite whenever every
        element is (scaled by the largest, so squares neither overflow near 1e308
        nor vanish near 1e-308), NaN or Inf when one is.

    Example:
        >>> float(residual(np.array([3.0, 4.0])))
        5.0
        >>> residual(np.array([[3.0, 4.0], [0.0, 0.0]]), batch=1).tolist()
        [5.0, 0.0]
        >>> bool(np.isclose(residual({"v": np.array([3e200]), "w": 4e200}), 5e200))
        True
    """
    leaves = [
        np.abs(np.asarray(leaf, dtype=np.float64))
        for leaf in jax.tree_util.tree_leaves(value)
    ]
    if not leaves:
        return np.asarray(0.0)
    flat = np.concatenate([a.reshape(*a.shape[:batch], -1) for a in leaves], axis=-1)
    largest = np.max(flat, axis=-1, initial=0.0)  # NaN if one is
    unit = np.where((largest > 0) & np.isfinite(largest), largest, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # a NaN/Inf row: NaN/Inf
        scaled = np.sqrt(np.square(flat / unit[..., None]).sum(axis=-1))
    return np.asarray(np.where(largest > 0, largest * scaled, largest))


def is_fixed_point(norm: float, tol: float = FIXED_POINT_TOL) -> bool:
    """Whether a residual ``norm`` is small enough to call the point a fixed point.

    Example:
        >>> is_fixed_point(3e-8), is_fixed_point(0.7)
        (True, False)
    """
    return bool(np.isfinite(norm) and norm <= tol)


def newton(
    function: Callable[[Any], Any],
    x0: Any,
    tol: float = FIXED_POINT_TOL,
    max_iterations: int = MAX_ITERATIONS,
    has_aux: bool = False,
) -> Solution:
    """Solve ``function(x) = 0`` by Newton's method from ``x0``.

    Each step solves ``J dx = -F`` in the least-squares sense (so a singular
    Jacobian still gives a step), with ``J`` from ``runner.core.jacfwd``, and halves
    the step until ``|F|`` decreases (at most ten times).

    Args:
        function: maps an array to an array of the same shape; a bound method of
            a ``runner.core.Base`` object works too.
        x0: the starting point.
        tol: stop when ``|F(x)|`` is at most this.
        max_iterations: give up after this many steps.
        has_aux: ``function`` returns ``(F, aux)``; aux is ignored.

    Returns:
        A :class:`Solution`; ``converged`` is False when ``tol`` was not reached.

    Example:
        >>> s = newton(lambda x: x**2 - 2.0, bm.array([1.0]))
        >>> s.converged, round(float(s.x[0]), 4)
        (True, 1.4142)
    """
    jac = bm.jacfwd(function, argnums=0, has_aux=has_aux, return_value=True)
    x = jnp.asarray(x0)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    J, F = _jacobian_and_value(jac, x)
    norm = float(residual(F))
    iterations = 0
    while not is_fixed_point(norm, tol) and iterations < max_iterations:
        if not np.isfinite(norm):
            break
        shape = np.shape(F)
        matrix = np.asarray(J, dtype=np.float64).reshape(np.size(F), x.size)
        rhs = -np.asarray(F, dtype=np.float64).reshape(-1)
        step = np.linalg.lstsq(matrix, rhs, rcond=None)[0].reshape(shape)
        iterations += 1
        for halving in range(11):
            trial = (x + step * 0.5**halving).astype(x.dtype)
            J_new, F_new = _jacobian_and_value(jac, trial)
            new_norm = float(residual(F_new))
            if new_norm < norm or halving == 10:
                break
        x, J, F, norm = trial, J_new, F_new, new_norm
    return Solution(np.asarray(x), norm, iterations, is_fixed_point(norm, tol))


def _jacobian_and_value(jac: Callable[[Any], Any], x: Any) -> tuple[Any, Any]:
    out = jac(x)
    return out[0], out[1]


def solve_fixed_point(
    function: Callable[..., Any],
    inputs: Sequence[Any],
    diff: Any,
    tol: float = FIXED_POINT_TOL,
    max_iterations: int = MAX_ITERATIONS,
) -> tuple[int, np.ndarray]:
    """Solve ``F(x) = 0`` in the differentiated input, the others held fixed.

    Args:
        function: the experiment's function (the model or its method).
        inputs: its positional arguments; the one at ``diff.argnums`` is the start.
        diff: the experiment's :class:`runner.config.spec.DiffSpec`.
        tol: the largest ``|F|`` accepted.
        max_iterations: Newton steps before giving up.

    Returns:
        The position of the solved input and the fixed point.

    Raises:
        ConfigError: naming ``diff.fixed_point`` when the spec does not describe a
            vector field's Jacobian in one input, or when Newton does not converge.

    Example:
        >>> from runner.config.spec import DiffSpec
        >>> spec = DiffSpec(kind="jacfwd", fixed_point=True)
        >>> argnum, x = solve_fixed_point(lambda x: 1.0 - x, [bm.zeros(2)], spec)
        >>> argnum, x.tolist()
        (0, [1.0, 1.0])
    """
    argnum = _check_spec(diff, len(inputs))
    start = inputs[argnum]

    def field(x: Any) -> Any:
        return function(*inputs[:argnum], x, *inputs[argnum + 1 :])

    out = field(start)
    value = out[0] if diff.has_aux else out
    if np.shape(value) != np.shape(start):
        raise ConfigError(
            "diff.fixed_point",
            f"needs a vector field, whose value has the shape of inputs.{argnum} "
            f"{np.shape(start)}, but the value has shape {np.shape(value)}; set "
            f"diff.fixed_point=false.",
        )
    found = newton(field, start, tol, max_iterations, has_aux=diff.has_aux)
    if not found.converged:
        raise ConfigError(
            "diff.fixed_point",
            f"Newton's method found no fixed point from inputs.{argnum} = "
            f"{value_text(start, as_list=True)} in {found.iterations} iteration(s) "
            f"(final |F| = {value_text(found.residual)}, at "
            f"{value_text(found.x, as_list=True)}, tolerance {tol:g}); start closer "
            f"to a fixed point, or set diff.fixed_point=false.",
        )
    return argnum, found.x


def _check_spec(diff: Any, n_inputs: int) -> int:
    """The one input to solve in; refuse specs that are not a vector field's."""
    argnum = fixed_point_argnum(diff)
    if not 0 <= argnum < n_inputs:
        raise ConfigError(
            "diff.fixed_point",
            f"needs inputs.{argnum} as the starting point, but there are "
            f"{n_inputs} input(s); give the state as an input.",
        )
    return argnum
