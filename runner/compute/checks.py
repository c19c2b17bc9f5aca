"""Numerical checks of a run: derivatives against central finite differences.

``diff.check=true`` recomputes every derivative by central finite differences of the
same function (the model's method with its ``has_aux`` part dropped), evaluated in
float64 where the model allows it (in its own precision when it draws random
numbers, so the draws are the derivative's: every call starts from the state the
derivative started from, random generators included), and tabulates per ``wrt``
the largest absolute error and the relative error (the largest absolute error
divided by the largest magnitude of that derivative). Steps are
``eps**(1/3) * max(1, |x|)`` for first derivatives and ``eps**(1/4) * max(1, |x|)``
for Hessians, ``eps`` being the machine epsilon of the precision the function was
evaluated in. The check costs 2 calls of the function per differentiated scalar
(about 2 n**2 for a Hessian).

Example:
    >>> import numpy as np
    >>> from runner.compute.experiment import DiffSpec, compute
    >>> rows = compute(lambda x: (x ** 3).sum(), [[1.0, 2.0]], DiffSpec(check=True))
    >>> [(r.quantity, r.wrt) for r in rows][1:]
    [('check_abs_error', 'arg0'), ('check_rel_error', 'arg0')]
    >>> bool(rows[2].array < 1e-6)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

import runner.core as bm

from ..config.errors import CheckError
from ..config.schema import GRADIENT_KINDS, JACOBIAN_KINDS
from .compiled import job_state
from .differences import Layout, first_derivatives, second_derivatives
from .labels import Result, arg_wrt

if TYPE_CHECKING:
    from .plan import Plan

__all__ = [
    "Problem",
    "check_derivatives",
    "finite_differences",
    "problem_for",
    "snapshot",
]


@dataclass
class Problem:
    """What was differentiated: the function, where, and by what.

    Args:
        target: the function or bound method that was differentiated.
        kind: ``grad``, ``vector_grad``, ``jacobian``, ``jacrev``, ``jacfwd`` or
            ``hessian``.
        inputs: the positional arguments, as arrays.
        argnums: the differentiated argument positions (possibly empty).
        names: the table names of the differentiated Arrays (``grad_vars``).
        variables: those Arrays, in the order of ``names``.
        has_aux: the function returns ``(value, aux)``; only ``value`` is checked.
        state: the values of every Array of the model before the derivative ran
            (see :func:`snapshot`); the function is evaluated from that state.

    Example:
        >>> Problem(lambda x: x, "jacobian", [np.ones(2)], [0]).names
        []
    """

    target: Callable[..., Any]
    kind: str
    inputs: Sequence[Any]
    argnums: Sequence[int]
    names: list[str] = field(default_factory=list)
    variables: list[bm.Array] = field(default_factory=list)
    has_aux: bool = False
    state: list[tuple[bm.Array, Any]] = field(default_factory=list)


def problem_for(plan: Plan, model: Any) -> Problem:
    """The :class:`Problem` of a plan, with the model's state as it is now.

    Call it before the derivative runs, so the check starts from the same state.

    Args:
        plan: the experiment's resolved plan (:func:`runner.compute.plan.make_plan`).
        model: the model object or function (whose Arrays are snapshot).

    Returns:
        The problem to give to :func:`check_derivatives`.

    Example:
        >>> from runner.models.tutorial import F3
        >>> from runner.compute.plan import make_plan
        >>> from runner.config.spec import DiffSpec
        >>> model = F3(name="f")
        >>> plan = make_plan(model, [1.0, 2.0], DiffSpec(grad_vars="a", argnums=1))
        >>> p = problem_for(plan, model)
        >>> p.names, p.argnums
        (['a'], [1])
    """
    return Problem(
        target=plan.target,
        kind=str(plan.diff.kind),
        inputs=list(plan.inputs),
        argnums=plan.arg_positions,
        names=list(plan.names),
        variables=list(plan.variables),
        has_aux=plan.diff.has_aux,
        state=snapshot(model),
    )


def snapshot(model: Any) -> list[tuple[bm.Array, Any]]:
    """The current value of every Array reachable from ``model``, and of the
    default random generator (``runner.core.random.DEFAULT``).

    Args:
        model: a ``Base`` object, a function, or a ``functools.partial`` of one.

    Returns:
        ``(array, value)`` pairs: the state a finite-difference check starts from,
        so that random draws are the derivative's.

    Example:
        >>> from runner.models.tutorial import F
        >>> [v.tolist() for _, v in snapshot(F(name="f"))][:2]
        [[1.0], [1.0]]
        >>> snapshot(F())[-1][0] is bm.random.DEFAULT
        True
    """
    return [(array, array.value) for array in job_state(model)]


class _Function:
    """The checked function of the flat vector of differentiated values."""

    def __init__(self, problem: Problem, x64: bool) -> None:
        self.problem = problem
        self.x64 = x64
        self.jitted = bm.jit(problem.target)
        self.args = [self._cast(x) for x in problem.inputs]
        self.positions = Layout()
        base = []
        for name, array in zip(problem.names, problem.variables):
            value = dict((id(a), v) for a, v in problem.state).get(id(array))
            value = np.asarray(array.value if value is None else value)
            self.positions.add(name, value.shape)
            base.append(np.asarray(value, np.float64).ravel())
        for i in problem.argnums:
            value = np.asarray(problem.inputs[i])
            self.positions.add(arg_wrt(i), value.shape)
            base.append(np.asarray(value, np.float64).ravel())
        self.z0 = np.concatenate(base) if base else np.zeros(0)
        self.outputs = Layout()
        self.eps = np.finfo(np.float32).eps
        self.calls = 0

    def _cast(self, value: Any) -> Any:
        value = jnp.asarray(value)
        if self.x64 and jnp.issubdtype(value.dtype, jnp.complexfloating):
            return value.astype(jnp.complex128)
        if self.x64 and jnp.issubdtype(value.dtype, jnp.floating):
            return value.astype(jnp.float64)
        return value

    def __call__(self, z: np.ndarray) -> np.ndarray:
        p = self.problem
        arrays = [array for array, _ in p.state]
        values = [self._cast(value) for _, value in p.state]
        where = {id(array): i for i, array in enumerate(arrays)}
        args = list(self.args)
        n_vars = len(p.variables)
        for k, (s, shape) in enumerate(
            zip(self.positions.slices, self.positions.shapes)
        ):
            value = self._cast(np.asarray(z[s]).reshape(shape))
            if k >= n_vars:
                args[p.argnums[k - n_vars]] = value
            elif id(p.variables[k]) in where:
                values[where[id(p.variables[k])]] = value
            else:
                arrays.append(p.variables[k])
                values.append(value)
        # The core's state mechanism: every Array gets its value back at exit,
        # whatever the function wrote (also to Arrays outside ``p.state``).
        with bm.substitute(arrays, values):
            out = self.jitted(*args)
        self.calls += 1
        if p.has_aux:
            out = out[0]
        leaves = jax.tree_util.tree_flatten_with_path(out)[0]
        if not self.outputs.names:
            for path, leaf in leaves:
                self.outputs.add(jax.tree_util.keystr(path), np.shape(leaf))
            if all(jnp.result_type(leaf) == jnp.float64 for _, leaf in leaves):
                self.eps = np.finfo(np.float64).eps
        flat = [np.asarray(leaf, np.float64).ravel() for _, leaf in leaves]
        return np.concatenate(flat) if flat else np.zeros(0)


def _evaluate(problem: Problem, x64: bool) -> dict[tuple[str, str], np.ndarray]:
    f = _Function(problem, x64)
    y0 = f(f.z0)
    if x64 and any(
        isinstance(a, bm.random.RandomState) for a in f.jitted.known_states()
    ):
        # float64 draws differ from the derivative's: evaluate in its precision
        raise _DrawsRandomNumbers
    pos, outs = f.positions, f.outputs
    expected: dict[tuple[str, str], np.ndarray] = {}
    if problem.kind in GRADIENT_KINDS:
        total = first_derivatives(_Summed(f), np.array([y0.sum()]))[0]
        for name, s, shape in zip(pos.names, pos.slices, pos.shapes):
            expected[(name, "")] = total[s].reshape(shape)
    elif problem.kind in JACOBIAN_KINDS:
        d = first_derivatives(f, y0)
        for name, s, shape in zip(pos.names, pos.slices, pos.shapes):
            for out, o, oshape in zip(outs.names, outs.slices, outs.shapes):
                expected[(name, out)] = d[o, s].reshape(oshape + shape)
    else:
        h = second_derivatives(f, y0)
        for a, sa, shape_a in zip(pos.names, pos.slices, pos.shapes):
            for b, sb, shape_b in zip(pos.names, pos.slices, pos.shapes):
                for out, o, oshape in zip(outs.names, outs.slices, outs.shapes):
                    block = h[o][:, sa][:, :, sb]
                    expected[(f"{a},{b}", out)] = block.reshape(
                        oshape + shape_a + shape_b
                    )
    return expected


class _DrawsRandomNumbers(Exception):
    """The function draws random numbers, so it runs in its own precision."""


class _Summed:
    """``sum(f(z))``: what ``grad`` and ``vector_grad`` differentiate."""

    def __init__(self, f: _Function) -> None:
        self.f = f
        self.z0 = f.z0
        self.eps = f.eps

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return np.array([self.f(z).sum()])


def finite_differences(problem: Problem) -> dict[tuple[str, str], np.ndarray]:
    """Every derivative of ``problem`` by central finite differences.

    The function is evaluated in float64 (state and inputs cast up) when it runs that
    way, else in its own precision. Each call starts from ``problem.state``, held
    in the Arrays by ``runner.core.substitute``, which restores every Array the
    call wrote, so the model's state is unchanged afterwards.

    Args:
        problem: the function, inputs and differentiated positions.

    Returns:
        ``(wrt, output) -> array`` in the table's naming: ``arg<i>`` or a variable
        path for ``wrt`` (``row,col`` for Hessians), the output leaf's path.

    Raises:
        CheckError: the function cannot be evaluated outside the derivative.

    Example:
        >>> fd = finite_differences(Problem(lambda x: x ** 2, "jacfwd", [[3.0]], [0]))
        >>> np.round(fd[("arg0", "")], 6).tolist()
        [[6.0]]
    """
    try:
        try:
            with jax.enable_x64(True):
                return _evaluate(problem, x64=True)
        except Exception:
            return _evaluate(problem, x64=False)
    except Exception as err:
        message = " ".join(str(err).split())
        raise CheckError(
            "diff.check",
            f"cannot evaluate the function for finite differences "
            f"({type(err).__name__}: {message}); set diff.check=false.",
        ) from err


def _errors(
    results: Sequence[Any], expected: dict[tuple[str, str], np.ndarray]
) -> dict[str, tuple[float, float]]:
    """Per ``wrt``: the largest absolute error and the relative error."""
    worst: dict[str, list[float]] = {}
    for r in results:
        if r.quantity != "grad":
            continue
        got = np.asarray(r.array, np.float64)
        want = expected.get((r.wrt, r.output))
        abs_err, scale = worst.setdefault(r.wrt, [0.0, 0.0])
        if want is None or want.shape != got.shape:
            worst[r.wrt] = [np.inf, scale]
            continue
        diff = np.max(np.abs(got - want), initial=0.0)
        size = np.max(np.maximum(np.abs(got), np.abs(want)), initial=0.0)
        worst[r.wrt] = [
            float(np.maximum(abs_err, diff)),
            float(np.maximum(scale, size)),
        ]
    out = {}
    for wrt, (abs_err, scale) in worst.items():
        if scale > 0 or np.isnan(scale):
            rel = abs_err / scale
        else:
            rel = 0.0 if abs_err == 0 else np.inf
        out[wrt] = (abs_err, float(rel))
    return out


def check_derivatives(
    results: Sequence[Any], problem: Problem, tol: float | None = None
) -> list[Any]:
    """Compare the ``grad`` rows of ``results`` with finite differences.

    Args:
        results: the run's :class:`~runner.compute.labels.Result` s.
        problem: what was differentiated.
        tol: the largest relative error allowed; None only reports.

    Returns:
        ``check_abs_error`` and ``check_rel_error`` results, one of each per ``wrt``.

    Raises:
        CheckError: a relative error above ``tol`` (or not finite), keyed
            ``diff.check_tol``.

    Example:
        >>> from runner.compute.labels import Result
        >>> wrong = [Result("grad", "arg0", "", np.array(5.0))]
        >>> problem = Problem(lambda x: x ** 2, "grad", [np.float32(2.0)], [0])
        >>> [round(float(r.array), 6) for r in check_derivatives(wrong, problem)]
        [1.0, 0.2]
        >>> check_derivatives(wrong, problem, tol=1e-3)
        Traceback (most recent call last):
        ...
        runner.config.errors.CheckError: diff.check_tol: finite differences disagree ...
    """
    errors = _errors(results, finite_differences(problem))
    rows = []
    for wrt, (abs_err, rel) in errors.items():
        rows.append(Result("check_abs_error", wrt, "", np.array(abs_err)))
        rows.append(Result("check_rel_error", wrt, "", np.array(rel)))
    if tol is not None:
        bad = {w: e for w, e in errors.items() if not e[1] <= tol}
        if bad:
            wrt, (abs_err, rel) = max(
                bad.items(), key=lambda kv: np.nan_to_num(kv[1][1], nan=np.inf)
            )
            raise CheckError(
                "diff.check_tol",
                f"finite differences disagree with the {problem.kind} w.r.t. {wrt}: "
                f"relative error {rel:.3g} (absolute {abs_err:.3g}) exceeds {tol:g}; "
                f"look for kinks, branches or custom derivatives in the model near "
                f"these inputs, or raise diff.check_tol.",
            )
    return rows
