"""What a run or a sweep may do to its directory: write, replace, remove.

A directory belongs to one run or to one sweep, and the runner touches only the
files it wrote:

- it removes or replaces a file only when a record of the runner (``run.json``,
  ``sweep.json``: ``written``) lists it; a file of the same name that no record
  lists (a user's own ``summary.txt``) stops the run before anything is changed;
- a single run never goes into a sweep's directory (or one of its jobs), and a
  sweep never into a single run's;
- a directory that holds links (symbolic, or files with more than one hard link)
  is refused, since a write through a link lands outside the directory.

Each check returns the :class:`~runner.config.errors.ConfigError` to raise or print
(one line naming ``hydra.run.dir`` or ``hydra.sweep.dir``), or None.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..config.errors import ConfigError
from ..config.schema import FORMATS
from .dataset import DATASET, discard_dataset, foreign_entries
from .record import RUN_RECORD, SWEEP_RECORD
from .tables import is_temp_of, table_file

__all__ = [
    "PLOT",
    "RUN_OUTPUTS",
    "SUMMARY",
    "SWEEP_PLOT",
    "TABLE_FILES",
    "SWEEP_OUTPUTS",
    "check_kind",
    "check_links",
    "discard",
    "foreign_files",
    "recorded",
]

PLOT, SWEEP_PLOT, SUMMARY = "results.png", "sweep.png", "summary.txt"
TABLE_FILES = tuple(table_file(fmt) for fmt in FORMATS)
RUN_OUTPUTS = (*TABLE_FILES, PLOT, SWEEP_PLOT, SUMMARY)  # what a run may write
SWEEP_OUTPUTS = (*TABLE_FILES, SWEEP_PLOT)  # what gathering a sweep may write
_RUN, _SWEEP = RUN_RECORD, SWEEP_RECORD
_MAX_ENTRIES = 200_000  # a directory is read this far for links


def _option(sweep: bool) -> str:
    return "hydra.sweep.dir" if sweep else "hydra.run.dir"


def recorded(record: dict | None, legacy: Iterable[str]) -> list[str]:
    """The files a runner record says its run wrote (``legacy`` for records made
    before they listed them).

    Example:
        >>> recorded({"written": ["results.csv"]}, RUN_OUTPUTS)
        ['results.csv']
        >>> recorded({"status": "ok"}, SWEEP_OUTPUTS)
        ['results.csv', 'results.parquet', 'sweep.png']
        >>> recorded(None, RUN_OUTPUTS)
        []
    """
    if record is None:
        return []
    written = record.get("written")
    if isinstance(written, list):
        return [w for w in written if isinstance(w, str) and "/" not in w
                and w not in ("", ".", "..")]  # fmt: skip
    return list(legacy)


def foreign_files(
    folder: Path, names: Iterable[str], ours: Iterable[str], sweep: bool = False
) -> ConfigError | None:
    """A message when ``folder`` holds one of ``names`` that no record lists.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "summary.txt").write_text("my notes")
        >>> foreign_files(d, ["results.csv"], []) is None
        True
        >>> err = foreign_files(d, ["summary.txt"], [])
        >>> err.key, str(err).split(";")[0]  # doctest: +ELLIPSIS
        ('hydra.run.dir', 'hydra.run.dir: .../summary.txt was not written by the...')
    """
    mine = set(ours)
    found = [n for n in names if n not in mine and (Path(folder) / n).exists()]
    what = "the run would replace it"
    if DATASET in names and not found:  # the runner's dataset, holding the user's?
        found = [f"{DATASET}/{n}" for n in foreign_entries(Path(folder) / DATASET)]
        what = "the sweep would read it as part of its table"
    if not found:
        return None
    return ConfigError(_option(sweep), f"{Path(folder) / found[0]} was not written "
                       f"by the runner; {what}; move it away, or choose another "
                       f"{_option(sweep)}.")  # fmt: skip


def discard(folder: Path, names: Iterable[str]) -> None:
    """Remove the files ``names`` of ``folder`` (those a record says are ours), and
    the temp files of their writes that a kill left; of a sweep's dataset
    directory, only the parts the runner writes.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> for name in ("results.csv", ".results.csv.0123456789abcdef.tmp", "x"):
        ...     _ = (d / name).write_text("")
        >>> discard(d, ["results.csv"]); sorted(p.name for p in d.iterdir())
        ['x']
    """
    for name in names:
        path = Path(folder) / name
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)
        elif name == DATASET and path.is_dir():
            discard_dataset(path)
        for temp in Path(folder).glob(f".{glob.escape(name)}.*.tmp"):
            if is_temp_of(temp.name, name) and temp.is_file():  # a killed write's
                temp.unlink(missing_ok=True)


def _read(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def check_kind(folder: Path, sweep: bool) -> ConfigError | None:
    """A message when ``folder`` belongs to the other kind of run.

    A single run may not use a sweep's directory, one of its jobs' directories or
    a directory inside it; a sweep may not use a single run's directory (or one
    of another sweep's jobs).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "sweep.json").write_text("{}")
        >>> check_kind(d, sweep=True) is None
        True
        >>> str(check_kind(d, sweep=False)).split(";")[0]  # doctest: +ELLIPSIS
        'hydra.run.dir: ... is the directory of a sweep (it holds sweep.json)'
    """
    folder = Path(folder)
    run = _read(folder / _RUN) if (folder / _RUN).exists() else None
    if sweep:
        if (folder / _RUN).exists():
            what = "a job of a sweep" if run and run.get("sweep_id") else "a single run"
            reason = f"the directory of {what} (it holds {_RUN})"
        elif (folder.parent / _SWEEP).exists():
            reason = f"inside the directory of the sweep {folder.parent}"
        else:
            return None
        return ConfigError("hydra.sweep.dir", f"{folder} is {reason}; a sweep needs "
                           f"a directory of its own; choose another "
                           f"hydra.sweep.dir.")  # fmt: skip
    if (folder / _SWEEP).exists():
        reason = f"the directory of a sweep (it holds {_SWEEP})"
    elif run is not None and run.get("sweep_id"):
        reason = "the directory of a job of a sweep"
    elif (folder.parent / _SWEEP).exists():
        reason = f"inside the directory of the sweep {folder.parent}"
    else:
        return None
    return ConfigError(
        "hydra.run.dir",
        f"{folder} is {reason}; a single run needs a directory of its own; choose "
        f"another hydra.run.dir (to redo a sweep's job, rerun the sweep with "
        f"resume=true).",
    )


def check_links(folder: Path, sweep: bool = False) -> ConfigError | None:
    """A message when ``folder`` (or anything in it) is reached through a link.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> check_links(d) is None
        True
        >>> (d / ".hydra").symlink_to(tempfile.mkdtemp())
        >>> str(check_links(d)).split(";")[0]  # doctest: +ELLIPSIS
        'hydra.run.dir: .../.hydra is a symbolic link'
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    seen = 0
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            info = path.lstat()
            if path.is_symlink():
                kind = "a symbolic link"
            elif name in files and info.st_nlink > 1:
                kind = f"a file with {info.st_nlink} hard links"
            else:
                seen += 1
                if seen > _MAX_ENTRIES:
                    return None
                continue
            return ConfigError(
                _option(sweep),
                f"{path} is {kind}; what the run writes there would land outside "
                f"{folder}; remove the link, or choose a new {_option(sweep)}.",
            )
    return None
