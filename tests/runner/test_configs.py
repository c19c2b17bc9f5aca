"""Every experiment config has a golden table; the tutorial's cases its numbers.

The comparison with the goldens in ``test_configs/`` is done by the project's own
pytest plugin (:mod:`runner.app.pytest_plugin`, configured in ``pyproject.toml``): each
``configs/exp/*.yaml`` is a test item (rewrite goldens on purpose with
``pytest configs/exp --force-regen``). The tutorial's cases are also checked
against the tutorial's own numbers, so a golden cannot drift from them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runner.app.job import execute, to_plain

from ..conftest import CONFIGS, EXPERIMENTS

GOLDENS = Path(__file__).with_suffix("")

# The tutorial's values: (quantity, wrt, output) -> array, per experiment.
J = [[10, 0, 0], [0, 0, 25], [0, 16, -2], [1.6209068, 0, 0.84147096]]
VEC = [10.0, 75.0, 10.0, 2.5244129]
TUTORIAL = {
    "grad": {("grad", "arg0", ""): 2.0},
    "grad_argnums": {("grad", "arg0", ""): 2.0, ("grad", "arg1", ""): 1.0},
    "grad_vars": {("grad", "w", ""): np.ones((1, 10)), ("grad", "b", ""): [1.0]},
    "train_vars": {("grad", "a", ""): [2.0], ("grad", "b", ""): [2.0]},
    "dyn_vars": {("grad", "b", ""): [2.0], ("value", "", ""): 12.0},
    "grad_vars_args": {
        ("grad", "a", ""): [2.0],
        ("grad", "b", ""): [2.0],
        ("grad", "arg0", ""): 3.0,
        ("grad", "arg1", ""): 10.0,
    },
    "has_aux_vars": {
        ("grad", "a", ""): [1.0],
        ("value", "", ""): 11.0,
        ("aux", "", "[0]"): [1.0],
        ("aux", "", "[1]"): [2.0],
    },
    "vector_grad_vars": {("grad", "x", ""): [2.0] * 5, ("grad", "y", ""): [3.0] * 5},
    "jacobian": {("grad", "arg0", ""): J, ("value", "", ""): VEC, ("aux", "", ""): 10},
    "jacobian_object": {
        ("grad", "x", ""): J,
        ("grad", "arg0", ""): [[1, 0], [0, 15], [0, 0], [0, 0]],
        ("value", "", ""): VEC,
        ("aux", "", "[0]"): 10.0,
        ("aux", "", "[1]"): 2.5244129,
    },
    # Hessian of x^T A x is A + A^T.
    "hessian": {("grad", "arg0,arg0", ""): [[2, 2], [2, 6]], ("value", "", ""): 17},
}


def _run(compose, name):
    return execute(to_plain(compose(f"+exp={name}")))


def test_every_experiment_has_a_golden():
    missing = [n for n in EXPERIMENTS if not (GOLDENS / f"{n}.csv").exists()]
    assert not missing, f"experiments without a golden table: {missing}"


@pytest.mark.parametrize("name", sorted(TUTORIAL))
def test_tutorial_values(name, compose):
    results = {(r.quantity, r.wrt, r.output): r.array for r in _run(compose, name)}
    for key, expected in TUTORIAL[name].items():
        np.testing.assert_allclose(results[key], expected, rtol=1e-6, err_msg=str(key))


def test_random_cases_match_closed_forms(compose):
    # d/dx sum(w . x + b) = w; with return_value the value is sum(w) + b.
    plain = to_plain(compose("+exp=return_value"))
    results = {r.quantity: r.array for r in execute(plain)}
    w = results["grad"]
    np.testing.assert_allclose(results["value"], w.sum(), rtol=1e-6)
    # d/da sin(b) a = sin(b); d/db = a cos(b), with a = 0..4.
    out = {r.wrt: r.array for r in _run(compose, "vector_grad")}
    b = np.arcsin(out["arg0"])
    np.testing.assert_allclose(out["arg1"], np.arange(5.0) * np.cos(b), atol=1e-5)


def test_fitzhugh_nagumo_closed_form(compose):
    # J = [[1 - v^2, -1], [1/tau, -b/tau]] at (v, w); trace < 0 and det > 0: stable.
    out = {r.quantity: r.array for r in _run(compose, "fitzhugh_nagumo")}
    v = -1.19941
    expected = [[1 - v**2, -1], [1 / 12.5, -0.8 / 12.5]]
    np.testing.assert_allclose(out["grad"], expected, rtol=1e-5)
    eig = np.linalg.eigvals(np.asarray(expected))
    np.testing.assert_allclose(
        sorted(out["eigenvalue_real"]), sorted(eig.real), rtol=1e-5
    )
    assert (out["eigenvalue_real"] < 0).all()


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in (CONFIGS / "model").glob("*.yaml"))
)
def test_every_model_config_instantiates(compose, name):
    import functools
    import inspect

    from hydra.utils import get_object

    import runner.core as bm
    from runner.config.build import build_model

    node = to_plain(compose(f"model={name}"))["model"]
    target = get_object(node["_target_"])
    model = build_model(node)
    kwargs = {k: v for k, v in node.items() if k != "_target_"}
    if inspect.isclass(target):  # a Base subclass, built with the config's name
        assert type(model) is target and isinstance(model, bm.Base)
        assert model.name == kwargs.get("name", model.name)
    elif kwargs:  # a function with its keyword arguments bound
        assert isinstance(model, functools.partial)
        assert model.func is target and model.keywords == kwargs
    else:
        assert model is target
