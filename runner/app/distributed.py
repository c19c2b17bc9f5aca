"""A vectorized sweep's chunks as Ray tasks (``sweep.executor=ray``).

The driver (the job) records the sweep's layout, then submits one task per chunk
that is not done. A task rebuilds the model from the job's plain config in its
worker (seeded as the driver was, so random draws are the same), computes its
chunk and writes its part of the dataset itself, to the job's directory: workers
must see that directory (one machine, or a shared file system). A worker that
dies has its chunk run again up to ``sweep.ray.max_retries`` times (Ray's own
retry of system failures); a chunk still failing is reported by
:class:`ChunksFailed`, naming the chunk and the cause, and the parts written are
kept, so ``resume=true`` computes only what is missing. A part is written
atomically under its chunk's name, so a chunk run twice is written once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config.errors import RunnerError
from ..config.sweep_schema import RayConfig

__all__ = ["ChunksFailed", "run_on_ray"]

#: Object store of a Ray instance started for a sweep (chunks travel as files).
_OBJECT_STORE = 78_643_200
_SWEEPS: dict[str, Any] = {}  # per worker process: a config's compiled sweep


class ChunksFailed(RunnerError):
    """Chunks of a sweep that failed on every try; the others are written.

    Example:
        >>> str(ChunksFailed([3], "worker died", 2)).split(";")[0]
        'sweep.executor: chunk(s) [3] failed after 2 retries (worker died)'
    """

    def __init__(self, chunks: Sequence[int], cause: str, retries: int) -> None:
        self.chunks = list(chunks)
        super().__init__(
            f"sweep.executor: chunk(s) {self.chunks[:10]} failed after {retries} "
            f"retries ({cause}); the other chunks are written; fix the cause, then "
            f"run again with resume=true to compute only the missing chunks."
        )


def _compute_chunk(plain: dict[str, Any], dataset: str, chunk: int) -> int:
    """In a worker: compute chunk ``chunk`` of the sweep of ``plain`` and write its
    part; return its count of NaN/Inf values."""
    from ..results.dataset import write_part
    from .vectorized import build_sweep, count_chunk

    key = hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()
    if key not in _SWEEPS:
        _SWEEPS.clear()  # one config at a time per worker
        _SWEEPS[key] = build_sweep(plain)
    ((_, columns),) = _SWEEPS[key].run([chunk])
    write_part(Path(dataset), chunk, columns)
    return count_chunk(columns)


def _connect(ray: Any, config: RayConfig) -> None:
    env = {"env_vars": {"JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}}
    if config.address is None:
        ray.init(num_cpus=config.num_cpus, object_store_memory=_OBJECT_STORE,
                 include_dashboard=False, log_to_driver=False,
                 runtime_env=env)  # fmt: skip
    else:
        ray.init(address=config.address, log_to_driver=False, runtime_env=env)


def run_on_ray(
    plain: dict[str, Any],
    dataset: Path,
    chunks: Sequence[int],
    config: RayConfig,
    on_done: Callable[[int, int], None],
) -> None:
    """Compute ``chunks`` as Ray tasks; call ``on_done(chunk, nonfinite)`` as each
    one's part is written.

    Args:
        plain: the job's plain config, ``sweep.chunk_size`` set to the layout's.
        dataset: the dataset directory the workers write to.
        chunks: the chunks to compute.
        config: ``sweep.ray``.
        on_done: called in the driver for each chunk done.

    Raises:
        ImportError: Ray is not installed; says how to install it.
        ChunksFailed: chunks that failed ``1 + max_retries`` times.
    """
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            "sweep.executor=ray needs Ray; install it with pip install "
            "'autodiff-runner[ray]', or set sweep.executor=local."
        ) from err
    _connect(ray, config)
    try:
        task = ray.remote(num_cpus=1, max_retries=config.max_retries)(_compute_chunk)
        pending = {task.remote(plain, str(dataset), c): c for c in chunks}
        failed: dict[int, str] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    on_done(chunk, ray.get(ref))
                except ray.exceptions.RayError as err:
                    failed[chunk] = _cause(err)
        if failed:
            cause = next(iter(failed.values()))
            raise ChunksFailed(sorted(failed), cause, config.max_retries)
    finally:
        ray.shutdown()


def _cause(err: BaseException) -> str:
    """One line on why a task failed: its own error, or its worker's death."""
    inner = getattr(err, "cause", None)
    if isinstance(inner, BaseException):  # the task raised: the model's error
        return f"{type(inner).__name__}: {' '.join(str(inner).split())[:300]}"
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first[:300]}"
