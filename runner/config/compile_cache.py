"""Where JAX keeps compiled programs between runs (its persistent cache).

JAX loads the compiled programs it finds there and runs them, so only the command
line (``compile_cache=DIR``) or the environment (``RUNNER_COMPILE_CACHE=DIR``)
chooses the directory, never a config file
(:func:`runner.config.trust.check_compile_cache`).
The default directory is per user, absolute (every run shares it whatever its
working directory, ``hydra.job.chdir=true`` included) and private to its user;
``compile_cache=null`` turns the cache off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CACHE_ENV", "default_cache_dir", "use_compile_cache"]

_APP = "autodiff-runner"
CACHE_ENV = "RUNNER_COMPILE_CACHE"


def default_cache_dir() -> str:
    """The default directory of the compile cache (absolute).

    ``$RUNNER_COMPILE_CACHE`` when set; else ``$XDG_CACHE_HOME/autodiff-runner/jax``
    when ``XDG_CACHE_HOME`` is an absolute path, else ``~/.cache/autodiff-runner/jax``
    (``~/Library/Caches/...`` on macOS, ``%LOCALAPPDATA%\\autodiff-runner\\jax`` on
    Windows).

    Example:
        >>> Path(default_cache_dir()).is_absolute()
        True
        >>> Path(default_cache_dir()).parts[-2:]
        ('autodiff-runner', 'jax')
    """
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen:
        return str(Path(chosen).expanduser().absolute())
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
    differ from what is asked (every job of a sweep asks for the same). The
    per-user default is created private to its user (mode 0700, and tightened to
    it if it was wider); one that another user owns is refused.

    Args:
        directory: the cache directory (``~`` expanded), or None for no cache.

    Example:
        >>> import jax
        >>> use_compile_cache(None)
        >>> jax.config.jax_compilation_cache_dir is None
        True
    """
    import jax

    if (
        directory
        and not os.environ.get(CACHE_ENV)
        and Path(directory).expanduser() == Path(default_cache_dir())
    ):
        _make_private(Path(default_cache_dir()))
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


def _make_private(folder: Path) -> None:
    """Create ``folder`` (and the app's folder above it) mode 0700, owned by us."""
    from .errors import ConfigError

    for path in (folder.parent, folder):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not hasattr(os, "getuid"):
            continue  # Windows: the user's profile is private already
        info = path.lstat()
        if info.st_uid != os.getuid() or path.is_symlink():
            raise ConfigError(
                "compile_cache",
                f"the default cache {path} is owned by another user or is a link; "
                f"JAX would run the programs found there; remove it, or choose a "
                f"directory of yours with compile_cache=DIR on the command line.",
            )
        if info.st_mode & 0o077:
            path.chmod(0o700)
