"""Canaries: each use of Hydra's private API still does what the runner needs.

If a Hydra release changes one of them, the test of that use fails here first,
naming it, rather than a run misbehaving.
"""

from __future__ import annotations

import sys

import hydra._internal.utils as hydra_utils
import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode

from runner.config.hydra_private import (
    get_args_parser,
    main_hydra,
    reported_by,
    run_app,
)
from runner.config.schema import register
from runner.config.sources import MAIN, SHIPPED


def test_the_flag_parser_reads_the_flags_the_runner_reads():
    args = get_args_parser().parse_args(
        ["-m", "--config-dir", "mine", "-sc", "query=bash", "+exp=grad", "a=1"]
    )
    assert args.multirun and args.config_dir == "mine"
    assert args.shell_completion and args.overrides == [
        "query=bash",
        "+exp=grad",
        "a=1",
    ]


def test_a_main_hydra_composes_with_the_command_line_directory(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "mine.yaml").write_text("# @package _global_\nseed: 7\n")
    register()
    try:
        hydra = main_hydra(MAIN, str(tmp_path), [SHIPPED])
        cfg = hydra.compose_config("config", ["+exp=mine"], run_mode=RunMode.RUN)
        assert cfg.seed == 7
        repo = hydra.config_loader.repository
        assert repo.group_exists("exp") and repo.group_exists("model")
    finally:
        GlobalHydra.instance().clear()


def test_hydra_main_still_reports_through_run_and_report():
    assert callable(hydra_utils.run_and_report)
    seen = []
    with reported_by(seen.append), pytest.raises(SystemExit) as done:
        hydra_utils.run_and_report(lambda: int("x"))
    assert done.value.code == 1 and isinstance(seen[0], ValueError)
    assert hydra_utils.run_and_report is not None  # restored on the way out


def test_an_app_runs_on_the_given_command_line_and_leaves_argv_alone(tmp_path):
    before = list(sys.argv)
    seen, errors = [], []
    register()
    run_app(lambda cfg: seen.append(cfg.inputs), ["+exp=grad", "inputs=[5.0,1.0]",
            f"hydra.run.dir={tmp_path}"], MAIN, "config", errors.append)  # fmt: skip
    assert seen == [[5.0, 1.0]] and errors == []
    assert sys.argv == before
    bad = ["+exp=grad", "diff.nope=1", f"hydra.run.dir={tmp_path}"]
    with pytest.raises(SystemExit):
        run_app(lambda cfg: None, bad, MAIN, "config", errors.append)
    assert len(errors) == 1 and sys.argv == before
