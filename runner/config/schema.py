"""The experiment schema, registered in Hydra's ConfigStore.

A config composed against these dataclasses fails at composition on an unknown
key, a wrong enum value or a wrong type, naming the key. Keys added with ``+`` on
the command line are not checked then; :func:`validated` checks the composed
experiment again before a job runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from .compile_cache import default_cache_dir
from .errors import ConfigError
from .sweep_schema import SweepConfig, SweepMode

__all__ = [
    "FORMATS",
    "DiffConfig",
    "Dynamics",
    "ExperimentConfig",
    "GRADIENT_KINDS",
    "JACOBIAN_KINDS",
    "SECOND_ORDER_KINDS",
    "Kind",
    "Mode",
    "OutputConfig",
    "SweepConfig",
    "SweepMode",
    "register",
    "unknown_key",
    "validated",
    "validated_diff",
]

FORMATS = ("csv", "parquet")  # what output.formats may hold


class Kind(str, Enum):
    """The derivative to compute (the transform of ``runner.core`` of that name).

    Members are strings too: ``Kind.grad == "grad"`` and ``f"{Kind.grad}"`` is
    ``grad``.
    """

    def __str__(self) -> str:
        return str(self.value)

    grad = "grad"
    vector_grad = "vector_grad"
    jacobian = "jacobian"
    jacrev = "jacrev"
    jacfwd = "jacfwd"
    hessian = "hessian"


class Dynamics(str, Enum):
    """What a Jacobian's eigenvalues describe (``diff.dynamics``)."""

    vector_field = "vector_field"
    map = "map"


class Mode(str, Enum):
    """How ``kind: jacobian`` is computed (see ``runner.core.jacobian``)."""

    def __str__(self) -> str:
        return str(self.value)

    reverse = "reverse"
    forward = "forward"
    auto = "auto"


#: The kinds whose result is a Jacobian (one block per output leaf and position).
JACOBIAN_KINDS = (Kind.jacobian, Kind.jacrev, Kind.jacfwd)
#: The kinds whose result has the shape of what was differentiated (a gradient).
GRADIENT_KINDS = (Kind.grad, Kind.vector_grad)
#: The kinds whose result is a matrix of second derivatives per pair of positions.
SECOND_ORDER_KINDS = (Kind.hessian,)


@dataclass
class DiffConfig:
    """What to differentiate and what to return.

    ``argnums``: an int, a list of ints, or null (0 when ``grad_vars`` is null).
    ``grad_vars``: an attribute path (``w``, ``layer.w``, ``layers.0.w``), a list of
    them, or a selector: ``"@train_vars"`` (every TrainVar) or ``"@vars"`` (every
    Variable except random generators' keys).
    ``eigenvalues``: also report the eigenvalues of each square Jacobian.
    ``dynamics``: ``vector_field`` (``x' = F(x)``: a fixed point has ``F(x) = 0``,
    stable when every real part is negative) or ``map`` (``x -> phi(x)``: the
    ``map_residual`` row is ``|phi(x) - x|``; eigenvalues are multipliers, stable
    when every ``|mu| < 1``; a periodic orbit's period map has one multiplier 1).
    ``check``: also compute every derivative by central finite differences (float64
    where the model allows) and tabulate the largest absolute and relative error per
    ``wrt`` (quantities ``check_abs_error``, ``check_rel_error``); costs two calls
    of the function per differentiated scalar (about 2 n**2 for a Hessian).
    ``check_tol``: the largest relative error allowed, else the run fails (no
    table); setting it turns ``check`` on; null only reports.
    ``mode``: for ``kind: jacobian``, ``reverse`` (jacrev), ``forward`` (jacfwd) or
    ``auto`` (the cheaper by input and output sizes).
    ``fixed_point``: for the Jacobian of a vector field in one input, first solve
    ``F(x) = 0`` by Newton's method from that input, then differentiate there (see
    :mod:`runner.compute.stability`); the solved point is tabulated as ``fixed_point``.
    ``fixed_point_tol``: the largest ``|F(x)|`` that counts as a fixed point (for
    Newton and the summary's verdict); raise it for float32 models with large
    terms (``|F|`` of terms near 1e3 cannot go much below 1e-4 in float32).
    """

    kind: Kind = Kind.grad
    argnums: Any = None
    grad_vars: Any = None
    has_aux: bool = False
    return_value: bool = False
    eigenvalues: bool = False
    dynamics: Dynamics = Dynamics.vector_field
    check: bool = False
    check_tol: Optional[float] = None  # noqa: UP045 (OmegaConf needs Optional)
    mode: Mode = Mode.reverse
    fixed_point: bool = False
    fixed_point_tol: float = 1e-5


@dataclass
class OutputConfig:
    """Where and how tables are written.

    ``formats``: any of ``csv`` and ``parquet``. ``precision``: significant digits
    of floats in CSV (null: full precision). ``summary``: print the console summary.
    ``plots``: draw the derivatives as PNGs, ``results.png`` beside each job's
    table and ``sweep.png`` in a sweep's directory (false: no plots, and matplotlib
    is not imported). ``fail_on_nonfinite``: fail the run (no table) when a result
    holds NaN or Inf; by default such arrays are only flagged, with a
    ``nonfinite_<quantity>`` row and a console warning. ``csv_max_rows``: a
    vectorized sweep's table past this many rows is written as Parquet only (CSV
    is for reading by eye; null: no limit).
    """

    formats: list[str] = field(default_factory=lambda: ["csv", "parquet"])
    precision: Any = None
    summary: bool = True
    plots: bool = True
    fail_on_nonfinite: bool = False
    csv_max_rows: Optional[int] = 1_000_000  # noqa: UP045 (OmegaConf's typing)


@dataclass
class ExperimentConfig:
    """One experiment: a model, its inputs and a derivative.

    ``model``: a node with ``_target_`` naming a ``Base`` subclass (other keys are
    its constructor's keyword arguments) or a plain function. ``method``: the name
    of the public method to differentiate (null: call the object or function
    itself). ``inputs``: the positional arguments: numbers, nested lists, or
    generator nodes (``_target_: runner.inputs.linspace`` ...). ``allowed_targets``:
    extra module prefixes that ``_target_`` may name, besides ``runner.models.`` and
    ``runner.inputs.``; ``python -m runner`` takes it only from the command line
    (a config file that sets it is refused). ``compile_cache``: the directory of
    JAX's persistent compilation cache, so that a repeated run skips compiling
    (default: a per-user directory,
    :func:`runner.config.compile_cache.default_cache_dir`; null: no cache).
    ``sweep``: a vectorized sweep (see :class:`SweepConfig`); with nothing under
    ``sweep.inputs`` and ``sweep.model`` (the default) or null, the single point
    runs, so a sweep can be added from the command line
    (``+sweep.inputs.1=[[1.0,2.0],[3.0,4.0]]``). ``resume``: skip the job when its
    output directory already holds a complete result of the same config
    (``run.json`` status ok, the result tables present, the same ``config_hash``);
    failed or incomplete jobs run again.
    """

    model: Any = None
    method: Any = None
    inputs: list[Any] = field(default_factory=list)
    diff: DiffConfig = field(default_factory=DiffConfig)
    seed: int = 0
    output: OutputConfig = field(default_factory=OutputConfig)
    allowed_targets: list[str] = field(default_factory=list)
    compile_cache: Optional[str] = field(default_factory=default_cache_dir)  # noqa: UP045
    sweep: Optional[SweepConfig] = field(default_factory=SweepConfig)  # noqa: UP045
    resume: bool = False


def register() -> None:
    """Register the schema as ``experiment_schema`` (idempotent).

    Example:
        >>> register()
        >>> from hydra.core.config_store import ConfigStore
        >>> "experiment_schema.yaml" in ConfigStore.instance().list("/")
        True
    """
    from hydra.core.config_store import ConfigStore  # Hydra only when composing

    ConfigStore.instance().store(name="experiment_schema", node=ExperimentConfig)


#: Keys that do not exist, and what to write instead.
_RENAMED = {"sweep.params": "sweep.inputs.<i> or sweep.model.<path>"}


def validated(plain: dict[str, Any]) -> ExperimentConfig:
    """Check an experiment against the schema; return it as the schema's dataclasses.

    Catches what composition lets through: keys added with ``+`` (``+resum=true``),
    and the types of a config built in Python. Values are converted as composition
    converts them (``"3"`` for an int field becomes 3, ``"grad"`` becomes
    ``Kind.grad``); defaults fill missing keys; free-form values (``model``,
    ``inputs``, ``diff.argnums``, the swept values) are kept as given and checked
    where they are used.

    Args:
        plain: the experiment as plain containers (no ``hydra`` key).

    Returns:
        An :class:`ExperimentConfig` whose nodes are :class:`DiffConfig`,
        :class:`OutputConfig` and :class:`SweepConfig` (or None).

    Raises:
        ConfigError: naming the first unknown key (with the known ones) or the first
            value of the wrong type (with the expected type).

    Example:
        >>> spec = validated({"diff": {"kind": "hessian", "argnums": [0, 1]}})
        >>> spec.diff.kind, spec.diff.argnums, spec.seed
        (<Kind.hessian: 'hessian'>, [0, 1], 0)
        >>> validated({"output": {"precison": 3}})
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: output.precison: unknown key (did you mean...
    """
    typed = OmegaConf.to_object(_merged(plain, ExperimentConfig))
    return _refill(typed, plain)  # type: ignore[arg-type]


def validated_diff(diff: dict[str, Any]) -> DiffConfig:
    """:func:`validated` of a ``diff`` node alone (a third of the cost).

    Raises:
        ConfigError: as :func:`validated`, naming ``diff.<key>``.

    Example:
        >>> validated_diff({"kind": "jacobian", "mode": "forward"}).mode
        <Mode.forward: 'forward'>
        >>> validated_diff({"kindd": "grad"})
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: diff.kindd: unknown key (did you mean diff...
    """
    if not isinstance(diff, dict):
        raise ConfigError(
            "diff",
            f"expected {_expected(DiffConfig)}, received {diff!r}; fix the value.",
        )
    typed = OmegaConf.to_object(_merged(diff, DiffConfig, "diff."))
    return _refill(typed, diff)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=8)
def _schema(schema: type, cache_dir: str) -> Any:
    """``schema`` as an OmegaConf node, built once per default ``compile_cache``
    (building it takes longer than merging a config into it; merging copies it)."""
    defaults = {"compile_cache": cache_dir} if schema is ExperimentConfig else {}
    return OmegaConf.structured(schema(**defaults))


def _merged(plain: dict[str, Any], schema: type, path: str = "") -> Any:
    """``plain`` merged into ``schema`` (the node at ``path``); errors become
    one-line ConfigErrors."""
    try:
        return OmegaConf.merge(
            _schema(schema, default_cache_dir()), _skeleton(schema, plain, path)
        )
    except OmegaConfBaseException as err:
        inner = str(err.full_key or "")
        key = f"{path}{inner}" if inner else path.rstrip(".") or "config"
        parent, _, name = key.rpartition(".")
        hints = _hints_at(parent)
        if isinstance(err, ConfigKeyError) or name not in hints:
            raise ConfigError(key, unknown_key(key, list(hints))) from None
        value = _value_at(plain, inner)
        raise ConfigError(
            key,
            f"expected {_expected(hints[name])}, received {value!r}; fix the value.",
        ) from None


def _refill(typed: Any, node: dict[str, Any]) -> Any:
    """Put the free-form values that :func:`_skeleton` left out back into ``typed``."""
    hints = typing.get_type_hints(type(typed))
    for key, value in node.items():
        current = getattr(typed, key)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            _refill(current, value)
        elif hints[key] is Any or typing.get_args(hints[key])[-1:] == (Any,):
            setattr(typed, key, value)
    return typed


def _dataclass_in(hint: Any) -> Any:
    """The dataclass of a field typed ``X`` or ``Optional[X]``, else None."""
    for candidate in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _skeleton(schema: Any, node: dict[str, Any], path: str = "") -> dict[str, Any]:
    """``node`` with free-form values (typed ``Any``) left out, keys kept.

    The schema says nothing about them, and merging long lists of swept values into
    OmegaConf nodes would take seconds.
    """
    hints = typing.get_type_hints(schema)
    out = {}
    for key, value in node.items():
        hint = hints.get(key)
        nested = _dataclass_in(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if nested is not None and isinstance(value, dict):
            out[key] = _skeleton(nested, value, f"{path}{key}.")
        elif nested is not None and value is not None:
            raise ConfigError(
                f"{path}{key}",
                f"expected {_expected(hint)}, received {value!r}; fix the value.",
            )
        elif hint is Any:
            out[key] = None
        elif origin is dict and args[-1:] == (Any,) and isinstance(value, dict):
            out[key] = dict.fromkeys(value)
        elif origin is list and args == (Any,) and isinstance(value, list):
            out[key] = [None] * len(value)
        else:
            out[key] = value
    return out


def _hints_at(path: str) -> dict[str, Any]:
    """The field types of the schema node at ``path`` (``""``: the top level)."""
    schema: Any = ExperimentConfig
    for part in path.split(".") if path else []:
        schema = _dataclass_in(typing.get_type_hints(schema).get(part))
        if schema is None:
            return {}
    return typing.get_type_hints(schema)


def _value_at(plain: Any, key: str) -> Any:
    for part in key.split("."):
        plain = plain.get(part) if isinstance(plain, dict) else None
    return plain


def unknown_key(key: str, known: list[str]) -> str:
    """Say that ``key`` is unknown, suggest the key meant, list the known ones.

    Example:
        >>> unknown_key("inputs0", ["model", "inputs"]).split(";")[0]
        'unknown key (did you mean inputs.0?)'
    """
    parent, _, name = key.rpartition(".")
    prefix = f"{parent}." if parent else ""
    digits = [k for k in known if name.startswith(k) and name[len(k) :].isdigit()]
    if key in _RENAMED:
        meant = _RENAMED[key]
    elif digits:  # inputs0 for inputs.0
        meant = f"{prefix}{digits[0]}.{name[len(digits[0]) :]}"
    else:
        close = difflib.get_close_matches(name, known, n=1)
        meant = f"{prefix}{close[0]}" if close else ""
    hint = f" (did you mean {meant}?)" if meant else ""
    return (
        f"unknown key{hint}; known keys{f' of {parent}' if parent else ''}: "
        f"{', '.join(known) or '(none)'}; check its spelling."
    )


def _expected(hint: Any) -> str:
    """A type of the schema in words: ``an int``, ``a string or null``, ..."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if type(None) in typing.get_args(hint) and len(args) == 1:
        return f"{_expected(args[0])} or null"
    if isinstance(hint, type) and issubclass(hint, Enum):
        return f"one of {', '.join(m.value for m in hint)}"
    if typing.get_origin(hint) is list:
        return "a list" + (" of strings" if args == [str] else "")
    if dataclasses.is_dataclass(hint):
        names = ", ".join(f.name for f in dataclasses.fields(hint))
        return f"a node with keys {names}"
    words = {bool: "true or false", int: "an int", float: "a number", str: "a string"}
    return words.get(hint, "a value of the schema's type")
