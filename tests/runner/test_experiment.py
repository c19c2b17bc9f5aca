"""``run_experiment``: the table of every kind equals JAX on the pure twin."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm
from runner.compute.experiment import DiffSpec, compute, run_experiment
from runner.compute.rows import COLUMNS
from runner.config.errors import ConfigError
from runner.models import tutorial
from runner.models.tutorial import F3, F, f1, linear, quadratic_form

X = [1.0, 2.0, 3.0]
Y = [10.0, 5.0]


def _twin_f1(x, y):
    return f1(x, y)[0]


@pytest.mark.parametrize(
    ("kind", "reference"),
    [("jacobian", jax.jacrev), ("jacrev", jax.jacrev), ("jacfwd", jax.jacfwd)],
)
def test_jacobians_equal_jax(kind, reference):
    frame = run_experiment(
        f1, [X, Y], DiffSpec(kind=kind, argnums=[0, 1], has_aux=True)
    )
    assert tuple(frame.columns) == COLUMNS
    for i, expected in enumerate(
        reference(_twin_f1, argnums=(0, 1))(jnp.array(X), jnp.array(Y))
    ):
        rows = frame[frame["wrt"] == f"arg{i}"]
        np.testing.assert_allclose(rows["value"], np.ravel(expected), rtol=1e-6)
    assert frame[frame["quantity"] == "aux"]["value"].tolist() == [10.0]


def test_index_column_is_row_major():
    frame = run_experiment(f1, [X, Y], DiffSpec(kind="jacobian", has_aux=True))
    grads = frame[frame["quantity"] == "grad"]
    assert set(grads["shape"]) == {"4,3"}  # f1's Jacobian in x: 4 outputs, 3 inputs
    assert grads["index"].tolist() == list(range(12))
    rows, cols = np.unravel_index(grads["index"], (4, 3))
    assert rows.tolist()[:4] == [0, 0, 0, 1] and cols.tolist()[:4] == [0, 1, 2, 0]


def test_hessian_blocks_of_quadratic_form():
    a = np.array([[1.0, 2.0], [0.0, 3.0]])
    frame = run_experiment(quadratic_form, [[1.0, 2.0], a.tolist()],
                           DiffSpec(kind="hessian", argnums=0))  # fmt: skip
    # d2/dx2 x^T A x = A + A^T
    np.testing.assert_allclose(frame["value"], np.ravel(a + a.T))
    assert set(frame["wrt"]) == {"arg0,arg0"}


def test_hessian_with_vars_and_args_matches_jax():
    f3 = F3(name="h")
    spec = DiffSpec(kind="hessian", grad_vars=["a"], argnums=[0, 1])
    frame = run_experiment(f3, [10.0, 3.0], spec)

    def twin(a, c, d):
        return (a * 1.0 * 2 + c * d).mean()

    h = jax.hessian(twin, argnums=(0, 1, 2))(jnp.ones(1), 10.0, 3.0)
    names = ["a", "arg0", "arg1"]
    for i, row in enumerate(names):
        for j, col in enumerate(names):
            got = frame[frame["wrt"] == f"{row},{col}"]["value"]
            np.testing.assert_allclose(got, np.ravel(h[i][j]), err_msg=f"{row},{col}")


def test_grad_vars_paths_and_selectors():
    f = F(name="sel")
    frame = run_experiment(f, [10.0], DiffSpec(grad_vars="@train_vars"))
    assert frame["wrt"].tolist() == ["a", "b"] and frame["value"].tolist() == [2.0, 2.0]
    t = tutorial.Test(name="t")
    frame = run_experiment(
        t, [Y], DiffSpec(kind="jacobian", grad_vars="x", has_aux=True)
    )
    assert set(frame[frame["quantity"] == "grad"]["wrt"]) == {"x"}


def test_method_and_written_state():
    class Leaky(bm.Base):
        def __init__(self):
            super().__init__(name="leaky")
            self.v = bm.Variable(bm.zeros(2))

        def step(self, x):
            self.v.value = self.v * 0.5 + x
            return (self.v**2).sum()

    leaky = Leaky()
    frame = run_experiment(leaky, [[1.0, 2.0]], DiffSpec(argnums=0), method="step")
    # d/dx sum((0.5 v + x)^2) at v = 0 is 2x.
    np.testing.assert_allclose(frame["value"], [2.0, 4.0])
    np.testing.assert_allclose(leaky.v.value, [1.0, 2.0])


@pytest.mark.parametrize(
    ("model", "inputs", "spec", "method", "key"),
    [
        (f1, [X, Y], DiffSpec(kind="grda"), None, "diff.kind"),
        (f1, [X, Y], DiffSpec(kind="jacobian", argnums=2, has_aux=True), None,
         "diff.argnums"),
        (f1, [X, Y], DiffSpec(kind="jacobian", argnums=-1), None, "diff.argnums"),
        (f1, [X, Y], DiffSpec(kind="jacobian", argnums=[0.5]), None, "diff.argnums"),
        (f1, [X, Y], DiffSpec(kind="jacobian", grad_vars="x"), None, "diff.grad_vars"),
        (F(name="e"), [10.0], DiffSpec(grad_vars="c"), None, "diff.grad_vars"),
        (F(name="e"), [10.0], DiffSpec(grad_vars=3), None, "diff.grad_vars"),
        (f1, [X, Y], DiffSpec(kind="grad", has_aux=True), None, "diff.kind"),
        (linear, [2.0, 1.0], DiffSpec(has_aux=True), None, "diff.has_aux"),
        (f1, [[1, 2, 3], Y], DiffSpec(kind="jacobian", has_aux=True), None, "inputs.0"),
        (f1, [[[1.0], [2.0, 3.0]], Y], DiffSpec(kind="jacobian"), None, "inputs.0"),
        (f1, [[1.0, float("nan"), 3.0], Y], DiffSpec(kind="jacobian"), None,
         "inputs.0"),
        (F(name="e"), [10.0], DiffSpec(), "nope", "method"),
        (F(name="e"), [10.0], DiffSpec(kind="jacobian", eigenvalues=True), None,
         "diff.eigenvalues"),
        (f1, [[1.0], Y], DiffSpec(kind="jacobian", has_aux=True), None, "inputs.0"),
        (f1, [[1e39, 2.0, 3.0], Y], DiffSpec(kind="jacobian", has_aux=True), None,
         "inputs.0"),
        (F(name="e"), [10.0], DiffSpec(), 5, "method"),
        (F(name="e"), [10.0], DiffSpec(), "__init__", "method"),
        (lambda x: None, [[1.0]], DiffSpec(kind="vector_grad"), None, "model"),
        (lambda x: {"a": x.sum()}, [[1.0]], DiffSpec(), None, "model"),
    ],
)  # fmt: skip
def test_bad_specs_name_their_key(model, inputs, spec, method, key):
    with pytest.raises(ConfigError) as err:
        compute(model, inputs, spec, method)
    assert err.value.key == key, str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("mode", ["forward", "auto"])
def test_jacobian_modes_give_the_reverse_mode_table(mode):
    spec = DiffSpec(kind="jacobian", has_aux=True, return_value=True)
    reverse = run_experiment(f1, [X, Y], spec)
    other = run_experiment(f1, [X, Y], DiffSpec(**{**spec.__dict__, "mode": mode}))
    np.testing.assert_allclose(other["value"], reverse["value"], rtol=1e-6)
    assert other["wrt"].tolist() == reverse["wrt"].tolist()


def test_unknown_mode_names_its_key():
    with pytest.raises(ConfigError) as err:
        compute(f1, [X, Y], DiffSpec(kind="jacobian", has_aux=True, mode="sideways"))
    assert err.value.key == "diff.mode"
