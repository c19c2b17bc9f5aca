"""Sweeps that survive a dead worker: one failed point, the others finish.

**Ray** (``hydra/launcher=local_ray`` or ``ray``): Hydra's Ray launcher waits on
every job with ``ray.get``; a job whose worker died raises there (after Ray's
retries, which ``local_ray`` turns off), and the whole sweep stops with no table.
:func:`launch_ray` waits on each job alone: a job whose worker died is recorded as
failed in its ``run.json``, with Ray's reason, and the others are kept.

**joblib** (``hydra/launcher=local_processes``):
Hydra's joblib launcher (``hydra/launcher=local_processes``) runs the jobs with
``joblib.Parallel`` on loky worker processes. When a worker dies (``os._exit``, a
segfault, the OOM killer), loky breaks the whole pool: ``Parallel`` raises
``TerminatedWorkerError``, every job that has not returned is lost and the sweep
stops with no table. :func:`launch` runs the jobs in rounds instead. Each job
leaves a marker when it starts; after a death, the jobs that had started (the
culprit is among them) run again one at a time, each in a fresh worker: one that
dies again is recorded as failed in its ``run.json``, the others finish, and the
jobs that had not started go on in parallel. A point that kills its worker thus
runs twice, and the jobs it took down with it run again. With ``n_jobs=1`` (which
joblib would run in this very process) each job runs alone in a worker.

Hydra instantiates launchers only from its ``hydra_plugins`` package, which
editable installs cannot extend, so rather than registering another plugin,
:func:`install` puts :func:`launch` (or :func:`launch_ray`) in place of the
function the launcher calls, in this process, for the duration of a multirun (the
:class:`ContainDeadWorkers` callback of ``configs/main/config.yaml``), and puts the
plugin's own back when it ends.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from importlib import import_module
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

__all__ = ["ContainDeadWorkers", "install", "launch", "launch_ray"]

log = logging.getLogger(__name__)


_JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
_RAY = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
# launcher -> (the module whose launch() it calls, our replacement)
_PATCHED = {
    _JOBLIB: ("hydra_plugins.hydra_joblib_launcher._core", "launch"),
    _RAY: ("hydra_plugins.hydra_ray_launcher._core", "launch_ray"),
}


def install(target: str = _JOBLIB) -> Callable[[], None] | None:
    """Make Hydra's joblib (or Ray) launcher contain dead workers, until undone.

    Args:
        target: the launcher's ``_target_`` (joblib's or Ray's).

    Returns:
        A function that puts the launcher's own ``launch`` back, or None when that
        launcher is not installed (``pip install -e ".[joblib]"`` or ``".[ray]"``).

    Example:
        >>> from hydra_plugins.hydra_joblib_launcher import _core
        >>> own = _core.launch
        >>> undo = install()
        >>> _core.launch is launch, undo() is None, _core.launch is own
        (True, True, True)
    """
    module, ours = _PATCHED[target]
    try:
        core = import_module(module)
    except ImportError:
        return None
    original = core.launch
    core.launch = globals()[ours]  # what the launcher's launch() calls

    def undo() -> None:
        core.launch = original

    return undo


class ContainDeadWorkers(Callback):
    """Hydra callback: while a multirun with the joblib (or Ray) launcher runs,
    its launcher calls :func:`launch` (or :func:`launch_ray`); importing the
    launcher only then keeps other runs quick, and its own ``launch`` is back
    when the multirun ends."""

    def __init__(self) -> None:
        self._undo: Callable[[], None] | None = None

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        target = OmegaConf.select(config, "hydra.launcher._target_")
        if target in _PATCHED:
            self._undo = install(target)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None


def _prepare(launcher: Any) -> Path:
    """Set up Hydra's globals and logging in this process, as its launchers do;
    create and return the sweep directory."""
    from hydra.core.utils import configure_log, setup_globals

    setup_globals()
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    return sweep_dir


def launch_ray(
    launcher: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
) -> list[Any]:
    """The Ray launcher's ``launch``, with dead workers contained.

    Args:
        launcher: the ``RayLauncher``, set up by Hydra.
        job_overrides: each job's overrides.
        initial_job_idx: the number of the first job.

    Returns:
        One ``JobReturn`` per job, in order.

    Example:
        >>> launch_ray(None, [], 0)
        []
    """
    if not job_overrides:
        return []
    import ray
    from hydra.core.singleton import Singleton
    from hydra.core.utils import filter_overrides
    from hydra_plugins.hydra_ray_launcher._launcher_util import (
        launch_job_on_ray,
        start_ray,
    )
    from omegaconf import open_dict

    sweep_dir = _prepare(launcher)
    log.info(f"Ray launcher: {len(job_overrides)} jobs, sweep dir {sweep_dir}")
    launcher.ray_cfg.init.setdefault("object_store_memory", 78643200)
    start_ray(launcher.ray_cfg.init)
    runs = []
    for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
        log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
        cfg = launcher.hydra_context.config_loader.load_sweep_config(
            launcher.config, list(overrides)
        )
        with open_dict(cfg):
            cfg.hydra.job.id = f"job_id_for_{idx}"
            cfg.hydra.job.num = idx
            runs.append(launch_job_on_ray(launcher.hydra_context,
                                          launcher.ray_cfg.remote, cfg,
                                          launcher.task_function,
                                          Singleton.get_state()))  # fmt: skip
    returns = []
    for idx, (overrides, run) in enumerate(zip(job_overrides, runs), initial_job_idx):
        try:
            returns.append(ray.get(run))
        except ray.exceptions.RayError as err:  # its worker died (or Ray failed it)
            reason = " ".join(str(err).split())[:300]
            returns.append(_record_death(launcher, idx, list(overrides), err, reason))
    return returns


def launch(
    launcher: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
) -> list[Any]:
    """The joblib launcher's ``launch``, with dead workers contained.

    Args:
        launcher: the ``JoblibLauncher``, set up by Hydra.
        job_overrides: each job's overrides.
        initial_job_idx: the number of the first job.

    Returns:
        One ``JobReturn`` per job, in order.

    Example:
        >>> launch(None, [], 0)
        []
    """
    if not job_overrides:
        return []
    from hydra.core.singleton import Singleton
    from hydra.core.utils import filter_overrides
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg

    sweep_dir = _prepare(launcher)
    joblib_cfg = dict(launcher.joblib)
    joblib_cfg["backend"] = "loky"  # the threading backend does not work with Hydra
    process_joblib_cfg(joblib_cfg)
    pending = {initial_job_idx + i: list(o) for i, o in enumerate(job_overrides)}
    log.info(f"Joblib.Parallel({joblib_cfg}) is launching {len(pending)} jobs")
    log.info(f"Launching jobs, sweep output dir : {sweep_dir}")
    for i, overrides in pending.items():
        log.info(f"\t#{i} : {' '.join(filter_overrides(overrides))}")
    run = _Runner(launcher, Singleton.get_state(), joblib_cfg)
    returns: dict[int, Any] = {}
    try:
        if joblib_cfg.get("n_jobs") == 1:  # joblib would run them in this process
            return [run.alone(i, o) for i, o in sorted(pending.items())]
        while pending:
            finished, died = run.round(pending)
            returns.update(finished)
            pending = {i: o for i, o in pending.items() if i not in returns}
            if not died:
                break
            started = [i for i in pending if run.started(i)] or list(pending)
            for i in started:  # one at a time, so that a death names its job
                returns[i] = run.alone(i, pending.pop(i))
    finally:
        shutil.rmtree(run.markers, ignore_errors=True)
    return [returns[i] for i in sorted(returns)]


class _Runner:
    """Runs rounds of jobs on loky workers, with a start marker per job."""

    def __init__(self, launcher: Any, state: Any, joblib_cfg: dict[str, Any]):
        self.launcher = launcher
        self.state = state
        self.joblib_cfg = joblib_cfg
        self.markers = Path(tempfile.mkdtemp(prefix="runner-joblib-"))
        self.death: BaseException | None = None

    def started(self, idx: int) -> bool:
        return (self.markers / str(idx)).exists()

    def round(
        self, jobs: dict[int, list[str]], n_jobs: int | None = None
    ) -> tuple[dict[int, Any], bool]:
        """Run ``jobs`` in parallel: the returns gathered, and whether a worker died."""
        from joblib import Parallel, delayed

        launcher = self.launcher
        for i in jobs:
            (self.markers / str(i)).unlink(missing_ok=True)
        calls = (
            delayed(_start_and_execute)(self.markers / str(i), i, overrides,
                                        launcher.hydra_context, launcher.config,
                                        launcher.task_function, self.state)
            for i, overrides in jobs.items()
        )  # fmt: skip
        cfg = {**self.joblib_cfg, "return_as": "generator_unordered"}
        if n_jobs is not None:
            cfg["n_jobs"] = n_jobs
        returns: dict[int, Any] = {}
        try:
            for i, job_return in Parallel(**cfg)(calls):
                returns[i] = job_return
        except BrokenProcessPool as err:
            self.death = err
            return returns, True
        return returns, False

    def alone(self, idx: int, overrides: list[str]) -> Any:
        """Run one job in a worker of its own; record it as failed if it dies."""
        # Two workers, one job: with n_jobs=1 joblib would run it in this process.
        returns, died = self.round({idx: overrides}, n_jobs=2)
        if not died:
            return returns[idx]
        assert self.death is not None
        return _record_death(self.launcher, idx, overrides, self.death)


def _start_and_execute(marker: Path, idx: int, *args: Any) -> tuple[int, Any]:
    """In a worker: leave ``marker``, then run the job as the joblib launcher does."""
    from hydra_plugins.hydra_joblib_launcher._core import execute_job

    marker.touch()
    return idx, execute_job(idx, *args)


def _record_death(
    launcher: Any,
    idx: int,
    overrides: list[str],
    err: BaseException,
    reason: str | None = None,
) -> Any:
    """Mark job ``idx`` failed in its ``run.json``; the ``JobReturn`` that says so."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import JobReturn, JobStatus
    from omegaconf import open_dict

    from ..results.record import sweep_id, write_run

    cfg = launcher.hydra_context.config_loader.load_sweep_config(
        launcher.config, overrides
    )
    with open_dict(cfg):  # as the worker had it, so that its directory resolves
        cfg.hydra.job.id = f"{cfg.hydra.job.name}_{idx}"
        cfg.hydra.job.num = idx
    HydraConfig.instance().set_config(cfg)
    sweep_dir = Path(str(cfg.hydra.sweep.dir))
    job_dir = sweep_dir / str(cfg.hydra.sweep.subdir)
    codes = re.search(r"exit codes of the workers are \{([^}]*)\}", str(err))
    reason = reason or (codes.group(1) if codes else type(err).__name__)
    message = (
        f"the worker process running this job died ({reason}): a crash, os._exit "
        f"or the OOM killer; run this point alone to see why."
    )
    record = _failed_record(job_dir, sweep_id(sweep_dir))
    record.update(status="failed", error_type=type(err).__name__, error=message)
    job_dir.mkdir(parents=True, exist_ok=True)
    write_run(job_dir, record)
    log.error(f"#{idx}: {message}")
    # Our jobs report failure by their return value (as run_job does) and in
    # run.json: a FAILED JobReturn would make Hydra's basic sweeper raise it and
    # stop the sweep.
    return JobReturn(overrides=overrides, cfg=cfg, hydra_cfg=cfg,
                     working_dir=os.getcwd(), task_name=str(cfg.hydra.job.name),
                     status=JobStatus.COMPLETED, _return_value=1)  # fmt: skip


def _failed_record(job_dir: Path, current: str | None) -> dict[str, Any]:
    """The ``run.json`` of ``job_dir`` if this sweep wrote it, else a new one.

    A job that died before it began leaves none, or one of an earlier sweep in a
    re-used ``hydra.sweep.dir`` (which the table would skip as not this sweep's).
    """
    from ..results.record import read_run

    try:
        record = dict(read_run(job_dir))
    except (OSError, ValueError):
        record = {}
    return record if record.get("sweep_id") == current else {"sweep_id": current}
