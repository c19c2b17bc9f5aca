"""Which configs of a composition are a file's, and whether one reached ``hydra``.

A composition merges configs of two kinds. The runner's and Hydra's own are those
read from :func:`~runner.config.hydra_private.own_sources` (Hydra's configs, the
runner's primary ``config.yaml`` and ``hydra/launcher`` options, the ConfigStore)
and chosen by such configs or the command line. Everything else is a config
file's: an experiment, a model, any file of ``--config-dir`` or
``hydra.searchpath`` (the shipped examples too), whatever its name, and any
config that such a file chose or placed.

:func:`reaching_hydra` reads Hydra's record of one composition
(:func:`~runner.config.hydra_private.compose_loaded`: each merged config, the
search path entry it came from, the config whose defaults list chose it, and what
it set at its package) and says whether a config file may have changed the
``hydra`` node beyond ``hydra.sweeper.params``. When it says none did, that node
is the runner's and Hydra's own with the command line's overrides, and the trust
check need not compose it again to compare.

The test is on what each config is and where it sits once Hydra has placed it,
never on how a file spelled it: ``# @package`` headers, ``@package`` entries and
``_global_`` keys all end up as a top-level ``hydra`` key of its content. A
defaults entry that names a ``hydra`` group (``override /hydra/launcher: x``,
relative or absolute), one with ``hydra`` in its package, one that climbs
(``..``) and an interpolated entry of the runner's own configs are each reported,
whatever they select. A reason is not a refusal: the trust check then compares
the node with the command line's own and refuses only what differs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .hydra_private import Entry, Loaded

__all__ = ["files", "reaching_hydra"]


def _normalize_path(path: str) -> str | None:
    """``path`` without leading or doubled ``/``; None for one with ``.`` or ``..``.

    Example:
        >>> _normalize_path("/hydra//launcher"), _normalize_path("model/../hydra")
        ('hydra/launcher', None)
    """
    parts = [p for p in path.split("/") if p]
    return None if any(p in (".", "..") for p in parts) else "/".join(parts)


def _folder(path: str) -> str:
    return path.rpartition("/")[0]


def _group(config: Loaded) -> str | None:
    """The group ``config`` was chosen in (its folder when Hydra names none)."""
    return _normalize_path(config.group or _folder(config.path))


def _targets(entry: Entry, folder: str) -> Iterator[str | None]:
    """What a defaults entry of a config in ``folder`` may name: its target read
    as absolute and as relative to ``folder`` (None for one that climbs)."""
    yield _normalize_path(entry.target)
    if folder and not entry.target.startswith("/"):
        yield _normalize_path(f"{folder}/{entry.target}")


def _in_hydra(path: str | None) -> bool:
    return path is None or path == "hydra" or path.startswith("hydra/")


def files(loaded: Sequence[Loaded], own: frozenset[str]) -> set[str]:
    """The paths of the configs of ``loaded`` that are a config file's.

    A config is a file's when it was read from a source not in ``own``, when its
    path climbs (``..``), when a file's config chose it (its parent), or when a
    file's ``override`` entry names its group; the last two repeat until no more
    configs are added.

    Example:
        >>> from runner.config.hydra_private import Loaded
        >>> own = frozenset({"pkg://hydra.conf"})
        >>> exp = Loaded("exp/x", "config", "exp", "file:///mine", {}, ())
        >>> sorted(files([exp, Loaded("config", None, None, "pkg://hydra.conf",
        ...                           {}, ())], own))
        ['exp/x']
    """
    theirs = {c.path for c in loaded
              if c.source not in own or _normalize_path(c.path) is None}  # fmt: skip
    known = {c.path for c in loaded}
    while True:
        chosen = {target for c in loaded if c.path in theirs for e in c.defaults
                  if e.override for target in _targets(e, _folder(c.path))}  # fmt: skip
        more = {c.path for c in loaded if c.path not in theirs and (
            c.parent in theirs or (c.parent is not None and c.parent not in known)
            or _group(c) in chosen)}  # fmt: skip
        if not more:
            return theirs
        theirs |= more


def _sweep_only(node: Any) -> bool:
    """Whether a ``hydra`` node sets ``sweeper.params`` and nothing else."""
    return (isinstance(node, dict) and list(node) == ["sweeper"]
            and isinstance(node["sweeper"], dict)
            and list(node["sweeper"]) == ["params"])  # fmt: skip


def _sweeps(node: Any) -> bool:
    """Whether a ``hydra`` node sets ``sweeper.params`` to a non-empty value."""
    sweeper = node.get("sweeper") if isinstance(node, dict) else None
    return isinstance(sweeper, dict) and bool(sweeper.get("params"))


def _chooses_hydra(config: Loaded) -> str | None:
    """The first defaults entry of ``config`` that may select or place into
    ``hydra``, or None."""
    for entry in config.defaults:
        targets = list(_targets(entry, _folder(config.path)))
        if any(_in_hydra(t) for t in targets) or "hydra" in (entry.package or ""):
            return entry.target
    return None


def reaching_hydra(loaded: Sequence[Loaded], own: frozenset[str]) -> str | None:
    """Why a config file of ``loaded`` may have changed the ``hydra`` node, or None.

    None means: no config file has a defaults entry that may select or place a
    config in ``hydra``; a config file's content sets nothing under ``hydra``
    but ``sweeper.params``; the runner's and Hydra's own configs that set
    ``hydra`` are roots (``hydra/config``, the primary config) or options of a
    ``hydra/`` group, none sets ``sweeper.params`` and none interpolates its
    defaults list. Then ``hydra`` is what those configs and the command line make
    it, plus a file's sweep parameters.

    Args:
        loaded: a composition's record, from
            :func:`~runner.config.hydra_private.compose_loaded`.
        own: the runner's and Hydra's config sources (``own_sources``).

    Returns:
        A short reason (``exp/x sets hydra``), or None.

    Example:
        >>> from runner.config.hydra_private import Entry, Loaded
        >>> own = frozenset({"pkg://hydra.conf"})
        >>> hydra = Loaded("hydra/config", None, None, "pkg://hydra.conf",
        ...                {"hydra": {"run": {"dir": "out"}}}, ())
        >>> exp = Loaded("exp/x", "config", "exp", "file:///mine",
        ...              {"hydra": {"sweeper": {"params": {"a": "1,2"}}}}, ())
        >>> reaching_hydra([hydra, exp], own) is None
        True
        >>> logs = Entry("/hydra/job_logging", None, True, False)
        >>> chooser = Loaded("exp/y", "config", "exp", "file:///mine", {}, (logs,))
        >>> reaching_hydra([hydra, chooser], own)
        'exp/y chooses /hydra/job_logging'
    """
    theirs = files(loaded, own)
    for config in loaded:
        if config.path in theirs and (target := _chooses_hydra(config)):
            return f"{config.path} chooses {target}"
        if config.path not in theirs and any(e.interpolated for e in config.defaults):
            return f"{config.path} interpolates its defaults list"
        if not isinstance(config.content, dict):
            return f"{config.path} is not a mapping"
        if "hydra" not in config.content:
            continue
        node = config.content["hydra"]
        if config.path in theirs:
            if not _sweep_only(node):
                return f"{config.path} sets hydra"
        elif config.parent is not None and not (_group(config) or "").startswith(
            "hydra/"
        ):
            return f"{config.path} sets hydra outside a hydra/ group"
        elif _sweeps(node):
            return f"{config.path} sets hydra.sweeper.params"
    return None
