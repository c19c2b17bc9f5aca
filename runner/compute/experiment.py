"""The experiment as a plain function: model, inputs and derivative in, a table out.

Nothing here knows Hydra: :func:`run_experiment` takes Python objects and returns a
tidy ``pandas.DataFrame`` with one row per scalar (:data:`runner.compute.rows.COLUMNS`).
:func:`compute` is the pipeline after the model and inputs are built, one step per
module: the plan (:mod:`runner.compute.plan`), the core's result, named results
(:mod:`runner.compute.labels`), then the numerical checks
(:mod:`runner.compute.checks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import jax.numpy as jnp

from ..config.spec import DiffSpec
from .checks import check_derivatives, problem_for
from .compiled import cached_call, structure_key
from .labels import Result, arg_wrt, label
from .nonfinite import nonfinite_rows
from .plan import Plan, call, make_plan
from .rows import to_frame
from .stability import solve_fixed_point

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DiffSpec", "Plan", "Result", "call", "compute", "make_plan",
           "run_experiment"]  # fmt: skip


def run_experiment(
    model: Any, inputs: Sequence[Any], diff: DiffSpec, method: str | None = None
) -> pd.DataFrame:
    """Differentiate ``model`` (or its ``method``) at ``inputs`` and tabulate.

    Args:
        model: a ``Base`` object or a plain function.
        inputs: the positional arguments.
        diff: what to differentiate and return.
        method: the name of the method of ``model`` to differentiate; None calls
            ``model`` itself.

    Returns:
        A DataFrame with the columns of :data:`runner.compute.rows.COLUMNS`.

    Raises:
        ConfigError: a spec that does not fit the model or inputs, naming the key.

    Example:
        >>> from runner.models.tutorial import linear
        >>> run_experiment(linear, [2.0, 1.0], DiffSpec(argnums=[0, 1]))
          quantity   wrt output shape  index  value
        0     grad  arg0                   0    2.0
        1     grad  arg1                   0    1.0
    """
    return to_frame(compute(model, inputs, diff, method))


def compute(
    model: Any, inputs: Sequence[Any], diff: DiffSpec, method: str | None = None
) -> list[Result]:
    """Run the derivative and return its arrays (see :func:`run_experiment`).

    Example:
        >>> from runner.models.tutorial import linear
        >>> [r.wrt for r in compute(linear, [2.0, 1.0], DiffSpec(return_value=True))]
        ['arg0', '']
    """
    plan = make_plan(model, inputs, diff, method)
    solved = []
    if plan.diff.fixed_point:  # differentiate at F(x) = 0, found from the given input
        argnum, point = call(
            solve_fixed_point,
            plan.target,
            plan.inputs,
            plan.diff,
            plan.diff.fixed_point_tol,
        )
        points = list(plan.inputs)
        points[argnum] = jnp.asarray(point)
        plan = replace(plan, inputs=points)
        solved = [Result("fixed_point", arg_wrt(argnum), "", point)]
    check = plan.diff.check or plan.diff.check_tol is not None
    problem = problem_for(plan, model) if check else None  # the state it starts from
    # One compiled program, not one per operation, shared by jobs of one structure.
    key = structure_key(model, plan.inputs, (repr(plan.diff), method))
    out = call(cached_call, key, model, plan.derivative, plan.inputs)
    results = label(plan, out) + solved
    if problem is not None:
        results += check_derivatives(results, problem, plan.diff.check_tol)
    return results + nonfinite_rows(results)
