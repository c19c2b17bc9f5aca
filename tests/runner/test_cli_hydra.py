"""The command line against Hydra: every override form, one-line errors through
Hydra's own reporting, and teardown decided by what ran."""

from __future__ import annotations

import sys
from unittest import mock

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

import runner.__main__
import runner.app.cli
from runner.app.cli import check_experiments, run_main

from ..conftest import CONFIGS, EXPERIMENTS


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "+exp=glob(*)"],
        ["-m", "+exp=glob(grad*,exclude=grad_vars*)"],
        ["-m", "+exp=choice(grad,jacobian)"],
        ["-m", "+exp=grad,jacobian"],
        ["-m", "++exp=sort(jacobian,grad)"],
        ["-m", "+exp=shuffle(grad,hessian)", "model.b=0.6,0.7"],
        ["+exp=jacobian", "~model.name", "hydra.mode=MULTIRUN"],
        ["--config-dir", "configs", "+exp@_global_=jacobian"],
    ],
)
def test_every_override_form_of_a_known_experiment_passes(argv):
    assert check_experiments(argv) is None


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["-m", "+exp=choice(grad,nope)"], "nope"),
        (["-m", "+exp=grad,nope"], "nope"),
        (["-m", "+exp=range(1,3)"], "1"),
        (["+exp=nope"], "nope"),
    ],
)
def test_an_unknown_experiment_in_any_form_is_named(argv, name):
    error = check_experiments(argv)
    assert error.startswith(f"exp: unknown experiment {name!r}; expected one of")


def test_glob_selects_the_experiments_hydra_selects():
    # The names check_experiments checks are the ones Hydra's sweeper would run.
    override = OverridesParser.create().parse_override("+exp=glob(*,exclude=h*)")
    selected = override.value().filter(EXPERIMENTS)
    assert selected and "hessian" not in selected and "grad" in selected


def test_an_experiment_without_the_package_line_is_named(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "mine.yaml").write_text("# my experiment\ninputs: [1.0]\n")
    (tmp_path / "exp" / "ok.yaml").write_text("# about\n# @package _global_\n")
    assert check_experiments(["-cd", str(tmp_path), "+exp=ok"]) is None
    error = check_experiments(["-cd", str(tmp_path), "-m", "+exp=glob(*)"])
    assert error.startswith("exp: exp/mine.yaml does not start with '# @package")
    assert check_experiments(["-cd", str(tmp_path), "+exp@_global_=mine"]) is None


def test_experiments_of_the_config_dir_in_every_spelling_hydra_accepts(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "mine.yaml").write_text("# @package _global_\n")
    for flag in (["-cd", str(tmp_path)], [f"--config-dir={tmp_path}"],
                 ["--config-di", str(tmp_path)]):  # fmt: skip
        assert check_experiments([*flag, "+exp=mine"]) is None, flag


def test_trusting_hydra_nodes_does_not_trust_a_files_allowed_targets(
    tmp_path, capsys, monkeypatch
):
    # RUNNER_TRUST_CONFIG_HYDRA=1 skips the file check; each job still refuses an
    # allow-list the command line did not give.
    monkeypatch.setenv("RUNNER_TRUST_CONFIG_HYDRA", "1")
    monkeypatch.delenv("RUNNER_ALLOWED_TARGETS", raising=False)
    (tmp_path / "exp").mkdir()
    text = (CONFIGS / "exp" / "grad.yaml").read_text() + "allowed_targets: [os.]\n"
    (tmp_path / "exp" / "mine.yaml").write_text(text)
    argv = [f"--config-dir={tmp_path}", "+exp=mine", "output.plots=false",
            f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    assert run_main(argv)[0] != 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("error: allowed_targets: set by a config file"), line


def test_hydra_reports_its_own_errors_through_the_one_line_hook(
    tmp_path, capsys, monkeypatch
):
    # Canary: Hydra has no public hook for how @hydra.main reports an error. With
    # the file check skipped, the bad key reaches Hydra's composition; if Hydra
    # stops calling hydra._internal.utils.run_and_report, the report is no longer
    # one line and this fails.
    monkeypatch.setenv("RUNNER_TRUST_CONFIG_HYDRA", "1")
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as done:
        run_main(["+exp=grad", "diff.kindd=grad", f"hydra.run.dir={tmp_path}"])
    assert done.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: diff.kindd:"), lines


def test_a_single_run_is_a_single_run_and_multirun_mode_is_not(tmp_path):
    quiet = ["+exp=grad", "output.plots=false", "output.summary=false"]
    assert run_main([*quiet, f"hydra.run.dir={tmp_path / 'run'}"]) == (0, True)
    multirun = [*quiet, "hydra.mode=MULTIRUN", f"hydra.sweep.dir={tmp_path / 'm'}"]
    assert run_main(multirun) == (0, False)
    assert (tmp_path / "m" / "results.csv").exists()


@pytest.mark.parametrize(
    ("ran", "fast_exit"), [((0, True), True), ((1, False), False), ((0, False), False)]
)
def test_run_skips_teardown_only_after_a_single_run(ran, fast_exit):
    argv = ["runner", "+exp=grad", "hydra.mode=MULTIRUN"]  # no -m on the line
    with (
        mock.patch.object(sys, "argv", argv),
        mock.patch.object(runner.app.cli, "run_main", return_value=ran) as main,
        mock.patch.object(runner.__main__.os, "_exit") as exit_now,
    ):
        with pytest.raises(SystemExit) as done:  # os._exit is mocked: it returns
            runner.__main__.run()
    main.assert_called_once_with(argv[1:])
    assert done.value.code == ran[0]
    assert exit_now.call_args_list == ([mock.call(ran[0])] if fast_exit else [])
