"""Regression tests for experiment configs: ``pytest --runner-configs DIR``.

Each experiment file ``DIR/exp/<name>.yaml`` becomes one test item. It composes
``+exp=<name>`` with Hydra's Compose API (the project's configs, with ``DIR`` added
to the search path, as ``--config-dir DIR`` does), runs it through
:func:`runner.app.job.run_job` (no plots, no summary) and compares the table with its
golden, ``DIR/goldens/<name>.csv``:

- no golden yet: it is written and the test fails, saying so (check it, commit it,
  run again), as pytest-regressions does;
- a difference beyond the tolerances: the test fails listing the rows and columns
  that differ, expected against obtained;
- ``--force-regen``: a golden that differs is rewritten (and the test fails once).

Options (command line, or the ini file without the dashes and with underscores):
``--runner-configs DIR`` (ini ``runner_configs``), ``--runner-goldens DIR`` (ini
``runner_goldens``; default ``DIR/goldens``), ``--runner-rtol`` / ``--runner-atol``
(defaults 1e-5 and 1e-6), ``--runner-allowed-targets mypkg.`` (ini
``runner_allowed_targets``: the packages whose ``_target_`` the configs may name),
and the ini-only ``runner_overrides``, lines ``<name>: override ...`` added when
composing that experiment (e.g. fewer points for a long sweep). With the command
line option the experiments are always collected; with the ini option only when
pytest's collection reaches ``DIR/exp`` (e.g. list it in ``testpaths``).
"""

from __future__ import annotations

import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..results.goldens import compare_tables, read_golden, write_golden

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ExperimentFile",
    "ExperimentItem",
    "RegressionFailure",
    "compose_experiment",
    "experiment_table",
]

_OPTIONS = (
    ("configs", None, "an experiment directory (with exp/ and model/) to test"),
    ("goldens", None, "where the golden tables live (default: <configs>/goldens)"),
    ("rtol", "1e-5", "relative tolerance of numeric columns"),
    ("atol", "1e-6", "absolute tolerance of numeric columns"),
    ("allowed_targets", None, "comma-separated module prefixes configs may name"),
)


class RegressionFailure(Exception):
    """An experiment that failed to run or whose table differs from its golden."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--runner-*`` options and their ini twins (see the module doc)."""
    group = parser.getgroup("runner", "experiment config regression tests")
    for name, default, text in _OPTIONS:
        flag = f"--runner-{name.replace('_', '-')}"
        group.addoption(flag, dest=f"runner_{name}", default=None, help=text)
        parser.addini(f"runner_{name}", text, default=default)
    parser.addini(
        "runner_overrides", "lines '<name>: override ...' per experiment", "linelist"
    )
    if find_spec("pytest_regressions") is None:  # else it defines --force-regen
        group.addoption(
            "--force-regen",
            action="store_true",
            default=False,
            help="rewrite golden tables that differ (the tests fail once)",
        )


def _setting(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"runner_{name}")
    return value if value is not None else config.getini(f"runner_{name}")


def _configs_dir(config: pytest.Config) -> Path | None:
    option = config.getoption("runner_configs")
    if option:
        return Path(option).resolve()
    ini = config.getini("runner_configs")
    if not ini:
        return None
    base = config.inipath.parent if config.inipath else config.rootpath
    return (base / ini).resolve()


def pytest_configure(config: pytest.Config) -> None:
    """With ``--runner-configs DIR``, collect ``DIR/exp`` besides the other paths."""
    option = config.getoption("runner_configs")
    if not option:
        return
    exp = Path(option).resolve() / "exp"
    if not exp.is_dir():
        raise pytest.UsageError(
            f"--runner-configs: {option} has no exp/ directory; expected a config "
            f"directory holding exp/<name>.yaml experiment files."
        )
    here = config.invocation_params.dir
    given = [(here / str(a).split("::")[0]).resolve() for a in config.args]
    if not any(exp == g or g in exp.parents for g in given):
        config.args.append(str(exp))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    """Collect ``<configs>/exp/<name>.yaml`` as an :class:`ExperimentFile`."""
    configs = _configs_dir(parent.config)
    if (
        configs is not None
        and file_path.suffix == ".yaml"
        and file_path.parent.resolve() == configs / "exp"
    ):
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


class ExperimentFile(pytest.File):
    """One experiment file; it holds one :class:`ExperimentItem`."""

    def collect(self) -> Any:
        """Yield the file's one test item."""
        yield ExperimentItem.from_parent(self, name=self.path.stem)


class ExperimentItem(pytest.Item):
    """Run one experiment and compare its table with its golden."""

    def runtest(self) -> None:
        """Compose, run, compare; write or rewrite the golden as asked."""
        config = self.config
        configs = _configs_dir(config)
        assert configs is not None  # collected only with a configs directory
        goldens = _setting(config, "goldens")
        base = config.inipath.parent if config.inipath else config.rootpath
        folder = (base / goldens).resolve() if goldens else configs / "goldens"
        golden = folder / f"{self.name}.csv"
        overrides = _overrides(config.getini("runner_overrides")).get(self.name, [])
        allowed = (_setting(config, "allowed_targets") or "").split(",")
        cfg = compose_experiment(self.name, configs, overrides)
        obtained = experiment_table(cfg, self.name, [p for p in allowed if p.strip()])
        if not golden.exists():
            write_golden(obtained, golden)
            raise RegressionFailure(
                f"golden table created: {golden}; check it, keep it with the configs "
                f"and run again."
            )
        rtol, atol = float(_setting(config, "rtol")), float(_setting(config, "atol"))
        problems = compare_tables(read_golden(golden), obtained, rtol, atol)
        if not problems:
            return
        if config.getoption("force_regen", default=False):
            write_golden(obtained, golden)
            raise RegressionFailure(f"golden table rewritten (--force-regen): {golden}")
        raise RegressionFailure(
            "\n".join(
                [
                    f"experiment {self.name!r} differs from its golden {golden} "
                    f"(rtol {rtol:g}, atol {atol:g}):",
                    *problems,
                    "if the change is intended, rewrite it with --force-regen.",
                ]
            )
        )

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        """The failure's own message, without a traceback, for our failures."""
        if isinstance(excinfo.value, RegressionFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the experiment is, for pytest's reports."""
        return self.path, 0, f"experiment {self.name}"


def _overrides(lines: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in lines:
        name, sep, rest = line.partition(":")
        if not sep or not name.strip():
            raise pytest.UsageError(
                f"runner_overrides: expected lines '<experiment>: override ...', "
                f"received {line!r}; e.g. 'jacobian_sweep: sweep.inputs.1.num=4'."
            )
        found.setdefault(name.strip(), []).extend(rest.split())
    return found


def compose_experiment(
    name: str, configs: Path | None = None, overrides: list[str] | None = None
) -> Any:
    """Compose ``+exp=name`` as ``python -m runner --config-dir configs`` would.

    Args:
        name: the experiment (a file ``exp/<name>.yaml``).
        configs: an extra config directory (None: the project's configs only).
        overrides: more command-line style overrides.

    Returns:
        The composed ``DictConfig``.

    Raises:
        RegressionFailure: the config does not compose; one line naming the key.

    Example:
        >>> compose_experiment("grad", overrides=["inputs.0=3.0"]).inputs
        [3.0, 1.0]
    """
    from hydra import compose, initialize_config_dir

    from ..config.schema import register
    from ..config.sources import check_sizes, shipped_dir, with_shipped_searchpath
    from .cli import PRIMARY, check_experiments, error_line

    register()
    extra = list(overrides or [])
    dirs = [] if configs is None else [f"--config-dir={Path(configs).resolve()}"]
    error = check_sizes([Path(configs)] if configs is not None else []) or (
        check_experiments([*dirs, f"+exp={name}", *extra])
    )
    if error:
        raise RegressionFailure(f"error: {error}")
    if configs is not None and Path(configs).resolve() != shipped_dir():
        # The directory's own files win over shipped ones of the same name.
        extra.append(f"hydra.searchpath=[file://{Path(configs).resolve()}]")
    extra = with_shipped_searchpath(extra)
    try:
        with initialize_config_dir(config_dir=str(PRIMARY), version_base="1.3"):
            return compose("config", overrides=[f"+exp={name}", *extra])
    except Exception as err:
        raise RegressionFailure(f"error: {error_line(err)}") from err


def experiment_table(
    cfg: Any, name: str = "experiment", allowed: list[str] | None = None
) -> pd.DataFrame:
    """Run a composed experiment as a job (no plots or summary); return its table.

    Args:
        cfg: the composed config (or its plain twin).
        name: the experiment's name.
        allowed: module prefixes the config's ``_target_`` may name, besides the
            defaults and ``RUNNER_ALLOWED_TARGETS`` (the config's own
            ``allowed_targets`` is ignored: a config never widens its permissions).

    Returns:
        The job's ``results`` table.

    Raises:
        RegressionFailure: the job failed; its one-line error.

    Example:
        >>> experiment_table(compose_experiment("grad"))["value"].tolist()
        [2.0]
    """
    import pandas as pd

    from ..config.errors import ALLOW_HINT
    from ..results.record import read_run
    from ..results.tables import table_file
    from .job import run_job, to_plain

    plain = to_plain(cfg)
    output = dict(plain.get("output") or {})
    output.update(plots=False, summary=False, formats=["parquet"])
    plain.update(output=output, allowed_targets=list(allowed or []), resume=False)
    if plain.get("sweep"):  # in this process, never on a cluster a file names
        sweep = {k: v for k, v in plain["sweep"].items() if k != "ray"}
        plain["sweep"] = {**sweep, "executor": "local"}
    cache = plain.get("compile_cache")
    if cache:  # absolute, so that a later change of directory cannot break it
        plain["compile_cache"] = str(Path(cache).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        hint = ALLOW_HINT.set("with --runner-allowed-targets {package}. (or the "
                              "ini option runner_allowed_targets)")  # fmt: skip
        try:
            failed = run_job(plain, Path(tmp), title=name)
        finally:
            ALLOW_HINT.reset(hint)
        if failed:
            record = read_run(Path(tmp))
            raise RegressionFailure(
                f"experiment {name!r} failed: {record.get('error', 'unknown error')}"
            )
        return pd.read_parquet(Path(tmp) / table_file("parquet"))
