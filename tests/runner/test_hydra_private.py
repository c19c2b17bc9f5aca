"""Canaries: each use of Hydra's private API still does what the runner needs.

If a Hydra release changes one of them, the test of that use fails here first,
naming it, rather than a run misbehaving.
"""

from __future__ import annotations

import sys

import hydra._internal.utils as hydra_utils
import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import MissingConfigException
from hydra.types import RunMode

from runner.config.hydra_private import (
    Entry,
    compose_loaded,
    config_exists,
    get_args_parser,
    group_exists,
    main_hydra,
    overrides_parser,
    own_sources,
    reported_by,
    run_app,
)
from runner.config.schema import register
from runner.config.sources import MAIN, SHIPPED, main_dir


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


def test_a_composition_reports_each_config_it_merged(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "a.yaml").write_text(
        "# @package _global_\ndefaults:\n  - /exp/b@_global_\n  - _self_\n  - "
        "override /model: f1\nhydra:\n  sweeper:\n    params: {seed: '1,2'}\n"
    )
    (tmp_path / "exp" / "b.yaml").write_text("hydra:\n  sweeper:\n    params: "
                                             "{inputs.0: '1.0,2.0'}\n")  # fmt: skip
    register()
    try:
        hydra = main_hydra(MAIN, str(tmp_path), [SHIPPED])
        cfg, loaded = compose_loaded(hydra, "config", ["+exp=a"])
        assert "_load_single_config" not in vars(hydra.config_loader)  # restored
        with pytest.raises(MissingConfigException):
            compose_loaded(hydra, "config", ["+exp=nope"])
        assert "_load_single_config" not in vars(hydra.config_loader)
    finally:
        GlobalHydra.instance().clear()
    by = {c.path: c for c in loaded}
    assert len(by) == len(loaded)  # each merged config once, in merge order
    assert [p for p in by if p == "config" or p.startswith("exp/")] == [
        "config", "exp/b", "exp/a"]  # fmt: skip
    a, b, f1 = by["exp/a"], by["exp/b"], by["model/f1"]
    # a config with a defaults list is merged as its _self_: Hydra names no group
    assert (a.parent, a.group, a.source) == ("config", None, f"file://{tmp_path}")
    assert a.defaults == (Entry("/exp/b", "_global_", False, False),
                          Entry("_self_", None, False, False),
                          Entry("/model", None, True, False))  # fmt: skip
    # what each set, at its package, before the merge: its own keys only
    assert a.content == {"hydra": {"sweeper": {"params": {"seed": "1,2"}}}}
    assert b.content == {"hydra": {"sweeper": {"params": {"inputs.0": "1.0,2.0"}}}}
    assert (b.parent, b.group) == ("exp/a", None)
    assert dict(cfg.hydra.sweeper.params) == {"seed": "1,2", "inputs.0": "1.0,2.0"}
    assert (f1.parent, f1.group, f1.source) == ("config", "model", SHIPPED)
    assert f1.content["model"]["_target_"] == "runner.models.tutorial.f1"
    logs = by["hydra/job_logging/default"]
    assert (logs.parent, logs.group) == ("hydra/config", "hydra/job_logging")
    assert by["hydra/config"].parent is None and by["config"].parent is None
    own = own_sources(MAIN)
    assert {by["config"].source, logs.source, by["hydra/config"].source} <= own
    assert a.source not in own and f1.source not in own


def test_own_sources_name_sources_as_a_composition_does():
    assert own_sources(MAIN) == {"pkg://hydra.conf", MAIN, "structured://"}
    assert f"file://{main_dir()}" in own_sources(str(main_dir()))


def test_the_repository_and_the_parser_know_the_groups():
    register()
    try:
        hydra = main_hydra(MAIN, None, [SHIPPED])
        assert group_exists(hydra, "hydra/launcher") and group_exists(hydra, "model")
        assert not group_exists(hydra, "inputs")
        assert config_exists(hydra, "hydra/launcher/local_processes")
        assert not config_exists(hydra, "hydra/launcher/nope")
        (sweep,) = overrides_parser(hydra).parse_overrides(["+exp=glob(jac*)"])
        assert sweep.key_or_group == "exp"
        assert list(sweep.sweep_string_iterator()) == ["jacobian", "jacobian_object",
                                                       "jacobian_sweep"]  # fmt: skip
    finally:
        GlobalHydra.instance().clear()
