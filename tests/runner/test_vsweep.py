"""Vectorized sweeps equal the same points run one by one."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import runner.core as bm
from runner.compute.experiment import DiffSpec, compute
from runner.compute.points import expand
from runner.compute.vsweep import run_sweep
from runner.config.errors import ConfigError
from runner.models.neuro import FitzHughNagumo
from runner.models.tutorial import f1

SPEC = DiffSpec(kind="jacobian", has_aux=True, return_value=True)
X = [1.0, 2.0, 3.0]


@pytest.mark.parametrize("chunk_size", [1, 3, 4, 1024])
def test_sweep_equals_pointwise_runs_and_raw_vmap(chunk_size):
    ys = np.array([[10.0, 5.0], [1.0, 2.0], [0.5, -3.0], [2.0, 2.0], [7.0, 1.0]])
    cols = run_sweep(f1, [X, [0.0, 0.0]], SPEC, None, {"inputs.1": ys.tolist()},
                     chunk_size=chunk_size)  # fmt: skip
    per_point = len(cols["value"]) // len(ys)
    for p, y in enumerate(ys):
        expected = np.concatenate(
            [r.array.ravel() for r in compute(f1, [X, y.tolist()], SPEC)]
        )
        got = cols["value"][p * per_point : (p + 1) * per_point]
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    # The Jacobian rows also equal raw jax.vmap(jax.jacrev) of the pure twin.
    raw = jax.vmap(jax.jacrev(lambda x, y: f1(x, y)[0]), in_axes=(None, 0))(
        jnp.array(X), jnp.array(ys)
    )
    grads = cols["value"][cols["quantity"] == "grad"].reshape(len(ys), -1)
    np.testing.assert_allclose(grads, np.asarray(raw).reshape(len(ys), -1), rtol=1e-6)
    assert [cols["inputs.1[0]"][0], cols["inputs.1[1]"][0]] == [10.0, 5.0]
    assert sorted(set(cols["job"].tolist())) == list(range(len(ys)))


def test_model_arrays_grid_and_state_restored():
    fhn = FitzHughNagumo(name="fhn")
    spec = DiffSpec(kind="jacfwd", eigenvalues=True)
    params = {"model.b": [0.5, 0.8], "model.tau": [5.0, 10.0, 20.0]}
    cols = run_sweep(fhn, [[-1.0, 0.5]], spec, "vector_field", params)
    assert len(set(cols["job"].tolist())) == 6
    grads = cols["value"][cols["quantity"] == "grad"].reshape(6, 2, 2)
    for p, (b, tau) in enumerate([(b, t) for b in (0.5, 0.8) for t in (5, 10, 20)]):
        # J = [[1 - v^2, -1], [1/tau, -b/tau]] at v = -1.
        np.testing.assert_allclose(grads[p], [[0, -1], [1 / tau, -b / tau]], rtol=1e-6)
    assert float(fhn.b.value) == pytest.approx(0.8) and float(fhn.tau.value) == 12.5


def test_expand_grid_and_zip():
    grid = expand({"a": [1.0, 2.0], "b": [0.0, 1.0, 2.0]})
    assert (
        grid["a"].tolist() == [1, 1, 1, 2, 2, 2] and grid["b"].tolist() == [0, 1, 2] * 2
    )
    zipped = expand({"a": [1.0, 2.0], "b": [3.0, 4.0]}, "zip")
    assert zipped["b"].tolist() == [3.0, 4.0]
    vec = expand({"y": {"start": [0.0, 0.0], "stop": [1.0, 2.0], "num": 3}})
    assert vec["y"].tolist() == [[0, 0], [0.5, 1], [1, 2]]


@pytest.mark.parametrize(
    ("params", "mode", "key"),
    [
        ({}, "grid", "sweep"),
        ({"a": [1.0], "b": [1.0, 2.0]}, "zip", "sweep.mode"),
        ({"a": [1.0]}, "spiral", "sweep.mode"),
        ({"a": []}, "grid", "sweep.a"),
        ({"a": [[1.0], [1.0, 2.0]]}, "grid", "sweep.a"),
        ({"a": [1.0, float("nan")]}, "grid", "sweep.a"),
        ({"a": {"begin": 0}}, "grid", "sweep.a.begin"),
        ({"a": {"start": 0, "stop": 1, "nun": 5}}, "grid", "sweep.a.nun"),
        ({"a": {"start": 0, "stop": 1}}, "grid", "sweep.a"),
        ({"a": {"start": 0, "stop": 1, "num": 5, "step": 1}}, "grid", "sweep.a"),
        ({"a": {"start": 0, "stop": 1, "num": 2.7}}, "grid", "sweep.a.num"),
        ({"a": {"start": 0, "stop": 1, "num": 0}}, "grid", "sweep.a.num"),
        ({"a": {"start": 0, "stop": 1, "num": True}}, "grid", "sweep.a.num"),
        ({"a": {"start": 0, "stop": 1, "num": "5"}}, "grid", "sweep.a.num"),
        ({"a": {"start": [0, 0], "stop": [1, 1, 1], "num": 2}}, "grid", "sweep.a"),
        ({"a": {"start": "x", "stop": 1, "num": 2}}, "grid", "sweep.a.start"),
        ({"a": {"start": 0, "stop": 1, "step": -0.5}}, "grid", "sweep.a.step"),
        ({"a": {"start": 0, "stop": 1, "step": 0}}, "grid", "sweep.a.step"),
        ({"a": {"start": [0, 0], "stop": [1, 1], "step": 0.5}}, "grid", "sweep.a.step"),
        ({"a": {"start": 0, "stop": 1, "num": 10**13}}, "grid", "sweep.a.num"),
        ({"a": {"start": 0, "stop": 1, "num": 10**5},
          "b": {"start": 0, "stop": 1, "num": 10**6}}, "grid", "sweep"),
    ],
)  # fmt: skip
def test_bad_expansions(params, mode, key):
    with pytest.raises(ConfigError) as err:
        expand(params, mode)
    assert err.value.key == key
    assert "\n" not in str(err.value)


def test_ranges_by_num_and_by_step():
    # linspace includes both ends; arange stops before stop.
    assert expand({"a": {"start": 0, "stop": 1, "num": 3}})["a"].tolist() == [0, 0.5, 1]
    steps = expand({"a": {"start": 1.0, "stop": 0.0, "step": -0.25}})["a"]
    assert steps.tolist() == [1.0, 0.75, 0.5, 0.25]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"inputs.5": [1.0]}, "sweep.inputs.5"),
        ({"model.nope": [1.0]}, "sweep.model.nope"),
        ({"inputs.1": [1.0, 2.0]}, "sweep.inputs.1"),  # scalars for a vector
    ],
)
def test_bad_targets(params, key):
    with pytest.raises(ConfigError) as err:
        run_sweep(f1, [X, [10.0, 5.0]], SPEC, None, params)
    assert err.value.key == key


def test_sweep_job_writes_one_table_and_a_plot(tmp_path):
    from runner.app.job import run_job

    cfg = {
        "model": {"_target_": "runner.models.neuro.FitzHughNagumo", "name": "fhn"},
        "method": "vector_field",
        "inputs": [[-1.0, 0.5]],
        "diff": {"kind": "jacfwd"},
        "sweep": {"model": {"current": [0.0, 0.5, 1.0]}, "chunk_size": 2},
        "output": {"summary": False},
        "compile_cache": None,
    }
    assert run_job(cfg, tmp_path) == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table["model.current"].unique()) == [0.0, 0.5, 1.0]
    assert (tmp_path / "sweep.png").exists()


class _Noisy(bm.Base):
    """``x * (n1 + n2)``: n1 from the default generator, n2 from its own."""

    def __init__(self):
        super().__init__()
        self.rng = bm.random.RandomState(7)

    def __call__(self, x):
        return x * (bm.random.normal() + self.rng.normal())


def test_noisy_model_draws_fresh_numbers_per_point_reproducibly():
    def sweep():
        bm.random.seed(0)
        model = _Noisy()
        cols = run_sweep(model, [1.0], DiffSpec(return_value=True), None,
                         {"inputs.0": [1.0, 2.0, 3.0, 4.0]}, chunk_size=3)  # fmt: skip
        grads = cols["value"][cols["quantity"] == "grad"]
        values = cols["value"][cols["quantity"] == "value"]
        return model, grads, values

    model, grads, values = sweep()
    # d/dx x n = n, and the value is x n with the same draw: one draw per point.
    np.testing.assert_allclose(values, np.array([1.0, 2.0, 3.0, 4.0]) * grads,
                               rtol=1e-6)  # fmt: skip
    assert len(set(np.round(grads, 6))) == 4  # fresh numbers at every point
    key_after = np.asarray(model.rng.value)
    assert not isinstance(model.rng.value, jax.core.Tracer)
    assert not np.array_equal(key_after, np.asarray(bm.random.RandomState(7).value))
    _, grads_again, _ = sweep()
    np.testing.assert_array_equal(grads, grads_again)  # a fixed seed repeats it
