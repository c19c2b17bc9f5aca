"""The same config run twice gives byte-identical tables (also with bm.random)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from runner.app.job import run_job, to_plain

from ..conftest import ROOT

# grad_vars and return_value draw the model's w from bm.random; vector_grad draws an
# input from runner.inputs.random; jacobian also runs the finite-difference check.
CASES = [
    ("grad_vars",),
    ("return_value",),
    ("vector_grad",),
    ("jacobian", "diff.check=true"),
    ("fitzhugh_nagumo", "model.current=0.5"),
]


@pytest.mark.parametrize("overrides", CASES, ids=lambda o: "-".join(o))
def test_twice_in_one_process_is_byte_identical(compose, tmp_path, overrides):
    cfg = to_plain(compose(f"+exp={overrides[0]}", *overrides[1:]))
    cfg["output"].update(summary=False, plots=False)
    cfg["compile_cache"] = None
    tables = []
    for run in ("first", "second"):
        assert run_job(cfg, tmp_path / run) == 0
        tables.append((tmp_path / run / "results.csv").read_bytes())
    assert tables[0] == tables[1]
    assert len(tables[0].splitlines()) > 1


@pytest.mark.slow
def test_twice_from_the_command_line_is_byte_identical(tmp_path):
    tables = []
    for run in ("first", "second"):
        proc = subprocess.run(
            [sys.executable, "-m", "runner", "+exp=grad_vars", "output.plots=false",
             f"hydra.run.dir={tmp_path / run}"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        tables.append((tmp_path / run / "results.csv").read_bytes())
    assert tables[0] == tables[1]
    assert tables[0].count(b'"grad","w"') == 10  # w is (1, 10), drawn from bm.random
