"""The experiment as a plain function: model, inputs and derivative in, a table out.

Nothing here knows Hydra: :func:`run_experiment` takes Python objects and returns a
tidy ``pandas.DataFrame`` with one row per scalar (columns in :data:`COLUMNS`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import runner.core as bm

from .errors import ConfigError, RunnerError
from .signature import check_inputs, checked_output
from .stability import residual, solve_fixed_point

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "DiffSpec", "Prepared", "Result", "call", "compute", "prepare",
           "run_experiment", "to_columns", "to_frame"]  # fmt: skip

KINDS = ("grad", "vector_grad", "jacobian", "jacrev", "jacfwd", "hessian")
JACOBIANS = ("jacobian", "jacrev", "jacfwd")
SELECTORS = {"@train_vars": "train_vars", "@vars": "vars"}

#: The columns of every results table, in order.
COLUMNS = ("quantity", "wrt", "output", "index", "value")


@dataclass(frozen=True)
class DiffSpec:
    """What to differentiate: the plain twin of the config's ``diff`` node.

    Example:
        >>> DiffSpec(kind="jacobian", has_aux=True).argnums is None
        True
    """

    kind: str = "grad"
    argnums: int | Sequence[int] | None = None
    grad_vars: str | Sequence[str] | None = None
    has_aux: bool = False
    return_value: bool = False
    eigenvalues: bool = False
    check: bool = False
    check_tol: float | None = None
    mode: str = "reverse"
    fixed_point: bool = False


class Result(NamedTuple):
    """One array of an experiment's output: what it is and its values."""

    quantity: str
    wrt: str
    output: str
    array: np.ndarray


def run_experiment(
    model: Any, inputs: Sequence[Any], diff: DiffSpec, method: str | None = None
) -> pd.DataFrame:
    """Differentiate ``model`` (or its ``method``) at ``inputs`` and tabulate.

    Args:
        model: a ``Base`` object or a plain function.
        inputs: the positional arguments.
        diff: what to differentiate and return.
        method: the name of the method of ``model`` to differentiate; None calls
            ``model`` itself.

    Returns:
        A DataFrame with the columns of :data:`COLUMNS`.

    Raises:
        ConfigError: a spec that does not fit the model or inputs, naming the key.

    Example:
        >>> from models.tutorial import linear
        >>> run_experiment(linear, [2.0, 1.0], DiffSpec(argnums=[0, 1]))
          quantity  wrt output index  value
        0     grad  arg0           ()    2.0
        1     grad  arg1           ()    1.0
    """
    return to_frame(compute(model, inputs, diff, method))


class Prepared(NamedTuple):
    """A checked experiment, ready to call: ``label(derivative(*inputs))``."""

    derivative: Any
    inputs: list[Any]
    label: Any


def prepare(
    model: Any, inputs: Sequence[Any], diff: DiffSpec, method: str | None = None
) -> Prepared:
    """Check the spec against the model and inputs, and build the derivative.

    ``label(out)`` turns the derivative's output into :class:`Result` s;
    ``label(out, batch=1)`` does so for outputs with a leading batch axis (from
    ``jax.vmap``).

    Example:
        >>> from models.tutorial import linear
        >>> p = prepare(linear, [2.0, 1.0], DiffSpec())
        >>> [float(r.array) for r in p.label(p.derivative(*p.inputs))]
        [2.0]
    """
    _check_kind(diff.kind)
    target = _resolve_method(model, method)
    grad_vars, names = _resolve_grad_vars(model, diff.grad_vars)
    argnums = _check_argnums(diff.argnums, len(inputs), grad_vars is None)
    name = _name(model, method)
    arrays = check_inputs(target, name, inputs, argnums)
    transform = getattr(bm, diff.kind)
    options = {"mode": _check_mode(diff.mode)} if diff.kind == "jacobian" else {}
    key = "model" if method is None else "method"
    derivative = transform(
        checked_output(target, key, name, diff.kind, diff.has_aux),
        grad_vars=grad_vars,
        argnums=argnums,
        has_aux=diff.has_aux,
        return_value=True,  # the value's structure labels structured Jacobians
        **options,
    )
    positions = [names] if names else []
    if argnums is not None:
        positions += [f"arg{a}" for a in np.atleast_1d(argnums)]

    def label(out: Any, batch: int = 0) -> list[Result]:
        return _label(out, diff, positions, bool(names), argnums, batch)

    return Prepared(derivative, arrays, label)


def call(derivative: Any, *args: Any) -> Any:
    """Call ``derivative``, turning the core's argument errors into ConfigErrors.

    Example:
        >>> call(bm.grad(lambda x: x), bm.zeros(2))
        Traceback (most recent call last):
        ...
        runner.errors.ConfigError: diff.kind: Gradient only defined for ...
    """
    try:
        return derivative(*args)
    except RunnerError:
        raise
    except (TypeError, ValueError) as err:
        key = _key_for(str(err))
        if key != "model":
            raise ConfigError(key, str(err)) from err
        raise ConfigError("model", _model_failed(err, args)) from err
    except Exception as err:
        raise ConfigError("model", _model_failed(err, args)) from err


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


def compute(
    model: Any, inputs: Sequence[Any], diff: DiffSpec, method: str | None = None
) -> list[Result]:
    """Run the derivative and return its arrays (see :func:`run_experiment`).

    Example:
        >>> from models.tutorial import linear
        >>> [r.wrt for r in compute(linear, [2.0, 1.0], DiffSpec(return_value=True))]
        ['arg0', '']
    """
    from .checks import check_derivatives, nonfinite_rows, problem_for, snapshot

    prepared = prepare(model, inputs, diff, method)
    solved = []
    if diff.fixed_point:  # differentiate at F(x) = 0, found from the given input
        target = _resolve_method(model, method)
        argnum, point = call(solve_fixed_point, target, prepared.inputs, diff)
        points = list(prepared.inputs)
        points[argnum] = jnp.asarray(point)
        prepared = prepared._replace(inputs=points)
        solved = [Result("fixed_point", f"arg{argnum}", "", point)]
    check = diff.check or diff.check_tol is not None
    before = snapshot(model) if check else []  # the state the derivative starts from
    # One compiled program, not one per operation, shared by jobs of one structure.
    from .compiled import cached_call, structure_key

    key = structure_key(model, prepared.inputs, (repr(diff), method))
    out = call(cached_call, key, model, prepared.derivative, prepared.inputs)
    results = prepared.label(out) + solved
    if check:
        problem = problem_for(model, prepared.inputs, diff, method, before)
        results += check_derivatives(results, problem, diff.check_tol)
    return results + nonfinite_rows(results)


def _label(
    out: Any,
    diff: DiffSpec,
    positions: list[Any],
    has_vars: bool,
    argnums: Any,
    batch: int,
) -> list[Result]:
    grads, value, aux = _split_outputs(out, replace(diff, return_value=True))
    per_position = _ungroup(grads, has_vars, argnums)
    if diff.kind in JACOBIANS and not jax.tree_util.treedef_is_leaf(
        jax.tree_util.tree_structure(value)
    ):
        blocks = _output_major(grads, value, positions, has_vars, argnums)
    elif diff.kind == "hessian":  # rows by the first position, then by the second
        blocks = [
            (f"{row},{col}", block)
            for pos_k, row_k in zip(positions, per_position)
            for row, line in _entries(pos_k, row_k)
            for pos_m, cell in zip(positions, _ungroup(line, has_vars, argnums))
            for col, block in _entries(pos_m, cell)
        ]
    else:
        blocks = [
            pair for pos, g in zip(positions, per_position) for pair in _entries(pos, g)
        ]
    results = [r for wrt, g in blocks for r in _leaves("grad", wrt, g)]
    if diff.return_value:
        results += _leaves("value", "", value)
    if diff.has_aux:
        results += _leaves("aux", "", aux)
    if diff.eigenvalues:
        results += _eigenvalues(results, batch)
    if diff.eigenvalues or diff.fixed_point:  # is the point a fixed point?
        results.append(Result("residual", "", "", residual(value, batch)))
    return results


def _output_major(
    grads: Any, value: Any, positions: list[Any], has_vars: bool, argnums: Any
) -> list[tuple[str, Any]]:
    """Jacobians of a structured output: JAX nests positions inside output leaves."""
    treedef = jax.tree_util.tree_structure(value)
    by_wrt: dict[str, list[Any]] = {}
    for tree in treedef.flatten_up_to(grads):
        for pos, g in zip(positions, _ungroup(tree, has_vars, argnums)):
            for wrt, block in _entries(pos, g):
                by_wrt.setdefault(wrt, []).append(block)
    # Each wrt gets a tree shaped like the output, so rows say which output it is.
    return [(wrt, treedef.unflatten(blocks)) for wrt, blocks in by_wrt.items()]


def to_columns(results: Sequence[Result]) -> dict[str, np.ndarray]:
    """One entry per scalar of ``results``, as columns named by :data:`COLUMNS`.

    Example:
        >>> cols = to_columns([Result("value", "", "", np.array([1.0, 2.0]))])
        >>> cols["index"].tolist(), cols["value"].tolist()
        (['(0,)', '(1,)'], [1.0, 2.0])
    """
    parts: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}
    for r in results:
        n = r.array.size
        parts["quantity"].append(np.full(n, r.quantity, dtype=object))
        parts["wrt"].append(np.full(n, r.wrt, dtype=object))
        parts["output"].append(np.full(n, r.output, dtype=object))
        index = [str(tuple(int(i) for i in ix)) for ix in np.ndindex(r.array.shape)]
        parts["index"].append(np.array(index, dtype=object).reshape(n))
        parts["value"].append(np.asarray(r.array, dtype=np.float64).reshape(n))
    empty = {"value": np.float64}
    return {
        c: np.concatenate(v) if v else np.array([], dtype=empty.get(c, object))
        for c, v in parts.items()
    }


def to_frame(results: Sequence[Result]) -> pd.DataFrame:
    """The table of :func:`to_columns` as a ``pandas.DataFrame``.

    Example:
        >>> to_frame([Result("value", "", "", np.array([1.0, 2.0]))])["index"].tolist()
        ['(0,)', '(1,)']
    """
    import pandas as pd

    return pd.DataFrame(to_columns(results), columns=list(COLUMNS))


# -- steps -------------------------------------------------------------------------
def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(
            "diff.kind", f"expected one of {', '.join(KINDS)}, received {kind!r}."
        )


def _check_mode(mode: str) -> str:
    if mode not in ("reverse", "forward", "auto"):
        raise ConfigError(
            "diff.mode", f"expected reverse, forward or auto, received {mode!r}."
        )
    return mode


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
        found = getattr(model, SELECTORS[spec])()
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


def _key_for(message: str) -> str:
    """The config key a core error is about, from its wording."""
    for word, key in (
        ("argnums", "diff.argnums"),
        ("grad_vars", "diff.grad_vars"),
        ("has_aux", "diff.has_aux"),
        ("scalar-output", "diff.kind"),
        ("allow_int", "inputs"),
    ):
        if word in message:
            return key
    return "model"


def _split_outputs(out: Any, diff: DiffSpec) -> tuple[Any, Any, Any]:
    if diff.return_value and diff.has_aux:
        return out
    if diff.return_value:
        return out[0], out[1], None
    if diff.has_aux:
        return out[0], None, out[1]
    return out, None, None


def _ungroup(grads: Any, has_vars: bool, argnums: Any) -> tuple[Any, ...]:
    """Undo the return table's grouping: one entry per differentiated position."""
    if has_vars and argnums is not None:
        var_part, arg_part = grads
        return (var_part, *((arg_part,) if isinstance(argnums, int) else arg_part))
    if has_vars or isinstance(argnums, int):
        return (grads,)
    return tuple(grads)


def _entries(position: Any, tree: Any) -> list[tuple[str, Any]]:
    """``(name, array)`` pairs of one position: an argument, or the grad_vars."""
    if isinstance(position, str):
        return [(position, tree)]
    if isinstance(tree, dict):
        return [(name, tree[name]) for name in position]
    if isinstance(tree, (list, tuple)):
        return list(zip(position, tree, strict=True))
    return [(position[0], tree)]


def _leaves(quantity: str, wrt: str, tree: Any) -> list[Result]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [
        Result(quantity, wrt, jax.tree_util.keystr(path), np.asarray(leaf))
        for path, leaf in leaves
    ]


def _eigenvalues(results: list[Result], batch: int = 0) -> list[Result]:
    """Eigenvalues of each square Jacobian, after ``batch`` leading batch axes."""
    out = []
    for r in results:
        if r.quantity != "grad":
            continue
        if r.array.ndim - batch != 2 or r.array.shape[-1] != r.array.shape[-2]:
            raise ConfigError(
                "diff.eigenvalues",
                f"needs square Jacobians, but the one for {r.wrt!r} has shape "
                f"{r.array.shape[batch:]}; set diff.eigenvalues=false.",
            )
        matrix = r.array.astype(np.float64)
        if not np.isfinite(matrix).all():  # flagged as nonfinite; NaN eigenvalues
            eig = np.full(matrix.shape[:-1], np.nan, dtype=complex)
            out.append(Result("eigenvalue_real", r.wrt, r.output, eig.real))
            out.append(Result("eigenvalue_imag", r.wrt, r.output, eig.imag))
            continue
        eig = np.linalg.eigvals(matrix)
        order = np.lexsort((-eig.imag, -eig.real), axis=-1)
        eig = np.take_along_axis(eig, order, axis=-1)
        out.append(Result("eigenvalue_real", r.wrt, r.output, eig.real))
        out.append(Result("eigenvalue_imag", r.wrt, r.output, eig.imag))
    return out
