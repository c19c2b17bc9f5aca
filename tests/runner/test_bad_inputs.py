"""Bad inputs, one table: every one ends in one line naming the key at fault.

Three layers: the config schema (Hydra composition), a job (``run_job`` on a plain
config, which prints the line on stderr) and the core transforms. A few cases also
go through ``python -m runner`` in a subprocess (slow). Each case asserts: one line
that names the key or argument and says what was expected or found; a failing
exit (CLI) or return value (job); no traceback unless ``HYDRA_FULL_ERROR=1``; and
no results table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest
from hydra.errors import HydraException

import runner.core as bm
from runner.app.cli import error_line
from runner.app.job import run_job

from ..conftest import ROOT
from .faulty_models import PREFIX


@dataclass
class Case:
    """A bad input and the words its one line must contain (the first is the key)."""

    id: str
    change: Any
    words: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)


# -- jobs: run_job on a plain config ------------------------------------------------
F1 = {"_target_": "runner.models.tutorial.f1"}
F = {"_target_": "runner.models.tutorial.F", "name": "F"}
LINEAR = {"_target_": "runner.models.tutorial.Linear", "n": 10, "name": "Linear"}
LINEAR_FN = {"_target_": "runner.models.tutorial.linear"}
BASE = {
    "model": F1,
    "inputs": [[1.0, 2.0, 3.0], [10.0, 5.0]],
    "diff": {"kind": "jacobian", "has_aux": True},
    "output": {"summary": False, "plots": False},
}
NAN, INF = float("nan"), float("inf")
Y = [10.0, 5.0]


def job(id, words, model=None, diff=None, output=None, **top):
    """A job case: BASE with ``model`` replaced, ``diff``/``output`` merged."""
    return Case(id, {"model": model, "diff": diff, "output": output, **top}, words)


JOBS = [
    job("unknown kind", ("diff.kind:", "expected one of", "'grda'"),
        diff={"kind": "grda"}),
    job("unknown diff key", ("diff.kindd:", "unknown key", "known keys of diff"),
        diff={"kindd": "grad"}),
    job("argnums negative", ("diff.argnums:", "received -1"), diff={"argnums": -1}),
    job("argnums out of range", ("diff.argnums:", "0..1", "received 5"),
        diff={"argnums": 5}),
    job("argnums float", ("diff.argnums:", "received [0.5]"), diff={"argnums": [0.5]}),
    job("argnums string", ("diff.argnums:", "received 'x'"), diff={"argnums": "x"}),
    job("argnums repeated", ("diff.argnums:", "distinct", "[0, 0]"),
        diff={"argnums": [0, 0]}),
    job("argnums empty", ("diff.argnums:", "one or more", "received []"),
        diff={"argnums": []}),
    job("grad_vars missing", ("diff.grad_vars:", "'c' names nothing", "a, b"),
        model=F, inputs=[10.0], diff={"kind": "grad", "grad_vars": "c"}),
    job("grad_vars not an Array",
        ("diff.grad_vars:", "names a str", "expected an Array"),
        model=F, inputs=[10.0], diff={"kind": "grad", "grad_vars": "name"}),
    job("grad_vars repeated", ("diff.grad_vars:", "more than once", "['a', 'a']"),
        model=F, inputs=[10.0], diff={"kind": "grad", "grad_vars": ["a", "a"]}),
    job("grad_vars of a function", ("diff.grad_vars:", "not a Base object", "argnums"),
        diff={"grad_vars": "x"}),
    job("grad_vars wrong type", ("diff.grad_vars:", "received 3"),
        model=F, inputs=[10.0], diff={"kind": "grad", "grad_vars": 3}),
    job("grad_vars selects nothing",
        ("diff.grad_vars:", "@train_vars selected no", "available: x, y"),
        model={"_target_": "runner.models.tutorial.Polynomial", "name": "P"}, inputs=[],
        diff={"kind": "vector_grad", "grad_vars": "@train_vars"}),
    job("has_aux without aux", ("diff.has_aux:", "(value, aux) pair", "has_aux=False"),
        model=LINEAR_FN, inputs=[2.0, 1.0], diff={"kind": "grad", "has_aux": True}),
    job("aux without has_aux", ("diff.has_aux:", "a tuple", "has_aux=True"),
        diff={"kind": "grad", "has_aux": False}),
    job("grad of a vector", ("diff.kind:", "scalar-output", "vector_grad"),
        diff={"kind": "grad"}),
    job("integer input", ("inputs.0:", "floats", "dtype int64", "10.0"),
        inputs=[[1, 2, 3], [10.0, 5.0]]),
    job("ragged input", ("inputs.0:", "inhomogeneous", "rectangular list"),
        inputs=[[[1.0], [2.0, 3.0]], [10.0, 5.0]]),
    job("text input", ("inputs.0:", "floats", "<U3"), inputs=["abc", [10.0, 5.0]]),
    job("NaN input", ("inputs.0:", "NaN or Inf", "finite"),
        inputs=[[1.0, NAN, 3.0], [10.0, 5.0]]),
    job("Inf input", ("inputs.1:", "NaN or Inf"), inputs=[[1.0, 2.0, 3.0], [INF, 5.0]]),
    job("shape mismatch", ("model:", "shape(s) (3,)", "dot_general", "fit the model"),
        model=LINEAR, method="update", inputs=[[1.0, 2.0, 3.0]],
        diff={"kind": "grad", "has_aux": False}),
    job("too few inputs", ("model:", "missing 1 required positional argument"),
        model=LINEAR_FN, inputs=[2.0], diff={"kind": "grad", "has_aux": False}),
    job("model raises while computing", ("model:", "KeyError", "'weights'"),
        model={"_target_": PREFIX + "lookup"}, inputs=[1.0],
        diff={"kind": "grad", "has_aux": False}, allowed_targets=[PREFIX]),
    job("constructor raises", ("model:", "Linear(**{'n': -1", "raised", "keyword"),
        model={**LINEAR, "n": -1}, method="update", inputs=[[1.0]]),
    job("constructor raises (test module)", ("model:", "RuntimeError", "weights file"),
        model={"_target_": PREFIX + "Exploding"}, allowed_targets=[PREFIX]),
    job("unknown keyword", ("model:", "unexpected keyword argument 'size'"),
        model={**LINEAR, "size": 3}, method="update"),
    job("method missing", ("method:", "'updat' is not a method", "available: "),
        model=LINEAR, method="updat"),
    job("object not callable", ("method:", "not callable", "method=update"),
        model=LINEAR),
    job("refused target", ("model._target_:", "'os.system'", "allowed_targets"),
        model={"_target_": "os.system", "command": "echo pwned"}),
    job("refused input target", ("inputs.0._target_:", "'os.getcwd'"),
        inputs=[{"_target_": "os.getcwd"}, [10.0, 5.0]]),
    job("unknown module", ("model._target_:", "cannot import 'runner.models.nope.f'"),
        model={"_target_": "runner.models.nope.f"}),
    job("no model", ("model:", "expected a node with _target_", "+exp=NAME"),
        model=None, drop_model=True),
    job("bad generator arguments", ("inputs.0:", "runner.inputs.zeros", "raised"),
        inputs=[{"_target_": "runner.inputs.zeros", "shape": -1}, [10.0, 5.0]]),
    job("generator node without target", ("inputs.0:", "expected a number"),
        inputs=[{"zeros": 3}, [10.0, 5.0]]),
    job("inputs not a list", ("inputs:", "expected a list", "3.0"), inputs=3.0),
    job("unknown output format", ("output.formats:", "csv, parquet", "xlsx"),
        output={"formats": ["xlsx"]}),
    job("precision not an int", ("output.precision:", "positive int", "'abc'"),
        output={"precision": "abc"}),
    job("seed not an int", ("seed:", "expected an int", "'abc'"), seed="abc"),
    job("eigenvalues of a non-square", ("diff.eigenvalues:", "square", "(4, 3)"),
        diff={"eigenvalues": True}),
    job("check_tol negative", ("diff.check_tol:", "non-negative", "-1.0"),
        diff={"check_tol": -1.0}),
    job("check_tol exceeded", ("diff.check_tol:", "w.r.t. arg0", "exceeds 0.001"),
        model={"_target_": PREFIX + "wrong_derivative"}, inputs=[[2.0, -1.0]],
        diff={"kind": "grad", "has_aux": False, "check_tol": 1e-3},
        allowed_targets=[PREFIX]),
    job("check in a sweep block", ("diff.check:", "sweep block", "-m sweep"),
        diff={"check": True}, sweep={"inputs": {"1": [[10.0, 5.0], [1.0, 2.0]]}}),
    job("NaN in a sweep with fail_on_nonfinite",
        ("output.fail_on_nonfinite:", "sweep's table", "1 NaN/Inf"),
        model={"_target_": PREFIX + "sqrt_sum"}, inputs=[[1.0, 1.0]],
        diff={"kind": "grad", "has_aux": False}, allowed_targets=[PREFIX],
        output={"fail_on_nonfinite": True},
        sweep={"inputs": {"0": [[1.0, 4.0], [0.0, 4.0]]}}),
    # What the model accepts (input_shapes) and the dtype JAX computes with.
    job("input of the wrong length", ("inputs.0:", "f1 takes input 0 of shape (3,)",
        "received shape (1,)"), inputs=[[1.0], [10.0, 5.0]]),
    job("more inputs than declared", ("inputs:", "f1 takes 2 input(s)", "received 3"),
        inputs=[[1.0, 2.0, 3.0], [10.0, 5.0], [1.0]]),
    job("float32 overflow", ("inputs.0:", "1e+39", "largest float32"),
        inputs=[[1e39, 2.0, 3.0], [10.0, 5.0]]),
    job("int32 overflow", ("inputs.1:", "outside int32"),
        inputs=[[1.0, 2.0, 3.0], [2**40, 5]]),
    job("huge generated input", ("inputs.0:", "1,000,000,000,000 float32", "memory"),
        inputs=[{"_target_": "runner.inputs.zeros", "shape": [10**6, 10**6]}, Y]),
    # Keys that composition lets through when added with +.
    job("unknown top-level key", ("resum:", "unknown key", "did you mean resume"),
        resum=True),
    job("unknown output key", ("output.precison:", "did you mean output.precision"),
        output={"precison": 3}),
    job("unknown sweep key", ("sweep.chunksize:", "did you mean sweep.chunk_size"),
        sweep={"chunksize": 10}),
    job("inputs0 for inputs.0", ("inputs0:", "did you mean inputs.0?"),
        inputs0=[1.0]),
    job("sweep.params", ("sweep.params:", "sweep.inputs.<i> or sweep.model.<path>"),
        sweep={"params": {"x": [1.0]}}),
    job("compile_cache a list", ("compile_cache:", "a string or null", "[1, 2]"),
        compile_cache=[1, 2]),
    job("seed negative", ("seed:", "0..4294967295", "repeat seed 4294967295"),
        seed=-1),
    job("seed 2**32", ("seed:", "0..4294967295", "repeat seed 0"), seed=2**32),
    job("method not a string", ("method:", "name of a method", "received 5 (int)"),
        model=LINEAR, method=5),
    job("method __init__", ("method:", "'__init__' is private", "update"),
        model=LINEAR, method="__init__", inputs=[[1.0] * 10]),
    # A model's return value is blamed on the model, not on diff.has_aux.
    job("model returns None", ("model:", "returns_none returned None", "array"),
        model={"_target_": PREFIX + "returns_none"}, inputs=[[1.0, 2.0]],
        diff={"kind": "vector_grad", "has_aux": False}, allowed_targets=[PREFIX]),
    job("model returns a string", ("model:", "returned a str ('abc')"),
        model={"_target_": PREFIX + "returns_text"}, inputs=[[1.0, 2.0]],
        diff={"kind": "grad", "has_aux": False}, allowed_targets=[PREFIX]),
    job("model returns a dict", ("model:", "returned a dict with keys ['a']",
        "(value, aux) pair"), model={"_target_": PREFIX + "returns_dict"},
        inputs=[[1.0, 2.0]], allowed_targets=[PREFIX]),
    # Vectorized sweeps: ranges and keys.
    *(job(f"sweep num {num!r}", ("sweep.inputs.1.num:", "whole number", repr(num)),
          sweep={"inputs": {"1": {"start": Y, "stop": [1.0, 1.0], "num": num}}})
      for num in (0, -3, "abc", 2.7)),
    job("range typo", ("sweep.inputs.1.nun:", "unknown key of a range"),
        sweep={"inputs": {"1": {"start": Y, "stop": [1.0, 1.0], "nun": 5}}}),
    job("range without num", ("sweep.inputs.1:", "num or step"),
        sweep={"inputs": {"1": {"start": Y, "stop": [1.0, 1.0]}}}),
    job("range ends of different lengths", ("sweep.inputs.1:",
        "start has shape (2,) but stop (3,)"),
        sweep={"inputs": {"1": {"start": Y, "stop": [1.0, 1.0, 1.0], "num": 3}}}),
    job("too many sweep points", ("sweep.inputs.1.num:", "memory"),
        sweep={"inputs": {"1": {"start": Y, "stop": [1.0, 1.0], "num": 10**13}}}),
    job("swept values of the wrong shape", ("sweep.inputs.0:", "shape (3,)"),
        sweep={"inputs": {"0": [1.0, 2.0]}}),
    job("sweep settings without values", ("sweep.mode:", "sweeps nothing"),
        sweep={"mode": "zip"}),
    job("NaN result with fail_on_nonfinite",
        ("output.fail_on_nonfinite:", "grad w.r.t. arg0", "NaN/Inf"),
        model={"_target_": PREFIX + "sqrt_sum"}, inputs=[[0.0, 1.0]],
        diff={"kind": "grad", "has_aux": False}, allowed_targets=[PREFIX],
        output={"fail_on_nonfinite": True}),
]  # fmt: skip


def _config(case: Case) -> dict[str, Any]:
    change = dict(case.change)
    cfg = json.loads(json.dumps(BASE))
    model, diff, output = change.pop("model"), change.pop("diff"), change.pop("output")
    if change.pop("drop_model", False):
        cfg.pop("model")
    elif model is not None:
        cfg["model"] = model
    cfg["diff"].update(diff or {})
    cfg["output"].update(output or {})
    cfg.update(change)
    return cfg


@pytest.fixture
def importable_tests(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # tests.runner.faulty_models


@pytest.mark.parametrize("case", JOBS, ids=lambda c: c.id)
def test_job(case, tmp_path, capsys, caplog, importable_tests):
    out_dir = tmp_path / "job"
    assert run_job(_config(case), out_dir) == 1
    out, err = capsys.readouterr()
    assert out == "" and not caplog.records  # nothing else said, nothing logged
    _assert_one_line(err.removeprefix("error: "), case.words)
    assert err.startswith("error: ")
    assert json.loads((out_dir / "run.json").read_text())["status"] == "failed"
    assert not list(out_dir.glob("*results*"))


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert run_job(_config(JOBS[0]), blocker / "job") == 1
    _assert_one_line(capsys.readouterr().err.removeprefix("error: "),
                     ("hydra.run.dir:", "cannot write", "writable"))  # fmt: skip


def test_full_error_raises_the_original_exception(tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ValueError, match="diff.argnums"):
        run_job(_config(JOBS[2]), tmp_path)
    assert not list(tmp_path.glob("*results*"))


def _assert_one_line(text: str, words: tuple[str, ...]) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    assert lines[0].startswith(words[0]), (words[0], lines[0])
    for word in words[1:]:
        assert word in lines[0], (word, lines[0])


# -- the schema: Hydra composition -----------------------------------------------------
SCHEMA = [
    Case("digits run into a key", ["inputs0=[1.0]"],
         ("inputs0:", "did you mean inputs.0?")),
    Case("unknown top-level key", ["unknown=1"],
         ("unknown:", "unknown key", "check its spelling", "resume")),
    Case("unknown nested key", ["diff.kindd=grad"],
         ("diff.kindd:", "did you mean diff.kind?", "known keys of diff: kind")),
    Case("unknown output key", ["output.fail=1"],
         ("output.fail:", "fail_on_nonfinite")),
    Case("wrong type int", ["seed=abc"], ("seed:", "'abc'", "Integer")),
    Case("wrong type bool", ["diff.has_aux=maybe"],
         ("diff.has_aux:", "'maybe'", "bool")),
    Case("wrong type float", ["diff.check_tol=abc"], ("diff.check_tol:", "Float")),
    Case("wrong type list", ["output.formats=csv"], ("output.formats:", "list")),
    Case("unknown kind enum", ["diff.kind=grda"],
         ("diff.kind:", "'grda'", "expected one of [grad")),
    Case("unknown model config", ["model=nope"],
         ("model:", "'model/nope'", "expected one of f, f1")),
    Case("unparsable override", ["diff.argnums=[0,"], ("overrides:", "'[0,'", "quote")),
    Case("compile_cache a list (schema)", ["compile_cache=[1,2]"],
         ("compile_cache:", "Cannot convert 'list' to string")),
    Case("sweep key without +", ["sweep.inputs.1=[[1.0,2.0]]"],
         ("sweep.inputs.1:", "add it with +sweep.inputs.1=VALUE")),
]  # fmt: skip


@pytest.mark.parametrize("case", SCHEMA, ids=lambda c: c.id)
def test_schema(case, compose):
    with pytest.raises(HydraException) as err:
        compose("+exp=jacobian", *case.change)
    _assert_one_line(error_line(err.value), case.words)


# -- the core: runner.core transforms ------------------------------------------------
def _f(x):
    return (x**2).sum()


A = bm.Variable(bm.ones(2))
CORE = [
    Case("argnums negative", lambda: bm.grad(_f, argnums=-1),
         ("grad(argnums=...):", "non-negative", "received -1")),
    Case("argnums not int", lambda: bm.grad(_f, argnums=1.5),
         ("grad(argnums=...):", "expected ints", "float 1.5")),
    Case("argnums repeated", lambda: bm.jacrev(_f, argnums=(0, 0)),
         ("jacrev(argnums=[0, 0]):", "repeated")),
    Case("argnums past the arguments", lambda: bm.grad(_f, argnums=2)(bm.ones(2)),
         ("grad(argnums=2):", "1 positional argument", "below 1")),
    Case("grad_vars not an Array", lambda: bm.grad(_f, grad_vars=[np.ones(2)]),
         ("grad(grad_vars=...):", "entry 0", "ndarray", "bm.Variable")),
    Case("grad_vars repeated", lambda: bm.vector_grad(_f, grad_vars=[A, A]),
         ("vector_grad(grad_vars=...):", "entries 0 and 1", "same Array")),
    Case("grad_vars empty", lambda: bm.grad(_f, grad_vars=[]),
         ("grad(grad_vars=...):", "empty list")),
    Case("not callable", lambda: bm.hessian("f"),
         ("hessian(func):", "expected a callable", "str")),
    Case("non-scalar output", lambda: bm.grad(lambda x: x * 2)(bm.ones(2)),
         ("Gradient only defined for scalar-output", "shape (2,)", "vector_grad")),
    Case("has_aux mismatch", lambda: bm.grad(_f, has_aux=True)(bm.ones(2)),
         ("grad(has_aux=True):", "(value, aux) pair", "single array")),
    Case("integer input", lambda: bm.jacfwd(lambda x: x * 2)(jnp.arange(3)),
         ("jacfwd requires real- or complex-valued", "argument 0", "int32")),
    Case("unknown jacobian mode", lambda: bm.jacobian(_f, mode="sideways"),
         ("jacobian(mode='sideways'):", "'reverse', 'forward' or 'auto'")),
]  # fmt: skip


@pytest.mark.parametrize("case", CORE, ids=lambda c: c.id)
def test_core(case):
    with pytest.raises((TypeError, ValueError)) as err:
        case.change()
    _assert_one_line(str(err.value), case.words)


def test_the_matrix_is_large_enough():
    assert len(JOBS) + len(SCHEMA) + len(CORE) + len(CLI) >= 25
    for layer in (JOBS, SCHEMA, CORE, CLI):
        assert len({c.id for c in layer}) == len(layer)


# -- the command line: a few cases in a subprocess -----------------------------------
CLI = [
    Case("unknown experiment", ["+exp=nope"],
         ("exp: unknown experiment 'nope'", "expected one of", "+exp=jacobian")),
    Case("unknown key (CLI)", ["+exp=jacobian", "diff.kindd=grad"],
         ("diff.kindd:", "did you mean diff.kind?")),
    Case("unreadable YAML", ["--config-dir", "{broken}", "+exp=broken"],
         ("exp: cannot read", "broken.yaml (line 5, column 5)", "YAML syntax")),
    Case("unknown module (CLI)",
         ["+exp=grad", "model._target_=runner.models.nope.f"],
         ("model._target_: cannot import 'runner.models.nope.f'",
          "ModuleNotFoundError")),
    Case("output directory not writable", ["+exp=grad", "hydra.run.dir={blocker}/x"],
         ("hydra.run.dir: cannot write", "Not a directory")),
    Case("input of the wrong length (CLI)", ["+exp=jacobian", "inputs.0=[1.0]"],
         ("inputs.0: f1 takes input 0 of shape (3,), received shape (1,)",)),
    Case("key added with + (CLI)", ["+exp=jacobian", "+output.precison=3"],
         ("output.precison: unknown key", "did you mean output.precision")),
    Case("sweep added with + (CLI)", ["+exp=jacobian", "+sweep.inputs.0=[1,2]"],
         ("sweep.inputs.0: each value must have shape (3,)",)),
    Case("model=null (CLI)", ["+exp=jacobian", "model=null"],
         ("model: expected the name of a config of group model", "received null")),
]  # fmt: skip


def _cli(args: list[str], tmp_path, env=None) -> subprocess.CompletedProcess:
    broken = tmp_path / "configs"
    (broken / "exp").mkdir(parents=True, exist_ok=True)
    (broken / "exp" / "broken.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: f1\n"
        "inputs: [1.0, 2.0\ndiff: {kind: grad\n"
    )
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    args = [a.format(broken=broken, blocker=blocker) for a in args]
    if not any(a.startswith("hydra.run.dir") for a in args):
        args.append(f"hydra.run.dir={tmp_path / 'run'}")
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", CLI, ids=lambda c: c.id)
def test_cli(case, tmp_path):
    proc = _cli(case.change, tmp_path)
    assert proc.returncode != 0
    assert proc.stderr.startswith("error: ")
    _assert_one_line(proc.stderr.removeprefix("error: "), case.words)
    assert proc.stdout == ""  # no log lines or reports besides the one line
    assert not list(tmp_path.rglob("results.*"))


@pytest.mark.slow
def test_cli_full_error_shows_the_traceback(tmp_path):
    proc = _cli(CLI[2].change, tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "ParserError" in proc.stderr
