"""One job: a composed config in, tables and a ``run.json`` record out.

The config is turned into plain Python containers before anything else, and
validated once into a :class:`runner.config.spec.Spec` (the schema uses OmegaConf to
check types); the stages below see the spec, never a ``DictConfig``, and never
Hydra. A job that fails records why in ``run.json`` (status, error type, message)
and writes no results table.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import sys
import time
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console

from ..compute.experiment import Result, compute
from ..compute.nonfinite import describe_nonfinite, raise_on_nonfinite
from ..compute.rows import result_columns
from ..config.build import build_experiment
from ..config.errors import ConfigError, RunnerError, wants_traceback
from ..config.spec import Spec, is_swept, to_spec
from ..results.dataset import DATASET
from ..results.outdirs import (
    PLOT,
    RUN_OUTPUTS,
    SUMMARY,
    SWEEP_PLOT,
    TABLE_FILES,
    check_kind,
    check_links,
    discard,
    foreign_files,
    recorded,
)
from ..results.record import RUN_RECORD, read_run, write_run
from ..results.summary import console_for, print_summary, save_summary
from ..results.tables import table_file, write_tables
from .distributed import ChunksFailed

__all__ = ["execute", "run_job", "to_plain", "versions"]

_PACKAGES = ("jax", "jaxlib", "hydra-core", "omegaconf", "pandas", "autodiff-runner")


def to_plain(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """The experiment part of a config as plain dicts and lists (no ``hydra`` key).

    Example:
        >>> to_plain(OmegaConf.create({"seed": 1, "hydra": {"x": 1}}))
        {'seed': 1}
    """
    if isinstance(cfg, DictConfig):
        cfg = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)  # type: ignore[assignment]
    return {k: v for k, v in cfg.items() if k != "hydra"}


@cache  # once per process: every job of a sweep records the same versions
def versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on.

    Example:
        >>> "jax" in versions() and "python" in versions()
        True
    """
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def execute(plain: dict[str, Any]) -> list[Result]:
    """Validate ``plain`` (:func:`runner.config.spec.to_spec`), seed, build the model
    and inputs, and compute the derivative.

    Example:
        >>> plain = {"model": {"_target_": "runner.models.tutorial.linear"},
        ...          "inputs": [2.0, 1.0], "diff": {"kind": "grad"}}
        >>> [float(r.array) for r in execute(plain)]
        [2.0]
    """
    return compute(*build_experiment(to_spec(plain)))


def execute_sweep(
    plain: dict[str, Any], console: Console | None = None
) -> dict[str, Any]:
    """Run the vectorized sweep of ``plain['sweep']`` (chunk size and memory
    budget as in a job); return its whole table's columns, in memory.

    A progress bar shows chunks done when ``console`` is a terminal.

    Example:
        >>> plain = {"model": {"_target_": "runner.models.tutorial.linear"},
        ...          "inputs": [2.0, 1.0], "sweep": {"inputs": {"1": [1.0, 2.0]}}}
        >>> execute_sweep(plain)["inputs.1"].tolist()
        [1.0, 2.0]
    """
    from .progress import chunk_progress
    from .vectorized import build_sweep

    with chunk_progress(console or console_for(stderr=True)) as on_chunk:
        return build_sweep(plain).table(on_chunk)


def _complete(output_dir: Path, prior: dict[str, Any]) -> bool:
    """Whether the run that wrote ``prior`` (its ``run.json``) finished and its
    tables are all there."""
    tables = [n for n in prior.get("written") or [] if n in TABLE_FILES]
    return (
        prior.get("status") == "ok"
        and bool(tables)
        and all((output_dir / name).exists() for name in tables)
    )


def _plot(
    results: list[Result],
    output_dir: Path,
    title: str,
    kind: str,
    record: dict[str, Any],
) -> None:
    """Draw ``results.png``; a failure is a warning (kept in ``run.json``)."""
    try:
        from ..results.plots import plot_results  # matplotlib is loaded only to plot

        plot_results(results, output_dir / PLOT, title=title, kind=kind)
    except Exception as err:
        if wants_traceback():
            raise
        record["plot_error"] = " ".join(f"{type(err).__name__}: {err}".split())
        print(f"warning: output.plots: {record['plot_error']}", file=sys.stderr)


def run_job(
    cfg: DictConfig | dict[str, Any],
    output_dir: Path,
    title: str = "experiment",
    console: Console | None = None,
    sweep_id: str | None = None,
    config_files: dict[str, str] | None = None,
) -> int:
    """Run one experiment and write ``results.*`` and ``run.json`` to ``output_dir``.

    However the job ends, ``run.json`` tells how: ``ok`` with its tables,
    ``failed`` (any exception, ``BaseException``s such as ``sys.exit`` and
    ``asyncio.CancelledError`` included, or a table that could not be written) with
    the error and no table, or ``running`` if the process was killed. A
    ``KeyboardInterrupt`` is recorded, then raised again.

    Args:
        cfg: the composed config (or its plain twin).
        output_dir: the job's directory; created if missing.
        title: the experiment's name, for the summary.
        console: where the summary goes (default: stdout).
        sweep_id: the id of the ``-m`` sweep this job belongs to (recorded in
            ``run.json``, so that only this sweep's jobs are gathered); None for a
            single run.
        config_files: the file each config group option came from (``exp``,
            ``model``), recorded in ``run.json`` and shown in the summary.

    Returns:
        0 on success, 1 on a failure (recorded in ``run.json`` and printed as one
        line on stderr). With ``HYDRA_FULL_ERROR=1`` the error is raised instead.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> cfg = {"model": {"_target_": "runner.models.tutorial.linear"},
        ...        "inputs": [2.0, 1.0], "output": {"summary": False}}
        >>> run_job(cfg, d), sorted(p.name for p in d.iterdir())
        (0, ['results.csv', 'results.parquet', 'results.png', 'run.json'])
    """
    plain = to_plain(cfg)
    try:  # the one validation, whether cfg was composed or written in Python
        spec, invalid = to_spec(plain), None
    except ConfigError as err:
        spec, invalid = to_spec({}), err  # recorded below as the job's failure
    output = spec.output
    output_dir = Path(output_dir)
    record = _new_record(plain, title, sweep_id, config_files)
    prior, ours, will, problem = _claim(output_dir, spec, single=sweep_id is None)
    if problem:  # nothing of the directory is touched
        print(f"error: {problem}", file=sys.stderr)
        return 1
    record["written"] = will  # what a failure (or the next run) may remove
    same = bool(prior) and all(
        prior.get(k) == record.get(k) for k in ("config_hash", "sweep_id")
    )
    if spec.resume and same and _complete(output_dir, prior):
        print(f"resume: skipped, {output_dir} already holds this config's result "
              f"(run.json ok, config_hash {record['config_hash'][:12]}).")  # fmt: skip
        return 0
    resume_from = prior if spec.resume and same else None
    if resume_from is not None:  # a sweep's parts are kept, to go on from them
        ours = [n for n in ours if n != DATASET]
    start = time.perf_counter()
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        write_run(output_dir, record)
        discard(output_dir, ours)  # an earlier run's: it must not look like ours
    except OSError as err:
        print(f"error: hydra.run.dir: cannot write to {output_dir} ({err.strerror}); "
              f"choose a writable directory.", file=sys.stderr)  # fmt: skip
        return 1
    try:
        if invalid is not None:
            raise invalid
        results, done = _compute_and_write(spec, plain, output_dir, title, record,
                                           resume_from)  # fmt: skip
        record.update(status="ok", rows=done["rows"])
        record["written"] = [n for n in will if (output_dir / n).exists()
                             or n == SUMMARY]  # fmt: skip  # written below
        record["seconds"] = round(time.perf_counter() - start, 3)
        write_run(output_dir, record)
    except BaseException as err:  # sys.exit, CancelledError, a library's own
        return _fail(err, output_dir, record, start)
    if output.summary:
        _summarize(spec, title, results, done, record, output_dir, console)
    return 0


def _new_record(
    plain: dict[str, Any],
    title: str,
    sweep_id: str | None,
    config_files: dict[str, str] | None,
) -> dict[str, Any]:
    """The ``run.json`` of a job that starts: ``running``, with what identifies it."""
    hashed = {k: v for k, v in plain.items() if k != "resume"}  # same result either way
    encoded = json.dumps(hashed, sort_keys=True, default=str).encode()
    record: dict[str, Any] = {
        "status": "running",
        "experiment": title,
        "config_hash": hashlib.sha256(encoded).hexdigest(),
        "versions": dict(versions()),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    if sweep_id is not None:
        record["sweep_id"] = sweep_id
    if config_files:
        record["config_files"] = dict(config_files)
    return record


def _summarize(
    spec: Spec,
    title: str,
    results: list[Result],
    done: dict[str, Any],
    record: dict[str, Any],
    output_dir: Path,
    console: Console | None,
) -> None:
    """Print the summary (to ``console``, default stdout) and keep it in
    ``summary.txt`` and the job's log."""
    saved = console_for(file=io.StringIO(), record=True)
    for target in (console or console_for(), saved):  # the screen, summary.txt
        if results:
            print_summary(title, results, target, spec.diff.fixed_point_tol)
        else:
            target.print(f"{title}: {done['points']:,} point(s), {done['rows']:,} rows "
                         f"in {record['seconds']} s")  # fmt: skip
        for group, path in (record.get("config_files") or {}).items():
            target.print(f"{group}: {path}", highlight=False)
        tables = [n for n in record.get("written", []) if n in TABLE_FILES]
        if tables:
            target.print(f"results: {output_dir / tables[0]}")
    save_summary(saved.export_text(), output_dir)


def _compute_and_write(
    spec: Spec,
    plain: dict[str, Any],
    output_dir: Path,
    title: str,
    record: dict[str, Any],
    resume_from: dict[str, Any] | None,
) -> tuple[list[Result], dict[str, Any]]:
    """Compute the job's results, write its tables and draw its plot.

    Returns the results (none for a vectorized sweep) and ``points`` and ``rows``.
    """
    output = spec.output
    if is_swept(spec):
        from .progress import chunk_progress
        from .vectorized import run_vectorized

        args = build_experiment(spec)
        with chunk_progress(console_for(stderr=True)) as on_chunk:
            done = run_vectorized(spec, plain, args, output_dir, record,
                                  resume_from, on_chunk)  # fmt: skip
        return [], done
    results = compute(*build_experiment(spec))
    if output.fail_on_nonfinite:
        raise_on_nonfinite(results)
    table = result_columns(results)
    write_tables(table, output_dir, output.formats, output.precision)
    for row in results:
        if row.quantity.startswith("nonfinite_"):
            print(f"warning: {describe_nonfinite(row)}; see the {row.quantity} "
                  f"rows, or set output.fail_on_nonfinite=true to fail.",
                  file=sys.stderr)  # fmt: skip
    if output.plots:
        _plot(results, output_dir, title, spec.diff.kind.value, record)
    return results, {"points": 1, "rows": len(table["value"])}


def _outputs(spec: Spec) -> list[str]:
    """The files of its directory a job of ``spec`` may write."""
    output = spec.output
    names = [table_file(fmt) for fmt in output.formats]
    if is_swept(spec) and DATASET not in names:  # its parts, until CSV is written
        names.append(DATASET)
    if output.plots:
        names.append(SWEEP_PLOT if is_swept(spec) else PLOT)
    if output.summary:
        names.append(SUMMARY)
    return names


def _claim(
    output_dir: Path, spec: Spec, single: bool
) -> tuple[dict[str, Any] | None, list[str], list[str], ConfigError | None]:
    """The earlier run's record (or None), the files of ``output_dir`` it recorded
    as its own, those this job may write, and why the job may not use the
    directory (or None)."""
    prior: dict[str, Any] | None = None
    unreadable: ConfigError | None = None
    try:
        if (output_dir / RUN_RECORD).exists():
            prior = dict(read_run(output_dir))
    except (OSError, ValueError) as err:
        unreadable = ConfigError(
            "hydra.run.dir",
            f"{output_dir / RUN_RECORD} cannot be read ({type(err).__name__}), so "
            f"which files of the directory the runner wrote is unknown; remove them "
            f"(or the record) yourself, or choose another hydra.run.dir.",
        )
    ours, will = recorded(prior, RUN_OUTPUTS), _outputs(spec)
    problem = unreadable or (
        (check_kind(output_dir, sweep=False) if single else None)
        or check_links(output_dir)
        or foreign_files(output_dir, will, ours)
    )
    return prior, ours, will, problem


def _fail(
    err: BaseException, output_dir: Path, record: dict[str, Any], start: float
) -> int:
    """Record ``err`` in ``run.json`` (removing any table), print it, return 1."""
    if isinstance(err, SystemExit):
        message = (f"sys.exit({err.code!r}) was called while the job ran (by the "
                   f"model or a library it calls); a model reports a failure by "
                   f"raising an exception.")  # fmt: skip
    else:
        message = " ".join(str(err).split())  # one line, whatever the cause printed
    written = record.get("written", [])
    if isinstance(err, (KeyboardInterrupt, ChunksFailed)) and "sweep" in record:
        written = [n for n in written if n != DATASET]  # resume=true goes on
        message += " (the chunks written are kept; resume=true computes the rest)"
    record.update(status="failed", error_type=type(err).__name__, error=message)
    record["seconds"] = round(time.perf_counter() - start, 3)
    try:  # a failed job must not look complete: no table of its own is left
        discard(output_dir, written)
        write_run(output_dir, record)
    except OSError as write_err:  # e.g. the disk is still full: shows as incomplete
        message += (f" (run.json could not record it: {write_err.strerror}; the "
                    f"job shows as incomplete)")  # fmt: skip
    if wants_traceback() or isinstance(err, KeyboardInterrupt):
        raise err  # Ctrl-C stops the sweep too, once the job's record says so
    where = "" if isinstance(err, RunnerError) else f"{type(err).__name__}: "
    print(f"error: {where}{message}", file=sys.stderr)
    return 1
