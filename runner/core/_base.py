"""``Base``: named stateful objects whose Variables can be collected by path."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import jax

from ._state import Array, TrainVar, Variable

__all__ = ["Base", "Collector", "iter_arrays"]

_COUNTERS: defaultdict[str, itertools.count] = defaultdict(itertools.count)


class Base:
    """A named container of state (Variables) and of other ``Base`` objects.

    The default name is ``<ClassName><n>``, with one counter per class name, so the
    first ``F()`` is ``F0``. ``vars()`` finds every Variable reachable through
    attributes, lists, tuples and dicts, keyed ``'<owner name>.<path>'``.

    Args:
        name: an explicit name instead of the generated one.

    Example:
        >>> import runner.core as bm
        >>> class Cell(bm.Base):
        ...     def __init__(self):
        ...         super().__init__(name="cell")
        ...         self.v = bm.Variable(bm.zeros(1))
        ...         self.w = bm.TrainVar(bm.ones(1))
        >>> sorted(Cell().vars())
        ['cell.v', 'cell.w']
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            cls = type(self).__name__
            name = f"{cls}{next(_COUNTERS[cls])}"
        elif not isinstance(name, str) or not name:
            raise TypeError(
                f"{type(self).__name__}(name=...): expected a non-empty str, received "
                f"{name!r}; pass a name such as 'layer1' or leave it out."
            )
        self.name = name

    def vars(
        self, method: str = "absolute", level: int = -1, include_self: bool = True
    ) -> Collector:
        """Every Variable reachable from this object, each once, in attribute order.

        Args:
            method: ``"absolute"`` keys ``'<owner name>.<path>'``; ``"relative"`` keys
                the attribute path from this object (``'w'``, ``'layer.w'``).
            level: how many levels of nested ``Base`` objects to enter: ``0`` only
                this object's own Variables, ``1`` also its children's, ``-1``
                (the default) all.
            include_self: also this object's own Variables (not only its
                children's).

        Returns:
            A :class:`Collector` (a dict) from key to Variable.

        Raises:
            ValueError: an unknown ``method`` or a ``level`` below -1.

        Example:
            >>> import runner.core as bm
            >>> class A(bm.Base):
            ...     def __init__(self):
            ...         super().__init__(name="a")
            ...         self.x = bm.Variable(bm.zeros(1))
            ...         self.plain = bm.zeros(1)  # not a Variable: not collected
            ...         self.child = bm.Base(name="c")
            ...         self.child.w = bm.TrainVar(bm.ones(1))
            >>> list(A().vars())
            ['a.x', 'c.w']
            >>> list(A().vars(method="relative", level=0))
            ['x']
            >>> list(A().vars(include_self=False).subset(bm.TrainVar))
            ['c.w']
        """
        found = _Walker(method, level, include_self).arrays(self)
        return Collector((k, v) for k, v in found if isinstance(v, Variable))

    def train_vars(
        self, method: str = "absolute", level: int = -1, include_self: bool = True
    ) -> Collector:
        """The TrainVar subset of :meth:`vars` (same arguments).

        Example:
            >>> import runner.core as bm
            >>> class A(bm.Base):
            ...     def __init__(self):
            ...         super().__init__(name="a")
            ...         self.x = bm.Variable(bm.zeros(1))
            ...         self.w = bm.TrainVar(bm.zeros(1))
            >>> list(A().train_vars())
            ['a.w']
        """
        return self.vars(method, level, include_self).subset(TrainVar)

    def nodes(
        self, method: str = "absolute", level: int = -1, include_self: bool = True
    ) -> Collector:
        """This object and every ``Base`` reachable from it (arguments of :meth:`vars`).

        Absolute keys are the objects' names; relative keys are attribute paths, with
        ``''`` for this object.

        Example:
            >>> import runner.core as bm
            >>> class Net(bm.Base):
            ...     def __init__(self):
            ...         super().__init__(name="net")
            ...         self.layers = [bm.Base(name="l1"), bm.Base(name="l2")]
            >>> list(Net().nodes())
            ['net', 'l1', 'l2']
            >>> list(Net().nodes(method="relative", include_self=False))
            ['layers[0]', 'layers[1]']
        """
        walker = _Walker(method, level, include_self)
        walker.arrays(self)
        return Collector(walker.nodes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def iter_arrays(obj: Any) -> Iterator[tuple[str, Array]]:
    """Yield ``(path, array)`` for every Array reachable from ``obj``, each once.

    Example:
        >>> import runner.core as bm
        >>> class A(bm.Base):
        ...     def __init__(self):
        ...         super().__init__(name="a")
        ...         self.xs = [bm.zeros(1), bm.Variable(bm.ones(1))]
        >>> [path for path, _ in bm.iter_arrays(A())]
        ['a.xs[0]', 'a.xs[1]']
    """
    return iter(_Walker().arrays(obj))


class Collector(dict):
    """A dict of named Variables or ``Base`` objects, as ``vars()`` returns.

    Example:
        >>> import runner.core as bm
        >>> v, w = bm.Variable(bm.zeros(1)), bm.TrainVar(bm.ones(1))
        >>> both = bm.Collector(v=v, w=w) + bm.Collector(alias=w)
        >>> list(both.subset(bm.TrainVar)), list(both.unique())
        (['w', 'alias'], ['v', 'w'])
    """

    def subset(self, var_type: type | tuple[type, ...]) -> Collector:
        """The entries whose value is an instance of ``var_type``.

        Example:
            >>> import runner.core as bm
            >>> c = bm.Collector(a=bm.Variable(bm.zeros(1)), b=bm.TrainVar(bm.ones(1)))
            >>> list(c.subset(bm.TrainVar))
            ['b']
        """
        return Collector((k, v) for k, v in self.items() if isinstance(v, var_type))

    def unique(self) -> Collector:
        """Each value once (the same object under several keys keeps its first key).

        Example:
            >>> import runner.core as bm
            >>> v = bm.Variable(bm.zeros(1))
            >>> list(bm.Collector(a=v, b=v).unique())
            ['a']
        """
        seen: set[int] = set()
        out = Collector()
        for k, v in self.items():
            if id(v) not in seen:
                seen.add(id(v))
                out[k] = v
        return out

    def __add__(self, other: dict) -> Collector:
        """Both collections; a key in both must name the same object.

        Example:
            >>> import runner.core as bm
            >>> v = bm.Variable(bm.zeros(1))
            >>> list(bm.Collector(a=v) + {"b": v})
            ['a', 'b']
        """
        out = Collector(self)
        for k, v in other.items():
            if k in out and out[k] is not v:
                raise ValueError(
                    f"Collector + : key {k!r} names different objects on the two "
                    f"sides; rename one of them (e.g. give the Base objects distinct "
                    f"names)."
                )
            out[k] = v
        return out


def _flatten_collector(c: Collector) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    keys = tuple(sorted(c))  # as JAX flattens a dict: leaves in sorted key order
    return tuple((jax.tree_util.DictKey(k), c[k]) for k in keys), keys


jax.tree_util.register_pytree_with_keys(
    Collector, _flatten_collector, lambda keys, values: Collector(zip(keys, values))
)

_METHODS = ("absolute", "relative")


class _Walker:
    """Find the Arrays and ``Base`` objects reachable from an object, each once.

    Depth counts nested ``Base`` objects: the object walked from is depth 0 (if it
    is a ``Base``), its children depth 1, and so on.
    """

    def __init__(
        self, method: str = "absolute", level: int = -1, include_self: bool = True
    ) -> None:
        if method not in _METHODS:
            raise ValueError(
                f"vars(method={method!r}): expected 'absolute' (keys by owner name) "
                f"or 'relative' (keys by attribute path)."
            )
        if isinstance(level, bool) or not isinstance(level, int) or level < -1:
            raise ValueError(
                f"vars(level={level!r}): expected an int >= -1 (-1: all levels, 0: "
                f"this object only, 1: and its children, ...)."
            )
        self.relative = method == "relative"
        self.level = level
        self.include_self = include_self
        self.seen: set[int] = set()
        self.nodes: dict[str, Base] = {}
        self.found: list[tuple[str, Array]] = []

    def arrays(self, obj: Any) -> list[tuple[str, Array]]:
        self._visit(obj, "", -1)
        return self.found

    def _visit(self, obj: Any, prefix: str, depth: int) -> None:
        if id(obj) in self.seen:
            return
        if isinstance(obj, Array):
            if depth > 0 or self.include_self or depth < 0:
                self.seen.add(id(obj))
                self.found.append((prefix, obj))
            return
        if isinstance(obj, Base):
            depth += 1
            if 0 <= self.level < depth:
                return
            self.seen.add(id(obj))
            path = prefix if self.relative else obj.name
            if depth > 0 or self.include_self:
                self.nodes[path] = obj
            for attr, child in vars(obj).items():
                self._visit(child, f"{path}.{attr}" if path else attr, depth)
        elif isinstance(obj, (list, tuple)):
            self.seen.add(id(obj))
            for i, child in enumerate(obj):
                self._visit(child, f"{prefix}[{i}]", depth)
        elif isinstance(obj, dict):
            self.seen.add(id(obj))
            for key, child in obj.items():
                self._visit(child, f"{prefix}[{key!r}]", depth)
