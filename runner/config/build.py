"""Building a model and its inputs from plain config containers, safely.

A ``_target_`` passes two gates. Before anything is imported, its dotted path must
lie under an allowed module prefix: by default the shipped ``runner.models.`` and
``runner.inputs.``, plus the prefixes in ``RUNNER_ALLOWED_TARGETS`` and in
``allowed_targets`` (which the command line takes only from the command line).
Then the path is resolved by importing its longest importable module and walking
the remaining attributes: a step that lands on a module is refused, and so is a
final object whose defining module (``__module__``) is not allowed. So a path
that names an allowed module but reaches through it (``runner.inputs.jnp.save``,
an imported class or function) is refused without calling anything.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Iterable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from .errors import ConfigError, how_to_allow

__all__ = [
    "build_experiment",
    "DEFAULT_ALLOWED",
    "ENV_ALLOWED",
    "allowed_prefixes",
    "build_inputs",
    "build_model",
    "check_targets",
    "resolve_target",
]

DEFAULT_ALLOWED = ("runner.models.", "runner.inputs.")
ENV_ALLOWED = "RUNNER_ALLOWED_TARGETS"


def allowed_prefixes(extra: Iterable[str] | None = None) -> tuple[str, ...]:
    """The allowed module prefixes: the defaults, the environment's, then ``extra``.

    Each prefix names a module and everything under it (``mypkg`` and ``mypkg.``
    both allow ``mypkg`` and ``mypkg.sub``, not ``mypkgevil``).

    Args:
        extra: more prefixes, e.g. the command line's ``allowed_targets``.

    Returns:
        The prefixes, each ending with a dot.

    Raises:
        ConfigError: an empty or non-string prefix (it would allow everything).

    Example:
        >>> allowed_prefixes(["mypkg"])
        ('runner.models.', 'runner.inputs.', 'mypkg.')
    """
    env = [p for p in os.environ.get(ENV_ALLOWED, "").split(",") if p.strip()]
    found = list(DEFAULT_ALLOWED)
    for source, prefixes in ((ENV_ALLOWED, env), ("allowed_targets", extra or ())):
        for prefix in prefixes:
            name = prefix.strip().rstrip(".") if isinstance(prefix, str) else ""
            if not name or not all(p.isidentifier() for p in name.split(".")):
                raise ConfigError(
                    source,
                    f"expected dotted module prefixes such as mypkg. (each allows "
                    f"that module and what is defined under it), received "
                    f"{prefix!r}; name the package you trust.",
                )
            if f"{name}." not in found:
                found.append(f"{name}.")
    return tuple(found)


def _within(module: str, allowed: Sequence[str]) -> bool:
    """Whether the module ``module`` is one of, or under, the ``allowed`` prefixes."""
    return any(
        module == prefix.rstrip(".") or module.startswith(prefix.rstrip(".") + ".")
        for prefix in allowed
    )


def check_targets(node: Any, key: str, allowed: Sequence[str]) -> None:
    """Refuse any ``_target_`` in ``node`` outside the ``allowed`` module prefixes.

    A text check of every target of the tree, made before anything is imported;
    :func:`resolve_target` then checks what each target actually is.

    Raises:
        ConfigError: naming the key of the first refused target.

    Example:
        >>> try:
        ...     check_targets({"_target_": "os.system"}, "model", DEFAULT_ALLOWED)
        ... except ConfigError as err:
        ...     print(err.key)
        model._target_
    """
    if isinstance(node, dict):
        target = node.get("_target_")
        if target is not None and not (
            isinstance(target, str) and _within(target, allowed)
        ):
            raise ConfigError(
                f"{key}._target_",
                f"{target!r} is outside the allowed modules ({', '.join(allowed)}); "
                f"if you trust its package, allow it {how_to_allow(target)} "
                f"(importing and calling it runs its code).",
            )
        for k, v in node.items():
            check_targets(v, f"{key}.{k}", allowed)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_targets(v, f"{key}.{i}", allowed)


def _import_longest(
    parts: list[str], key: str, allowed: Sequence[str]
) -> tuple[int, str]:
    """Import the longest allowed module named by a prefix of ``parts``.

    Returns its length, and why the next longer one is not a module.
    """
    missing = ""
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if not _within(name, allowed):
            break  # never import a module outside the allowed prefixes
        try:
            import_module(name)
        except ModuleNotFoundError as err:
            if err.name and (name == err.name or name.startswith(f"{err.name}.")):
                missing = missing or f"{type(err).__name__}: {err}"
                continue  # no module of that name: the rest are attributes
            raise ConfigError(
                f"{key}._target_", f"cannot import {name!r} ({err}); check that "
                f"the module and what it imports are installed."
            ) from err  # fmt: skip
        except Exception as err:
            raise ConfigError(
                f"{key}._target_", f"cannot import {name!r} ({type(err).__name__}: "
                f"{err}); fix the module or choose another target."
            ) from err  # fmt: skip
        return n, missing
    raise ConfigError(
        f"{key}._target_",
        f"cannot import {'.'.join(parts)!r}: no module named {parts[0]!r} where "
        f"Python looked ({', '.join(_search_path())}); {_import_hint(parts[0])}",
    )


def _search_path() -> list[str]:
    """The directories of ``sys.path`` outside the standard library (``''`` is the
    working directory)."""
    import sysconfig

    std = {Path(sysconfig.get_path(n)) for n in ("stdlib", "platstdlib")}
    return [p or "." for p in sys.path if not p.endswith(".zip") and
            Path(p or ".") not in std and Path(p).name != "lib-dynload"]  # fmt: skip


def _import_hint(top: str) -> str:
    """How to make the package ``top`` importable, from where it is found."""
    here = Path.cwd()
    looked = {Path(p).resolve() for p in sys.path if Path(p or ".").is_dir()}
    if here.resolve() not in looked and any(
        (here / name).exists() for name in (top, f"{top}.py")
    ):
        return (f"it is in the working directory {here}, which is not on the path: "
                f"run with PYTHONPATH=. (python -m runner adds it).")  # fmt: skip
    return (f"check the module path, put the directory that holds {top}/ on "
            f"PYTHONPATH, or pip install -e your package.")  # fmt: skip


def resolve_target(target: str, key: str, allowed: Sequence[str]) -> Any:
    """The object a ``_target_`` names, if it is defined in an allowed module.

    Imports the longest importable module prefix of ``target`` (only modules under
    ``allowed``), then walks the remaining attributes itself. Refuses a step that
    is a module (e.g. a module an allowed module imported) and a final object
    whose own ``__module__`` is missing or not allowed (an imported function or
    class, a builtin).

    Args:
        target: the dotted path, e.g. ``runner.models.tutorial.Linear``.
        key: the config key of the node, for errors (``model``, ``inputs.0``).
        allowed: the allowed module prefixes (see :func:`allowed_prefixes`).

    Returns:
        The object.

    Raises:
        ConfigError: naming ``<key>._target_``: outside the allowed modules,
            reached through a module, defined elsewhere, or not importable.

    Example:
        >>> resolve_target("runner.inputs.ones", "inputs.0", DEFAULT_ALLOWED)(2)
        Array([1., 1.], dtype=float32)
        >>> try:
        ...     resolve_target("runner.inputs.jnp.save", "inputs.0", DEFAULT_ALLOWED)
        ... except ConfigError as err:
        ...     print(err.key, "|", str(err).split(" through ")[0].split(": ")[1])
        inputs.0._target_ | 'runner.inputs.jnp.save' reaches the module jax.numpy
    """
    check_targets({"_target_": target}, key, allowed)
    parts = target.split(".")
    n, missing = _import_longest(parts, key, allowed)
    obj: Any = import_module(".".join(parts[:n]))
    for i in range(n, len(parts)):
        where = ".".join(parts[: i + 1])
        try:
            obj = getattr(obj, parts[i])
        except AttributeError as err:
            raise ConfigError(
                f"{key}._target_",
                f"cannot import {target!r} ({missing or err}); check the module "
                f"path and the name.",
            ) from err  # fmt: skip
        if inspect.ismodule(obj):
            raise ConfigError(
                f"{key}._target_",
                f"{target!r} reaches the module {obj.__name__} through {where}; a "
                f"target must be defined in an allowed module "
                f"({', '.join(allowed)}), not imported into one.",
            )
    module = None if n == len(parts) else getattr(obj, "__module__", None)
    if not isinstance(module, str) or not _within(module, allowed):
        raise ConfigError(
            f"{key}._target_",
            f"{target!r} is {_defined_in(obj, module)}, outside "
            f"the allowed modules ({', '.join(allowed)}); name it where it is "
            f"defined, and allow that package only if you trust it.",
        )
    return obj


def _defined_in(obj: Any, module: Any) -> str:
    if inspect.ismodule(obj):
        return "a module, not an object defined in one,"
    if isinstance(module, str):
        return f"defined in {module}"
    return f"a {type(obj).__name__} with no defining module"


def _call_target(
    node: dict[str, Any], key: str, allowed: Sequence[str]
) -> tuple[Any, dict[str, Any]]:
    """Resolve ``node['_target_']`` and build its nested target nodes (called)."""
    obj = resolve_target(node["_target_"], key, allowed)
    kwargs = {
        k: _call(v, f"{key}.{k}", allowed)
        if isinstance(v, dict) and "_target_" in v
        else v
        for k, v in node.items()
        if k != "_target_"
    }
    if not callable(obj):
        raise ConfigError(
            f"{key}._target_",
            f"{node['_target_']!r} is a {type(obj).__name__}, not callable.",
        )
    return obj, kwargs


def _call(node: dict[str, Any], key: str, allowed: Sequence[str]) -> Any:
    """Resolve and call a target node with its keyword arguments."""
    fn, kwargs = _call_target(node, key, allowed)
    try:
        return fn(**kwargs)
    except Exception as err:
        raise ConfigError(
            key,
            f"{node['_target_']}(**{kwargs}) raised {type(err).__name__}: {err}; "
            f"check its arguments.",
        ) from err


def build_model(node: Any, allowed: Sequence[str] = DEFAULT_ALLOWED) -> Any:
    """Instantiate a ``Base`` subclass or bind a function's keyword arguments.

    Args:
        node: a dict with ``_target_`` and keyword arguments.
        allowed: module prefixes ``_target_`` may name (see
            :func:`allowed_prefixes`).

    Returns:
        The model object, or the function (a ``functools.partial`` with kwargs).

    Raises:
        ConfigError: a missing or refused target, or a constructor that raised.

    Example:
        >>> build_model({"_target_": "runner.models.tutorial.F", "name": "f"}).name
        'f'
    """
    if not isinstance(node, dict) or "_target_" not in node:
        raise ConfigError(
            "model",
            f"expected a node with _target_ (e.g. runner.models.tutorial.Linear), "
            f"received {node!r}; pick an experiment with +exp=NAME or set "
            f"model._target_.",
        )
    check_targets(node, "model", allowed)
    return _instantiate(node, "model", allowed)


def _instantiate(node: dict[str, Any], key: str, allowed: Sequence[str]) -> Any:
    obj, kwargs = _call_target(node, key, allowed)
    if not inspect.isclass(obj):
        return functools.partial(obj, **kwargs) if kwargs else obj
    try:
        return obj(**kwargs)
    except Exception as err:
        raise ConfigError(
            key,
            f"{node['_target_']}(**{kwargs}) raised {type(err).__name__}: {err}; "
            f"check its keyword arguments.",
        ) from err


def build_inputs(
    items: Sequence[Any], allowed: Sequence[str] = DEFAULT_ALLOWED
) -> list:
    """Numbers and nested lists pass through; generator nodes are called.

    Example:
        >>> build_inputs([1.0, {"_target_": "runner.inputs.ones", "shape": 2}])
        [1.0, Array([1., 1.], dtype=float32)]
    """
    if not isinstance(items, (list, tuple)):
        raise ConfigError(
            "inputs", f"expected a list of positional arguments, received {items!r}."
        )
    check_targets(list(items), "inputs", allowed)
    built = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            if "_target_" not in item:
                raise ConfigError(
                    f"inputs.{i}",
                    f"expected a number, a list or a generator node with _target_ "
                    f"(e.g. runner.inputs.zeros), received {item!r}.",
                )
            item = _call(item, f"inputs.{i}", allowed)
        built.append(item)
    return built


def build_experiment(spec: Any) -> tuple[Any, list[Any], Any, Any]:
    """Seed, then build the model and the inputs of a validated spec
    (:class:`runner.config.spec.Spec`): ``(model, inputs, diff, method)``.

    Example:
        >>> from runner.config.spec import to_spec
        >>> spec = to_spec({"model": {"_target_": "runner.models.tutorial.linear"},
        ...                 "inputs": [2.0, 1.0]})
        >>> model, inputs, diff, method = build_experiment(spec)
        >>> model.__name__, [float(x) for x in inputs], diff.kind.value
        ('linear', [2.0, 1.0], 'grad')
    """
    import runner.core as bm

    from .compile_cache import use_compile_cache

    use_compile_cache(spec.compile_cache)
    bm.random.seed(spec.seed)
    allowed = allowed_prefixes(spec.allowed_targets)
    model = build_model(spec.model, allowed)
    inputs = build_inputs(spec.inputs, allowed)
    return model, inputs, spec.diff, spec.method
