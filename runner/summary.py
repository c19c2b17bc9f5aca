"""The console summary of an experiment: its arrays, as a person wants to read them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.table import Table

from .experiment import Result

__all__ = ["print_summary"]


def print_summary(
    title: str, results: Sequence[Result], console: Console | None = None
) -> None:
    """Print one row per result array: quantity, wrt, output, shape and values.

    Square Jacobians with eigenvalues get a stability verdict (all real parts < 0).

    Example:
        >>> import io
        >>> c = Console(file=io.StringIO(), width=60, record=True)
        >>> print_summary("demo", [Result("value", "", "", np.array([2.0, 3.0]))], c)
        >>> "[2. 3.]" in c.export_text()
        True
    """
    console = console or Console()
    table = Table(title=title)
    for column in ("quantity", "wrt", "output", "shape", "values"):
        table.add_column(column, overflow="fold")
    for r in results:
        text = np.array2string(np.asarray(r.array), precision=8, suppress_small=True)
        table.add_row(r.quantity, r.wrt, r.output, str(r.array.shape), text)
    console.print(table)
    for r in results:
        if r.quantity == "eigenvalue_real":
            verdict = "stable" if (r.array < 0).all() else "not stable"
            console.print(f"fixed point w.r.t. {r.wrt}: {verdict} (max Re = "
                          f"{r.array.max():.6g})")  # fmt: skip
