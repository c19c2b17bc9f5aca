"""Independent references for the shipped experiments whose goldens were self-made.

Each experiment is run through the runner (composed by Hydra, as on the command
line) and compared with a closed form derived in the comments, so a golden table
cannot drift from the mathematics.
"""

from __future__ import annotations

import numpy as np
import pytest

from runner.app.job import run_job, to_plain
from runner.results import load

from ..conftest import experiment_model, experiment_results

_results, _model = experiment_results, experiment_model


def _sweep(plain, directory):
    """Run the vectorized sweep of ``plain`` into ``directory``; load it back."""
    output = {**plain.get("output", {}), "plots": False, "summary": False}
    assert run_job({**plain, "output": output}, directory) == 0
    return load(directory)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_wilson_cowan_closed_form(compose):
    # F(r) = (-r + S(W r + P)) / tau, so J = (-I + diag(S'(u)) W) / tau (row-wise),
    # with u = W r + P and S' = S (1 - S).
    plain, out = _results(compose, "wilson_cowan")
    wc = plain["model"]
    w = np.array([[wc["w_ee"], -wc["w_ei"]], [wc["w_ie"], -wc["w_ii"]]])
    tau = np.array([wc["tau_e"], wc["tau_i"]])
    r = np.array(plain["inputs"][0])
    s = _sigmoid(w @ r + np.array([wc["p"], wc["q"]]))
    jac = (-np.eye(2) + (s * (1 - s))[:, None] * w) / tau[:, None]
    np.testing.assert_allclose(out["grad", "arg0", ""], jac, rtol=1e-5)
    eig = np.linalg.eigvals(jac)
    np.testing.assert_allclose(
        np.sort(out["eigenvalue_real", "arg0", ""]), np.sort(eig.real), rtol=1e-5
    )
    np.testing.assert_allclose(
        np.sort(np.abs(out["eigenvalue_imag", "arg0", ""])),
        np.sort(np.abs(eig.imag)),
        atol=1e-6,
    )


def test_has_aux_closed_form(compose):
    # update(x) = (r, (r, w . x)) with r = sum(w . x + b): d r / d x = w[0].
    plain, out = _results(compose, "has_aux")
    model = _model(plain)
    w = np.asarray(model.w.value)
    x = np.ones(10)
    np.testing.assert_allclose(out["grad", "arg0", ""], w[0], rtol=1e-6)
    np.testing.assert_allclose(out["aux", "", "[0]"], w[0] @ x, rtol=1e-5)
    np.testing.assert_allclose(out["aux", "", "[1]"], w @ x, rtol=1e-5)


def test_grad_vars_argnums_closed_form(compose):
    # r = sum(w . x + b): dr/dw = x (as (1, n)), dr/db = 1, dr/dx = w[0].
    plain, out = _results(compose, "grad_vars_argnums")
    w = np.asarray(_model(plain).w.value)
    np.testing.assert_allclose(out["grad", "w", ""], np.ones((1, 10)))
    np.testing.assert_allclose(out["grad", "b", ""], [1.0])
    np.testing.assert_allclose(out["grad", "arg0", ""], w[0], rtol=1e-6)
    assert not np.allclose(w[0], 1.0)  # x = 1 and w differ, so no mix-up passes


def test_fitzhugh_nagumo_sweep_closed_form(compose, tmp_path):
    # J = [[1 - v^2, -1], [1/tau, -b/tau]] at every (b, tau) of the grid.
    plain = to_plain(compose("+exp=fitzhugh_nagumo_sweep"))
    results = _sweep(plain, tmp_path)
    v = plain["inputs"][0][0]
    bs = plain["sweep"]["model"]["b"]
    taus = np.linspace(5.0, 25.0, 5)
    assert results.dims == ("model.b", "model.tau")
    np.testing.assert_allclose(results.coords["model.b"], bs)
    np.testing.assert_allclose(results.coords["model.tau"], taus)
    b, tau = np.meshgrid(bs, taus, indexing="ij")
    expected = np.empty((len(bs), len(taus), 2, 2))
    expected[..., 0, 0], expected[..., 0, 1] = 1 - v**2, -1.0
    expected[..., 1, 0], expected[..., 1, 1] = 1 / tau, -b / tau
    np.testing.assert_allclose(results.array("grad", "arg0"), expected, rtol=1e-5)


@pytest.mark.parametrize("num", [4])
def test_jacobian_sweep_closed_form(compose, num, tmp_path):
    # f1(x, y) = [x0 y0, 5 x2 y1, 4 x1^2 - 2 x2, x2 sin x0]; d/dx at y:
    # [[y0, 0, 0], [0, 0, 5 y1], [0, 8 x1, -2], [x2 cos x0, 0, sin x0]].
    plain = to_plain(compose("+exp=jacobian_sweep", f"sweep.inputs.1.num={num}"))
    results = _sweep(plain, tmp_path)
    jacobians = results.array("grad", "arg0")
    values = results.array("value", "", "")
    x = np.array(plain["inputs"][0])
    ys = np.linspace([1.0, 1.0], [10.0, 5.0], num)
    assert results.dims == ("inputs.1",) and jacobians.shape == (num, 4, 3)
    np.testing.assert_allclose(results.coords["inputs.1"], ys)
    for job, y in enumerate(ys):
        expected = [
            [y[0], 0, 0],
            [0, 0, 5 * y[1]],
            [0, 8 * x[1], -2],
            [x[2] * np.cos(x[0]), 0, np.sin(x[0])],
        ]
        np.testing.assert_allclose(jacobians[job], expected, rtol=1e-5, atol=1e-6)
        f = [x[0] * y[0], 5 * x[2] * y[1], 4 * x[1] ** 2 - 2 * x[2],
             x[2] * np.sin(x[0])]  # fmt: skip
        np.testing.assert_allclose(values[job], f, rtol=1e-5)
