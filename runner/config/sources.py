"""Where configs come from: the shipped ones, the user's, and the order between them.

The runner's configs ship inside the package (``runner.configs``, the repository's
top-level ``configs/``) and Hydra finds them through the package, never through
the working directory:

- ``pkg://runner.configs.main`` is Hydra's primary source: ``config.yaml`` and
  Hydra's own options (``hydra/launcher/*``), read first.
- The shipped examples, ``exp/`` and ``model/`` of ``pkg://runner.configs``, come
  last: after ``--config-dir`` and the command line's ``hydra.searchpath``. So a
  user's ``exp/grad.yaml`` wins over the shipped ``grad``, and the run records
  which file it ran (:func:`chosen_files`).

Nothing here imports JAX: ``runner --help`` and tab completion use it alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "MAIN",
    "SHIPPED",
    "Experiment",
    "check_sizes",
    "chosen_files",
    "cli_searchpath",
    "did_you_mean",
    "experiments",
    "search_dirs",
    "shipped_dir",
    "with_shipped_searchpath",
]

MAIN = "pkg://runner.configs.main"  # config.yaml and hydra/: Hydra's "main" source
SHIPPED = "pkg://runner.configs"  # the shipped exp/ and model/, searched last


def _pkg_dir(package: str) -> Path:
    """The directory of an installed package (wheels and editable installs)."""
    return Path(str(resources.files(package)))


def shipped_dir() -> Path:
    """The directory of the shipped ``exp/`` and ``model/`` configs.

    Example:
        >>> (shipped_dir() / "exp" / "jacobian.yaml").is_file()
        True
    """
    return _pkg_dir(SHIPPED.removeprefix("pkg://"))


def main_dir() -> Path:
    """The directory of the primary ``config.yaml`` (Hydra's main config source).

    Example:
        >>> (main_dir() / "config.yaml").is_file()
        True
    """
    return _pkg_dir(MAIN.removeprefix("pkg://"))


def _source_dir(path: str) -> Path | None:
    """The directory a search path entry names (``file://``, ``pkg://`` or plain)."""
    if path.startswith("pkg://"):
        try:
            return _pkg_dir(path.removeprefix("pkg://").strip("/").replace("/", "."))
        except (ModuleNotFoundError, TypeError, ValueError):
            return None
    if "://" in path and not path.startswith("file://"):
        return None  # structured:// and the like hold no files
    return Path(path.removeprefix("file://")).resolve()


def cli_searchpath(overrides: Sequence[str]) -> list[str]:
    """The search path a command line sets: its last ``hydra.searchpath=[...]``,
    or the primary config's ``[pkg://runner.configs]``.

    Example:
        >>> cli_searchpath(["hydra.searchpath=[file:///a,pkg://runner.configs]"])
        ['file:///a', 'pkg://runner.configs']
        >>> cli_searchpath(["runner", "+exp=grad"])  # a completed line, too
        ['pkg://runner.configs']
    """
    from .overrides import value

    lines = [o for o in overrides if "hydra.searchpath" in o.partition("=")[0]]
    try:
        found = value(lines, "hydra.searchpath", [SHIPPED])
    except Exception:  # a line being typed, or one Hydra reports
        found = [SHIPPED]
    return [str(v) for v in found] if isinstance(found, list) else [SHIPPED]


def with_shipped_searchpath(overrides: Sequence[str]) -> list[str]:
    """``overrides`` with :data:`SHIPPED` kept last in a ``hydra.searchpath=[...]``.

    ``config.yaml`` sets ``hydra.searchpath: [pkg://runner.configs]``; a command
    line that sets ``hydra.searchpath`` replaces that list, which would drop the
    shipped examples. Its directories stay first, so they still win. A line that
    is not an override is left for Hydra to report.

    Example:
        >>> with_shipped_searchpath(["+exp=grad", "hydra.searchpath=[file:///a]"])
        ['+exp=grad', 'hydra.searchpath=[file:///a,pkg://runner.configs]']
    """
    from .overrides import parse

    found = []
    for line in overrides:
        if "hydra.searchpath" not in line.partition("=")[0]:
            found.append(line)  # not read twice: most lines are not this one
            continue
        try:
            (override,) = parse([line])
        except Exception:  # not an override: Hydra reports it, naming the line
            found.append(line)
            continue
        entries = override.value()
        if override.key_or_group != "hydra.searchpath" or not isinstance(entries, list):
            found.append(line)
            continue
        items = [str(v) for v in entries if str(v) != SHIPPED]
        key = line.partition("=")[0]
        found.append(f"{key}=[{','.join([*items, SHIPPED])}]")
    return found


def search_dirs(config_dir: str | None, searchpath: Sequence[str] = ()) -> list[Path]:
    """The directories Hydra searches for ``exp/`` and ``model/`` files, in order.

    Args:
        config_dir: the ``--config-dir`` argument, or None.
        searchpath: the command line's ``hydra.searchpath`` entries.

    Returns:
        ``--config-dir``, then the search path's directories, then the shipped
        configs: the first that holds ``exp/NAME.yaml`` is the one that runs.

    Example:
        >>> [d.name for d in search_dirs("/tmp/mine")]
        ['mine', 'configs']
    """
    dirs = [Path(config_dir).resolve()] if config_dir else []
    dirs += [d for p in searchpath if (d := _source_dir(str(p))) is not None]
    dirs.append(shipped_dir())
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


@dataclass(frozen=True)
class Experiment:
    """An experiment file: its name, path, one-line description, and whether it
    shadows a shipped experiment of the same name."""

    name: str
    path: Path
    description: str
    shadows: Path | None = None


def _description(path: Path) -> str:
    """The first sentence of the file's header comment (after ``@package``)."""
    words: list[str] = []
    for line in path.read_text(errors="replace").splitlines():
        text = line.strip()
        if not text.startswith("#"):
            break
        text = text.lstrip("#").strip()
        if text.startswith("@package") or not text:
            continue
        if re.match(r"\(?(python -m )?runner\b", text):
            break  # the command that runs it
        words += text.split()
        if re.search(r"[.:]$", text):
            break
    line = " ".join(words).rstrip(":")
    end = re.search(r"\.(\s+[A-Z(]|$)", line)  # not "w . x"
    line = line[: end.start() + 1] if end else line
    return line if len(line) <= 100 else line[:99].rstrip() + "…"


def experiments(dirs: Sequence[Path]) -> dict[str, Experiment]:
    """Every experiment the directories ``dirs`` (in search order) offer, by name.

    Example:
        >>> found = experiments(search_dirs(None))
        >>> found["grad"].description
        'Gradient of a * 2 + b in its first argument at (2, 1): 2.'
    """
    found: dict[str, Experiment] = {}
    for folder in dirs:
        for path in sorted(Path(folder).glob("exp/*.yaml")):
            if path.stem in found:
                first = found[path.stem]
                if first.shadows is None:
                    found[path.stem] = Experiment(
                        first.name, first.path, first.description, shadows=path
                    )
                continue
            found[path.stem] = Experiment(path.stem, path, _description(path))
    return dict(sorted(found.items()))


MAX_FILE_BYTES = 4_000_000  # a config file's size
MAX_FILE_VALUES = 50_000  # what one config file may expand to (YAML aliases too)


def _expanded_size(path: Path) -> int:
    """How many YAML nodes ``path`` expands to, aliases counted at every use."""
    import yaml

    root = yaml.compose(path.read_text(errors="replace"), Loader=yaml.SafeLoader)
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            sizes[id(node)] = 0  # a recursive alias counts once
            if isinstance(node, yaml.SequenceNode):
                inner = sum(size(n) for n in node.value)
            elif isinstance(node, yaml.MappingNode):
                inner = sum(size(k) + size(v) for k, v in node.value)
            else:
                inner = 0
            sizes[id(node)] = 1 + inner
        return sizes[id(node)]

    return 0 if root is None else size(root)


_GROUPS = ("exp", "model", "hydra")  # the config groups the runner's configs use


def _config_files(dirs: Sequence[Path]) -> list[Path]:
    """The YAML files of ``dirs`` that a runner command could compose."""
    found: list[Path] = []
    for folder in map(Path, dirs):
        found += sorted(folder.glob("*.yaml"))
        for group in _GROUPS:
            found += sorted((folder / group).rglob("*.yaml"))
    return found


def check_sizes(dirs: Sequence[Path]) -> str | None:
    """A one-line error for a config file of ``dirs`` too large to compose.

    Composing a file takes time in proportion to what it expands to, so a few
    hundred bytes of nested YAML aliases could keep the runner busy for minutes.
    The files read are those Hydra could select for the runner: ``*.yaml`` at the
    top of each directory and under its ``exp/``, ``model/`` and ``hydra/``
    groups (not a project's data files or virtual environment, when
    ``--config-dir .`` names a whole project). Each file may be at most
    :data:`MAX_FILE_BYTES` long and expand to at most
    :data:`MAX_FILE_VALUES` values; counting takes time in proportion to its text.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "exp").mkdir(), (d / "exp" / "ok.yaml").write_text("a: [1, 2]")
        >>> check_sizes([d]) is None
        True
        >>> lol = "a: &a [1,1,1,1,1,1,1,1,1,1]\\n" + "".join(
        ...     f"{n}: &{n} [{','.join(['*' + p] * 10)}]\\n"
        ...     for p, n in zip("abcde", "bcdef"))
        >>> _ = (d / "exp" / "lol.yaml").write_text(lol)
        >>> check_sizes([d]).split(";")[0]  # doctest: +ELLIPSIS
        '.../exp/lol.yaml: expands to more than 50000 values (1234573)'
    """
    import yaml

    for path in _config_files(dirs):
        if path.stat().st_size > MAX_FILE_BYTES:
            count = f"{path.stat().st_size} bytes, more than {MAX_FILE_BYTES}"
        else:
            try:
                values = _expanded_size(path)
            except yaml.YAMLError:
                continue  # Hydra reports it, naming the line
            if values <= MAX_FILE_VALUES:
                continue
            count = f"expands to more than {MAX_FILE_VALUES} values ({values})"
        return (f"{path}: {count}; composing it would take minutes; give long "
                f"inputs as a generator (runner.inputs.*) or a sweep range "
                f"{{start, stop, num}}, and never nest YAML aliases.")  # fmt: skip
    return None


def did_you_mean(name: str, options: Sequence[str]) -> str:
    """`` (did you mean X?)`` for the closest of ``options``, or an empty string.

    Example:
        >>> did_you_mean("jacobain", ["grad", "jacobian", "hessian"])
        ' (did you mean jacobian?)'
    """
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def chosen_files(
    choices: dict[str, object], sources: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """The file each chosen config group option came from.

    Args:
        choices: Hydra's ``runtime.choices`` (group -> option name); ``hydra/``
            groups are left out.
        sources: ``(schema, path)`` of Hydra's ``runtime.config_sources``, in
            search order.

    Returns:
        ``{"exp": "/abs/path/exp/grad.yaml", "model": ...}``, for the options
        that came from a file.

    Example:
        >>> files = chosen_files({"exp": "grad"}, [("pkg", "runner.configs")])
        >>> Path(files["exp"]).relative_to(shipped_dir()).as_posix()
        'exp/grad.yaml'
    """
    dirs = [d for schema, path in sources if schema in ("file", "pkg")
            and (d := _source_dir(f"{schema}://{path}")) is not None]  # fmt: skip
    found = {}
    for group, option in choices.items():
        if option is None or group.startswith("hydra/") or group == "hydra":
            continue
        for folder in dirs:
            path = folder / group / f"{option}.yaml"
            if path.is_file():
                found[group] = str(path)
                break
    return found
