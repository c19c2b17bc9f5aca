"""The ``sweep`` block of the experiment schema: a vectorized sweep's points, its
chunks and where they run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from .sizes import DEFAULT_BUDGET

__all__ = ["Executor", "RayConfig", "SweepConfig", "SweepMode"]


class Executor(Enum):
    """Where a vectorized sweep's chunks are computed."""

    local = "local"
    ray = "ray"


@dataclass
class RayConfig:
    """Chunks as Ray tasks (``sweep.executor=ray``; ``pip install
    'autodiff-runner[ray]'``).

    ``address``: the cluster to join (``auto``, ``ray://host:10001`` or
    ``host:6379``); null starts a Ray instance on this machine for the sweep, with
    ``num_cpus`` workers (null: one per core). ``max_retries``: how many times a
    chunk whose worker died is run again before the job fails (naming the chunk
    and the cause; the chunks done are kept for ``resume=true``).
    """

    address: Optional[str] = None  # noqa: UP045 (OmegaConf's typing)
    num_cpus: Optional[int] = None  # noqa: UP045 (OmegaConf's typing)
    max_retries: int = 2


class SweepMode(Enum):
    """How swept values combine: every combination, or in step."""

    grid = "grid"
    zip = "zip"


@dataclass
class SweepConfig:
    """A vectorized sweep: every point in one compiled, batched call.

    ``inputs``: input position -> values (a whole input per point); ``model``:
    attribute path of a model Array -> values (e.g. ``current``). Values are a
    list, a range ``{start, stop, num}`` (``num`` a whole number >= 1, ends
    included; start and stop may be lists of equal length for vector inputs), or
    ``{start, stop, step}`` for numbers. ``mode``: ``grid`` or ``zip``.
    ``chunk_size``: points per compiled call, computed and written together
    (null: as many as ``memory_budget`` holds, ``256MB``, ``1GiB`` or bytes).
    ``executor``: ``local`` (this process) or ``ray`` (each chunk a Ray task,
    see :class:`RayConfig`). Table columns are named ``inputs.<i>`` and
    ``model.<path>``, as in a ``-m`` sweep. With no values under ``inputs`` and
    ``model`` (the default), nothing is swept.
    """

    inputs: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    mode: SweepMode = SweepMode.grid
    chunk_size: Optional[int] = None  # noqa: UP045 (OmegaConf's typing)
    memory_budget: Any = DEFAULT_BUDGET
    executor: Executor = Executor.local
    ray: RayConfig = field(default_factory=RayConfig)
