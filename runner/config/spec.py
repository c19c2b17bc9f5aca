"""A run's first step: a config becomes one validated, typed spec.

The schema (:mod:`runner.config.schema`) defines every option once: kinds, modes,
defaults and types. :func:`to_spec` checks a plain config against it, and adds the
checks a type cannot express (the seed's range, the output formats, sweep
settings), so a mistake gets the same one-line error whether the config was
composed by Hydra or written in Python. Everything downstream takes the spec,
never a dict.

Example:
    >>> spec = to_spec({"model": {"_target_": "runner.models.tutorial.linear"},
    ...                 "inputs": [2.0, 1.0], "diff": {"kind": "grad"}})
    >>> spec.diff.kind, spec.inputs, is_swept(spec)
    (<Kind.grad: 'grad'>, [2.0, 1.0], False)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import ConfigError
from .schema import (
    FORMATS,
    JACOBIAN_KINDS,
    DiffConfig,
    Dynamics,
    ExperimentConfig,
    OutputConfig,
    SweepConfig,
    validated,
    validated_diff,
)

__all__ = [
    "DiffSpec",
    "Spec",
    "check_diff",
    "fixed_point_argnum",
    "is_swept",
    "refuse_in_sweep",
    "to_spec",
]

#: What to differentiate: the schema's ``diff`` node (see :func:`check_diff`).
DiffSpec = DiffConfig

#: The validated experiment: the schema's dataclasses, built by :func:`to_spec`.
Spec = ExperimentConfig


def to_spec(plain: dict[str, Any]) -> Spec:
    """Validate an experiment (plain containers, no ``hydra`` key) into a spec.

    Args:
        plain: the experiment, e.g. :func:`runner.app.job.to_plain` of a composed
            config, or a dict written in Python.

    Returns:
        The experiment as the schema's dataclasses (see
        :func:`runner.config.schema.validated`), checked.

    Raises:
        ConfigError: naming the first key at fault.

    Example:
        >>> to_spec({"seed": -1})
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: seed: expected an int in 0..4294967295,...
    """
    spec = validated(plain)
    _check_diff(spec.diff)
    _mark_checked(spec.diff)  # compute() takes it as it is: validated once
    _check_seed(spec.seed)
    _check_output(spec.output)
    if is_swept(spec):
        refuse_in_sweep(spec.diff)
    return spec


def check_diff(diff: DiffSpec | dict[str, Any]) -> DiffSpec:
    """Validate a ``diff`` node built in Python, as :func:`to_spec` validates it.

    Args:
        diff: a :class:`DiffSpec` (whose ``kind`` and ``mode`` may be strings) or
            the node as a dict.

    Returns:
        A new :class:`DiffSpec` with ``Kind`` and ``Mode`` members.

    Raises:
        ConfigError: naming ``diff.<key>``.

    Example:
        >>> check_diff(DiffSpec(kind="jacobian", mode="forward")).mode
        <Mode.forward: 'forward'>
        >>> check_diff(DiffSpec(kind="grda"))
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: diff.kind: expected one of grad, vector_gr...
    """
    if isinstance(diff, DiffConfig):
        if getattr(diff, _CHECKED, None) == _values(diff):
            return diff  # validated already, and unchanged since
        diff = {f.name: getattr(diff, f.name) for f in dataclasses.fields(diff)}
    checked = validated_diff(diff)
    _check_diff(checked)
    return _mark_checked(checked)


_CHECKED = "_runner_checked_values"


def _values(diff: DiffSpec) -> tuple[Any, ...]:
    return tuple(repr(getattr(diff, f.name)) for f in dataclasses.fields(diff))


def _mark_checked(diff: DiffSpec) -> DiffSpec:
    """Remember that ``diff`` was validated, with the values it had then."""
    object.__setattr__(diff, _CHECKED, _values(diff))
    return diff


def fixed_point_argnum(diff: DiffSpec, key: str = "diff.fixed_point") -> int:
    """The input that ``diff.fixed_point`` solves in (or, with ``key``
    ``diff.dynamics``, a map's state): one int ``diff.argnums`` (0 when null),
    with a Jacobian kind and no ``grad_vars``.

    Raises:
        ConfigError: naming ``key`` when ``diff`` does not describe a Jacobian in
            one input.

    Example:
        >>> fixed_point_argnum(DiffSpec(kind="jacfwd", argnums=1, fixed_point=True))
        1
        >>> fixed_point_argnum(DiffSpec(kind="grad", fixed_point=True))
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: diff.fixed_point: needs diff.kind jacobian...
    """
    fix = (
        "diff.fixed_point=false" if key == "diff.fixed_point" else f"{key}=vector_field"
    )
    if diff.kind not in JACOBIAN_KINDS:
        raise ConfigError(
            key,
            f"needs diff.kind jacobian, jacrev or jacfwd, received '{diff.kind}'; "
            f"set diff.kind=jacfwd or {fix}.",
        )
    argnums = 0 if diff.argnums is None else diff.argnums
    if (
        diff.grad_vars is not None
        or isinstance(argnums, bool)
        or not isinstance(argnums, int)
    ):
        raise ConfigError(
            key,
            f"solves in one input, so it needs one int diff.argnums and no "
            f"diff.grad_vars, received argnums={diff.argnums!r}, "
            f"grad_vars={diff.grad_vars!r}; e.g. diff.argnums=0.",
        )
    return argnums


def is_swept(spec: Spec) -> bool:
    """Whether ``spec`` has a vectorized sweep: values under ``sweep.inputs`` or
    ``sweep.model`` (an empty ``sweep`` block, the default, runs one point).

    Raises:
        ConfigError: a ``sweep`` block that sets ``mode``, ``chunk_size`` or
            ``memory_budget`` but sweeps nothing.

    Example:
        >>> is_swept(to_spec({"sweep": {"inputs": {"0": [1.0, 2.0]}}}))
        True
    """
    sweep = spec.sweep
    if sweep is None:
        return False
    if sweep.inputs or sweep.model:
        return True
    default = SweepConfig()
    settings = ("mode", "chunk_size", "memory_budget", "executor", "ray")
    changed = [k for k in settings if getattr(sweep, k) != getattr(default, k)]
    if changed:
        raise ConfigError(
            f"sweep.{changed[0]}",
            "is set but the sweep block sweeps nothing; add values under "
            "sweep.inputs.<i> or sweep.model.<path>, or drop the setting.",
        )
    return False


def _check_diff(diff: DiffSpec) -> None:
    """The rules of a ``diff`` node that its types do not express."""
    _check_tol(diff.check_tol)
    _check_fixed_point_tol(diff.fixed_point_tol)
    if diff.fixed_point:
        fixed_point_argnum(diff)
    if diff.dynamics == Dynamics.map:
        fixed_point_argnum(diff, "diff.dynamics")
        if diff.fixed_point:
            raise ConfigError(
                "diff.fixed_point",
                "solves F(x) = 0 for a vector field, not phi(x) = x for a map "
                "(diff.dynamics=map); start from a point of the orbit and set "
                "diff.fixed_point=false.",
            )


def _check_tol(tol: float | None) -> None:
    if tol is not None and not tol >= 0:
        raise ConfigError(
            "diff.check_tol",
            f"expected a non-negative number or null, received {tol!r}; e.g. "
            f"diff.check_tol=1e-4.",
        )


def _check_fixed_point_tol(tol: float) -> None:
    if not tol > 0 or tol == float("inf"):
        raise ConfigError(
            "diff.fixed_point_tol",
            f"expected a positive, finite number, received {tol!r}; e.g. "
            f"diff.fixed_point_tol=1e-4.",
        )


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        why = (
            f" (JAX keeps 32 bits of a seed: {seed} would repeat seed {seed % 2**32})"
            if isinstance(seed, int) and not isinstance(seed, bool)
            else ""
        )
        raise ConfigError(
            "seed",
            f"expected an int in 0..{2**32 - 1}, received {seed!r}{why}; e.g. seed=0.",
        )


def _check_output(output: OutputConfig) -> None:
    formats = output.formats
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(
            "output.formats",
            f"expected a non-empty list of {', '.join(FORMATS)}, received {formats}.",
        )
    precision = output.precision
    if precision is not None and (
        isinstance(precision, bool) or not isinstance(precision, int) or precision < 1
    ):
        raise ConfigError(
            "output.precision",
            f"expected a positive int (significant digits) or null, received "
            f"{precision!r}; e.g. output.precision=6.",
        )


def refuse_in_sweep(diff: DiffSpec) -> None:
    """Refuse what a vectorized ``sweep`` block does not do: finite-difference
    checks (``diff.check``, ``diff.check_tol``) and fixed points
    (``diff.fixed_point``); a ``-m`` sweep, one job per point, does both.

    Raises:
        ConfigError: naming ``diff.check`` or ``diff.fixed_point``.

    Example:
        >>> refuse_in_sweep(DiffSpec(kind="jacfwd", eigenvalues=True))
        >>> refuse_in_sweep(DiffSpec(kind="jacfwd", fixed_point=True))
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: diff.fixed_point: is not solved inside a s...
    """
    if diff.check or diff.check_tol is not None:
        raise ConfigError(
            "diff.check",
            "finite-difference checks do not run inside a sweep block; check one "
            "point, run the points as a -m sweep, or set diff.check=false and "
            "diff.check_tol=null.",
        )
    if diff.dynamics == Dynamics.map:
        raise ConfigError(
            "diff.dynamics",
            "map is not run inside a sweep block (its residual |phi(x) - x| needs "
            "each point's own state); run the points as a -m sweep.",
        )
    if diff.fixed_point:
        raise ConfigError(
            "diff.fixed_point",
            "is not solved inside a sweep block; track the fixed point with a -m "
            "sweep (each job solves its own), or set diff.fixed_point=false.",
        )
