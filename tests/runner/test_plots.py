"""PNG plots of a job's derivatives and of a one-key numeric sweep."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import SymLogNorm
from matplotlib.image import imread

from runner.app.job import run_job
from runner.app.sweep import write_aggregate
from runner.compute.experiment import Result
from runner.compute.rows import COLUMNS
from runner.results.dataset import PLOTTED
from runner.results.plots import plot_results, plot_sweep, results_figure, sweep_figure
from runner.results.tables import write_tables

from ..conftest import ROOT

SIGNATURE = b"\x89PNG\r\n\x1a\n"
JACOBIAN = {
    "model": {"_target_": "runner.models.tutorial.f1"},
    "inputs": [[1.0, 2.0, 3.0], [10.0, 5.0]],
    "diff": {"kind": "jacobian", "argnums": [0, 1], "return_value": True,
             "has_aux": True},
    "output": {"summary": False, "formats": ["csv"]},
}  # fmt: skip


def assert_png(path, min_size=100):
    assert path.read_bytes()[:8] == SIGNATURE
    height, width, channels = imread(path).shape
    assert height >= min_size and width >= min_size and channels in (3, 4)
    return height, width


def test_job_draws_one_png_beside_its_table(tmp_path):
    assert run_job(JACOBIAN, tmp_path) == 0
    assert (tmp_path / "results.csv").exists()
    height, width = assert_png(tmp_path / "results.png")
    assert width > height  # two Jacobians side by side
    assert "plot_error" not in json.loads((tmp_path / "run.json").read_text())


def test_plots_false_writes_no_png(tmp_path):
    cfg = {**JACOBIAN, "output": {**JACOBIAN["output"], "plots": False}}
    assert run_job(cfg, tmp_path) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "run.json"]


def test_a_failed_job_draws_nothing(tmp_path, capsys):
    cfg = {**JACOBIAN, "inputs": [[1, 2, 3], [10.0, 5.0]]}  # ints are not diffable
    assert run_job(cfg, tmp_path) == 1
    assert not (tmp_path / "results.png").exists()


def test_gradients_heatmaps_and_odd_arrays(tmp_path):
    results = [
        Result("grad", "arg0", "", np.array(2.0)),  # a scalar: one bar
        Result("grad", "w", "", np.linspace(-1, 1, 5)),  # bars
        Result("grad", "arg0,arg0", "", np.array([[2.0, 2.0], [2.0, 6.0]])),
        Result("grad", "x", "[1]", np.arange(24.0).reshape(2, 3, 4)),  # flattened
        Result("grad", "big", "", np.full((20, 20), np.nan)),  # no annotations
        Result("value", "", "", np.ones(3)),  # not drawn
    ]
    assert plot_results(results, tmp_path / "a.png", title="t", kind="hessian")
    assert_png(tmp_path / "a.png")
    many = [Result("grad", f"v{i}", "", np.ones(2)) for i in range(30)]
    assert plot_results(many, tmp_path / "b.png", kind="grad") == tmp_path / "b.png"
    assert_png(tmp_path / "b.png")
    assert plot_results(results[-1:], tmp_path / "c.png") is None
    assert not (tmp_path / "c.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]  # no tmp


# -- sweeps ------------------------------------------------------------------------
def _job(root, num, overrides, rows, plots=True, status="ok"):
    job = root / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(
        "".join(f"- {o}\n" for o in overrides)
    )
    (job / ".hydra" / "config.yaml").write_text(
        f"seed: 0\noutput:\n  summary: false\n  plots: {str(plots).lower()}\n"
    )
    (job / "run.json").write_text(json.dumps({"status": status, "error": ""}))
    if rows is not None:
        write_tables(pd.DataFrame(rows, columns=list(COLUMNS)), job)


def _sweep(root, plots=True):
    for num, current in enumerate([0.0, 0.5, 1.0]):
        rows = [
            ("grad", "arg0", "", "1,2", 0, 1.0 - current**2),
            ("grad", "arg0", "", "1,2", 1, -1.0),
            ("grad", "w", "", "1", 0, current),
            ("value", "", "", "", 0, 3.0),
        ]
        overrides = ["+exp=fitzhugh_nagumo", f"model.current={current}"]
        _job(root, num, overrides, rows, plots=plots)
    _job(root, 3, ["+exp=fitzhugh_nagumo", "model.current=2.0"], None,
         status="failed")  # fmt: skip


def test_one_numeric_key_sweep_draws_sweep_png(tmp_path):
    _sweep(tmp_path)
    frame, bad = write_aggregate(tmp_path)
    assert bad == 1 and (tmp_path / "results.csv").exists()
    assert_png(tmp_path / "sweep.png")


def test_sweep_plots_follow_the_first_jobs_output_plots(tmp_path):
    _sweep(tmp_path, plots=False)
    write_aggregate(tmp_path)
    assert (tmp_path / "results.csv").exists()
    assert not (tmp_path / "sweep.png").exists()


def test_sweep_plot_is_skipped_unless_one_numeric_key_varies(tmp_path):
    base = {"job": [0, 1], "status": "ok", "error": "", "quantity": "grad",
            "wrt": "arg0", "output": "", "shape": "", "index": 0,
            "value": [1.0, 2.0]}  # fmt: skip
    two = pd.DataFrame({**base, "a": [0.0, 1.0], "b": [1.0, 2.0]})
    assert plot_sweep(two, ["a", "b"], tmp_path / "two.png") is None
    text = pd.DataFrame({**base, "inputs.0": ["[1.0]", "[2.0]"]})
    assert plot_sweep(text, ["inputs.0"], tmp_path / "text.png") is None
    failed = pd.DataFrame({**base, "a": [0.0, 1.0], "status": "failed"})
    assert plot_sweep(failed, ["a"], tmp_path / "failed.png") is None
    assert not list(tmp_path.iterdir())
    one = pd.DataFrame({**base, "a": [1.0, 0.0], "exp": "grad"})
    assert plot_sweep(one, ["exp", "a"], tmp_path / "one.png") == tmp_path / "one.png"
    assert_png(tmp_path / "one.png")


@pytest.mark.slow
def test_the_runner_starts_without_matplotlib():
    code = ("import sys, runner.app.cli, runner.app.job, runner.app.sweep, "
            "runner.app.progress, runner.results.plots; "
            "print('matplotlib' in sys.modules)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


# -- eigenvalues in sweeps and dominated scales ------------------------------------
def _fhn_eigenvalues(current, a=0.7, b=0.8, tau=12.5):
    """Eigenvalues (NumPy) of the closed-form FitzHugh-Nagumo Jacobian at the fixed
    point, a root of v - v^3/3 - (v + a)/b + I, ordered as the runner orders them."""
    roots = np.roots([-1 / 3, 0.0, 1 - 1 / b, current - a / b])
    v = roots[np.abs(roots.imag) < 1e-12].real[0]
    eig = np.linalg.eigvals([[1 - v**2, -1.0], [1 / tau, -b / tau]])
    return eig[np.lexsort((-eig.imag, -eig.real))]


def _eigenvalue_frame(currents):
    rows = []
    for job, current in enumerate(currents):
        for index, eig in enumerate(_fhn_eigenvalues(current)):
            for quantity, value in (("eigenvalue_real", eig.real),
                                    ("eigenvalue_imag", eig.imag)):  # fmt: skip
                rows.append((job, current, "ok", "", quantity, "arg0", "", "2",
                             index, value))  # fmt: skip
    columns = ["job", "model.current", "status", "error", *COLUMNS]
    return pd.DataFrame(rows, columns=columns)


def test_eigenvalue_sweep_draws_real_and_imaginary_parts():
    # I = 0 ... 0.6: a complex pair crosses Re = 0 at I = 0.3313 (Hopf), then
    # turns real (the imaginary parts meet at zero) by I = 0.6.
    currents = np.round(np.arange(0.0, 0.65, 0.1), 2)
    fig = sweep_figure(_eigenvalue_frame(currents), ["model.current"])
    real, imag = fig.axes[:2]
    assert real.get_title() == "eigenvalue real parts, wrt arg0"
    assert imag.get_title() == "eigenvalue imaginary parts, wrt arg0"
    assert (real.get_ylabel(), imag.get_ylabel()) == ("Re(eigenvalue)",
                                                      "Im(eigenvalue)")  # fmt: skip
    expected = np.array([_fhn_eigenvalues(c) for c in currents])
    lines = {ax: {li.get_label(): li for li in ax.get_lines()} for ax in (real, imag)}
    for index in (0, 1):
        label = f"({index},)"
        np.testing.assert_allclose(lines[real][label].get_xdata(), currents)
        np.testing.assert_allclose(lines[real][label].get_ydata(),
                                   expected[:, index].real)  # fmt: skip
        np.testing.assert_allclose(lines[imag][label].get_ydata(),
                                   expected[:, index].imag)  # fmt: skip
    # Rings mark the complex points: a Hopf crossing, not a real one.
    complex_points = np.abs(expected.imag) > 0
    ring = lines[real]["complex pair"]
    assert len(ring.get_xdata()) == complex_points.sum()
    assert set(ring.get_xdata()) == set(currents[complex_points.any(axis=1)])
    assert complex_points[:-1].all() and not complex_points[-1].any()
    signs = np.sign(expected[:, 0].real)
    assert signs[0] < 0 < signs[-1]  # the real parts cross zero
    assert real.get_legend() is not None


def test_eigenvalue_imaginary_parts_reach_the_sweep_table(tmp_path):
    for job, current in enumerate([0.0, 0.5]):
        rows = [
            ("eigenvalue_real", "arg0", "", "2", i, e.real)
            for i, e in enumerate(_fhn_eigenvalues(current))
        ]
        rows += [("eigenvalue_imag", "arg0", "", "2", i, e.imag)
                 for i, e in enumerate(_fhn_eigenvalues(current))]  # fmt: skip
        _job(tmp_path, job, ["+exp=fitzhugh_nagumo_hopf",
                             f"model.current={current}"], rows)  # fmt: skip
    frame, bad = write_aggregate(tmp_path)
    assert bad == 0 and "eigenvalue_imag" in PLOTTED
    assert_png(tmp_path / "sweep.png")
    titles = [ax.get_title() for ax in sweep_figure(frame, ["model.current"]).axes]
    assert "eigenvalue imaginary parts, wrt arg0" in titles


def test_heatmap_of_a_dominated_matrix_uses_a_symmetric_log_scale():
    dominated = np.array([[1e3, 0.5], [0.01, -2.0]])
    even = np.array([[1.0, -0.5], [0.25, 2.0]])
    fig = results_figure(
        [Result("grad", "arg0", "", dominated), Result("grad", "w", "", even)]
    )
    log_norm, linear_norm = (ax.images[0].norm for ax in fig.axes[:2])
    assert isinstance(log_norm, SymLogNorm) and not isinstance(linear_norm, SymLogNorm)
    assert log_norm.linthresh == 0.01  # the smallest entry
    assert (log_norm.vmin, log_norm.vmax) == (-1e3, 1e3)
    assert (linear_norm.vmin, linear_norm.vmax) == (-2.0, 2.0)
    # On a linear scale 0.01 would sit 5e-6 of the colour range from white (0.5);
    # here at the edge of the linear part: 1 of 5 + 1 decades, 0.091 of the range.
    shift = np.abs(np.asarray(log_norm(dominated)) - 0.5)
    assert shift.min() == pytest.approx(0.5 / 5.5) and (shift > 0.05).all()
    assert "symlog" in fig.axes[2].get_ylabel()  # the first heatmap's colorbar


def test_bars_and_sweep_curves_of_dominated_values_use_symlog():
    fig = results_figure([Result("grad", "w", "", np.array([200.0, -0.3, 0.05])),
                          Result("grad", "b", "", np.array([2.0, -1.0]))])  # fmt: skip
    assert [ax.get_yscale() for ax in fig.axes] == ["symlog", "linear"]
    assert fig.axes[0].yaxis.get_transform().linthresh == 0.05
    frame = pd.DataFrame({"job": [0, 0, 1, 1], "model.a": [0.0, 0.0, 1.0, 1.0],
                          "status": "ok", "error": "", "quantity": "grad",
                          "wrt": "arg0", "output": "", "shape": "2",
                          "index": [0, 1, 0, 1],
                          "value": [1e3, 1e-2, 2e3, -3e-2]})  # fmt: skip
    (ax,) = sweep_figure(frame, ["model.a"]).axes
    assert ax.get_yscale() == "symlog" and "symlog" in ax.get_ylabel()
    assert ax.yaxis.get_transform().linthresh == pytest.approx(0.03)  # peak of (1,)
    even = frame.assign(value=[1.0, 2.0, 3.0, -1.0])
    assert sweep_figure(even, ["model.a"]).axes[0].get_yscale() == "linear"
