"""Derivatives through simulations (``runner.models.dynamics``) against references.

Each shipped experiment runs through the runner (composed by Hydra, as on the
command line) and is compared with a reference computed another way: central
finite differences in float64 (``jax.enable_x64``), the variational equations
``Phi' = J(x) Phi`` with the closed-form ``J``, Liouville's formula, a pure-JAX
``jax.lax.scan`` twin under ``jax.grad``, and a float64 RK4 in plain Python floats
that finds the limit cycle.
"""

from __future__ import annotations

import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import runner.core as bm
from runner.app.job import execute, run_job, to_plain
from runner.config.build import build_inputs, build_model
from runner.models.dynamics import FitzHughNagumoSim, RateRNN
from runner.results import load

from ..conftest import ROOT, experiment_model, experiment_results

_results, _model = experiment_results, experiment_model


def _mean_v_differences(model_cfg, state0, currents, h=1e-4):
    """Central differences of ``mean_v`` in the current, in float64.

    Truncation ``h^2 f'''/6`` is below 1e-6 here (halving h changes nothing at
    that level); float64 rounding over 2,000 steps is ~1e-12 / h.
    """
    with jax.enable_x64(True):
        model = build_model(model_cfg)

        @jax.jit
        def mean_v(current):
            with bm.substitute([model.current], [current]):
                return model.mean_v(jnp.asarray(state0))

        return np.array([(mean_v(c + h) - mean_v(c - h)) / (2 * h) for c in currents])


# -- a float64 reference for the limit cycle (plain Python floats) -----------------
def _field(a, b, tau, current):
    def f(v, w):
        return v - v**3 / 3 - w + current, (v + a - b * w) / tau

    return f


def _rk4(f, x, h):
    k1 = f(*x)
    k2 = f(x[0] + h / 2 * k1[0], x[1] + h / 2 * k1[1])
    k3 = f(x[0] + h / 2 * k2[0], x[1] + h / 2 * k2[1])
    k4 = f(x[0] + h * k3[0], x[1] + h * k3[1])
    return tuple(x[i] + h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]) for i in (0, 1))


def _limit_cycle(params, t_end=200.0, h=0.01):
    """The period and the upward ``v = 0`` crossing of the attracting cycle.

    RK4 in float64 from (-1, 1) for ``t_end`` (the attractor is reached long
    before); each step where ``v`` goes from < 0 to >= 0 holds an upward crossing:
    linear interpolation gives its fraction ``s`` of the step, refined by Newton's
    method on ``v(RK4 step of s h) = 0``. The period is the time between the last
    two crossings; the point is the last crossing.
    """
    f = _field(*params)
    x, crossings = (-1.0, 1.0), []
    for k in range(int(round(t_end / h))):
        y = _rk4(f, x, h)
        if x[0] < 0 <= y[0]:
            s = -x[0] / (y[0] - x[0])
            for _ in range(3):
                z = _rk4(f, x, s * h)
                s -= z[0] / (f(*z)[0] * h)
            crossings.append(((k + s) * h, _rk4(f, x, s * h)))
        x = y
    (t0, _), (t1, point) = crossings[-2:]
    return t1 - t0, np.array(point)


def _liouville(params, state0, period, steps):
    """``exp(∫ trace J dt)`` over one period, ``trace J = 1 - v^2 - b/tau``.

    The trapezoidal rule on a periodic integrand converges faster than any power
    of the step, so the quadrature adds nothing to the RK4 error.
    """
    a, b, tau, _ = params
    f, h, x, total = _field(*params), period / steps, tuple(state0), 0.0
    for _ in range(steps):
        y = _rk4(f, x, h)
        total += h / 2 * ((1 - x[0] ** 2) + (1 - y[0] ** 2) - 2 * b / tau)
        x = y
    return math.exp(total)


def _params(model_cfg):
    return tuple(float(model_cfg[k]) for k in ("a", "b", "tau", "current"))


# -- the experiments -----------------------------------------------------------------
def test_trajectory_sensitivity_matches_central_differences(compose):
    plain, out = _results(compose, "fhn_trajectory_sensitivity")
    state0 = plain["inputs"][0]
    expected = _mean_v_differences(plain["model"], state0, [0.5])[0]
    # float32 over 2,000 steps against float64: measured 5e-6 relative.
    np.testing.assert_allclose(out["grad", "current", ""], expected, rtol=5e-5)
    model = _model(plain)
    np.testing.assert_allclose(out["value", "", ""], model.mean_v(bm.array(state0)))


def test_vectorized_sweep_over_the_current(compose, tmp_path):
    currents = [0.0, 0.5, 1.0]
    plain = to_plain(compose("+exp=fhn_trajectory_sensitivity",
                             f"+sweep.model.current={currents}"))  # fmt: skip
    output = {**plain["output"], "plots": False, "summary": False}
    assert run_job({**plain, "output": output}, tmp_path) == 0
    results = load(tmp_path)
    assert results.dims == ("model.current",)
    np.testing.assert_allclose(results.coords["model.current"], currents)
    expected = _mean_v_differences(plain["model"], plain["inputs"][0], currents)
    np.testing.assert_allclose(results.array("grad", "current"), expected, rtol=5e-5)
    assert np.ptp(expected) > 0.1  # the points differ, so no mix-up passes


@pytest.mark.slow
def test_multirun_sweep_over_the_current(compose, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "-m", "+exp=fhn_trajectory_sensitivity",
         "model.current=0.0,1.0", f"hydra.sweep.dir={tmp_path}",
         "output.summary=false", "output.plots=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    grads = table[table["quantity"] == "grad"].sort_values("model.current")
    assert (grads["status"] == "ok").all() and list(grads["wrt"]) == ["current"] * 2
    plain = to_plain(compose("+exp=fhn_trajectory_sensitivity"))
    expected = _mean_v_differences(plain["model"], plain["inputs"][0], [0.0, 1.0])
    np.testing.assert_allclose(grads["value"], expected, rtol=5e-5)


def test_flow_map_matches_variational_equations_and_differences(compose):
    plain, out = _results(compose, "fhn_flow_map")
    jac, state0 = out["grad", "arg0", ""], np.array(plain["inputs"][0])
    state, phi = _model(plain).variational(bm.array(state0))
    # The same RK4 steps on (x, Phi): equal up to float32 rounding (measured 3e-8).
    np.testing.assert_allclose(jac, phi, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["value", "", ""], state, rtol=1e-6)
    with jax.enable_x64(True):
        final = build_model(plain["model"]).final_state
        h = 1e-5
        columns = [(final(state0 + h * e) - final(state0 - h * e)) / (2 * h)
                   for e in np.eye(2)]  # fmt: skip
    # Central differences in float64 (truncation ~h^2): measured 3e-7 off.
    np.testing.assert_allclose(jac, np.stack(columns, axis=1), atol=5e-6)
    assert np.abs(jac).max() > 0.1


def test_floquet_config_starts_on_the_limit_cycle_past_the_hopf_point(compose):
    plain = to_plain(compose("+exp=fhn_floquet"))
    cfg, params = plain["model"], _params(plain["model"])
    a, b, tau, current = params
    # The fixed point, a root of v - v^3/3 - (v + a)/b + I, is unstable here.
    roots = np.roots([-1 / 3, 0.0, 1 - 1 / b, current - a / b])
    v = roots[np.abs(roots.imag) < 1e-12].real[0]
    jac = np.array([[1 - v**2, -1.0], [1 / tau, -b / tau]])
    assert (np.linalg.eigvals(jac).real > 0).all()
    period, point = _limit_cycle(params)
    np.testing.assert_allclose(cfg["steps"] * cfg["dt"], period, atol=1e-7)
    np.testing.assert_allclose(plain["inputs"][0], point, atol=1e-8)


def test_floquet_multipliers(compose):
    plain, out = _results(compose, "fhn_floquet")
    cfg, jac = plain["model"], out["grad", "arg0", ""]
    multipliers = out["eigenvalue_real", "arg0", ""] + 1j * out["eigenvalue_imag",
                                                               "arg0", ""]  # fmt: skip
    # The flow direction is carried once round the cycle: multiplier 1. A period
    # one step (dt = 0.011) off would move it by ~dt |J| ~ 1e-2; RK4's error is
    # ~dt^4 ~ 2e-8 and float32 rounding over 1,000 steps gave 7e-7 (3e-6 at
    # 500-2,000 steps): 1e-4 allows for rounding on other CPUs, not a wrong period.
    assert abs(multipliers[0] - 1) < 1e-4
    assert abs(multipliers[1]) < 1 and multipliers[1].real > 0  # the cycle attracts
    # Liouville: the product of the multipliers is exp(∫ trace J dt) over T.
    # Measured 1.3e-5 relative (float32 Jacobian entries of order 1 against a
    # product of 0.031).
    expected = _liouville(_params(cfg), plain["inputs"][0], cfg["steps"] * cfg["dt"],
                          cfg["steps"])  # fmt: skip
    np.testing.assert_allclose(np.prod(multipliers).real, expected, rtol=1e-3)
    np.testing.assert_allclose(np.linalg.det(jac), expected, rtol=1e-3)


def test_relaxation_cycle_contracts_below_float32_resolution():
    # tau = 12.5, I = 0.5: a stable relaxation oscillation whose second multiplier
    # (Liouville: 2.3e-17) float32 cannot resolve, hence fhn_floquet's tau = 1.5.
    params = (0.7, 0.8, 12.5, 0.5)
    period, point = _limit_cycle(params)
    steps = 2000
    fhn = FitzHughNagumoSim(*params, steps=steps, dt=period / steps)
    jac = np.asarray(bm.jacfwd(fhn.final_state)(bm.array(point)), np.float64)
    first, second = sorted(np.linalg.eigvals(jac), key=abs, reverse=True)
    assert abs(first - 1) < 1e-4 and abs(second) < 1e-6
    assert _liouville(params, point, period, steps) < 1e-15


def test_rnn_bptt_matches_a_lax_scan_twin(compose):
    plain, out = _results(compose, "rnn_bptt")
    rnn = _model(plain)
    xs, targets = build_inputs(plain["inputs"])
    assert xs.shape[0] >= 100
    params = {k: jnp.asarray(getattr(rnn, k).value) for k in ("W", "U", "V", "b")}

    def loss(p):
        def step(h, x):
            h = h + rnn.dt / rnn.tau * (jnp.tanh(p["W"] @ h + p["U"] @ x + p["b"]) - h)
            return h, p["V"] @ h

        _, ys = jax.lax.scan(step, jnp.zeros_like(p["b"]), xs)
        return jnp.mean((ys - targets) ** 2)

    value, grads = jax.value_and_grad(loss)(params)
    for name, grad in grads.items():
        assert np.abs(grad).max() > 1e-3, name  # every weight matters
        np.testing.assert_allclose(out["grad", name, ""], grad, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out["value", "", ""], value, rtol=1e-6)


# -- the models ------------------------------------------------------------------------
def test_rnn_weights_depend_on_their_seed_only():
    bm.random.seed(1)
    first = RateRNN(seed=3)
    bm.random.seed(2)
    again, other = RateRNN(seed=3), RateRNN(seed=4)
    assert np.array_equal(first.W.value, again.W.value)
    assert not np.array_equal(first.W.value, other.W.value)


def test_simulations_leave_the_model_variables_unchanged():
    fhn = FitzHughNagumoSim(current=0.5, steps=50)
    before = {k: np.asarray(v.value) for k, v in fhn.vars().items()}
    x0 = bm.array([-1.0, 1.0])
    bm.grad(fhn.mean_v, grad_vars=fhn.current)(x0)
    bm.jacfwd(fhn.final_state)(x0)
    fhn.variational(x0)
    after = {k: np.asarray(v.value) for k, v in fhn.vars().items()}
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"steps": 0}, ValueError, r"steps=0\): expected an int >= 1"),
        ({"steps": 10.0}, ValueError, r"steps=10.0\): expected an int"),
        ({"dt": 0.0}, ValueError, r"dt=0.0\): expected a finite time step > 0"),
        ({"dt": float("nan")}, ValueError, "finite time step"),
        ({"dt": "0.1"}, TypeError, "expected a number"),
    ],
)
def test_bad_steps_or_dt_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        FitzHughNagumoSim(**kwargs)


# -- diff.dynamics=map: multipliers judged by modulus, |phi(x) - x| -------------------
def test_a_maps_residual_is_its_step_and_the_summary_judges_moduli(compose):
    from runner.results.summary import stability_lines

    plain, out = _results(compose, "fhn_floquet")
    model = _model(plain)
    x = np.asarray(plain["inputs"][0], dtype=np.float32)
    step = np.asarray(model.final_state(bm.asarray(x)), np.float64) - x
    np.testing.assert_allclose(out["map_residual", "", ""], np.linalg.norm(step),
                               rtol=1e-6)  # fmt: skip
    assert ("residual", "", "") not in out  # not a vector field's |F(x)|
    rows = execute(plain)
    (line,) = stability_lines(rows)
    assert line.startswith("fixed point of the map w.r.t. arg0 (|phi(x) - x| = ")
    assert "a periodic orbit, orbitally stable (one multiplier |mu| = 1.0000" in line
    assert "max Re" not in line


def test_off_the_orbit_a_map_is_a_local_linearization(compose):
    from runner.results.summary import stability_lines

    plain = to_plain(compose("+exp=fhn_floquet", "inputs.0=[0.5,0.5]"))
    (line,) = stability_lines(execute(plain))
    assert line.startswith("local linearization of the map w.r.t. arg0 at the given "
                           "inputs (not a fixed point, |phi(x) - x| = ")  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "key", "phrase"),
    [(["diff.fixed_point=true"], "diff.fixed_point", "not phi(x) = x for a map"),
     (["diff.kind=grad"], "diff.dynamics", "needs diff.kind jacobian"),
     (["method=mean_v"], "diff.eigenvalues", "square"),  # a scalar: no map
     (["+sweep.model.current=[0.6,0.7]"], "diff.dynamics", "a -m sweep")],
)  # fmt: skip
def test_map_misuses_are_refused_by_key(compose, overrides, key, phrase):
    from runner.config.errors import ConfigError

    plain = to_plain(compose("+exp=fhn_floquet", *overrides))
    with pytest.raises(ConfigError) as err:
        execute(plain)
    assert err.value.key == key and phrase in str(err.value)
