"""The experiment schema, registered in Hydra's ConfigStore.

A config composed against these dataclasses fails at composition on an unknown
key, a wrong enum value or a wrong type, naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore

__all__ = [
    "DiffConfig",
    "ExperimentConfig",
    "Kind",
    "Mode",
    "OutputConfig",
    "SweepConfig",
    "SweepMode",
    "register",
]


class Kind(Enum):
    """The derivative to compute (the transform of ``runner.core`` of that name)."""

    grad = "grad"
    vector_grad = "vector_grad"
    jacobian = "jacobian"
    jacrev = "jacrev"
    jacfwd = "jacfwd"
    hessian = "hessian"


class Mode(Enum):
    """How ``kind: jacobian`` is computed (see ``runner.core.jacobian``)."""

    reverse = "reverse"
    forward = "forward"
    auto = "auto"


@dataclass
class DiffConfig:
    """What to differentiate and what to return.

    ``argnums``: an int, a list of ints, or null (0 when ``grad_vars`` is null).
    ``grad_vars``: an attribute path (``w``, ``layer.w``, ``layers.0.w``), a list of
    them, or a selector: ``"@train_vars"`` (every TrainVar) or ``"@vars"``.
    ``eigenvalues``: also report the eigenvalues of each square Jacobian.
    ``check``: also compute every derivative by central finite differences (float64
    where the model allows) and tabulate the largest absolute and relative error per
    ``wrt`` (quantities ``check_abs_error``, ``check_rel_error``); costs two calls
    of the function per differentiated scalar (about 2 n**2 for a Hessian).
    ``check_tol``: the largest relative error allowed; exceeding it fails the run
    (no table). Setting it turns ``check`` on; null only reports.
    ``mode``: for ``kind: jacobian``, ``reverse`` (jacrev), ``forward`` (jacfwd) or
    ``auto`` (the cheaper by input and output sizes).
    """

    kind: Kind = Kind.grad
    argnums: Any = None
    grad_vars: Any = None
    has_aux: bool = False
    return_value: bool = False
    eigenvalues: bool = False
    check: bool = False
    check_tol: Optional[float] = None  # noqa: UP045 (OmegaConf needs Optional)
    mode: Mode = Mode.reverse


@dataclass
class OutputConfig:
    """Where and how tables are written.

    ``formats``: any of ``csv`` and ``parquet``. ``precision``: significant digits
    of floats in CSV (null: full precision). ``summary``: print the console summary.
    ``plots``: draw the derivatives as PNGs, ``results.png`` beside each job's
    table and ``sweep.png`` in a sweep's directory (false: no plots, and matplotlib
    is not imported). ``fail_on_nonfinite``: fail the run (no table) when a result
    holds NaN or Inf; by default such arrays are only flagged, with a
    ``nonfinite_<quantity>`` row and a console warning.
    """

    formats: list[str] = field(default_factory=lambda: ["csv", "parquet"])
    precision: Any = None
    summary: bool = True
    plots: bool = True
    fail_on_nonfinite: bool = False


class SweepMode(Enum):
    """How swept values combine: every combination, or in step."""

    grid = "grid"
    zip = "zip"


@dataclass
class SweepConfig:
    """A vectorized sweep: every point in one compiled, batched call.

    ``inputs``: input position -> values (a whole input per point); ``model``:
    attribute path of a model Array -> values (e.g. ``current``). Values are a
    list, or a range ``{start, stop, num}`` (start/stop may be lists for vector
    inputs). ``mode``: ``grid`` or ``zip``. ``chunk_size``: points per compiled
    call, which bounds memory. Table columns are named ``inputs.<i>`` and
    ``model.<path>``, as in a ``-m`` sweep.
    """

    inputs: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    mode: SweepMode = SweepMode.grid
    chunk_size: int = 1024


@dataclass
class ExperimentConfig:
    """One experiment: a model, its inputs and a derivative.

    ``model``: a node with ``_target_`` naming a ``Base`` subclass (other keys are
    its constructor's keyword arguments) or a plain function. ``method``: the method
    to differentiate (null: call the object or function itself). ``inputs``: the
    positional arguments: numbers, nested lists, or generator nodes
    (``_target_: runner.inputs.linspace`` ...). ``allowed_targets``: extra module
    prefixes that ``_target_`` may name, besides ``models.`` and ``runner.inputs.``.
    ``compile_cache``: the directory of JAX's persistent compilation cache, so that a
    repeated run skips compiling (null: no cache). ``sweep``: a vectorized sweep
    (see :class:`SweepConfig`); null runs the single point. ``resume``: skip the
    job when its output directory already holds a complete result of the same
    config (``run.json`` status ok, the result tables present, the same
    ``config_hash``); failed or incomplete jobs run again.
    """

    model: Any = None
    method: Any = None
    inputs: list[Any] = field(default_factory=list)
    diff: DiffConfig = field(default_factory=DiffConfig)
    seed: int = 0
    output: OutputConfig = field(default_factory=OutputConfig)
    allowed_targets: list[str] = field(default_factory=list)
    compile_cache: Any = "outputs/.cache/jax"
    sweep: Optional[SweepConfig] = None  # noqa: UP045 (OmegaConf needs Optional)
    resume: bool = False


def register() -> None:
    """Register the schema as ``experiment_schema`` (idempotent).

    Example:
        >>> register()
        >>> "experiment_schema.yaml" in ConfigStore.instance().list("/")
        True
    """
    ConfigStore.instance().store(name="experiment_schema", node=ExperimentConfig)
