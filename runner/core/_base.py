"""``Base``: named stateful objects whose Variables can be collected by path."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ._state import Array, TrainVar, Variable

__all__ = ["Base", "iter_arrays"]

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

    def vars(self) -> dict[str, Variable]:
        """Every Variable reachable from this object, keyed ``'<owner>.<path>'``.

        Returns:
            A dict from path to Variable, each Variable once, in attribute order.

        Example:
            >>> import runner.core as bm
            >>> class A(bm.Base):
            ...     def __init__(self):
            ...         super().__init__(name="a")
            ...         self.x = bm.Variable(bm.zeros(1))
            ...         self.plain = bm.zeros(1)  # not a Variable: not collected
            >>> list(A().vars())
            ['a.x']
        """
        return {k: v for k, v in iter_arrays(self) if isinstance(v, Variable)}

    def train_vars(self) -> dict[str, TrainVar]:
        """The TrainVar subset of :meth:`vars`.

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
        return {k: v for k, v in iter_arrays(self) if isinstance(v, TrainVar)}

    def nodes(self) -> dict[str, Base]:
        """This object and every ``Base`` reachable from it, keyed by name.

        Example:
            >>> import runner.core as bm
            >>> class Net(bm.Base):
            ...     def __init__(self):
            ...         super().__init__(name="net")
            ...         self.layers = [bm.Base(name="l1"), bm.Base(name="l2")]
            >>> list(Net().nodes())
            ['net', 'l1', 'l2']
        """
        found: dict[str, Base] = {}
        _walk(self, "", set(), found, arrays=None)
        return found

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
    arrays: list[tuple[str, Array]] = []
    _walk(obj, "", set(), {}, arrays)
    return iter(arrays)


def _walk(
    obj: Any,
    prefix: str,
    seen: set[int],
    nodes: dict[str, Base],
    arrays: list[tuple[str, Array]] | None,
) -> None:
    if id(obj) in seen:
        return
    if isinstance(obj, Array):
        seen.add(id(obj))
        if arrays is not None:
            arrays.append((prefix, obj))
        return
    if isinstance(obj, Base):
        seen.add(id(obj))
        nodes[obj.name] = obj
        for attr, child in vars(obj).items():
            _walk(child, f"{obj.name}.{attr}", seen, nodes, arrays)
    elif isinstance(obj, (list, tuple)):
        seen.add(id(obj))
        for i, child in enumerate(obj):
            _walk(child, f"{prefix}[{i}]", seen, nodes, arrays)
    elif isinstance(obj, dict):
        seen.add(id(obj))
        for key, child in obj.items():
            _walk(child, f"{prefix}[{key!r}]", seen, nodes, arrays)
