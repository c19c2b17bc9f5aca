"""Where JAX keeps compiled programs between runs (its persistent cache).

The default directory is per user and absolute, so every run shares it whatever
its working directory (``hydra.job.chdir=true`` included); ``compile_cache=null``
turns the cache off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["default_cache_dir", "use_compile_cache"]

_APP = "autodiff-runner"


def default_cache_dir() -> str:
    """The per-user directory of the compile cache (absolute).

    ``$XDG_CACHE_HOME/autodiff-runner/jax`` when ``XDG_CACHE_HOME`` is an absolute
    path, else ``~/.cache/autodiff-runner/jax`` (``~/Library/Caches/...`` on macOS,
    ``%LOCALAPPDATA%\\autodiff-runner\\jax`` on Windows).

    Example:
        >>> Path(default_cache_dir()).is_absolute()
        True
        >>> Path(default_cache_dir()).parts[-2:]
        ('autodiff-runner', 'jax')
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    local = os.environ.get("LOCALAPPDATA", "")
    if xdg and os.path.isabs(xdg):  # relative values are to be ignored (XDG spec)
        root = Path(xdg)
    elif sys.platform == "win32" and local:
        root = Path(local)
    elif sys.platform == "darwin":
        root = Path.home() / "Library" / "Caches"
    else:
        root = Path.home() / ".cache"
    return str(root.absolute() / _APP / "jax")


def use_compile_cache(directory: str | None) -> None:
    """Keep compiled programs in ``directory`` (JAX's persistent cache), or not.

    JAX's settings are global to the process, so they are changed only when they
    differ from what is asked (every job of a sweep asks for the same).

    Args:
        directory: the cache directory (``~`` expanded), or None for no cache.

    Example:
        >>> import jax
        >>> use_compile_cache(None)
        >>> jax.config.jax_compilation_cache_dir is None
        True
    """
    import jax

    wanted = {
        "jax_compilation_cache_dir": (
            str(Path(directory).expanduser()) if directory else None
        ),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    }
    for name, value in wanted.items():
        if getattr(jax.config, name) != value:
            jax.config.update(name, value)
