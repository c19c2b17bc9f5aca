"""Building a model and its inputs from plain config containers, safely.

Only ``_target_`` values under allowed module prefixes are imported: by default the
project's ``models.`` and ``runner.inputs.``, plus what a config adds in
``allowed_targets``. Every target in a node is checked before anything is imported,
so a config naming ``os.system`` is refused without running a line of it.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Sequence
from typing import Any

from hydra.utils import get_object

from .errors import ConfigError

__all__ = ["DEFAULT_ALLOWED", "build_inputs", "build_model", "check_targets"]

DEFAULT_ALLOWED = ("models.", "runner.inputs.")


def check_targets(node: Any, key: str, allowed: Sequence[str]) -> None:
    """Refuse any ``_target_`` in ``node`` outside the ``allowed`` module prefixes.

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
            isinstance(target, str) and target.startswith(tuple(allowed))
        ):
            raise ConfigError(
                f"{key}._target_",
                f"{target!r} is outside the allowed modules ({', '.join(allowed)}); "
                f"only add its prefix to allowed_targets if you trust this config "
                f"(it runs code).",
            )
        for k, v in node.items():
            check_targets(v, f"{key}.{k}", allowed)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_targets(v, f"{key}.{i}", allowed)


def _call_target(node: dict[str, Any], key: str) -> tuple[Any, dict[str, Any]]:
    """Import ``node['_target_']`` and build it: classes are called, functions bound."""
    target = node["_target_"]
    quiet = logging.getLogger("hydra.utils")  # it logs the failure over 3 lines
    was_disabled, quiet.disabled = quiet.disabled, True
    try:
        obj = get_object(target)
    except Exception as err:
        cause = err.__cause__ or err
        raise ConfigError(
            f"{key}._target_",
            f"cannot import {target!r} ({type(cause).__name__}: {cause}); check the "
            f"module path and that the module is importable.",
        ) from err
    finally:
        quiet.disabled = was_disabled
    kwargs = {
        k: _call_target(v, f"{key}.{k}")
        if isinstance(v, dict) and "_target_" in v
        else v
        for k, v in node.items()
        if k != "_target_"
    }
    if not callable(obj):
        raise ConfigError(
            f"{key}._target_", f"{target!r} is a {type(obj).__name__}, not callable."
        )
    return obj, kwargs


def build_model(node: Any, allowed: Sequence[str] = DEFAULT_ALLOWED) -> Any:
    """Instantiate a ``Base`` subclass or bind a function's keyword arguments.

    Args:
        node: a dict with ``_target_`` and keyword arguments.
        allowed: module prefixes ``_target_`` may name.

    Returns:
        The model object, or the function (a ``functools.partial`` with kwargs).

    Raises:
        ConfigError: a missing or refused target, or a constructor that raised.

    Example:
        >>> build_model({"_target_": "models.tutorial.F", "name": "f"}).name
        'f'
    """
    if not isinstance(node, dict) or "_target_" not in node:
        raise ConfigError(
            "model",
            f"expected a node with _target_ (e.g. models.tutorial.Linear), received "
            f"{node!r}; pick an experiment with +exp=NAME or set model._target_.",
        )
    check_targets(node, "model", allowed)
    return _instantiate(node, "model")


def _instantiate(node: dict[str, Any], key: str) -> Any:
    obj, kwargs = _call_target(node, key)
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
            fn, kwargs = _call_target(item, f"inputs.{i}")
            try:
                item = fn(**kwargs)
            except Exception as err:
                raise ConfigError(
                    f"inputs.{i}",
                    f"{item['_target_']}(**{kwargs}) raised {type(err).__name__}: "
                    f"{err}; check its arguments.",
                ) from err
        built.append(item)
    return built
