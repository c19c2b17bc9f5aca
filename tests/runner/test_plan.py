"""The plan: resolved once; failures sorted by type, never by message text."""

from __future__ import annotations

import numpy as np
import pytest

import runner.core as bm
from runner.compute.experiment import compute
from runner.compute.plan import call, make_plan
from runner.config.errors import ConfigError, ModelError
from runner.config.spec import DiffSpec
from runner.models.tutorial import F3, linear


def test_a_models_own_error_mentioning_argnums_is_blamed_on_the_model():
    def model(x):
        raise ValueError("argnums of my lookup table must be sorted")

    with pytest.raises(ModelError) as err:
        compute(model, [[1.0, 2.0]], DiffSpec(kind="jacobian"))
    assert err.value.key == "model"
    assert "the model raised ValueError: argnums of my lookup table" in str(err.value)


def test_core_argument_errors_get_their_config_key():
    plan = make_plan(linear, [2.0, 1.0], DiffSpec(argnums=[0, 1]))
    with pytest.raises(ConfigError) as err:
        call(plan.derivative, 2.0)  # argnums 1 needs a second input
    assert err.value.key == "diff.argnums"


def test_the_plan_resolves_positions_once():
    model = F3(name="f")
    spec = DiffSpec(kind="hessian", grad_vars=["a"], argnums=[0, 1])
    plan = make_plan(model, [1.0, 2.0], spec)
    assert plan.positions == [["a"], "arg0", "arg1"]
    assert plan.arg_positions == [0, 1] and plan.names == ["a"]
    assert plan.variables[0] is model.a and plan.target is model


def test_two_paths_to_one_array_are_a_grad_vars_error():
    class Aliased(F3):
        def __init__(self):
            super().__init__(name="aliased")
            self.same = self.a  # a second path to the Array a

    with pytest.raises(ConfigError) as err:
        make_plan(Aliased(), [1.0, 2.0], DiffSpec(grad_vars=["a", "same"], argnums=1))
    assert err.value.key == "diff.grad_vars" and "same Array" in str(err.value)


def test_a_transform_misused_inside_the_model_is_the_models_error():
    import runner.core as bm

    def model(x):
        return bm.grad(lambda y: (y * y).sum(), argnums=2)(x)  # the model's mistake

    with pytest.raises(ModelError) as err:
        compute(model, [[1.0, 2.0]], DiffSpec(kind="jacobian"))
    assert err.value.key == "model" and "grad(argnums=2)" in str(err.value)


class _NoisyLinear(bm.Base):
    """``sum(w x) + 0 * noise``: a TrainVar and its own random generator."""

    def __init__(self):
        super().__init__(name="N")
        self.w = bm.TrainVar(bm.array([1.0, 2.0]))
        self.rng = bm.random.RandomState(3)

    def __call__(self, x):
        return (self.w * x).sum() + 0.0 * self.rng.normal()


def test_the_vars_selector_leaves_out_random_generators():
    # d/dw sum(w x) = x; the generator's uint32 key is state, not a parameter.
    out = compute(_NoisyLinear(), [[3.0, 4.0]], DiffSpec(grad_vars="@vars"))
    grads = {r.wrt: r.array for r in out if r.quantity == "grad"}
    assert list(grads) == ["w"]
    np.testing.assert_allclose(grads["w"], [3.0, 4.0])
