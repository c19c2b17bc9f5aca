"""A vectorized sweep streamed to a Parquet dataset: chunk by chunk, resumable by
chunk after a SIGKILL at any moment, CSV by a row limit, plots from a reduced view.

The reference is the closed form of the tutorial's ``linear`` model,
``f(x, y) = 2 x + y``: d f / d x = 2 and d f / d y = 1 at every point, and the
value ``2 x + y`` itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from runner.app.job import run_job
from runner.config.errors import ConfigError, RunnerError
from runner.results import load
from runner.results.dataset import DATASET, parts_done, reduced_frame, write_part

XS = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
YS = [10.0, 20.0]
CFG = {
    "model": {"_target_": "runner.models.tutorial.linear"},
    "inputs": [0.0, 0.0],
    "diff": {"kind": "grad", "argnums": [0, 1], "return_value": True},
    "output": {"summary": False, "plots": False},
    "sweep": {"inputs": {"0": XS, "1": YS}, "chunk_size": 3},
}


def _reference() -> pd.DataFrame:
    """Closed form: rows per point grad/arg0 = 2, grad/arg1 = 1, value = 2x + y."""
    rows = []
    for job, (x, y) in enumerate((x, y) for x in XS for y in YS):
        for wrt, value in (("arg0", 2.0), ("arg1", 1.0)):
            rows.append((job, x, y, "grad", wrt, value))
        rows.append((job, x, y, "value", "", 2 * x + y))
    return pd.DataFrame(rows, columns=["job", "inputs.0", "inputs.1", "quantity",
                                       "wrt", "value"])  # fmt: skip


def _check_table(frame: pd.DataFrame) -> None:
    """Every point's rows once, in job order, equal to the closed form."""
    want = _reference()
    got = frame[want.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_parts_per_chunk_and_the_table_they_make(tmp_path):
    assert run_job(CFG, tmp_path) == 0
    points = len(XS) * len(YS)
    assert parts_done(tmp_path / DATASET) == list(range(-(-points // 3)))
    _check_table(pd.read_parquet(tmp_path / DATASET))
    csv = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    _check_table(csv)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["sweep"]["dataset"] == {
        "parts": 5,
        "chunk_size": 3,
        "points": points,
        "rows": 3 * points,
    }
    assert record["sweep"]["coords"] == {"inputs.0": XS, "inputs.1": YS}
    assert record["rows"] == 3 * points and record["status"] == "ok"


def test_chunk_size_comes_from_the_memory_budget(tmp_path):
    sweep = {"inputs": {"0": XS, "1": YS}, "memory_budget": "1KB"}
    assert run_job({**CFG, "sweep": sweep}, tmp_path) == 0
    layout = json.loads((tmp_path / "run.json").read_text())["sweep"]["dataset"]
    # 3 rows per point cost over 300 bytes, so 1 KB holds two points at most.
    assert layout["chunk_size"] in (1, 2) and layout["parts"] >= 7
    _check_table(pd.read_parquet(tmp_path / DATASET))


@pytest.mark.parametrize("budget", ["lots", "-5MB", 0, "12 parsecs"])
def test_a_bad_memory_budget_names_its_key(tmp_path, capsys, budget):
    sweep = {"inputs": {"0": XS}, "memory_budget": budget}
    assert run_job({**CFG, "sweep": sweep}, tmp_path) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: sweep.memory_budget: expected a size such as")
    assert not (tmp_path / DATASET).exists()


def test_past_the_row_limit_csv_is_left_out_and_said(tmp_path, capsys):
    cfg = {**CFG, "output": {**CFG["output"], "csv_max_rows": 10}}
    assert run_job(cfg, tmp_path) == 0
    assert not (tmp_path / "results.csv").exists()
    assert (
        "results.csv not written: the sweep's table has 42 rows, past "
        "output.csv_max_rows=10" in capsys.readouterr().err
    )
    _check_table(pd.read_parquet(tmp_path / DATASET))


def test_csv_only_past_the_limit_is_refused_before_computing(tmp_path, capsys):
    cfg = {**CFG, "output": {**CFG["output"], "csv_max_rows": 10,
                             "formats": ["csv"]}}  # fmt: skip
    assert run_job(cfg, tmp_path) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: output.csv_max_rows: the sweep's table has 42 rows")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_csv_only_under_the_limit_leaves_no_dataset(tmp_path):
    cfg = {**CFG, "output": {**CFG["output"], "formats": ["csv"]}}
    assert run_job(cfg, tmp_path) == 0
    assert not (tmp_path / DATASET).exists()
    _check_table(pd.read_csv(tmp_path / "results.csv", keep_default_na=False))


def test_a_foreign_file_in_the_dataset_stops_the_run(tmp_path, capsys):
    (tmp_path / DATASET).mkdir()  # no record says the runner wrote it
    assert run_job(CFG, tmp_path) == 1
    assert f"{DATASET} was not written by the runner" in capsys.readouterr().err
    os.rmdir(tmp_path / DATASET)
    assert run_job(CFG, tmp_path) == 0
    mine = tmp_path / DATASET / "mine.parquet"  # the user's, in the runner's
    mine.write_text("the user's")
    assert run_job(CFG, tmp_path) == 1
    assert "mine.parquet was not written by the runner" in capsys.readouterr().err
    assert mine.read_text() == "the user's"
    assert parts_done(tmp_path / DATASET) == [0, 1, 2, 3, 4]  # nothing removed


def test_random_draws_do_not_depend_on_the_chunk_size(tmp_path):
    noisy = {"_target_": "tests.runner.test_vectorized.Noisy"}
    tables = []
    for size in (2, 5):
        out = tmp_path / str(size)
        cfg = {**CFG, "model": noisy, "inputs": [0.0], "seed": 3,
               "diff": {"kind": "grad", "return_value": True},
               "allowed_targets": ["tests.runner."],
               "sweep": {"inputs": {"0": XS}, "chunk_size": size}}  # fmt: skip
        assert run_job(cfg, out) == 0
        tables.append(pd.read_parquet(out / DATASET))
    np.testing.assert_array_equal(tables[0]["value"], tables[1]["value"])
    grads = tables[0].loc[tables[0]["quantity"] == "grad", "value"].to_numpy()
    values = tables[0].loc[tables[0]["quantity"] == "value", "value"].to_numpy()
    np.testing.assert_allclose(values, np.asarray(XS) * grads, rtol=1e-6)
    assert len(set(np.round(grads, 6))) == len(XS)  # a fresh draw per point


class Noisy:
    """``x * n`` with ``n`` drawn from the default generator at each call."""

    def __call__(self, x):
        import runner.core as bm

        return x * bm.random.normal()


def test_reduced_frame_keeps_every_step_th_point_and_the_last(tmp_path):
    dataset = tmp_path / DATASET
    jobs = np.arange(10_000)
    for chunk in range(4):
        part = jobs[chunk * 2500 : (chunk + 1) * 2500]
        write_part(dataset, chunk, {
            "job": np.repeat(part, 2), "model.a": np.repeat(part * 0.5, 2),
            "status": ["ok"] * len(part) * 2,
            "quantity": ["grad", "value"] * len(part),
            "value": np.repeat(part * 2.0, 2)})  # fmt: skip
    frame, step = reduced_frame(dataset, max_points=100)
    assert step == 100
    assert frame["job"].tolist() == [*range(0, 10_000, 100), 9999]
    assert (frame["quantity"] == "grad").all()
    np.testing.assert_array_equal(frame["value"], frame["job"] * 2.0)


def test_a_long_one_key_sweep_draws_a_decimated_plot(tmp_path):
    cfg = {
        **CFG,
        "output": {"summary": False, "plots": True},
        "sweep": {"inputs": {"0": {"start": 0, "stop": 1, "num": 5000}}},
    }
    assert run_job(cfg, tmp_path) == 0
    assert (tmp_path / "sweep.png").stat().st_size > 0


# -- SIGKILL at any moment, then resume=true ---------------------------------------
KILLER = textwrap.dedent("""
    import json, os, signal, sys
    from pathlib import Path
    import runner.app.vectorized as vectorized
    from runner.app.job import run_job

    where, after, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    cfg = json.loads(sys.argv[4])
    calls = {"n": 0}

    def kill_now():
        os.kill(os.getpid(), signal.SIGKILL)

    write_part = vectorized.write_part
    def part(dataset, chunk, columns):
        calls["n"] += 1
        if where == "during a chunk" and calls["n"] > after:
            kill_now()
        if where == "while a part is written" and calls["n"] > after:
            import pyarrow.parquet as pq
            real = pq.write_table
            def half(table, path, **options):
                real(table.slice(0, table.num_rows // 2), path, **options)
                kill_now()
            pq.write_table = half
        path = write_part(dataset, chunk, columns)
        if where == "between the write and the record" and calls["n"] > after:
            kill_now()
        return path

    write_csv = vectorized.write_csv
    def csv(dataset, path, precision=None):
        if where == "during gathering":
            import runner.results.tables as tables
            real = tables.atomic_write
            def killed(target, write):
                real(target, lambda p: (write(p), kill_now()))
            tables.atomic_write = killed
        write_csv(dataset, path, precision)

    vectorized.write_part, vectorized.write_csv = part, csv
    sys.exit(run_job(cfg, out))
""")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "after"),
    [("during a chunk", 2), ("while a part is written", 3),
     ("between the write and the record", 1), ("during gathering", 0)],
)  # fmt: skip
def test_a_sweep_killed_anywhere_resumes_by_chunk(tmp_path, where, after):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    out = tmp_path / "run"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    killed = subprocess.run(
        [sys.executable, str(script), where, str(after), str(out), json.dumps(CFG)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # Parts are written by two threads, so which ones a kill leaves whole varies;
    # gathering starts only once all five are written.
    written = parts_done(out / DATASET)
    assert set(written) <= set(range(5))
    if where == "during gathering":
        assert written == [0, 1, 2, 3, 4]
    else:
        assert len(written) < 5
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "running"
    resumed = subprocess.run(
        [sys.executable, str(script), "never", "0", str(out),
         json.dumps({**CFG, "resume": True})],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    if written:  # exactly the parts left whole are kept, the others computed
        assert (
            f"resume: {len(written)} of 5 chunk(s) already written; computing "
            f"the other {5 - len(written)}." in resumed.stdout
        )
    else:
        assert "resume:" not in resumed.stdout
    _check_table(pd.read_parquet(out / DATASET))  # no duplicate, no missing row
    _check_table(pd.read_csv(out / "results.csv", keep_default_na=False))
    hidden = [p.name for p in out.rglob(".*") if p.name != ".hydra"]
    assert hidden == []  # no temp file of a killed write is left
    assert json.loads((out / "run.json").read_text())["status"] == "ok"


def test_ctrl_c_keeps_the_chunks_written_for_resume(tmp_path, monkeypatch, capsys):
    import runner.app.vectorized as vectorized

    calls = {"n": 0}
    real = vectorized.write_part

    def interrupted(dataset, chunk, columns):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(dataset, chunk, columns)

    monkeypatch.setattr(vectorized, "write_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_job(CFG, tmp_path)
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "failed" and "resume=true" in record["error"]
    kept = parts_done(tmp_path / DATASET)
    assert 2 not in kept and {0, 1} <= set(kept)  # the interrupted one is missing
    with pytest.raises(RunnerError, match="did not finish .run.json status: failed"):
        load(tmp_path)  # some chunks of five: not silently a table
    monkeypatch.setattr(vectorized, "write_part", real)
    assert run_job({**CFG, "resume": True}, tmp_path) == 0
    assert (
        f"resume: {len(kept)} of 5 chunk(s) already written" in capsys.readouterr().out
    )
    _check_table(pd.read_parquet(tmp_path / DATASET))
    grads = load(tmp_path).array("grad", "arg0", where={"inputs.0": (2.0, 3.0)})
    np.testing.assert_array_equal(grads, np.full((2, 2), 2.0))  # d(2x + y)/dx


def test_a_changed_config_starts_the_dataset_afresh(tmp_path):
    assert run_job(CFG, tmp_path) == 0
    other = {**CFG, "resume": True, "sweep": {**CFG["sweep"], "chunk_size": 4}}
    assert run_job(other, tmp_path) == 0
    assert parts_done(tmp_path / DATASET) == [0, 1, 2, 3]  # 14 points by 4
    _check_table(pd.read_parquet(tmp_path / DATASET))


def test_the_python_api_checks_chunk_size(tmp_path):
    from runner.compute.vsweep import VectorSweep
    from runner.config.spec import DiffSpec
    from runner.models.tutorial import linear

    with pytest.raises(ConfigError, match=r"^sweep.chunk_size: expected an int >= 1"):
        VectorSweep(linear, [0.0, 0.0], DiffSpec(), None, {"inputs.0": XS},
                    chunk_size=0)  # fmt: skip


def test_long_axes_are_rounded_chunk_by_chunk_to_the_same_table(monkeypatch):
    import runner.compute.vsweep as vsweep
    from runner.compute.vsweep import run_sweep
    from runner.config.spec import DiffSpec
    from runner.models.tutorial import linear

    params = {"inputs.0": list(np.linspace(0.1, 0.9, 9)), "inputs.1": YS}
    once = run_sweep(linear, [0.0, 0.0], DiffSpec(), None, params, chunk_size=4)
    monkeypatch.setattr(vsweep, "_ROUNDED_ONCE", 2)  # every axis is "long"
    chunked = run_sweep(linear, [0.0, 0.0], DiffSpec(), None, params, chunk_size=4)
    for key in ("inputs.0", "inputs.1", "value"):
        np.testing.assert_array_equal(chunked[key], once[key])
    assert chunked["inputs.0"][4] == 0.3  # linspace's 0.30000000000000004, rounded


def test_a_directory_reused_between_single_runs_and_sweeps(tmp_path):
    single = {**CFG, "sweep": {}}
    assert run_job(single, tmp_path) == 0
    assert (tmp_path / DATASET).is_file()  # a single run's table is one file
    assert run_job(CFG, tmp_path) == 0  # the runner's file gives way to a dataset
    assert (tmp_path / DATASET).is_dir()
    _check_table(pd.read_parquet(tmp_path / DATASET))
    assert run_job(single, tmp_path) == 0  # and the dataset to a file again
    assert (tmp_path / DATASET).is_file()
    np.testing.assert_array_equal(load(tmp_path).array("grad", "arg1"), 1.0)


def test_a_sweep_past_two_to_the_32_points_is_refused_not_wrapped():
    from runner.compute.vsweep import VectorSweep
    from runner.config.spec import DiffSpec
    from runner.models.tutorial import linear

    huge = {"inputs.0": {"start": 0, "stop": 1, "num": 2**16 + 1},
            "inputs.1": {"start": 0, "stop": 1, "num": 2**16}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"^sweep: has 4,295,032,832 points, past"):
        VectorSweep(linear, [0.0, 0.0], DiffSpec(), None, huge)
