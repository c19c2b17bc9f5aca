"""What a config file may not do: widen the allow-list or set Hydra's own nodes.

Hydra acts on its ``hydra`` node before the runner sees a config: it instantiates
``hydra.callbacks``, configures logging from ``hydra.job_logging`` and
``hydra.hydra_logging`` (file handlers, ``()`` factories), sets ``hydra.job.env_set``,
picks the launcher and where files go. So :func:`check_config_files` composes the
command's config as Hydra will (every experiment of a sweep), composes it again
from the command line's Hydra overrides alone, and refuses any difference in the
``hydra`` node that a file made, except in :data:`FILE_SETTABLE`. The command line
and ``RUNNER_TRUST_CONFIG_HYDRA=1`` are the only ways to allow more.
``allowed_targets`` and ``compile_cache`` likewise come only from the command line
(or ``RUNNER_ALLOWED_TARGETS``, ``RUNNER_COMPILE_CACHE``):
:func:`check_allowed_targets`, :func:`check_compile_cache`.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.types import RunMode
from omegaconf import OmegaConf

from .compile_cache import CACHE_ENV, default_cache_dir
from .errors import ConfigError, how_to_allow
from .hydra_private import Hydra, get_args_parser, main_hydra
from .overrides import parse
from .schema import register
from .sources import SHIPPED, cli_searchpath

__all__ = [
    "FILE_SETTABLE",
    "TRUST_ENV",
    "check_allowed_targets",
    "check_compile_cache",
    "check_config_files",
    "impure_resolvers",
    "cli_allowed_targets",
]

TRUST_ENV = "RUNNER_TRUST_CONFIG_HYDRA"
# Hydra nodes a config file may set: the values a -m sweep takes (plain keys only,
# checked below). Everything else under hydra is the command line's.
FILE_SETTABLE = ("hydra.sweeper.params",)
# Plain keys only the command line (or the environment) sets: what may be imported,
# and where compiled programs are loaded from.
COMMAND_LINE_ONLY = ("allowed_targets", "compile_cache")
# Nodes Hydra computes after composing (overwritten, or checked separately).
_COMPUTED = ("hydra.runtime", "hydra.job.override_dirname", "hydra.job.config_name")


def _is_hydra(override: Override) -> bool:
    key = override.key_or_group
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def cli_allowed_targets(overrides: Sequence[str]) -> list[str] | None:
    """The ``allowed_targets`` the command-line ``overrides`` set, or None.

    Example:
        >>> cli_allowed_targets(["+exp=grad", "allowed_targets=[mypkg.]"])
        ['mypkg.']
        >>> cli_allowed_targets(["+exp=grad"]) is None
        True
    """
    return _allowed_in(parse(overrides))


def _allowed_in(overrides: Sequence[Override]) -> list[str] | None:
    found = None
    for override in overrides:
        if override.key_or_group == "allowed_targets":
            value = None if override.is_delete() else override.value()
            found = [str(v) for v in value] if isinstance(value, list) else value
    return found


def check_allowed_targets(
    value: Any, overrides: Sequence[str], where: str = ""
) -> None:
    """Refuse an ``allowed_targets`` that a config file set (not the command line).

    Args:
        value: ``allowed_targets`` of the composed config.
        overrides: the command line's task overrides
            (``HydraConfig.get().overrides.task``).
        where: which files were composed, for the message.

    Raises:
        ConfigError: naming ``allowed_targets`` and how to allow a package.

    Example:
        >>> check_allowed_targets(["mypkg."], ["allowed_targets=[mypkg.]"])
        >>> try:
        ...     check_allowed_targets(["os."], ["+exp=evil"])
        ... except ConfigError as err:
        ...     print(str(err).split(";")[0])
        allowed_targets: set by a config file to ['os.']
    """
    expected = cli_allowed_targets(overrides) or []
    if list(value or []) != list(expected):
        raise ConfigError(
            "allowed_targets",
            f"set by a config file{where} to {list(value)!r}; a config file cannot "
            f"widen what it may import; if you trust the package, allow it "
            f"{how_to_allow(next(iter(value or []), 'mypkg'))}",
        )


def check_compile_cache(value: Any, overrides: Sequence[str], where: str = "") -> None:
    """Refuse a ``compile_cache`` that a config file set (not the command line).

    JAX loads and runs the compiled programs it finds in that directory, so a
    file that could choose it could ship a program under another model's key.

    Args:
        value: ``compile_cache`` of the composed config.
        overrides: the command line's task overrides.
        where: which files were composed, for the message.

    Raises:
        ConfigError: naming ``compile_cache`` and how to choose a directory.

    Example:
        >>> check_compile_cache("/tmp/c", ["compile_cache=/tmp/c"])
        >>> try:
        ...     check_compile_cache("/tmp/theirs", ["+exp=evil"])
        ... except ConfigError as err:
        ...     print(str(err).split(";")[0])
        compile_cache: set by a config file to '/tmp/theirs'
    """
    parsed = parse(overrides)
    if any(o.key_or_group == "compile_cache" for o in parsed):
        return  # the command line chose it
    if value != default_cache_dir():
        raise ConfigError(
            "compile_cache",
            f"set by a config file{where} to {value!r}; JAX runs the compiled "
            f"programs it finds there, so only the command line (compile_cache=DIR "
            f"or compile_cache=null) or {CACHE_ENV}=DIR chooses it.",
        )


# Resolvers a config file may use: they read only the config itself. Others read
# the environment (oc.env), decode strings into new config (oc.decode, oc.create),
# the clock (now), or run code a plugin registered.
PURE_RESOLVERS = ("oc.select", "oc.dict.keys", "oc.dict.values", "hydra")
_RESOLVER = re.compile(r"(?<!\\)\$\{\s*([A-Za-z_][\w.]*)\s*:")


def impure_resolvers(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """``(dotted key, resolver)`` for each resolver in ``node``'s strings that
    reads anything but the config itself.

    Example:
        >>> list(impure_resolvers({"a": "${oc.env:HOME}", "b": ["${c}", "${now:%H}"]}))
        [('a', 'oc.env'), ('b.1', 'now')]
    """
    if isinstance(node, dict):
        for k, v in node.items():
            yield from impure_resolvers(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from impure_resolvers(v, f"{key}.{i}" if key else str(i))
    elif isinstance(node, str):
        for name in _RESOLVER.findall(node):
            if name not in PURE_RESOLVERS:
                yield key, name


def _check_resolvers(ours: set[tuple[str, str]], full: Any, where: str) -> None:
    """Refuse a resolver that reads the environment (or more) set by a file, not
    among ``ours`` (those of the runner's config.yaml and the command line)."""
    for key, name in impure_resolvers(full):
        if (key, name) not in ours:
            raise ConfigError(
                key,
                f"set by a config file{where} to use the resolver {name}; a config "
                f"file may interpolate only within the config (${{key}}, "
                f"{', '.join(PURE_RESOLVERS)}), not read the environment or decode "
                f"strings; pass the value on the command line instead (where "
                f"${{{name}:...}} is allowed).",
            )


def _flat(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, leaf) pairs of a container; lists and empty dicts are leaves."""
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _flat(v, f"{key}.{k}")
    else:
        yield key, node


def _under(key: str, prefixes: Sequence[str]) -> bool:
    return any(key == p or key.startswith(f"{p}.") for p in prefixes)


def _changed(base: Any, full: Any) -> list[str]:
    """Keys of the ``hydra`` node that differ, outside the computed ones."""
    a, b = dict(_flat(base, "hydra")), dict(_flat(full, "hydra"))
    keys = list(b) + [k for k in a if k not in b]
    return [k for k in keys if a.get(k, KeyError) != b.get(k, KeyError)
            and not _under(k, _COMPUTED)]  # fmt: skip


def _refuse(key: str, where: str) -> ConfigError:
    return ConfigError(
        key,
        f"set by a config file{where}; config files may not set Hydra's own nodes "
        f"(callbacks and logging run code, others choose where files go); set it "
        f"on the command line, or set {TRUST_ENV}=1 if you trust every config "
        f"file of this run.",
    )


def _check_params(params: dict[str, Any], base: dict[str, Any], hydra: Hydra,
                  parser: OverridesParser, where: str) -> None:  # fmt: skip
    """A file's sweep parameters may sweep plain keys only."""
    repo = hydra.config_loader.repository  # type: ignore[attr-defined]
    for key, value in params.items():
        if base.get(key, KeyError) == value:
            continue
        name = parser.parse_override(f"{key}=0").key_or_group
        if name == "hydra" or name.startswith(("hydra.", "hydra/")) or (
            name in COMMAND_LINE_ONLY or repo.group_exists(name)):  # fmt: skip
            raise ConfigError(
                f"hydra.sweeper.params.{key}",
                f"set by a config file{where}; a file's sweep may vary plain keys "
                f"only, not Hydra's nodes, config groups or "
                f"{' or '.join(COMMAND_LINE_ONLY)}; sweep it on the command line "
                f"({key}=a,b) instead.",
            )


def _added_options(dirs: Sequence[str], own: Hydra) -> str:
    """A directory of the ``hydra/`` options of ``dirs`` that ``own`` lacks.

    The base composition reads these (so that ``hydra/launcher=mine`` composes)
    and nothing else of ``dirs``: not a file standing in for one the runner or
    Hydra has (``experiment_schema``, ``hydra/sweeper/basic``).
    """
    repo = own.config_loader.repository  # type: ignore[attr-defined]
    added = Path(tempfile.mkdtemp(prefix="runner-trust-"))
    for root in map(Path, dirs):
        for path in sorted(root.glob("hydra/**/*.yaml")):
            name = path.relative_to(root)
            if not (added / name).exists() and not repo.config_exists(
                name.with_suffix("").as_posix()
            ):
                (added / name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(path.resolve(), added / name)
    return str(added)


def _combinations(overrides: list[Override], hydra: Hydra) -> list[list[str]]:
    """Every combination of the config-group choices of a (sweep) command line."""
    repo = hydra.config_loader.repository  # type: ignore[attr-defined]
    choices = []
    for override in overrides:
        if _is_hydra(override) or not repo.group_exists(override.key_or_group):
            continue  # plain values select no file
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line])
    return [list(c) for c in itertools.product(*choices)]


def check_config_files(argv: Sequence[str], primary: str) -> None:
    """Refuse Hydra nodes (and ``allowed_targets``) set by a config file.

    Composes the config of the command line ``argv`` for every combination of
    its config-group choices (each experiment of a sweep) and compares the
    ``hydra`` node, unresolved, with the one of ``primary/config.yaml`` and the
    command line's Hydra overrides alone (which may choose a ``hydra/`` option
    that only ``--config-dir`` has). Nothing is instantiated or logged.

    Args:
        argv: the command line, without the program name.
        primary: where the runner's own ``config.yaml`` is (a directory or a
            ``pkg://`` path).

    Raises:
        ConfigError: naming the first key a file set, and how to allow it.
        Exception: what Hydra raises for a config it cannot compose.

    Example:
        >>> from runner.config.sources import MAIN
        >>> check_config_files(["+exp=jacobian", "hydra.run.dir=/tmp/x"], MAIN)
    """
    if os.environ.get(TRUST_ENV) == "1":
        return
    args = get_args_parser().parse_args(list(argv))
    if args.cfg or args.info or args.shell_completion:
        return  # these only print; Hydra instantiates and logs nothing
    register()  # config.yaml composes against the schema
    config_path = args.config_path or str(primary)
    search = cli_searchpath(args.overrides)
    hydra = main_hydra(config_path, args.config_dir, search)
    own, added = hydra, None
    try:
        parser = OverridesParser.create(config_loader=hydra.config_loader)
        parsed = parser.parse_overrides(args.overrides)
        cli = [o.input_line for o in parsed if _is_hydra(o)]
        cli_targets = _allowed_in(parsed)
        # The base reads of the command line's directories (--config-dir,
        # hydra.searchpath) only the hydra/ options they add.
        paths = [o for o in parsed if not o.is_delete()
                 and o.key_or_group == "hydra.searchpath"]  # fmt: skip
        dirs = [args.config_dir] if args.config_dir is not None else []
        dirs += [p[len("file://"):] for o in paths for p in (o.value() or [])
                 if isinstance(p, str) and p.startswith("file://")]  # fmt: skip
        if dirs or config_path != str(primary):
            own = main_hydra(str(primary), None, [SHIPPED])
            added = _added_options(dirs, own)
            own = main_hydra(str(primary), added, [SHIPPED])
        base = own.compose_config("config", [c for c in cli if not any(
            c == o.input_line for o in paths)], run_mode=RunMode.RUN)  # fmt: skip
        base_hydra = OmegaConf.to_container(base.hydra, resolve=False)
        ours = set(impure_resolvers(OmegaConf.to_container(base, resolve=False)))
        if paths:
            base_hydra["searchpath"] = paths[-1].value()
        for combo in _combinations(parsed, hydra):
            named = ([f"--config-name={args.config_name}"] if args.config_name
                     else []) + combo  # fmt: skip
            where = f" (with {' '.join(named)})" if named else ""
            full = hydra.compose_config(
                args.config_name or "config", cli + combo, run_mode=RunMode.RUN
            )
            full_hydra = OmegaConf.to_container(full.hydra, resolve=False)
            _check_resolvers(ours, OmegaConf.to_container(full, resolve=False), where)
            for key in _changed(base_hydra, full_hydra):
                if key.startswith("hydra.overrides."):
                    if full_hydra["overrides"] == {"hydra": cli, "task": combo}:
                        continue
                    raise _refuse("hydra.overrides", where)
                if not _under(key, FILE_SETTABLE):
                    raise _refuse(key, where)
            _check_params(full_hydra["sweeper"].get("params") or {},
                          base_hydra["sweeper"].get("params") or {}, hydra,
                          parser, where)  # fmt: skip
            if cli_targets is None:
                check_allowed_targets(full.get("allowed_targets"), [], where)
            check_compile_cache(full.get("compile_cache"), args.overrides, where)
    finally:
        GlobalHydra.instance().clear()
        if added is not None:
            shutil.rmtree(added, ignore_errors=True)
