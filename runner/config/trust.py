"""What a config file may not do: widen the allow-list or set Hydra's own nodes.

Hydra acts on its ``hydra`` node before the runner sees a config: it instantiates
``hydra.callbacks``, configures logging from ``hydra.job_logging`` and
``hydra.hydra_logging`` (file handlers, ``()`` factories), sets ``hydra.job.env_set``,
picks the launcher and where files go. So :func:`check_config_files` composes the
command's config as Hydra will (every experiment of a sweep) and refuses any part
of the ``hydra`` node that a config file made, except in :data:`FILE_SETTABLE`.
Hydra's record of that composition says which configs are a file's and what each
set (:mod:`runner.config.provenance`); only when a file's config may have reached
``hydra`` is the node composed again from the command line's Hydra overrides
alone and compared (:mod:`runner.config.hydra_base`), so that the refusals are
those of that comparison. The command line and ``RUNNER_TRUST_CONFIG_HYDRA=1`` are
the only ways to allow more. ``allowed_targets``, ``compile_cache`` and
``sweep.ray.address`` likewise
come only from the command line (or ``RUNNER_ALLOWED_TARGETS``,
``RUNNER_COMPILE_CACHE``): :func:`check_allowed_targets`, :func:`check_compile_cache`.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import OmegaConf

from .compile_cache import CACHE_ENV, default_cache_dir
from .errors import ConfigError, how_to_allow
from .hydra_base import OwnNode, changed, is_hydra, under
from .hydra_private import (
    Hydra,
    Loaded,
    compose_loaded,
    get_args_parser,
    group_exists,
    main_hydra,
    overrides_parser,
    own_sources,
)
from .overrides import parse
from .provenance import files, reaching_hydra
from .schema import register
from .sources import cli_searchpath

__all__ = [
    "FILE_SETTABLE",
    "TRUST_ENV",
    "check_allowed_targets",
    "check_compile_cache",
    "check_ray_address",
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
# Nodes of an experiment's hydra that its files or its group choices feed: not the
# runner's own, so their resolvers are checked as a file's.
_FED = ("hydra.sweeper.params", "hydra.overrides.task", "hydra.runtime",
        "hydra.job.override_dirname", "hydra.job.config_name")  # fmt: skip


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


def check_ray_address(value: Any, overrides: Sequence[str], where: str = "") -> None:
    """Refuse a ``sweep.ray.address`` that a config file set (not the command line).

    A Ray driver sends its model and config to the cluster and loads the objects
    it returns, so a file that could choose the cluster could run code here.

    Args:
        value: ``sweep.ray.address`` of the composed config (None: not set).
        overrides: the command line's task overrides.
        where: which files were composed, for the message.

    Raises:
        ConfigError: naming ``sweep.ray.address`` and how to choose a cluster.

    Example:
        >>> check_ray_address("10.0.0.1:6379", ["sweep.ray.address=10.0.0.1:6379"])
        >>> check_ray_address(None, ["+exp=big"])
        >>> try:
        ...     check_ray_address("evil.example:6379", ["+exp=big"])
        ... except ConfigError as err:
        ...     print(str(err).split(";")[0])
        sweep.ray.address: set by a config file to 'evil.example:6379'
    """
    if value is None:
        return
    if any(o.key_or_group == "sweep.ray.address" for o in parse(overrides)):
        return  # the command line chose it
    raise ConfigError(
        "sweep.ray.address",
        f"set by a config file{where} to {value!r}; the sweep would send its model "
        f"and config to that cluster and load what it returns, so only the "
        f"command line (sweep.ray.address=HOST:PORT) chooses a cluster.",
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


def _command_line_resolvers(cli: list[str], base: dict[str, Any]) -> set[Any]:
    """The resolvers of the command line's Hydra overrides as an experiment's
    ``hydra`` holds them: its lines (``overrides.hydra``) and ``searchpath``."""
    lines = {"hydra": {"overrides": {"hydra": cli}, "searchpath": base["searchpath"]}}
    return set(impure_resolvers(lines))


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
    for key, value in params.items():
        if base.get(key, KeyError) == value:
            continue
        name = parser.parse_override(f"{key}=0").key_or_group
        if name == "hydra" or name.startswith(("hydra.", "hydra/")) or (
            name in COMMAND_LINE_ONLY or group_exists(hydra, name)):  # fmt: skip
            raise ConfigError(
                f"hydra.sweeper.params.{key}",
                f"set by a config file{where}; a file's sweep may vary plain keys "
                f"only, not Hydra's nodes, config groups or "
                f"{' or '.join(COMMAND_LINE_ONLY)}; sweep it on the command line "
                f"({key}=a,b) instead.",
            )


def _check_changed(base: dict[str, Any], full: dict[str, Any], cli: list[str],
                   combo: list[str], where: str) -> None:  # fmt: skip
    """Refuse a key of ``full`` (an experiment's ``hydra``) that differs from
    ``base`` (the command line's alone), outside :data:`FILE_SETTABLE`."""
    for key in changed(base, full):
        if key.startswith("hydra.overrides."):
            if full["overrides"] == {"hydra": cli, "task": combo}:
                continue
            raise _refuse("hydra.overrides", where)
        if not under(key, FILE_SETTABLE):
            raise _refuse(key, where)


def _combinations(overrides: list[Override], hydra: Hydra) -> list[list[str]]:
    """Every combination of the config-group choices of a (sweep) command line."""
    choices = []
    for override in overrides:
        if is_hydra(override) or not group_exists(hydra, override.key_or_group):
            continue  # plain values select no file
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line])
    return [list(c) for c in itertools.product(*choices)]


@dataclass
class _Command:
    """What the checks of one command share."""

    hydra: Hydra
    parser: OverridesParser
    parsed: list[Override]
    overrides: list[str]
    config_name: str | None
    base: OwnNode
    own: frozenset[str] | None  # None: the primary config is not the runner's

    @property
    def cli(self) -> list[str]:
        return [o.input_line for o in self.parsed if is_hydra(o)]


def _needs_base(command: _Command, loaded: list[Loaded]) -> str | None:
    """Why this composition's ``hydra`` must be compared with the command line's
    own, or None when no file can have changed it beyond its sweep parameters
    (and so the comparison would find nothing else)."""
    if command.own is None:
        return "the primary config is not the runner's"
    if any(o.key_or_group == "hydra" or under(o.key_or_group, ("hydra.sweeper",))
           for o in command.parsed):  # fmt: skip
        return "the command line sets hydra.sweeper"
    reason = reaching_hydra(loaded, command.own)
    if reason is not None:
        return reason
    theirs = files(loaded, command.own)
    for config in loaded:
        rest = {k: v for k, v in config.content.items() if k != "hydra"}
        if config.path not in theirs and next(impure_resolvers(rest), None):
            return f"{config.path} uses a resolver of the environment"
    return None


def _check_experiment(command: _Command, combo: list[str]) -> None:
    """Check one experiment (``combo``: its config-group choices)."""
    named = ([f"--config-name={command.config_name}"] if command.config_name
             else []) + combo  # fmt: skip
    where = f" (with {' '.join(named)})" if named else ""
    full, loaded = compose_loaded(
        command.hydra, command.config_name or "config", command.cli + combo
    )
    full_hydra: Any = OmegaConf.to_container(full.hydra, resolve=False)
    reason = _needs_base(command, loaded)
    if reason is None:  # hydra is the runner's and the command line's
        base_hydra: dict[str, Any] = {}
        ours = {(k, n) for k, n in impure_resolvers(full_hydra, "hydra")
                if not under(k, _FED)}  # fmt: skip
    else:
        base_hydra, base = command.base.get()
        ours = set(impure_resolvers(base)) | _command_line_resolvers(
            command.cli, base_hydra
        )
    _check_resolvers(ours, OmegaConf.to_container(full, resolve=False), where)
    if reason is not None:
        _check_changed(base_hydra, full_hydra, command.cli, combo, where)
    _check_params(full_hydra["sweeper"].get("params") or {},
                  (base_hydra.get("sweeper") or {}).get("params") or {},
                  command.hydra, command.parser, where)  # fmt: skip
    if _allowed_in(command.parsed) is None:
        check_allowed_targets(full.get("allowed_targets"), [], where)
    check_compile_cache(full.get("compile_cache"), command.overrides, where)
    address = OmegaConf.select(full, "sweep.ray.address", default=None)
    check_ray_address(address, command.overrides, where)


def check_config_files(argv: Sequence[str], primary: str) -> None:
    """Refuse Hydra nodes (and ``allowed_targets``) set by a config file.

    Composes the config of the command line ``argv`` for every combination of
    its config-group choices (each experiment of a sweep), as Hydra will, and
    reads from Hydra's record of it which configs are a file's and what each set.
    When no file's config can have reached the ``hydra`` node but for its sweep
    parameters, that node is the runner's and the command line's; otherwise it is
    compared, unresolved, with the one of ``primary/config.yaml`` and the command
    line's Hydra overrides alone (which may choose a ``hydra/`` option that only
    ``--config-dir`` has), composed once. Nothing is instantiated or logged.

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
    hydra = main_hydra(config_path, args.config_dir, cli_searchpath(args.overrides))
    ours = config_path == str(primary) and args.config_name in (None, "config")
    base = None
    try:
        parser = overrides_parser(hydra)
        parsed = parser.parse_overrides(args.overrides)
        base = OwnNode(str(primary), config_path, args.config_dir, parsed, hydra)
        command = _Command(hydra, parser, parsed, list(args.overrides),
                           args.config_name, base,
                           own_sources(str(primary)) if ours else None)  # fmt: skip
        for combo in _combinations(parsed, hydra):
            _check_experiment(command, combo)
    finally:
        GlobalHydra.instance().clear()
        if base is not None:
            base.close()
