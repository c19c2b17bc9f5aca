"""A run's plan: everything resolved before the derivative runs.

:func:`make_plan` resolves the spec against the built model and inputs: the called
function (``method``), the differentiated Arrays (``grad_vars``) and positions
(``argnums``), the checked input arrays, and the derivative built by ``runner.core``.
:func:`call` runs a derivative and sorts its failures by type: an argument error of
the core (it carries the transform argument at fault) is the spec's
:class:`~runner.config.errors.ConfigError`; anything the model raised is a
:class:`~runner.config.errors.ModelError`.

Example:
    >>> from runner.models.tutorial import F3
    >>> from runner.config.spec import DiffSpec
    >>> plan = make_plan(F3(name="f"), [1.0, 2.0], DiffSpec(grad_vars="a", argnums=1))
    >>> plan.names, plan.argnums, plan.positions
    (['a'], 1, [['a'], 'arg1'])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import runner.core as bm
from runner.core.internal import per_position  # the core's hook by position

from ..config.errors import ConfigError, ModelError, RunnerError
from ..config.schema import Kind
from ..config.spec import DiffSpec, check_diff
from .labels import arg_wrt
from .signature import check_inputs, checked_output

__all__ = ["Plan", "call", "make_plan"]

SELECTORS = {"@train_vars": "train_vars", "@vars": "vars"}

#: The config key of each transform argument that ``runner.core`` names in its
#: errors (``err.argument``); ``output`` is ``grad``'s scalar-output rule.
_CORE_KEYS = {
    "argnums": "diff.argnums",
    "grad_vars": "diff.grad_vars",
    "has_aux": "diff.has_aux",
    "output": "diff.kind",
    "allow_int": "inputs",
}


@dataclass(frozen=True)
class Plan:
    """A checked experiment, ready to call: ``derivative(*inputs)``.

    Args:
        diff: the validated spec of the derivative.
        target: the function or bound method that is differentiated.
        inputs: the checked input arrays.
        argnums: the differentiated argument positions, as given to the core.
        derivative: the ``runner.core`` transform, returning its gradients per
            differentiated position (in :attr:`positions` order), its value and
            its aux (``runner.core.internal.per_position``).
        names: the table names of the differentiated Arrays (``grad_vars``).
        variables: those Arrays, in the order of ``names``.
    """

    diff: DiffSpec
    target: Callable[..., Any]
    inputs: list[Any]
    argnums: Any
    derivative: Callable[..., Any]
    names: list[str] = field(default_factory=list)
    variables: list[bm.Array] = field(default_factory=list)

    @property
    def positions(self) -> list[Any]:
        """The differentiated positions in the core's order: the list of
        ``grad_vars`` names (if any), then ``arg<i>`` per argument."""
        positions: list[Any] = [self.names] if self.names else []
        if self.argnums is not None:
            positions += [arg_wrt(a) for a in self.arg_positions]
        return positions

    @property
    def arg_positions(self) -> list[int]:
        """The differentiated argument positions as a list (possibly empty)."""
        return (
            []
            if self.argnums is None
            else [int(a) for a in np.atleast_1d(self.argnums)]
        )


def make_plan(
    model: Any, inputs: Sequence[Any], diff: DiffSpec, method: str | None = None
) -> Plan:
    """Check the spec against the model and inputs, and build the derivative.

    Args:
        model: a ``Base`` object or a plain function.
        inputs: the positional arguments.
        diff: what to differentiate (checked with
            :func:`runner.config.spec.check_diff`).
        method: the name of the method of ``model`` to differentiate, or None.

    Returns:
        The :class:`Plan`.

    Raises:
        ConfigError: naming the key that does not fit the model or inputs.

    Example:
        >>> from runner.models.tutorial import linear
        >>> plan = make_plan(linear, [2.0, 1.0], DiffSpec())
        >>> grads, value, aux = call(plan.derivative, *plan.inputs)
        >>> [float(g) for g in grads], float(value), aux
        ([2.0], 5.0, None)
    """
    diff = check_diff(diff)
    target = _resolve_method(model, method)
    grad_vars, names = _resolve_grad_vars(model, diff.grad_vars)
    argnums = _check_argnums(diff.argnums, len(inputs), grad_vars is None)
    name = _name(model, method)
    arrays = check_inputs(target, name, inputs, argnums)
    key = "model" if method is None else "method"
    options = {"mode": diff.mode.value} if diff.kind == Kind.jacobian else {}
    transform = call(  # the model is not called yet: any error is the spec's
        getattr(bm, diff.kind.value),
        checked_output(target, key, name, diff.kind.value, diff.has_aux),
        grad_vars=grad_vars,
        argnums=argnums,
        has_aux=diff.has_aux,
        **options,
    )
    derivative = per_position(transform)  # (grads by position, value, aux)
    if grad_vars is None:
        variables = []
    elif isinstance(grad_vars, dict):
        variables = [grad_vars[n] for n in names]
    else:
        variables = list(grad_vars)
    return Plan(diff, target, arrays, argnums, derivative, names, variables)


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function`` (a plan's derivative, or a step built on it), sorting its
    failures by type.

    Raises:
        ConfigError: an argument error of ``runner.core`` (which carries the
            argument at fault), keyed by that argument's config key.
        ModelError: anything else the model raised, with the input shapes.

    Example:
        >>> def model(x):
        ...     raise ValueError("bad argnums in my own table")
        >>> plan = make_plan(model, [[1.0]], DiffSpec(kind="jacobian"))
        >>> call(plan.derivative, *plan.inputs)
        Traceback (most recent call last):
        ...
        runner.config.errors.ModelError: model: the model raised ValueError: bad arg...
    """
    try:
        return function(*args, **kwargs)
    except RunnerError:
        raise
    except Exception as err:
        key = _CORE_KEYS.get(getattr(err, "argument", None))
        if key is not None:
            raise ConfigError(key, str(err)) from err
        raise ModelError(_model_failed(err, args)) from err


def _model_failed(err: Exception, args: Sequence[Any]) -> str:
    flat = [x for a in args for x in (a if isinstance(a, (list, tuple)) else [a])]
    shapes = ", ".join(str(tuple(x.shape)) for x in flat if hasattr(x, "shape"))
    shapes = shapes or "none"
    message = " ".join(str(err).split()).rstrip(".") or "(no message)"
    return (
        f"the model raised {type(err).__name__}: {message}; it was called with "
        f"inputs of shape(s) {shapes}: check that their number and shapes fit the "
        f"model and its method."
    )


def _resolve_method(model: Any, method: str | None) -> Any:
    if method is None:
        if not callable(model):
            raise ConfigError(
                "method",
                f"{type(model).__name__} objects are not callable; name the method "
                f"to differentiate, e.g. method=update.",
            )
        return model
    if not isinstance(method, str):
        raise ConfigError(
            "method",
            f"expected the name of a method or null, received {method!r} "
            f"({type(method).__name__}); e.g. method=update.",
        )
    found = getattr(model, method, None)
    if method.startswith("_") or not callable(found):
        methods = sorted(
            m
            for m in dir(model)
            if not m.startswith("_") and callable(getattr(model, m))
        )
        cls = type(model).__name__
        what = f"is private to {cls}" if found else f"is not a method of {cls}"
        raise ConfigError(
            "method",
            f"{method!r} {what}; name a public method (available: "
            f"{', '.join(methods) or '(none)'}) or null to call the model itself.",
        )
    return found


def _name(model: Any, method: str | None) -> str:
    """The called function's name for messages: ``f1``, ``FitzHughNagumo.update``."""
    if method is not None:
        return f"{type(model).__name__}.{method}"
    func = model.func if isinstance(model, functools.partial) else model
    return getattr(func, "__qualname__", type(func).__name__)


def _relative(model: Any, path: str) -> str:
    prefix = f"{getattr(model, 'name', '')}."
    return path[len(prefix) :] if path.startswith(prefix) else path


def _resolve_grad_vars(model: Any, spec: Any) -> tuple[Any, list[str]]:
    """Turn attribute paths or a selector into Arrays and their table names."""
    if spec is None:
        return None, []
    if not isinstance(model, bm.Base):
        raise ConfigError(
            "diff.grad_vars",
            f"the model is a {type(model).__name__}, not a Base object, so it has no "
            f"variables; remove grad_vars and use argnums.",
        )
    if isinstance(spec, str) and spec in SELECTORS:
        found = {  # a generator's key is state to draw with, never a parameter
            k: v
            for k, v in getattr(model, SELECTORS[spec])().items()
            if not isinstance(v, bm.random.RandomState)
        }
        if not found:
            arrays = [_relative(model, p) for p, _ in bm.iter_arrays(model)]
            raise ConfigError(
                "diff.grad_vars",
                f"{spec} selected no variables of {model.name}; name its Arrays "
                f"instead (available: {', '.join(arrays) or '(none)'}).",
            )
        chosen = {_relative(model, k): v for k, v in found.items()}
        return chosen, sorted(chosen)
    if isinstance(spec, str):  # a 1-tuple, so Hessian rows and columns stay apart
        return (_lookup(model, spec),), [spec]
    if (
        isinstance(spec, (list, tuple))
        and spec
        and all(isinstance(s, str) for s in spec)
    ):
        if len(set(spec)) != len(spec):
            twice = sorted({s for s in spec if list(spec).count(s) > 1})
            raise ConfigError(
                "diff.grad_vars",
                f"lists {', '.join(twice)} more than once, received {list(spec)}; "
                f"name each variable once.",
            )
        return tuple(_lookup(model, s) for s in spec), list(spec)
    raise ConfigError(
        "diff.grad_vars",
        f"expected an attribute path, a list of them, or one of {sorted(SELECTORS)}, "
        f"received {spec!r}.",
    )


def _lookup(model: Any, path: str) -> bm.Array:
    node = model
    for part in path.split("."):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif not isinstance(node, (list, tuple, dict)) and hasattr(node, part):
            node = getattr(node, part)
        else:
            node = None
            break
    if isinstance(node, bm.Array):
        return node
    available = [_relative(model, p) for p, _ in bm.iter_arrays(model)]
    found = "nothing" if node is None else f"a {type(node).__name__}"
    raise ConfigError(
        "diff.grad_vars",
        f"{path!r} names {found} in {model.name}, expected an Array; available "
        f"Arrays: {', '.join(available) or '(none)'}.",
    )


def _check_argnums(argnums: Any, nargs: int, default: bool) -> Any:
    if argnums is None:
        return 0 if default and nargs else None
    items = argnums if isinstance(argnums, (list, tuple)) else [argnums]
    if not items or len(set(map(repr, items))) != len(items):
        raise ConfigError(
            "diff.argnums",
            f"expected one or more distinct input positions, received {argnums!r}; "
            f"list each position once, or null for the default.",
        )
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int) or not 0 <= a < nargs:
            raise ConfigError(
                "diff.argnums",
                f"expected input positions in 0..{nargs - 1} ({nargs} input(s)), "
                f"received {argnums!r}; index the inputs list from 0.",
            )
    return list(argnums) if isinstance(argnums, (list, tuple)) else argnums
