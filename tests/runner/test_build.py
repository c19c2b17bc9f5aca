"""Building models and inputs from configs, and refusing untrusted targets."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import pytest

from runner.build import build_inputs, build_model, check_targets
from runner.errors import ConfigError

ALLOWED = ("models.", "runner.inputs.")


@pytest.mark.parametrize(
    "target", ["os.system", "subprocess.run", "builtins.eval", "models", "modelsx.f"]
)
def test_untrusted_model_targets_are_refused_before_import(target, monkeypatch):
    imported = []
    monkeypatch.setattr("runner.build.get_object", lambda t: imported.append(t))
    with pytest.raises(ConfigError, match="outside the allowed modules") as err:
        build_model({"_target_": target, "command": "echo pwned"})
    assert err.value.key == "model._target_"
    assert imported == []


def test_nested_and_input_targets_are_checked():
    node = {"_target_": "models.tutorial.F", "name": {"_target_": "os.getcwd"}}
    with pytest.raises(ConfigError, match=r"model\.name\._target_: 'os.getcwd'"):
        build_model(node)
    with pytest.raises(ConfigError, match=r"inputs\.1\._target_"):
        build_inputs([1.0, {"_target_": "os.listdir"}])


def test_allow_list_can_be_extended():
    check_targets({"_target_": "mypkg.Model"}, "model", (*ALLOWED, "mypkg."))
    assert build_model({"_target_": "math.hypot"}, ALLOWED + ("math.",)) is not None


def test_model_kinds():
    model = build_model({"_target_": "models.tutorial.Linear", "n": 3, "name": "L"})
    assert model.name == "L" and model.w.shape == (1, 3)
    fn = build_model({"_target_": "models.tutorial.linear"})
    assert fn(2.0, 1.0) == 5.0
    bound = build_model({"_target_": "models.tutorial.linear", "b": 1.0})
    assert isinstance(bound, functools.partial) and bound(2.0) == 5.0


@pytest.mark.parametrize(
    ("node", "match"),
    [
        (None, "model: expected a node with _target_"),
        ({"_target_": "models.nope.Model"}, r"model\._target_: cannot import"),
        ({"_target_": "models.tutorial.Linear", "bad": 1}, "unexpected keyword"),
        ({"_target_": "models.tutorial.__doc__"}, "not callable"),
    ],
)
def test_bad_models(node, match):
    with pytest.raises(ConfigError, match=match):
        build_model(node)


def test_inputs():
    built = build_inputs(
        [1.0, [1.0, 2.0], {"_target_": "runner.inputs.zeros", "shape": 2}]
    )
    assert built[0] == 1.0 and built[1] == [1.0, 2.0]
    assert jnp.array_equal(built[2], jnp.zeros(2))
    with pytest.raises(ConfigError, match=r"inputs\.0: expected a number"):
        build_inputs([{"zeros": 2}])
    with pytest.raises(ConfigError, match=r"inputs\.0: runner.inputs.zeros"):
        build_inputs([{"_target_": "runner.inputs.zeros", "shape": -1}])
    with pytest.raises(ConfigError, match="inputs: expected a list"):
        build_inputs(3.0)
