"""The console summary of an experiment: its arrays, as a person wants to read them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .checks import describe_nonfinite
from .experiment import Result

__all__ = ["print_summary"]


def print_summary(
    title: str, results: Sequence[Result], console: Console | None = None
) -> None:
    """Print one row per result array: quantity, wrt, output, shape and values.

    Square Jacobians with eigenvalues get a stability verdict (all real parts < 0);
    finite-difference checks get one line per ``wrt``, and arrays holding NaN or Inf
    a warning.

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
        if r.quantity.startswith(("check_", "nonfinite_")):
            text = f"{float(r.array):.3g}"  # small errors, counts: not rounded away
        cells = (r.quantity, r.wrt, r.output, str(r.array.shape), text)
        table.add_row(*(escape(c) for c in cells))  # "[nan 1.]" is not markup
    console.print(table)
    for r in results:
        if r.quantity == "eigenvalue_real":
            verdict = "stable" if (r.array < 0).all() else "not stable"
            console.print(f"fixed point w.r.t. {r.wrt}: {verdict} (max Re = "
                          f"{r.array.max():.6g})")  # fmt: skip
    errors = {(r.quantity, r.wrt): float(r.array) for r in results
              if r.quantity in ("check_abs_error", "check_rel_error")}  # fmt: skip
    for (quantity, wrt), abs_err in errors.items():
        if quantity == "check_abs_error":
            rel = errors.get(("check_rel_error", wrt), float("nan"))
            console.print(f"finite differences w.r.t. {wrt}: max abs error "
                          f"{abs_err:.3g}, rel error {rel:.3g}")  # fmt: skip
    for r in results:
        if r.quantity.startswith("nonfinite_"):
            console.print(f"[bold red]NaN/Inf:[/] {describe_nonfinite(r)}",
                          highlight=False)  # fmt: skip
