"""Reusing a compiled derivative across jobs of the same structure in one process.

Jobs of a sweep usually differ only in numbers: the same model class with the same
Array shapes and the same non-Array settings, the same spec and input shapes. The
first such job compiles a pure function of (state values, inputs): it holds the
values in the model's Arrays with ``runner.core.substitute`` (the core's state
mechanism), calls the derivative and returns its output with the Arrays' new
values. The cache keeps only the compiled program, never a model; every job passes
its own Arrays' values in and writes the returned values back to its own Arrays.
Plain-function models share ``bm.jit`` of their derivative, keyed by the function;
closures and other callables are compiled per job (the cache would keep what
they hold alive).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import runner.core as bm

__all__ = ["cached_call", "job_state", "structure_key"]

_PRIMITIVES = (bool, int, float, str, type(None))
#: key -> (module state found while compiling, the program: a jax.stages.Compiled)
_CACHE: dict[Hashable, Any] = {}
_MAX_ENTRIES = 64


def _settings(obj: Any, seen: set[int]) -> Hashable | None:
    """The non-Array settings reachable from ``obj``; None if any is not simple."""
    if isinstance(obj, bm.Array):
        return ("array",)
    if isinstance(obj, _PRIMITIVES):
        return obj
    if id(obj) in seen:
        return ("seen",)
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        items = [_settings(x, seen) for x in obj]
        return None if None in items else (type(obj).__name__, *items)
    if isinstance(obj, dict):
        items = [(k, _settings(v, seen)) for k, v in obj.items()]
        return None if any(v is None for _, v in items) else ("dict", *items)
    if isinstance(obj, bm.Base):
        attrs = [(k, _settings(v, seen)) for k, v in vars(obj).items() if k != "name"]
        if any(v is None for _, v in attrs):
            return None
        return (type(obj).__module__, type(obj).__qualname__, *attrs)
    return None


def _arrays(model: Any) -> list[bm.Array]:
    return [a for _, a in bm.iter_arrays(model)] if isinstance(model, bm.Base) else []


def job_state(model: Any) -> list[bm.Array]:
    """The Arrays of a job's model (and of a partial's arguments), then the default
    random generator, each once; other state is found while compiling.

    Example:
        >>> from runner.models.tutorial import F
        >>> state = job_state(F())
        >>> len(state), state[-1] is bm.random.DEFAULT
        (3, True)
    """
    roots = [model]
    if isinstance(model, functools.partial):
        roots += [*model.args, *model.keywords.values()]
    return [a for _, a in bm.iter_arrays([*roots, bm.random.DEFAULT])]


def _evict() -> None:
    """Make room for one more program (the oldest goes first)."""
    if len(_CACHE) >= _MAX_ENTRIES:
        _CACHE.pop(next(iter(_CACHE)))


def _strong(value: Any) -> Any:
    """``value`` as a JAX array of its own dtype, never weakly typed, so that jobs
    whose values differ only in weak typing share one program."""
    value = jnp.asarray(value)
    return jnp.asarray(value, dtype=value.dtype)


def _compile(
    arrays: list[bm.Array], derivative: Callable[..., Any], values: list, args: list
) -> tuple[list[bm.Array], Any]:
    """Compile the derivative as a pure function of the values of ``arrays`` and the
    inputs; return the Arrays found besides ``arrays`` (state its code reaches only
    while running, e.g. a module's Variable) and the program, which takes them last.
    """
    inner = bm.jit(derivative)  # finds, while tracing, every Array the call uses
    known = {id(a) for a in arrays}

    def pure(values: list[Any], *args: Any) -> tuple[Any, list[Any]]:
        with bm.substitute(arrays, values):
            out = inner(*args)
            return out, [a.value for a in arrays]

    lowered = jax.jit(pure).lower(values, *args)
    extra = [a for a in inner.known_states() if id(a) not in known]
    if extra:  # traced with those as constants: again, with them as state
        found, program = _compile(
            arrays + extra, derivative, values + [_strong(a.value) for a in extra], args
        )
        return extra + found, program
    return [], lowered.compile()


def _shareable(function: Any) -> bool:
    """Whether a program may be kept for ``function``: a plain function without a
    closure (a closure's cells, e.g. a model, would stay alive with the program)."""
    return isinstance(function, types.FunctionType) and not function.__closure__


def structure_key(model: Any, inputs: list[Any], spec: Hashable) -> Hashable | None:
    """A key equal for jobs that can share one compiled derivative, or None.

    Example:
        >>> from runner.models.tutorial import F
        >>> structure_key(F(), [1.0], "grad") == structure_key(F(), [2.0], "grad")
        True
    """
    if isinstance(model, bm.Base):
        settings = _settings(model, set())
        if settings is None:
            return None
        shapes = tuple((a.shape, str(a.dtype)) for a in _arrays(model))
        model_key: Hashable = (settings, shapes)
    elif isinstance(model, functools.partial):
        settings = _settings(dict(model.keywords), set())
        if settings is None or model.args or not _shareable(model.func):
            return None
        model_key = (model.func, settings)
    elif _shareable(model):
        model_key = model
    else:
        return None
    try:
        hash(model_key)
    except TypeError:
        return None
    inputs_key = tuple((np.shape(x), str(np.asarray(x).dtype)) for x in inputs)
    return (model_key, inputs_key, spec)


def cached_call(
    key: Hashable | None, model: Any, derivative: Callable[..., Any], inputs: list[Any]
) -> Any:
    """Call ``bm.jit(derivative)`` on ``inputs``, reusing a program compiled for
    another model of the same ``key`` (see the module docstring).

    Example:
        >>> from runner.models.tutorial import F
        >>> f, g = F(), F()
        >>> key = structure_key(f, [10.0], "doc")
        >>> d1 = cached_call(key, f, bm.grad(f, grad_vars=f.b), [10.0])
        >>> d2 = cached_call(key, g, bm.grad(g, grad_vars=g.b), [10.0])
        >>> float(d1[0]), float(d2[0])
        (2.0, 2.0)
    """
    if key is None:
        return bm.jit(derivative)(*inputs)
    if not isinstance(model, (bm.Base, functools.partial)):
        # A plain function keys its own program: bm.jit keeps the function and
        # the state it finds while tracing (globals it writes), and no model.
        if key not in _CACHE:
            _evict()
            _CACHE[key] = bm.jit(derivative)
        return _CACHE[key](*inputs)
    arrays = job_state(model)
    values = [_strong(a.value) for a in arrays]
    args = [_strong(x) for x in inputs]
    entry = _CACHE.get(key)
    if entry is None:
        entry = _compile(arrays, derivative, values, args)
        _evict()
        _CACHE[key] = entry
    extra, compiled = entry  # module state, the same for every job
    arrays = arrays + extra
    values = values + [_strong(a.value) for a in extra]
    out, new = compiled(values, *args)
    for array, value in zip(arrays, new):
        array.value = value
    return out
