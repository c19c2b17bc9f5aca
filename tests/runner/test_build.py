"""Building models and inputs from configs, and refusing untrusted targets."""

from __future__ import annotations

import functools
import sys

import jax.numpy as jnp
import pytest

from runner.config.build import (
    allowed_prefixes,
    build_inputs,
    build_model,
    check_targets,
    resolve_target,
)
from runner.config.errors import ALLOW_HINT, ConfigError

ALLOWED = ("runner.models.", "runner.inputs.")


@pytest.mark.parametrize(
    "target", ["os.system", "subprocess.run", "builtins.eval", "modelsx.f", "x.models"]
)
def test_untrusted_model_targets_are_refused_before_import(target, monkeypatch):
    imported = []
    monkeypatch.setattr("runner.config.build.import_module", imported.append)
    with pytest.raises(ConfigError, match="outside the allowed modules") as err:
        build_model({"_target_": target, "command": "echo pwned"})
    assert err.value.key == "model._target_"
    assert imported == []


@pytest.mark.parametrize(
    ("target", "match"),
    [
        ("runner.inputs.jnp.save", "reaches the module jax.numpy through"),
        ("runner.inputs.jax.version.os.system", "reaches the module jax through"),
        ("runner.models.tutorial.bm.random.seed", "reaches the module runner.core"),
        ("runner.inputs.Sequence", "defined in collections.abc, outside"),
        ("runner.models.tutorial.Any", "defined in typing, outside"),
        ("runner.models.tutorial.__builtins__", "a dict with no defining module"),
        ("runner.models.tutorial.F.__class__", "defined in builtins, outside"),
        ("runner.models.tutorial", "a module, not an object defined in one"),
        ("runner.models", "a module, not an object defined in one"),
    ],
)
def test_targets_must_be_defined_in_an_allowed_module(target, match):
    for build in (
        lambda: build_model({"_target_": target}),
        lambda: build_inputs([{"_target_": target, "file": "x", "arr": [1.0]}]),
        lambda: build_model(
            {"_target_": "runner.models.tutorial.Test", "x": {"_target_": target}}
        ),  # fmt: skip
    ):
        with pytest.raises(ConfigError, match=match) as err:
            build()
        assert err.value.key.endswith("._target_")


def test_module_prefixes_match_on_dotted_boundaries():
    assert resolve_target("math.hypot", "model", ("math",))(3.0, 4.0) == 5.0
    assert resolve_target("math.hypot", "model", ("math.",))(3.0, 4.0) == 5.0
    with pytest.raises(ConfigError, match="outside the allowed modules"):
        resolve_target("mathx.hypot", "model", ("math.",))
    with pytest.raises(ConfigError, match="No module named .runner.models.nope."):
        resolve_target("runner.models.nope.f", "model", ALLOWED)
    with pytest.raises(ConfigError, match="cannot import 'nopkg.f': no module"):
        resolve_target("nopkg.f", "model", ("nopkg.",))


def test_nested_and_input_targets_are_checked():
    node = {"_target_": "runner.models.tutorial.F", "name": {"_target_": "os.getcwd"}}
    with pytest.raises(ConfigError, match=r"model\.name\._target_: 'os.getcwd'"):
        build_model(node)
    with pytest.raises(ConfigError, match=r"inputs\.1\._target_"):
        build_inputs([1.0, {"_target_": "os.listdir"}])


def test_nested_targets_are_built():
    node = {
        "_target_": "runner.models.tutorial.Test",
        "x": {"_target_": "runner.inputs.full", "shape": 3, "fill_value": 2.0},
    }
    assert build_model(node).x.tolist() == [2.0, 2.0, 2.0]  # fmt: skip


def test_allow_list_can_be_extended(monkeypatch):
    check_targets({"_target_": "mypkg.Model"}, "model", (*ALLOWED, "mypkg."))
    assert build_model({"_target_": "math.hypot"}, ALLOWED + ("math.",)) is not None
    monkeypatch.setenv("RUNNER_ALLOWED_TARGETS", "mypkg., other")
    assert allowed_prefixes(["third"]) == (*ALLOWED, "mypkg.", "other.", "third.")


@pytest.mark.parametrize("prefixes", [[""], ["."], [" "], ["os.*"], [3]])
def test_prefixes_that_name_no_module_are_refused(prefixes):
    with pytest.raises(ConfigError, match="allowed_targets: expected dotted module"):
        allowed_prefixes(prefixes)


def test_model_kinds():
    node = {"_target_": "runner.models.tutorial.Linear", "n": 3, "name": "L"}
    model = build_model(node)
    assert model.name == "L" and model.w.shape == (1, 3)
    fn = build_model({"_target_": "runner.models.tutorial.linear"})
    assert fn(2.0, 1.0) == 5.0
    bound = build_model({"_target_": "runner.models.tutorial.linear", "b": 1.0})
    assert isinstance(bound, functools.partial) and bound(2.0) == 5.0


@pytest.mark.parametrize(
    ("node", "match"),
    [
        (None, "model: expected a node with _target_"),
        ({"_target_": "runner.models.nope.Model"}, r"model\._target_: cannot import"),
        ({"_target_": "runner.models.tutorial.Linear", "bad": 1}, "unexpected keyword"),
        ({"_target_": "runner.models.tutorial.__doc__"}, "a str with no defining"),
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


def test_an_import_failure_says_where_python_looked(tmp_path, monkeypatch):
    (tmp_path / "mymodels").mkdir()
    (tmp_path / "mymodels" / "__init__.py").write_text("def f(x):\n    return x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    with pytest.raises(ConfigError) as err:
        resolve_target("mymodels.f", "model", ("mymodels.",))
    message = str(err.value)
    assert message.startswith("model._target_: cannot import 'mymodels.f': no module "
                              "named 'mymodels' where Python looked (")  # fmt: skip
    assert sys.path[-1] in message  # the places it looked, named
    assert f"it is in the working directory {tmp_path}, which is not on the " in message
    assert "run with PYTHONPATH=." in message
    monkeypatch.chdir(tmp_path.parent)  # elsewhere: the general fix
    with pytest.raises(ConfigError, match="put the directory that holds mymodels/ on"):
        resolve_target("mymodels.f", "model", ("mymodels.",))


def test_the_allow_hint_names_the_real_package_and_the_interface():
    with pytest.raises(ConfigError, match=r"allowed_targets=\[mymodels\.\]"):
        build_model({"_target_": "mymodels.Decay"})
    token = ALLOW_HINT.set("with --runner-allowed-targets {package}.")
    try:
        with pytest.raises(ConfigError, match="allow it with --runner-allowed-targets "
                                              "mymodels.") as err:  # fmt: skip
            build_model({"_target_": "mymodels.Decay"})
    finally:
        ALLOW_HINT.reset(token)
    assert "mypkg" not in str(err.value)
