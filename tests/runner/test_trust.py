"""Config files may not set Hydra's own nodes or widen the allow-list."""

from __future__ import annotations

import pytest

from runner.config.errors import ConfigError
from runner.config.trust import (
    check_allowed_targets,
    check_compile_cache,
    check_config_files,
    cli_allowed_targets,
)

from ..conftest import PRIMARY

HEAD = "# @package _global_\ndefaults:\n  - override /model: linear_fn\n"
PARAMS = "hydra:\n  sweeper:\n    params: "


@pytest.fixture
def conf(tmp_path):
    """A --config-dir with one experiment file per name given."""

    def write(**files: str) -> str:
        for name, body in files.items():
            path = tmp_path / "exp" / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(HEAD + body)
        return f"--config-dir={tmp_path}"

    return write


def test_every_shipped_experiment_passes(monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    check_config_files(["-m", "+exp=glob(*)"], str(PRIMARY))
    check_config_files(["+exp=grad", "hydra/launcher=local_processes",
                        "hydra.run.dir=/tmp/x", "+hydra.job.env_set.A=1"],
                       str(PRIMARY))  # fmt: skip


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("hydra:\n  callbacks:\n    x: {_target_: numpy.save}\n", "hydra.callbacks.x"),
        ("hydra:\n  job_logging:\n    root: {level: DEBUG}\n", "hydra.job_logging"),
        ("hydra:\n  hydra_logging:\n    root: {level: DEBUG}\n", "hydra.hydra_logging"),
        ("hydra:\n  job:\n    env_set: {LD_PRELOAD: x.so}\n", "hydra.job.env_set"),
        ("hydra:\n  run:\n    dir: /home\n", "hydra.run.dir"),
        ("hydra:\n  output_subdir: ../..\n", "hydra.output_subdir"),
        ("hydra:\n  overrides:\n    task: [inputs.0=9.0]\n", "hydra.overrides"),
        (f"{PARAMS}{{hydra.run.dir: a}}\n", "hydra.sweeper.params.hydra.run.dir"),
        (f"{PARAMS}{{model: 'f,f1'}}\n", "hydra.sweeper.params.model"),
        (f"{PARAMS}{{allowed_targets: '[os.]'}}\n", "hydra.sweeper.params.allowed_"),
        ("allowed_targets: [os.]\n", "allowed_targets: set by a config file"),
    ],
)
def test_hydra_nodes_set_by_a_file_are_refused(body, key, conf, monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    with pytest.raises(ConfigError, match=r"config file .*with \+exp=bad\)") as err:
        check_config_files([conf(bad=body), "+exp=bad"], str(PRIMARY))
    assert str(err.value).startswith(key)
    monkeypatch.setenv("RUNNER_TRUST_CONFIG_HYDRA", "1")
    check_config_files([conf(bad=body), "+exp=bad"], str(PRIMARY))


def test_hydra_group_chosen_by_a_file_is_refused(conf, tmp_path, monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    body = "  - override /hydra/job_logging: disabled\n"
    with pytest.raises(ConfigError, match="^hydra.job_logging"):
        check_config_files([conf(bad=body), "+exp=bad"], str(PRIMARY))
    body = "hydra:\n  searchpath: [file:///tmp]\n"  # Hydra refuses it too
    with pytest.raises(Exception, match="hydra.searchpath is only supported from"):
        check_config_files([conf(bad=body), "+exp=bad"], str(PRIMARY))
    (tmp_path / "other.yaml").write_text("defaults:\n  - experiment_schema\n")
    with pytest.raises(ConfigError, match=r"with --config-name=other\)"):
        check_config_files([conf(), "-cn", "other"], str(PRIMARY))


def test_every_experiment_of_a_sweep_is_checked(conf, monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    bad = "hydra:\n  callbacks:\n    x: {_target_: numpy.save}\n"
    ok = "hydra:\n  sweeper:\n    params: {inputs.0: '1.0,2.0'}\n"
    flag = conf(a_ok=ok, b_bad=bad)
    check_config_files(["-m", flag, "+exp=a_ok", "inputs.1=1.0,2.0"], str(PRIMARY))
    for sweep in ("glob(*)", "choice(grad,b_bad)", "a_ok,b_bad"):
        with pytest.raises(ConfigError, match=r"^hydra.callbacks.x.* \+exp=b_bad"):
            check_config_files(["-m", flag, f"+exp={sweep}"], str(PRIMARY))


def test_allowed_targets_come_from_the_command_line_only():
    assert cli_allowed_targets(["allowed_targets=[a.,b.]", "+exp=x"]) == ["a.", "b."]
    assert cli_allowed_targets(["~allowed_targets"]) is None
    check_allowed_targets([], ["+exp=grad"])
    check_allowed_targets(["a."], ["allowed_targets=[a.]"])
    for value, overrides in ([[""], []], [["os."], ["allowed_targets=[a.]"]]):
        with pytest.raises(ConfigError, match="^allowed_targets: set by a config"):
            check_allowed_targets(value, overrides)


@pytest.mark.filterwarnings("ignore:(?s).*validated against ConfigStore:UserWarning")
@pytest.mark.parametrize("how", ["--config-dir={}", "hydra.searchpath=[file://{}]"])
def test_a_config_dir_shadowing_the_primary_defaults_is_checked(
    how, tmp_path, monkeypatch
):
    # A directory of the command line comes before the schema in the search path,
    # so its own experiment_schema.yaml would be read by the composition without
    # any experiment too: the comparison must be with the runner's own files.
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    logging = tmp_path / "hydra" / "job_logging"
    logging.mkdir(parents=True)
    (logging / "mine.yaml").write_text("version: 1\nroot: {level: DEBUG}\n")
    (tmp_path / "experiment_schema.yaml").write_text(
        "defaults:\n  - override /hydra/job_logging: mine\n"
    )
    flag = how.format(tmp_path)
    with pytest.raises(ConfigError, match="^hydra.job_logging"):
        check_config_files([flag, "+exp=grad"], str(PRIMARY))
    # What the command line chooses from it is the command line's.
    check_config_files([flag, "+exp=grad", "hydra/job_logging=mine"], str(PRIMARY))
    # Nor may it stand in for one of Hydra's options (these are in its schema).
    (tmp_path / "experiment_schema.yaml").unlink()
    (tmp_path / "hydra" / "sweeper").mkdir()
    (tmp_path / "hydra" / "sweeper" / "basic.yaml").write_text(
        "_target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        "max_batch_size: null\nparams: {hydra.job.env_set.A: '1'}\n"
    )
    with pytest.raises(ConfigError, match="^hydra.sweeper.params.hydra.job.env_set"):
        check_config_files(["-m", flag, "+exp=grad"], str(PRIMARY))


@pytest.mark.parametrize("search", ["--config-dir", "hydra.searchpath"])
def test_a_users_model_file_chosen_by_a_shipped_experiment_is_checked(
    search, tmp_path, monkeypatch
):
    # The shipped jacobian chooses model f1; a directory of the user's with its own
    # model/f1.yaml is searched first, so that file is composed, and checked.
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "f1.yaml").write_text(
        "# @package _global_\nmodel:\n  _target_: runner.models.tutorial.f1\n"
        "hydra:\n  callbacks:\n    x: {_target_: os.system}\n"
    )
    path = f"hydra.searchpath=[file://{tmp_path},pkg://runner.configs]"
    where = f"--config-dir={tmp_path}" if search == "--config-dir" else path
    for exp in ("+exp=jacobian", "+exp=glob(jac*)"):
        argv = [where, exp] if "glob" not in exp else ["-m", where, exp]
        with pytest.raises(ConfigError, match=r"^hydra\.callbacks\.x"):
            check_config_files(argv, str(PRIMARY))


@pytest.mark.parametrize(
    ("body", "key", "resolver"),
    [
        ("seed: ${oc.env:SECRET}\n", "seed", "oc.env"),
        ("diff:\n  kind: ${oc.decode:'grad'}\n", "diff.kind", "oc.decode"),
        ("inputs: ['${oc.env:A}', 1.0]\n", "inputs.0", "oc.env"),
        ("model:\n  x: \"${oc.create:'{a: 1}'}\"\n", "model.x", "oc.create"),
        ("seed: ${now:%S}\n", "seed", "now"),
        (f"{PARAMS}{{inputs.0: '${{oc.env:SECRET}},1.0'}}\n",
         "hydra.sweeper.params.inputs.0", "oc.env"),
    ],
)  # fmt: skip
def test_a_file_may_not_read_the_environment(body, key, resolver, conf, monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    monkeypatch.setenv("SECRET", "hunter2")
    with pytest.raises(ConfigError, match=f"to use the resolver {resolver};") as err:
        check_config_files([conf(bad=body), "+exp=bad"], str(PRIMARY))
    assert err.value.key == key
    assert "hunter2" not in str(err.value)


def test_a_model_file_may_not_read_the_environment_either(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "f1.yaml").write_text(
        "_target_: runner.models.tutorial.f1\nname: ${oc.env:HOME}\n"
    )
    with pytest.raises(ConfigError, match="^model.name: set by a config file"):
        check_config_files([f"--config-dir={tmp_path}", "+exp=jacobian"], str(PRIMARY))


def test_interpolation_within_the_config_and_the_command_lines_resolvers_pass(
    conf, monkeypatch
):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    body = "seed: ${oc.select:nope,3}\ninputs: [2.0, '${inputs.1}']\n"
    check_config_files([conf(ok=body), "+exp=ok"], str(PRIMARY))
    check_config_files(["+exp=grad", "seed=${oc.env:SECRET}",
                        "hydra.run.dir=${oc.env:HOME}/x"], str(PRIMARY))  # fmt: skip


def test_only_the_command_line_or_the_environment_chooses_the_compile_cache(
    conf, monkeypatch, tmp_path
):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    body = f"compile_cache: {tmp_path / 'theirs'}\n"
    with pytest.raises(ConfigError, match="^compile_cache: set by a config file"):
        check_config_files([conf(bad=body), "+exp=bad"], str(PRIMARY))
    sweep = f"{PARAMS}{{compile_cache: '/a,/b'}}\n"
    with pytest.raises(ConfigError, match="hydra.sweeper.params.compile_cache"):
        check_config_files(["-m", conf(bad=sweep), "+exp=bad"], str(PRIMARY))
    line = [conf(bad=body), "+exp=bad", f"compile_cache={tmp_path / 'mine'}"]
    check_config_files(line, str(PRIMARY))  # the command line chose
    check_compile_cache(str(tmp_path / "mine"), [f"compile_cache={tmp_path}/mine"])
    monkeypatch.setenv("RUNNER_COMPILE_CACHE", str(tmp_path / "env"))
    check_compile_cache(str(tmp_path / "env"), ["+exp=grad"])  # the environment's
    with pytest.raises(ConfigError, match="RUNNER_COMPILE_CACHE=DIR chooses it"):
        check_compile_cache(str(tmp_path / "theirs"), ["+exp=grad"])
