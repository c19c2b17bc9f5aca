"""The validated spec: one definition (the schema), one error whichever the path."""

from __future__ import annotations

import json

import pytest

from runner.app.job import run_job, to_plain
from runner.app.pytest_plugin import compose_experiment
from runner.config.errors import ConfigError
from runner.config.schema import Kind, Mode
from runner.config.spec import DiffSpec, check_diff, is_swept, to_spec


@pytest.mark.parametrize(
    ("override", "mistake"),
    [
        ("diff.check_tol=-1", {"diff": {"check_tol": -1}}),
        ("+output.precison=3", {"output": {"precison": 3}}),
        ("diff.argnums=5", {"diff": {"argnums": 5}}),
        ("seed=-1", {"seed": -1}),
    ],
)
def test_a_mistake_gets_one_error_whichever_path(tmp_path, override, mistake):
    """``run_job`` of a plain dict validates as the command line's composed config."""
    composed = compose_experiment("grad", overrides=[override, "output.plots=false"])
    plain = to_plain(compose_experiment("grad", overrides=["output.plots=false"]))
    for key, value in mistake.items():
        plain[key] = {**plain[key], **value} if isinstance(value, dict) else value
    assert run_job(composed, tmp_path / "cli") == 1
    assert run_job(plain, tmp_path / "dict") == 1
    cli = json.loads((tmp_path / "cli" / "run.json").read_text())
    python = json.loads((tmp_path / "dict" / "run.json").read_text())
    assert cli["error"] == python["error"]
    assert (cli["error_type"], python["error_type"]) == ("ConfigError", "ConfigError")


def test_kinds_and_modes_come_from_the_schema():
    for kind in Kind:
        assert check_diff(DiffSpec(kind=kind.value)).kind is kind
    for mode in Mode:
        assert check_diff({"kind": "jacobian", "mode": mode.value}).mode is mode
    with pytest.raises(ConfigError, match="diff.kind: expected one of grad, "):
        check_diff(DiffSpec(kind="jacobain"))


def test_values_are_converted_as_composition_converts_them():
    spec = to_spec({"seed": "3", "diff": {"check_tol": 1, "has_aux": "true"}})
    assert (spec.seed, spec.diff.check_tol, spec.diff.has_aux) == (3, 1.0, True)


def test_a_sweep_block_that_sweeps_nothing_is_refused_when_it_sets_options():
    assert not is_swept(to_spec({}))
    for key, value in (("chunk_size", 8), ("memory_budget", "1GB"), ("mode", "zip")):
        with pytest.raises(ConfigError, match=f"^sweep.{key}: is set but the sweep"):
            is_swept(to_spec({"sweep": {key: value}}))


@pytest.mark.parametrize(
    ("diff", "key"),
    [({"check": True}, "diff.check"), ({"check_tol": 1e-4}, "diff.check"),
     ({"kind": "jacfwd", "fixed_point": True}, "diff.fixed_point")],
)  # fmt: skip
def test_a_sweep_block_refuses_checks_and_fixed_points_on_every_path(diff, key):
    from runner.compute.vsweep import run_sweep
    from runner.models.tutorial import linear

    sweep = {"inputs": {"0": [1.0, 2.0]}}
    plain = {"model": {"_target_": "runner.models.tutorial.missing"}, "diff": diff}
    with pytest.raises(ConfigError) as err:  # before the model is built
        to_spec({**plain, "sweep": sweep})
    assert err.value.key == key and "sweep block" in str(err.value)
    with pytest.raises(ConfigError) as err:  # the Python API, not silently skipped
        run_sweep(linear, [2.0, 1.0], check_diff(diff), None, {"inputs.0": [1.0]})
    assert err.value.key == key and "sweep block" in str(err.value)


@pytest.mark.parametrize(
    ("diff", "phrase"),
    [({"kind": "grad"}, "jacobian, jacrev or jacfwd"),
     ({"kind": "jacfwd", "argnums": [0]}, "one int"),
     ({"kind": "jacfwd", "argnums": False}, "one int"),
     ({"kind": "jacfwd", "grad_vars": "w"}, "no diff.grad_vars")],
)  # fmt: skip
def test_a_fixed_point_spec_is_checked_before_the_model_is_built(diff, phrase):
    plain = {"model": {"_target_": "runner.models.tutorial.missing"},
             "diff": {**diff, "fixed_point": True}}  # fmt: skip
    with pytest.raises(ConfigError, match=f"^diff.fixed_point: .*{phrase}"):
        to_spec(plain)


@pytest.mark.parametrize(
    "diff",
    [{"kindd": "grad"}, {"has_aux": "maybe"}, {"check_tol": "x"}, {"check_tol": -1},
     {"kind": "jacobian", "mode": "sideways"}, None, 3],
)  # fmt: skip
def test_check_diff_errs_as_to_spec_does(diff):
    with pytest.raises(ConfigError) as alone:
        check_diff(diff)
    with pytest.raises(ConfigError) as whole:
        to_spec({"diff": diff})
    assert str(alone.value) == str(whole.value)


def test_a_spec_is_validated_once_and_again_when_changed(monkeypatch):
    from runner.config import spec as spec_module

    spec = spec_module.to_spec({"model": {"_target_": "runner.models.tutorial.linear"},
                                "inputs": [2.0, 1.0]})  # fmt: skip
    calls = []
    original = spec_module.validated_diff
    monkeypatch.setattr(spec_module, "validated_diff",
                        lambda d: calls.append(d) or original(d))  # fmt: skip
    assert spec_module.check_diff(spec.diff) is spec.diff  # to_spec validated it
    assert calls == []
    spec.diff.kind = "grda"  # changed since: validated again, and refused
    with pytest.raises(ConfigError, match="diff.kind: expected one of"):
        spec_module.check_diff(spec.diff)
    assert len(calls) == 1
