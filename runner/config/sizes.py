"""Sizes written in a config: ``256MB``, ``1GiB``, or a number of bytes."""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

__all__ = ["DEFAULT_BUDGET", "parse_bytes"]

#: The memory a vectorized sweep's chunk may use when ``sweep.chunk_size`` is not
#: given (``sweep.memory_budget``).
DEFAULT_BUDGET = "256MB"

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}  # fmt: skip


def parse_bytes(text: Any, key: str = "sweep.memory_budget") -> int:
    """A size such as ``512MB``, ``1GiB`` or a number of bytes, in bytes.

    Raises:
        ConfigError: not a positive size; names ``key``.

    Example:
        >>> parse_bytes("512MB"), parse_bytes("1 GiB"), parse_bytes(4096)
        (512000000, 1073741824, 4096)
    """
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    number, unit = str(text).strip(), ""
    while number and not (number[-1].isdigit() or number[-1] == "."):
        number, unit = number[:-1], number[-1] + unit
    try:
        size = float(number) * _UNITS[unit.strip().upper()]
    except (KeyError, ValueError):
        size = 0
    if not size >= 1:
        raise ConfigError(
            key,
            f"expected a size such as 256MB, 1GiB or a number of bytes, received "
            f"{text!r}.",
        )
    return int(size)
