"""Config files may not set Hydra's own nodes or widen the allow-list."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from runner.config import trust
from runner.config.errors import ConfigError
from runner.config.hydra_base import OwnNode
from runner.config.hydra_private import Entry, Loaded, compose_loaded, main_hydra
from runner.config.overrides import parse
from runner.config.provenance import files, reaching_hydra
from runner.config.schema import register
from runner.config.sources import SHIPPED
from runner.config.trust import (
    check_allowed_targets,
    check_compile_cache,
    check_config_files,
    cli_allowed_targets,
    impure_resolvers,
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


# Files that reach (or try to reach) Hydra's node, in every way Hydra places a key:
# the check reads them from Hydra's record of one composition, and composes the
# command line's own node to compare only when a file's config may have set it.
GLOBAL = "# @package _global_\n"
READ_ONLY = "fast"  # no second composition
COMPARED = "compared"  # the command line's own hydra node composed to compare
FILES = {
    "plain experiment": ({"exp/x": HEAD + "inputs: [2.0, 1.0]\n"}, READ_ONLY, None),
    "sweep of plain keys": (
        {"exp/x": HEAD + f"{PARAMS}{{inputs.0: '1.0,2.0'}}\n"}, READ_ONLY, None),
    "sweep of hydra keys": ({"exp/x": "# @package hydra.sweeper\nparams: "
                             "{hydra.run.dir: a}\n"}, READ_ONLY,
                            "hydra.sweeper.params.hydra.run.dir"),
    "a package header": ({"exp/x": "# @package hydra\ncallbacks:\n  x: "
                          "{_target_: os.system}\n"}, COMPARED,
                         "hydra.callbacks.x._target_"),
    "a nested package header": ({"exp/x": "# @package _global_.hydra\nrun: "
                                 "{dir: /home}\n"}, COMPARED, "hydra.run.dir"),
    "a quoted hydra key": (
        {"exp/x": HEAD + "'hydra':\n  run: {dir: /home}\n"}, COMPARED, "hydra.run.dir"),
    "a YAML alias": ({"exp/x": HEAD + "a: &a {run: {dir: /home}}\nhydra: *a\n"},
                     READ_ONLY, "Key 'a' not in"),
    "a model placed in hydra": ({"exp/x": GLOBAL + "defaults:\n  - /model@hydra."
                                 "callbacks.x: linear_fn\n"}, COMPARED,
                                "hydra.callbacks.x._target_"),
    "a model placed in _global_.hydra": (
        {"exp/x": GLOBAL + "defaults:\n  - /model@_global_.hydra.callbacks.x: "
         "linear_fn\n"}, COMPARED, "hydra.callbacks.x._target_"),
    "a model file with hydra": ({"exp/x": GLOBAL + "defaults:\n  - override "
                                 "/model: evil\n", "model/evil": "# @package "
                                 "hydra\ncallbacks:\n  x: {_target_: os.system}\n"},
                                COMPARED, "hydra.callbacks.x._target_"),
    "a model file choosing logging": (
        {"exp/x": GLOBAL + "defaults:\n  - override /model: evil\n", "model/evil":
         "defaults:\n  - /hydra/job_logging/disabled@_global_.hydra.job_logging\n"
         "_target_: runner.models.tutorial.f1\n"}, COMPARED, "hydra.job_logging"),
    "an included experiment": ({"exp/x": GLOBAL + "defaults:\n  - /exp/y@_global_\n",
                                "exp/y": "hydra:\n  run: {dir: /home}\n"}, COMPARED,
                               "hydra.run.dir"),
    "a shipped option chosen": (
        {"exp/x": HEAD + "  - override /hydra/launcher: local_processes\n"},
        COMPARED, "hydra.launcher"),
    "an option list": ({"exp/x": GLOBAL + "defaults:\n  - /hydra/job_logging: "
                        "[disabled]\n"}, COMPARED, "hydra.job_logging"),
    "_self_ first": ({"exp/x": GLOBAL + "defaults:\n  - _self_\n  - override "
                      "/hydra/job_logging: disabled\n"}, COMPARED, "hydra.job_logging"),
    "Hydra's sweeper stood in for": (
        {"hydra/sweeper/basic": "_target_: hydra._internal.core_plugins.basic_"
         "sweeper.BasicSweeper\nmax_batch_size: null\nparams: {hydra.job.env_set.A:"
         " '1'}\n"}, COMPARED, "hydra.sweeper.params.hydra.job.env_set"),
    "the schema stood in for": (
        {"experiment_schema": "seed: ${oc.env:HOME}\n"}, READ_ONLY, "seed"),
    "a path that climbs": ({"exp/x": GLOBAL + "defaults:\n  - override /model: "
                            "../exp/y\n", "exp/y": "# @package _global_\nhydra:\n"
                            "  job: {env_set: {A: '1'}}\n"}, COMPARED,
                           "hydra.job.env_set.A"),
    "what config.yaml sets again": (  # merged before config.yaml, which wins
        {"exp/x": GLOBAL + "defaults:\n  - override /model: y\n", "model/y":
         "# @package _global_\nhydra:\n  run: {dir: /home}\n"}, COMPARED, None),
    "the same logging": ({"exp/x": HEAD + "  - override /hydra/job_logging: "
                          "default\n"}, COMPARED, None),
    "the same value": ({"exp/x": HEAD + "hydra:\n  job:\n    chdir: false\n"},
                       COMPARED, None),
    "an empty hydra node": ({"exp/x": HEAD + "hydra: {}\n"}, COMPARED, None),
    "Hydra's runtime": ({"exp/x": HEAD + "hydra:\n  runtime:\n    output_dir: "
                         "/home\n"}, COMPARED, None),
}  # fmt: skip


def _outcome(argv: list[str]) -> str | None:
    try:
        check_config_files(argv, str(PRIMARY))
    except Exception as err:  # the check's refusal, or Hydra's own error
        return f"{type(err).__name__}: {err}"
    return None


@pytest.mark.filterwarnings("ignore:(?s).*validated against ConfigStore:UserWarning")
@pytest.mark.parametrize("case", list(FILES))
def test_reading_the_files_refuses_what_comparing_the_node_refuses(
    case, tmp_path, monkeypatch
):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    files, path, refused = FILES[case]
    for name, body in files.items():
        (tmp_path / f"{name}.yaml").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.yaml").write_text(body)
    exp = "+exp=x" if "exp/x" in files else "+exp=grad"
    argv = ["-m", f"--config-dir={tmp_path}", exp]
    composed = []
    own = trust.OwnNode._compose
    monkeypatch.setattr(trust.OwnNode, "_compose",
                        lambda self: composed.append(1) or own(self))  # fmt: skip
    read = _outcome(argv)
    assert (COMPARED if composed else READ_ONLY) == path
    if refused is None:
        assert read is None
    else:
        assert read is not None and refused in read.split(";")[0], read
    monkeypatch.setattr(trust, "reaching_hydra", lambda loaded, own: "always")
    assert _outcome(argv) == read  # the comparison alone: the same refusal


def test_a_command_composes_each_experiment_once(conf, monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    composed, compared = [], []
    compose = trust.compose_loaded
    monkeypatch.setattr(trust, "compose_loaded", lambda *a: composed.append(a[2])
                        or compose(*a))  # fmt: skip
    own = trust.OwnNode._compose
    monkeypatch.setattr(trust.OwnNode, "_compose",
                        lambda self: compared.append(1) or own(self))  # fmt: skip
    check_config_files(["+exp=jacobian"], str(PRIMARY))
    sweep = ["-m", "+exp=grad,jacobian,hessian", "inputs.0=1.0,2.0"]
    check_config_files([*sweep, "hydra/launcher=local_processes"], str(PRIMARY))
    assert len(composed) == 4 and compared == []
    flag = conf(a=f"{PARAMS}{{inputs.0: '1.0,2.0'}}\n", b="hydra:\n  job:\n    "
                "chdir: false\n", c="inputs: [2.0, 1.0]\n")  # fmt: skip
    check_config_files(["-m", flag, "+exp=a,b,c"], str(PRIMARY))
    assert len(composed) == 7 and compared == [1]  # once, for b


@pytest.mark.parametrize("launcher", ["basic", "local_processes", "local_ray", "slurm"])
def test_the_runners_hydra_node_reads_no_key_a_file_sets(launcher):
    # Were a Hydra node of the runner's own to interpolate a plain key, a file
    # could steer it through that key without setting anything under hydra.
    register()
    hydra = main_hydra(str(PRIMARY), None, [SHIPPED])
    try:
        cfg, _ = compose_loaded(hydra, "config", [f"hydra/launcher={launcher}"])
    finally:
        GlobalHydra.instance().clear()
    node = OmegaConf.to_container(cfg.hydra, resolve=False)
    for key, name in impure_resolvers(node, "hydra"):
        assert name == "now", key
    text = str(node)
    for found in re.findall(r"\$\{([^}:]*)\}", text):
        assert found.startswith("hydra."), found
    for found in re.findall(r"\$\{([\w.]+):", text):
        assert found in ("now", "hydra"), found


def test_an_option_of_the_store_chosen_by_a_file_is_the_files(tmp_path, monkeypatch):
    # A ConfigStore option is the runner's or a plugin's; chosen by a file's
    # override, what it sets is the file's.
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "bad.yaml").write_text(
        GLOBAL + "defaults:\n  - override /model: planted\n"
    )
    store = ConfigStore.instance()
    node = {"hydra": {"callbacks": {"x": {"_target_": "os.system"}}}}
    store.store(group="model", name="planted", node=node, package="_global_")
    try:
        with pytest.raises(ConfigError, match=r"^hydra\.callbacks\.x\._target_"):
            check_config_files([f"--config-dir={tmp_path}", "+exp=bad"], str(PRIMARY))
    finally:
        del store.repo["model"]["planted.yaml"]


def test_the_command_lines_resolvers_pass_beside_its_search_path(conf, monkeypatch):
    monkeypatch.delenv("RUNNER_TRUST_CONFIG_HYDRA", raising=False)
    flag = conf(same="hydra:\n  job:\n    chdir: false\n")  # compared to the node
    folder = flag.partition("=")[2]
    for exp in ("+exp=grad", "+exp=same"):
        check_config_files([f"hydra.searchpath=[file://{folder},pkg://runner."
                            f"configs]", exp, "hydra.run.dir=${oc.env:HOME}/x"],
                           str(PRIMARY))  # fmt: skip


OWN = frozenset({"pkg://hydra.conf", "structured://"})
HYDRA_CONFIG = Loaded("hydra/config", None, None, "structured://",
                      {"hydra": {"run": {"dir": "out"}}}, ())  # fmt: skip
CONFIG = Loaded("config", None, None, "structured://", {"hydra": {}}, ())


def _loaded(path: str, *entries: Entry, parent: str = "config",
            source: str = "file:///mine", **content: Any) -> Loaded:  # fmt: skip
    return Loaded(path, parent, None, source, content, entries)


def test_a_config_is_a_files_by_where_it_was_read_and_who_chose_it():
    chooser = _loaded("exp/x", Entry("/model", None, True, False))
    model = _loaded("model/m", source="structured://")  # the store's, chosen by x
    logs = _loaded("hydra/job_logging/x", parent="model/m", source="pkg://hydra.conf")
    hydras = _loaded("hydra/output/default", parent="hydra/config",
                     source="pkg://hydra.conf")  # fmt: skip
    orphan = _loaded("hydra/env/x", parent="nowhere", source="pkg://hydra.conf")
    climbs = _loaded("hydra/../exp/y", source="pkg://hydra.conf")
    found = files([HYDRA_CONFIG, CONFIG, chooser, model, logs, hydras, orphan,
                   climbs], OWN)  # fmt: skip
    assert found == {"exp/x", "model/m", "hydra/job_logging/x", "hydra/env/x",
                     "hydra/../exp/y"}  # fmt: skip


SWEEP = {"sweeper": {"params": {"a": "1,2"}}}


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (_loaded("exp/x", hydra=SWEEP), None),
        (_loaded("exp/x", seed=1), None),
        (_loaded("exp/x", hydra={"sweeper": {"params": {}, "x": 1}}),
         "exp/x sets hydra"),
        (_loaded("exp/x", hydra={}), "exp/x sets hydra"),
        (_loaded("exp/x", Entry("/hydra/launcher", None, True, False)),
         "exp/x chooses /hydra/launcher"),
        (_loaded("exp/x", Entry("hydra/launcher", None, True, False)),
         "exp/x chooses hydra/launcher"),  # exp/hydra/launcher, or hydra/launcher
        (_loaded("schema", Entry("hydra//job_logging", None, False, False)),
         "schema chooses hydra//job_logging"),
        (_loaded("hydra/launcher/mine", Entry("x", None, False, False)),
         "hydra/launcher/mine chooses x"),  # a file inside hydra/: relative to it
        (_loaded("exp/x", Entry("/model", "hydra.callbacks.x", False, False)),
         "exp/x chooses /model"),
        (_loaded("exp/x", Entry("/model", "_global_.hydra", False, False)),
         "exp/x chooses /model"),
        (_loaded("exp/x", Entry("../model", None, True, False)),
         "exp/x chooses ../model"),
        (_loaded("hydra/launcher/y", Entry("z", None, False, True),
                 source="structured://", parent="hydra/config"),
         "hydra/launcher/y interpolates its defaults list"),
        (_loaded("model/m", source="structured://", hydra={"run": {"dir": "/"}}),
         "model/m sets hydra outside a hydra/ group"),
        (_loaded("hydra/sweeper/s", source="structured://", parent="hydra/config",
                 hydra=SWEEP), "hydra/sweeper/s sets hydra.sweeper.params"),
        (_loaded("hydra/sweeper/s", source="structured://", parent="hydra/config",
                 hydra={"sweeper": {"params": None}}), None),
    ],
)  # fmt: skip
def test_what_makes_a_composition_compare_hydra(config, reason):
    assert reaching_hydra([HYDRA_CONFIG, CONFIG, config], OWN) == reason


def test_a_config_that_is_no_mapping_is_compared():
    listed = Loaded("exp/x", "config", "exp", "file:///mine", [1, 2], ())
    assert reaching_hydra([CONFIG, listed], OWN) == "exp/x is not a mapping"


def test_the_command_lines_own_node_is_composed_once_and_cleaned_up(tmp_path):
    (tmp_path / "hydra" / "job_logging").mkdir(parents=True)
    (tmp_path / "hydra" / "job_logging" / "mine.yaml").write_text("version: 1\n")
    register()
    hydra = main_hydra(str(PRIMARY), str(tmp_path), [SHIPPED])
    line = ["hydra/job_logging=mine", "+exp=grad"]
    own = OwnNode(str(PRIMARY), str(PRIMARY), str(tmp_path), parse(line), hydra)
    try:
        node, whole = own.get()
        assert own.get()[0] is node and node["job_logging"] == {"version": 1}
        added = Path(own._added or "")
        assert (added / "hydra" / "job_logging" / "mine.yaml").is_symlink()
        assert "exp" not in whole and "model" in whole
    finally:
        own.close()
        GlobalHydra.instance().clear()
    assert not added.exists()


def test_a_config_file_cannot_choose_a_ray_cluster(tmp_path):
    """A Ray driver loads what the cluster returns: only the command line picks one."""
    from runner.app.pytest_plugin import experiment_table
    from runner.config.trust import check_ray_address

    with pytest.raises(ConfigError) as err:
        check_ray_address("evil.example:6379", ["+exp=jacobian_sweep"], " (x)")
    assert err.value.key == "sweep.ray.address"
    assert "only the command line (sweep.ray.address=HOST:PORT)" in str(err.value)
    check_ray_address("127.0.0.1:6379", ["sweep.ray.address=127.0.0.1:6379"])
    check_ray_address(None, [])  # not set: a local Ray, or no Ray at all
    # Under the pytest plugin a file's executor and address are not used at all.
    cfg = {"model": {"_target_": "runner.models.tutorial.linear"},
           "inputs": [2.0, 1.0], "diff": {"kind": "grad"},
           "sweep": {"inputs": {"0": [1.0, 2.0]}, "executor": "ray",
                     "ray": {"address": "evil.example:6379"}}}  # fmt: skip
    table = experiment_table(cfg, "hostile", ["runner.models."])
    assert table["value"].tolist() == [2.0, 2.0]  # d(2x + y)/dx, computed here
