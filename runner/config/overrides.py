"""The command line's overrides, read one way: by Hydra's own override grammar.

Every part of the runner that reads an override (``hydra.searchpath``,
``hydra.run.dir``, ``allowed_targets``, ``compile_cache``, a sweep's points)
reads it here, so quoting, ``+``/``++``/``~`` prefixes and sweeps mean the same
everywhere. Hydra is imported only when an override is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["last", "parse", "value"]


def parse(lines: Sequence[str], config_loader: Any = None) -> list[Any]:
    """Hydra's ``Override`` objects of the command-line ``lines``.

    Raises:
        hydra.errors.OverrideParseException: a line that is not an override.

    Example:
        >>> [o.key_or_group for o in parse(["+exp=grad", "~model.b", "a.b=1,2"])]
        ['exp', 'model.b', 'a.b']
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create(config_loader=config_loader)
    return list(parser.parse_overrides(list(lines)))


def last(lines: Sequence[str], key: str) -> Any:
    """The last override of ``key`` in ``lines`` (whatever its prefix), or None.

    Example:
        >>> last(["a=1", "++a=2", "b=3"], "a").input_line
        '++a=2'
        >>> last(["b=3"], "a") is None
        True
    """
    found = None
    for override in parse(lines):
        if override.key_or_group == key:
            found = override
    return found


def value(lines: Sequence[str], key: str, default: Any = None) -> Any:
    """The value the last override of ``key`` sets (``default`` when none does,
    or when it deletes the key); lists as lists, interpolations as text.

    Example:
        >>> value(["hydra.searchpath=[file:///a,pkg://runner.configs]"],
        ...       "hydra.searchpath")
        ['file:///a', 'pkg://runner.configs']
        >>> value(["hydra.run.dir='/tmp/a b'"], "hydra.run.dir")
        '/tmp/a b'
        >>> value(["~allowed_targets"], "allowed_targets", [])
        []
    """
    override = last(lines, key)
    if override is None or override.is_delete():
        return default
    return override.value()
