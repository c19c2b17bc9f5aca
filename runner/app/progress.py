"""Progress of sweeps: jobs of a ``-m`` sweep, chunks of a vectorized one.

:func:`chunk_progress` reports a vectorized sweep's points: a bar with points per
second and an ETA on a terminal; when output is redirected, a plain line every few
seconds (and one at the end) for sweeps of more than one chunk, so logs of long
sweeps show how far they got.

:class:`SweepProgress` is a Hydra callback (``hydra.callbacks.progress`` in
``configs/main/config.yaml``). It counts the sweep's jobs when the multirun starts and
advances after each job, reading the job's status from its ``run.json``. It draws
nothing unless both stdout and stderr are terminals, so logs and CI output stay
clean. With launchers that run ``on_job_end`` in worker processes (joblib), the bar
in the main process does not advance while the jobs run (it shows the total and the
elapsed time) and catches up from the jobs' ``run.json`` when the sweep ends. The
callback never fails a sweep: any problem only turns the bar off.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

__all__ = ["SweepProgress", "chunk_progress", "count_jobs"]

#: Seconds between two plain progress lines of a vectorized sweep.
LINE_EVERY = 5.0

#: The config-group choice (``hydra/sweeper``) of Hydra's basic sweeper.
BASIC_SWEEPER = "basic"


def count_jobs(
    overrides: Sequence[str],
    params: Mapping[str, Any] | None = None,
    config_loader: Any = None,
) -> int | None:
    """How many jobs Hydra's basic sweeper launches for ``overrides``.

    The product of the lengths of the sweeps (``a=1,2``, ``range(3)``,
    ``choice(...)``), the last override of a key winning, as the basic sweeper does.

    Args:
        overrides: the command line's task overrides (``hydra.overrides.task``).
        params: the sweeper's ``hydra.sweeper.params`` (key -> sweep), placed before
            ``overrides``.
        config_loader: Hydra's config loader, needed to expand ``glob(...)`` sweeps.

    Returns:
        The number of jobs, or None when it cannot be known here (an ``interval``
        sweep, a ``glob`` without a loader, an override that does not parse).

    Example:
        >>> count_jobs(["+exp=jacobian", "model.a=0.0,0.5,1.0", "seed=range(2)"])
        6
        >>> count_jobs(["seed=1,2"], params={"model.a": "0.0,0.5"})
        4
        >>> count_jobs(["lr=interval(0,1)"]) is None
        True
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    arguments = [f"{k}={v}" for k, v in (params or {}).items()] + list(overrides)
    try:
        parser = OverridesParser.create(config_loader=config_loader)
        sizes: dict[str, int] = {}
        for override in parser.parse_overrides(arguments):
            key = override.get_key_element()
            if not override.is_sweep_override():
                sizes[key] = 1
            elif override.is_discrete_sweep():
                sizes[key] = len(list(override.sweep_string_iterator()))
            else:
                return None
    except Exception:
        return None
    return math.prod(sizes.values())


def _job_failed(config: Any, job_return: Any) -> bool:
    """Whether a job failed: its ``run.json`` status, else Hydra's job return
    (a failed status, or a non-zero return value such as ``run_job``'s)."""
    from hydra.core.utils import JobStatus

    try:
        from ..results.record import read_run

        job_dir = Path(str(config.hydra.runtime.output_dir))
        return read_run(job_dir).get("status") != "ok"
    except Exception:
        status = getattr(job_return, "status", None)
        if status == JobStatus.COMPLETED:
            return bool(job_return.return_value)
        return status == JobStatus.FAILED


class SweepProgress(Callback):
    """Hydra callback: a rich progress bar over a multirun's jobs.

    Args:
        enabled: draw the bar; None (the default) draws it only when stdout and
            stderr are both terminals.
        console: the rich console to draw on (default: a new one on stderr).

    Example:
        >>> from omegaconf import OmegaConf
        >>> cfg = OmegaConf.create({"hydra": {"overrides": {"task": ["a=1,2"]},
        ...     "runtime": {"choices": {"hydra/sweeper": BASIC_SWEEPER}},
        ...     "sweeper": {"params": None}}})
        >>> bar = SweepProgress(enabled=False)
        >>> bar.on_multirun_start(cfg)
        >>> bar.total, bar.progress is None
        (2, True)
    """

    def __init__(self, enabled: bool | None = None, console: Any = None) -> None:
        self.enabled = enabled
        self.console = console
        self.total: int | None = None
        self.done = 0
        self.failed = 0
        self.progress: Any = None
        self._task: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # Launchers may pickle callbacks to worker processes; a live bar stays here.
        state = dict(self.__dict__)
        state.update(progress=None, _task=None, console=None)
        return state

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Count the jobs and start the bar (when drawing)."""
        self.total = _total(config)
        self.done = self.failed = 0
        enabled = self.enabled
        if enabled is None:
            enabled = _is_terminal(sys.stdout) and _is_terminal(sys.stderr)
        if not enabled:
            return
        try:
            self._start()
        except Exception:
            self.progress = None

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        """Count the job as done (and failed, if it failed) and advance the bar."""
        if self.progress is None:
            return
        try:
            self.done += 1
            self.failed += _job_failed(config, job_return)
            self.progress.update(self._task, completed=self.done, failed=self.failed)
        except Exception:
            self._stop()

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        """Stop the bar, leaving its last state on screen.

        Jobs whose ``on_job_end`` ran elsewhere (worker processes) are counted
        from the ``run.json`` files of the sweep's directory first.
        """
        if self.progress is not None:
            try:
                from ..results.record import RUN_RECORD, read_run

                runs = Path(str(config.hydra.sweep.dir)).glob(f"*/{RUN_RECORD}")
                statuses = [read_run(p.parent).get("status") for p in runs]
                if len(statuses) > self.done:
                    self.done = len(statuses)
                    self.failed = sum(s != "ok" for s in statuses)
                    self.progress.update(
                        self._task, completed=self.done, failed=self.failed
                    )
            except Exception:
                pass
        self._stop()

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        progress = Progress(
            TextColumn("[bold]sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("jobs, [red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console or Console(stderr=True),
            redirect_stdout=True,
            redirect_stderr=True,
            refresh_per_second=4,
        )
        self._task = progress.add_task("sweep", total=self.total, failed=0)
        progress.start()
        self.progress = progress

    def _stop(self) -> None:
        progress, self.progress = self.progress, None
        if progress is not None:
            try:
                progress.stop()
            except Exception:
                pass


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def _total(config: Any) -> int | None:
    """The sweep's number of jobs from its config, or None when unknown."""
    try:
        hydra = config.hydra
        sweeper = hydra.get("sweeper") or {}
        choice = hydra.runtime.choices.get("hydra/sweeper")
        overrides = list(hydra.overrides.task)
        if choice != BASIC_SWEEPER:
            trials = sweeper.get("n_trials")
            return int(trials) if isinstance(trials, int) else None
        loader = None
        from hydra.core.global_hydra import GlobalHydra

        if GlobalHydra.instance().is_initialized():
            loader = GlobalHydra.instance().config_loader()
        return count_jobs(overrides, sweeper.get("params"), loader)
    except Exception:
        return None


@contextmanager
def chunk_progress(
    console: Any, every: float = LINE_EVERY
) -> Iterator[Callable[[int, int], None]]:
    """A reporter of a vectorized sweep's points, ``on_chunk(done, total)``.

    On a terminal: a bar of points with points per second and an ETA, gone when
    the sweep ends. Otherwise, for sweeps of more than one chunk: a line on
    ``console`` at most every ``every`` seconds, and one when the last chunk is
    done (a sweep done in its first report, one chunk, prints nothing).

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> out = io.StringIO()
        >>> with chunk_progress(Console(file=out), every=0) as report:
        ...     report(2, 4); report(4, 4)
        >>> [line.split(",")[0] for line in out.getvalue().splitlines()]
        ['sweep: 2/4 points (50%)', 'sweep: 4/4 points (100%)']
    """
    if console.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = (TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("points"), TextColumn("{task.fields[rate]}"),
                   TextColumn("ETA"),
                   TimeRemainingColumn())  # fmt: skip
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("sweep", total=None, rate="")
            start = time.perf_counter()

            def update(done: int, total: int) -> None:
                rate = done / max(time.perf_counter() - start, 1e-9)
                bar.update(task, completed=done, total=total, rate=f"{rate:,.0f}/s")

            yield update
        return
    start = last = time.perf_counter()
    first = True

    def line(done: int, total: int) -> None:
        nonlocal last, first
        now = time.perf_counter()
        single, first = first and done >= total, False
        if single or (now - last < every and done < total):
            return
        last = now
        rate = done / max(now - start, 1e-9)
        eta = f", ETA {(total - done) / rate:.0f} s" if done < total else ""
        console.print(f"sweep: {done}/{total} points ({100 * done // total}%), "
                      f"{rate:,.0f} points/s{eta}", highlight=False)  # fmt: skip

    yield line
