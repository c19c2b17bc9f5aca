"""The structured schema catches typos when a config is composed, and again before
a job runs (keys added with ``+`` skip it at composition)."""

from __future__ import annotations

import time

import pytest
from hydra.errors import ConfigCompositionException

from runner.app.job import to_plain
from runner.config.errors import ConfigError
from runner.config.schema import validated

from ..conftest import EXPERIMENTS


@pytest.mark.parametrize(
    "override",
    ["diff.kindd=grad", "diff.kind=grda", "diff.has_aux=maybe", "seed=abc",
     "output.summary=loud", "unknown=1"],
)  # fmt: skip
def test_typos_fail_at_composition(compose, override):
    with pytest.raises(ConfigCompositionException):
        compose("+exp=jacobian", override)


def test_every_experiment_composes_with_a_model(compose):
    assert len(EXPERIMENTS) >= 15
    for name in EXPERIMENTS:
        cfg = compose(f"+exp={name}")
        assert cfg.model._target_.startswith("runner.models."), name
        assert cfg.diff.kind.name in {"grad", "vector_grad", "jacobian", "jacrev",
                                      "jacfwd", "hessian"}  # fmt: skip


@pytest.mark.parametrize(
    ("override", "key", "meant"),
    [("+output.precison=3", "output.precison", "output.precision"),
     ("+resum=true", "resum", "resume"),
     ("+sweep.chunksize=10", "sweep.chunksize", "sweep.chunk_size"),
     ("+inputs0=[1.0]", "inputs0", "inputs.0"),
     ("+sweep.params.x=[1.0]", "sweep.params", "sweep.inputs.<i>"),
     ("+diff.kindd=grad", "diff.kindd", "diff.kind")],
)  # fmt: skip
def test_keys_added_with_plus_are_checked_before_the_run(compose, override, key, meant):
    cfg = compose("+exp=jacobian", override)  # composition lets them through
    with pytest.raises(ConfigError) as err:
        validated(to_plain(cfg))
    assert err.value.key == key
    assert f"did you mean {meant}" in str(err.value)
    assert "known keys" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("plain", "key", "words"),
    [({"seed": "abc"}, "seed", "expected an int, received 'abc'"),
     ({"compile_cache": [1, 2]}, "compile_cache", "a string or null"),
     ({"diff": {"kind": "grda"}}, "diff.kind", "one of grad, vector_grad"),
     ({"output": 3}, "output", "a node with keys formats"),
     ({"output": {"formats": "csv"}}, "output.formats", "a list of strings"),
     ({"sweep": {"chunk_size": 2.5}}, "sweep.chunk_size", "an int"),
     ({"diff": {"check_tol": "x"}}, "diff.check_tol", "a number or null")],
)  # fmt: skip
def test_values_of_the_wrong_type_name_their_key(plain, key, words):
    with pytest.raises(ConfigError) as err:
        validated(plain)
    assert err.value.key == key and words in str(err.value)


def test_free_form_values_are_left_to_their_users():
    # model, inputs and swept values are checked where they are used; 100,000
    # swept values do not go through OmegaConf (which would take seconds).
    values = [[float(i), 1.0] for i in range(100_000)]
    sweep = {"inputs": {"1": values}, "model": {"a.b": {"start": 0}}}
    plain = {"model": {"_target_": "runner.models.tutorial.f1", "any": 1},
             "inputs": [{"_target_": "runner.inputs.zeros", "shape": 3}, "x"],
             "sweep": sweep}  # fmt: skip
    start = time.perf_counter()
    validated(plain)
    assert time.perf_counter() - start < 5.0  # about 0.05 s; 30 s through OmegaConf


def test_a_sweep_can_be_added_from_the_command_line(compose):
    plain = to_plain(compose("+exp=jacobian"))
    assert plain["sweep"]["inputs"] == {} and plain["sweep"]["model"] == {}
    cfg = compose("+exp=jacobian", "+sweep.inputs.1=[[1.0,2.0],[3.0,4.0]]")
    assert to_plain(cfg)["sweep"]["inputs"] == {"1": [[1.0, 2.0], [3.0, 4.0]]}


def test_compile_cache_must_be_a_path_or_null(compose):
    with pytest.raises(ConfigCompositionException):
        compose("+exp=jacobian", "compile_cache=[1,2]")
    assert compose("+exp=jacobian", "compile_cache=null").compile_cache is None


def test_each_config_starts_from_the_schema_defaults(monkeypatch, tmp_path):
    assert validated({"seed": 5, "diff": {"kind": "hessian"}}).seed == 5
    fresh = validated({})  # nothing of the config before
    assert fresh.seed == 0 and fresh.diff.kind == "grad"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert validated({}).compile_cache == str(tmp_path / "autodiff-runner" / "jax")
