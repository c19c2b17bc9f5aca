"""Fixed points by Newton's method, checked against FitzHugh–Nagumo's closed forms.

FitzHugh–Nagumo: v' = v - v^3/3 - w + I, w' = (v + a - b w)/tau. At a fixed point
w = (v + a)/b, so v solves the cubic v^3/3 + (1/b - 1) v + a/b - I = 0 (one real
root for b < 1). The Jacobian is [[1 - v^2, -1], [1/tau, -b/tau]]; its trace
vanishes (a Hopf point, with det > 0) where 1 - v^2 = b/tau, i.e. at
v_H = -sqrt(1 - b/tau), reached at the current I_H = v_H^3/3 + (1/b - 1) v_H + a/b.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import runner.core as bm
from runner.compute.experiment import DiffSpec, compute
from runner.compute.stability import newton, residual, solve_fixed_point
from runner.config.errors import ConfigError
from runner.models.neuro import FitzHughNagumo
from runner.results.summary import stability_lines

A, B, TAU = 0.7, 0.8, 12.5
V_HOPF = -np.sqrt(1 - B / TAU)
I_HOPF = V_HOPF**3 / 3 + (1 / B - 1) * V_HOPF + A / B
SPEC = DiffSpec(kind="jacfwd", eigenvalues=True, fixed_point=True)


def _closed_form_fixed_point(current):
    roots = np.roots([1 / 3, 0.0, 1 / B - 1, A / B - current])
    v = roots[np.abs(roots.imag) < 1e-9].real.item()
    return np.array([v, (v + A) / B])


def _run(current, start=(-1.2, -0.6), spec=SPEC):
    model = FitzHughNagumo(a=A, b=B, tau=TAU, current=current)
    results = compute(model, [list(start)], spec, "vector_field")
    return {r.quantity: r.array for r in results}


@pytest.mark.parametrize("current", [0.0, 0.2, I_HOPF, 0.8, 1.4])
def test_fixed_point_matches_the_cubic(current):
    out = _run(current)
    expected = _closed_form_fixed_point(current)
    np.testing.assert_allclose(out["fixed_point"], expected, atol=2e-5)
    v = expected[0]
    jacobian = [[1 - v**2, -1], [1 / TAU, -B / TAU]]
    np.testing.assert_allclose(out["grad"], jacobian, atol=5e-5)
    assert out["residual"] < 1e-5


def test_hopf_point_is_where_the_trace_vanishes():
    assert I_HOPF == pytest.approx(0.3313, abs=1e-4)
    np.testing.assert_allclose(np.trace(_run(I_HOPF)["grad"]), 0.0, atol=1e-4)


@pytest.mark.parametrize("offset", [0.01, 0.05])
def test_real_parts_change_sign_across_the_hopf_current(offset):
    below, above = _run(I_HOPF - offset), _run(I_HOPF + offset)
    assert (below["eigenvalue_real"] < 0).all()
    assert (above["eigenvalue_real"] > 0).all()
    # A complex pair: the oscillation is born with a nonzero frequency.
    assert (np.abs(above["eigenvalue_imag"]) > 0.2).all()


def test_solving_moves_the_point_and_the_jacobian():
    given = _run(0.5, spec=DiffSpec(kind="jacfwd", eigenvalues=True))
    solved = _run(0.5)
    assert given["residual"] > 0.1 and "fixed_point" not in given
    assert not np.allclose(given["grad"], solved["grad"])


def test_residual_is_the_norm_of_the_vector_field():
    # At (v, w) = (0, 0) with I = 0.5: F = (0.5, a/tau).
    out = _run(0.5, start=(0.0, 0.0), spec=DiffSpec(kind="jacfwd", eigenvalues=True))
    np.testing.assert_allclose(out["residual"], np.hypot(0.5, A / TAU), rtol=1e-6)
    np.testing.assert_allclose(residual(np.ones((3, 4)), batch=1), [2.0] * 3)


@pytest.mark.parametrize("scale", [1e-200, 1e200, 5e-324, 1e307])
def test_a_finite_field_has_a_finite_nonzero_residual(scale):
    # |(3s, 4s)| = 5s exactly, however near the ends of the float64 range s is.
    field = {"v": np.array([3.0, 0.0]) * scale, "w": np.array(4.0 * scale)}
    assert float(residual(field)) == pytest.approx(5 * scale, rel=1e-15, abs=0)
    np.testing.assert_allclose(
        residual(np.array([[scale, 0.0], [0, 0]]), 1), [scale, 0]
    )
    assert np.isnan(residual(np.array([np.nan, 1e300])))
    assert residual(np.array([np.inf, 1.0])) == np.inf


def test_newton_on_a_scalar_cubic_and_from_a_singular_start():
    # x^3 - 2x - 5 = 0 (Newton's own example); its root is 2.0945514815...
    found = newton(lambda x: x**3 - 2.0 * x - 5.0, bm.array([0.8165]))
    assert found.converged
    np.testing.assert_allclose(found.x, [2.0945515], rtol=1e-6)
    # J = 0 at x = 0: the least-squares step is 0, so it cannot move; no crash.
    stuck = newton(lambda x: x**2 + 1.0, bm.array([0.0]), max_iterations=3)
    assert not stuck.converged and stuck.residual == pytest.approx(1.0)


def test_no_fixed_point_is_one_line_naming_the_key():
    with pytest.raises(ConfigError, match=r"^diff\.fixed_point: Newton") as err:
        solve_fixed_point(lambda x: x**2 + 1.0, [bm.array([0.5])], SPEC)
    message = str(err.value)
    assert "\n" not in message and "iteration(s)" in message and "|F| =" in message
    # The last iterate and |F| with all their digits, as newton found them.
    found = newton(lambda x: x**2 + 1.0, bm.array([0.5]))
    at = re.search(r"final \|F\| = (\S+), at \[(\S+)\]", message)
    assert np.float64(at[1]) == found.residual
    assert np.float32(at[2]) == found.x[0]


@pytest.mark.parametrize(
    ("spec", "phrase"),
    [
        (DiffSpec(kind="grad", fixed_point=True), "jacobian, jacrev or jacfwd"),
        (DiffSpec(kind="jacfwd", argnums=[0], fixed_point=True), "one int"),
        (DiffSpec(kind="jacfwd", argnums=3, fixed_point=True), "1 input"),
    ],
)
def test_specs_that_are_not_a_vector_field_are_refused(spec, phrase):
    with pytest.raises(ConfigError, match=phrase):
        solve_fixed_point(lambda x: -x, [bm.zeros(2)], spec)


def test_a_vectorized_sweep_refuses_to_solve():
    from runner.compute.vsweep import run_sweep

    with pytest.raises(ConfigError, match=r"^diff\.fixed_point: .* -m sweep"):
        run_sweep(FitzHughNagumo(), [[-1.2, -0.6]], SPEC, "vector_field",
                  {"model.current": [0.0, 0.5]})  # fmt: skip


def test_value_of_another_shape_is_refused():
    with pytest.raises(ConfigError, match="needs a vector field"):
        solve_fixed_point(lambda x: x.sum(), [bm.zeros(2)], SPEC)


def test_summary_calls_only_fixed_points_fixed_points():
    model = FitzHughNagumo(current=0.5)
    spec = DiffSpec(kind="jacfwd", eigenvalues=True)
    lines = stability_lines(compute(model, [[0.0, 0.0]], spec, "vector_field"))
    assert lines[0].startswith("local linearization w.r.t. arg0")
    assert "not a fixed point, |F| = 0.5" in lines[0]
    solved = compute(model, [[0.0, 0.0]], SPEC, "vector_field")
    assert stability_lines(solved)[0].startswith("fixed point w.r.t. arg0 at [")


@pytest.mark.slow
def test_a_multirun_over_the_current_is_a_bifurcation_table(tmp_path):
    import subprocess
    import sys

    import pandas as pd

    from ..conftest import ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "runner", "-m", "+exp=fitzhugh_nagumo_hopf",
         "model.current=0.2,0.4", f"hydra.sweep.dir={tmp_path}",
         "output.summary=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = pd.read_parquet(tmp_path / "results.parquet")
    real = table[table["quantity"] == "eigenvalue_real"]
    top = real.groupby("model.current")["value"].max()
    assert top[0.2] < 0 < top[0.4]  # across I_H = 0.3313
    points = table[table["quantity"] == "fixed_point"]
    for current, rows in points.groupby("model.current"):
        np.testing.assert_allclose(
            rows["value"], _closed_form_fixed_point(current), atol=2e-5
        )
    assert (tmp_path / "sweep.png").exists()


def test_fixed_point_tol_sets_where_newton_stops_and_the_verdict():
    # F(x) = 1 - x: |F(0)| = sqrt(2), the fixed point is x = 1 with J = -I.
    def field(x):
        return 1.0 - x

    loose = DiffSpec(kind="jacfwd", eigenvalues=True, fixed_point=True,
                     fixed_point_tol=2.0)  # fmt: skip
    out = {r.quantity: r.array for r in compute(field, [[0.0, 0.0]], loose)}
    np.testing.assert_allclose(out["fixed_point"], [0.0, 0.0])  # accepted as it is
    np.testing.assert_allclose(out["residual"], np.sqrt(2.0), rtol=1e-6)
    tight = DiffSpec(kind="jacfwd", eigenvalues=True, fixed_point=True,
                     fixed_point_tol=1e-6)  # fmt: skip
    out = {r.quantity: r.array for r in compute(field, [[0.0, 0.0]], tight)}
    np.testing.assert_allclose(out["fixed_point"], [1.0, 1.0])
    rows = compute(field, [[0.0, 0.0]], DiffSpec(kind="jacfwd", eigenvalues=True))
    assert "not a fixed point" in stability_lines(rows)[0]
    assert stability_lines(rows, tol=2.0)[0].startswith("fixed point w.r.t. arg0")


@pytest.mark.parametrize("tol", [0.0, -1.0, float("inf")])
def test_fixed_point_tol_must_be_positive_and_finite(tol):
    spec = DiffSpec(kind="jacfwd", fixed_point=True, fixed_point_tol=tol)
    with pytest.raises(ConfigError, match=r"diff.fixed_point_tol: expected a posit"):
        compute(lambda x: 1.0 - x, [[0.0]], spec)
