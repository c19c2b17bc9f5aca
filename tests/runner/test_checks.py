"""Numerical checks: finite differences agree with every kind, catch a wrong
derivative, leave state alone; NaN/Inf results are flagged or fail the run."""

from __future__ import annotations

import io
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from rich.console import Console

import runner.core as bm
from runner.app.job import run_job
from runner.compute.checks import Problem, finite_differences
from runner.compute.experiment import DiffSpec, compute
from runner.config.errors import CheckError, ConfigError
from runner.models import tutorial
from runner.results import read_table
from runner.results.summary import print_summary

from ..conftest import ROOT
from . import faulty_models

X = [1.0, 2.0, 3.0]
Y = [10.0, 5.0]


class Pair(bm.Base):
    """A structured output: ``(w * x, sum(x**2) + b)`` with plain Arrays w, b."""

    def __init__(self) -> None:
        super().__init__(name="pair")
        self.w = bm.Array([0.5, -1.0])
        self.b = bm.Variable(bm.ones(()))

    def __call__(self, x, y):
        return self.w * x * y, (x**2).sum() + self.b * y.sum()


class Float32Only(bm.Base):
    """Writes a float32 Variable explicitly, so it cannot run in float64."""

    def __init__(self) -> None:
        super().__init__(name="f32")
        self.v = bm.Variable(jnp.zeros(2, jnp.float32))

    def __call__(self, x):
        self.v.value = jnp.asarray(x * 2.0, dtype=jnp.float32)
        return (jnp.sin(x) * x).sum()


CASES = {
    "grad argnums": (lambda: tutorial.linear, [2.0, 1.0], DiffSpec(argnums=[0, 1])),
    "grad grad_vars+argnums": (
        lambda: tutorial.Linear(n=4, name="L"),
        [[1.0, 2.0, 3.0, 4.0]],
        DiffSpec(grad_vars=["w", "b"], argnums=0),
        "update",
    ),
    "grad @train_vars": (
        lambda: tutorial.F(name="F"), [10.0], DiffSpec(grad_vars="@train_vars")
    ),
    "vector_grad": (
        lambda: tutorial.sin_product,
        [[0.0, 1.0, 2.0], [0.3, 0.2, 0.1]],
        DiffSpec(kind="vector_grad", argnums=[0, 1]),
    ),
    "vector_grad grad_vars": (
        lambda: tutorial.Polynomial(n=3, name="P"),
        [],
        DiffSpec(kind="vector_grad", grad_vars=["x", "y"]),
    ),
    "jacobian": (
        lambda: tutorial.f1, [X, Y],
        DiffSpec(kind="jacobian", argnums=[0, 1], has_aux=True),
    ),
    "jacrev": (
        lambda: tutorial.f1, [X, Y], DiffSpec(kind="jacrev", argnums=1, has_aux=True)
    ),
    "jacfwd grad_vars": (
        lambda: tutorial.Test(name="T"),
        [Y],
        DiffSpec(kind="jacfwd", grad_vars="x", argnums=0, has_aux=True),
    ),
    "jacobian structured": (
        lambda: Pair(),
        [[1.0, 2.0], [3.0, -1.0]],
        DiffSpec(kind="jacobian", grad_vars=["w", "b"], argnums=[0, 1],
                 return_value=True),
    ),
    "hessian": (
        lambda: tutorial.quadratic_form,
        [[1.0, 2.0], [[1.0, 2.0], [0.0, 3.0]]],
        DiffSpec(kind="hessian", argnums=[0, 1]),
    ),
    "hessian grad_vars+argnums": (
        lambda: tutorial.F3(name="h"),
        [10.0, 3.0],
        DiffSpec(kind="hessian", grad_vars=["a", "b"], argnums=[0, 1]),
    ),
    "hessian one grad_var (a string) + argnum": (
        lambda: tutorial.F3(name="h1"),
        [10.0, 3.0],
        DiffSpec(kind="hessian", grad_vars="a", argnums=1),
    ),
    "grad writes state": (
        lambda: tutorial.F2(name="F2"), [10.0],
        DiffSpec(grad_vars="b", return_value=True),
    ),
}  # fmt: skip


def _run(name, check):
    make, inputs, spec, *method = CASES[name]
    bm.random.seed(0)
    model = make()
    spec = DiffSpec(**{**spec.__dict__, "check": check})
    results = compute(model, inputs, spec, *method)
    return model, results


@pytest.mark.parametrize("name", sorted(CASES))
def test_derivatives_agree_with_finite_differences(name):
    model, checked = _run(name, check=True)
    _, plain = _run(name, check=False)
    grads = [r for r in checked if r.quantity == "grad"]
    # The check adds rows; it changes neither the derivatives nor the state.
    assert [(r.quantity, r.wrt, r.output) for r in checked[: len(plain)]] == [
        (r.quantity, r.wrt, r.output) for r in plain
    ]
    for a, b in zip(checked, plain):
        np.testing.assert_array_equal(a.array, b.array)
    errors = {(r.quantity, r.wrt): float(r.array) for r in checked[len(plain) :]}
    assert {w for _, w in errors} == {r.wrt for r in grads}
    for wrt in {r.wrt for r in grads}:
        assert errors[("check_rel_error", wrt)] < 1e-5, (wrt, errors)
        assert errors[("check_abs_error", wrt)] < 1e-4, (wrt, errors)


def test_state_after_a_checked_run_is_the_state_after_a_plain_run():
    checked, _ = _run("grad writes state", check=True)
    plain, _ = _run("grad writes state", check=False)
    for (_, a), (_, b) in zip(bm.iter_arrays(checked), bm.iter_arrays(plain)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.value, b.value)
    assert float(checked.a.value[0]) == 2.0  # F2 wrote a <- 2ab once, not per probe


class Noisy(bm.Base):
    """``sum(x * (1 + n1 + n2))``, noise from the default and its own generator."""

    def __init__(self) -> None:
        super().__init__()
        self.rng = bm.random.RandomState(1)

    def __call__(self, x):
        noise = bm.random.normal(size=x.shape) + self.rng.normal(size=x.shape)
        return (x * (1.0 + noise)).sum()


def test_random_draws_are_the_derivatives_in_the_check():
    bm.random.seed(0)
    plain = {r.quantity: r.array for r in compute(Noisy(), [X], DiffSpec())}
    after_plain = np.asarray(bm.random.DEFAULT.value)
    bm.random.seed(0)
    checked = {r.quantity: r.array for r in compute(Noisy(), [X], DiffSpec(check=True))}
    np.testing.assert_array_equal(checked["grad"], plain["grad"])
    # d/dx sum(x * (1 + noise)) = 1 + noise, with the noise the derivative drew.
    assert float(checked["check_rel_error"]) < 1e-5
    np.testing.assert_array_equal(bm.random.DEFAULT.value, after_plain)


def test_structured_jacobians_are_labelled_by_output_then_match_jax():
    pair = Pair()
    rows = compute(pair, [[1.0, 2.0], [3.0, -1.0]],
                   DiffSpec(kind="jacobian", argnums=[0, 1]))  # fmt: skip
    got = {(r.wrt, r.output): r.array for r in rows}

    def twin(x, y):
        return jnp.array([0.5, -1.0]) * x * y, (x**2).sum() + y.sum()

    expected = jax.jacrev(twin, argnums=(0, 1))(jnp.array([1.0, 2.0]),
                                                jnp.array([3.0, -1.0]))  # fmt: skip
    for o in range(2):
        for a in range(2):
            np.testing.assert_allclose(got[(f"arg{a}", f"[{o}]")], expected[o][a])


def test_a_wrong_derivative_is_caught_and_fails_above_the_tolerance():
    spec = DiffSpec(check=True)
    rows = compute(faulty_models.wrong_derivative, [[2.0, -1.0]], spec)
    errors = {r.quantity: float(r.array) for r in rows if r.quantity != "grad"}
    # 3x instead of 2x: off by x, a third of the largest magnitude (6 vs 4).
    assert errors["check_abs_error"] == pytest.approx(2.0, rel=1e-6)
    assert errors["check_rel_error"] == pytest.approx(1 / 3, rel=1e-6)
    with pytest.raises(CheckError) as err:
        compute(faulty_models.wrong_derivative, [[2.0, -1.0]], DiffSpec(check_tol=1e-3))
    assert err.value.key == "diff.check_tol"
    assert "w.r.t. arg0" in str(err.value) and "\n" not in str(err.value)


def test_float32_only_models_are_checked_in_float32():
    rows = compute(Float32Only(), [[0.5, 1.5]], DiffSpec(check=True))
    rel = [float(r.array) for r in rows if r.quantity == "check_rel_error"]
    assert rel and rel[0] < 1e-3


CALLS = bm.Variable(bm.zeros(()))  # state outside the model, written by it


def _counted_cube(x):
    CALLS.value = CALLS + 1.0
    return (x**3).sum()


class _Written(bm.Base):
    def __init__(self):
        super().__init__()
        self.scale = bm.Variable(bm.ones(2))
        self.last = bm.Variable(bm.zeros(2))

    def __call__(self, x):
        self.last.value = x * self.scale
        return (self.last * x).sum()


def test_checks_leave_float32_state_float32_and_unchanged():
    CALLS.value = bm.zeros(())
    model = _Written()
    rows = compute(model, [[1.0, 2.0]], DiffSpec(grad_vars="scale", argnums=0,
                                                 check=True))  # fmt: skip
    rel = [float(r.array) for r in rows if r.quantity == "check_rel_error"]
    assert rel and max(rel) < 1e-6  # the check ran in float64
    # Only the derivative's own call wrote: last = x * scale, in float32.
    assert model.last.dtype == model.scale.dtype == jnp.float32
    np.testing.assert_array_equal(model.last.value, [1.0, 2.0])
    np.testing.assert_array_equal(model.scale.value, [1.0, 1.0])
    compute(_counted_cube, [[1.0, 2.0]], DiffSpec(check=True))
    assert CALLS.dtype == jnp.float32 and float(CALLS.value) == 1.0


def test_finite_differences_directly():
    problem = Problem(lambda x, y: (x**3).sum() * y, "hessian", [[1.0, 2.0], 2.0],
                      [0, 1])  # fmt: skip
    fd = finite_differences(problem)
    np.testing.assert_allclose(fd[("arg0,arg0", "")], np.diag([12.0, 24.0]), rtol=1e-6)
    np.testing.assert_allclose(fd[("arg0,arg1", "")], [3.0, 12.0], rtol=1e-6)
    np.testing.assert_allclose(fd[("arg1,arg1", "")], 0.0, atol=1e-6)


@pytest.mark.parametrize("tol", [-1.0, "small", True])
def test_bad_tolerances_are_config_errors(tol):
    with pytest.raises(ConfigError) as err:
        compute(tutorial.linear, [2.0, 1.0], DiffSpec(check_tol=tol))
    assert err.value.key == "diff.check_tol"


def test_nonfinite_results_are_flagged_in_rows_and_eigenvalues_do_not_crash():
    rows = compute(faulty_models.sqrt_sum, [[0.0, 4.0]], DiffSpec())
    flags = [(r.quantity, r.wrt, float(r.array)) for r in rows
             if r.quantity.startswith("nonfinite")]  # fmt: skip
    assert flags == [("nonfinite_grad", "arg0", 1.0)]

    def field(x):
        return jnp.stack([jnp.sqrt(x[0]), x[1] * x[0]])

    rows = compute(field, [[0.0, 1.0]], DiffSpec(kind="jacobian", eigenvalues=True))
    quantities = {r.quantity for r in rows}
    assert {"nonfinite_grad", "nonfinite_eigenvalue_real"} <= quantities


def _cfg(**diff):
    return {
        "model": {"_target_": faulty_models.PREFIX + "sqrt_sum"},
        "allowed_targets": [faulty_models.PREFIX],
        "inputs": [[0.0, 4.0]],
        "diff": {"kind": "grad", **diff},
        "output": {"summary": True, "plots": False},
    }


@pytest.fixture
def importable_tests(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))


def test_nonfinite_warns_and_keeps_the_table(tmp_path, capsys, importable_tests):
    assert run_job(_cfg(), tmp_path) == 0
    out, err = capsys.readouterr()
    assert err.startswith("warning: grad w.r.t. arg0 holds 1 NaN/Inf value(s)")
    assert "NaN/Inf:" in out
    table = read_table(tmp_path / "results.csv")
    flagged = table[table["quantity"] == "nonfinite_grad"]
    assert flagged[["wrt", "shape", "value"]].values.tolist() == [["arg0", "", 1.0]]


def test_fail_on_nonfinite_fails_without_a_table(tmp_path, capsys, importable_tests):
    cfg = _cfg()
    cfg["output"]["fail_on_nonfinite"] = True
    assert run_job(cfg, tmp_path) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "output.fail_on_nonfinite:" in err
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "failed" and record["error_type"] == "CheckError"
    assert not (tmp_path / "results.csv").exists()


def test_nonfinite_in_a_vectorized_sweep_warns(tmp_path, capsys, importable_tests):
    cfg = _cfg()
    cfg["sweep"] = {"inputs": {"0": [[1.0, 4.0], [0.0, 4.0]]}}
    assert run_job(cfg, tmp_path) == 0
    assert "warning: the sweep's table holds 1 NaN/Inf" in capsys.readouterr().err
    assert (tmp_path / "results.csv").exists()


def test_check_rows_reach_the_table_and_the_console(tmp_path, capsys):
    cfg = {"model": {"_target_": "runner.models.tutorial.f1"}, "inputs": [X, Y],
           "diff": {"kind": "jacobian", "has_aux": True, "check": True},
           "output": {"plots": False}}  # fmt: skip
    assert run_job(cfg, tmp_path) == 0
    out = capsys.readouterr().out
    assert "finite differences w.r.t. arg0: max abs error" in out
    table = read_table(tmp_path / "results.csv")
    checks = table[table["quantity"].str.startswith("check_")]
    assert checks[["quantity", "wrt", "shape"]].values.tolist() == [
        ["check_abs_error", "arg0", ""],
        ["check_rel_error", "arg0", ""],
    ]
    assert (checks["value"] < 1e-6).all()


def test_summary_escapes_values_that_look_like_markup():
    console = Console(file=io.StringIO(), width=80, record=True)
    rows = compute(faulty_models.sqrt_sum, [[0.0, 4.0]], DiffSpec())
    print_summary("t", rows, console)
    text = console.export_text()
    assert "inf" in text and "0.25" in text


def test_checks_do_not_import_the_experiment():
    """The pipeline flows one way: checks take a plan and never import the
    experiment, not even inside a function."""
    import ast
    from pathlib import Path

    import runner.compute.checks

    tree = ast.parse(Path(runner.compute.checks.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "experiment" not in imported and "runner.compute.experiment" not in imported
