"""The console summary of an experiment: its arrays, as a person wants to read them."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..compute.experiment import Result
from ..compute.nonfinite import describe_nonfinite
from ..compute.rows import value_text
from ..compute.stability import FIXED_POINT_TOL, is_fixed_point
from .outdirs import SUMMARY

__all__ = ["console_for", "print_summary", "save_summary", "stability_lines"]

_UNWRAPPED = 10_000  # columns: long enough that no path or cell is ever wrapped


def console_for(
    stderr: bool = False, file: object = None, record: bool = False
) -> Console:
    """A console for the runner's output: wrapped to the terminal's width on a
    terminal, and never wrapped otherwise (redirected output, ``summary.txt``), so
    that paths and cells copy whole and ``tail -1`` gives a whole line.

    Example:
        >>> import io
        >>> c = console_for(file=io.StringIO(), record=True)
        >>> c.print("results: /" + "a" * 200 + "/results.csv")
        >>> len(c.export_text().splitlines())
        1
    """
    console = Console(stderr=stderr, file=file, record=record)  # type: ignore[arg-type]
    if console.is_terminal:
        return console
    return Console(stderr=stderr, file=file, record=record, soft_wrap=True,
                   width=_UNWRAPPED)  # type: ignore[arg-type]  # fmt: skip


def print_summary(
    title: str,
    results: Sequence[Result],
    console: Console | None = None,
    fixed_point_tol: float = FIXED_POINT_TOL,
) -> None:
    """Print one row per result array: quantity, wrt, output, shape and values.

    Values are printed with every digit the table holds
    (:func:`runner.compute.rows.value_text`), so each number reads back as the table's.
    Square Jacobians with eigenvalues get a line from :func:`stability_lines`;
    finite-difference checks get one line per ``wrt``, and arrays holding NaN or Inf
    a warning.

    Example:
        >>> import io
        >>> import numpy as np
        >>> c = Console(file=io.StringIO(), width=60, record=True)
        >>> print_summary("demo", [Result("value", "", "", np.array([2.0, 3.0]))], c)
        >>> "[2. 3.]" in c.export_text()
        True
    """
    console = console or console_for()
    table = Table(title=title)
    for column in ("quantity", "wrt", "output", "shape", "values"):
        table.add_column(column, overflow="fold")
    for r in results:
        cells = (r.quantity, r.wrt, r.output, str(r.array.shape), value_text(r.array))
        table.add_row(*(escape(c) for c in cells))  # "[nan 1.]" is not markup
    console.print(table)
    for line in stability_lines(results, fixed_point_tol):
        console.print(line, highlight=False)
    errors = {(r.quantity, r.wrt): float(r.array) for r in results
              if r.quantity in ("check_abs_error", "check_rel_error")}  # fmt: skip
    for (quantity, wrt), abs_err in errors.items():
        if quantity == "check_abs_error":
            rel = errors.get(("check_rel_error", wrt), float("nan"))
            console.print(f"finite differences w.r.t. {wrt}: max abs error "
                          f"{value_text(abs_err)}, rel error "
                          f"{value_text(rel)}")  # fmt: skip
    for r in results:
        if r.quantity.startswith("nonfinite_"):
            console.print(f"[bold red]NaN/Inf:[/] {describe_nonfinite(r)}",
                          highlight=False)  # fmt: skip


def stability_lines(
    results: Sequence[Result], tol: float = FIXED_POINT_TOL
) -> list[str]:
    """One line per Jacobian with eigenvalues: a stability verdict, if it may have one.

    Eigenvalues decide stability only at a fixed point. When the ``residual`` row
    (``|F(x)|``) is at most ``tol`` (``diff.fixed_point_tol``), the line says
    whether the fixed point is stable (every real part negative); otherwise it calls
    the Jacobian a local linearization and gives ``|F|``. Numbers are printed as
    the table holds them (:func:`runner.compute.rows.value_text`).

    Example:
        >>> import numpy as np
        >>> rows = [Result("eigenvalue_real", "arg0", "", np.array([-1.0, -2.0])),
        ...         Result("residual", "", "", np.array(0.7))]
        >>> print(stability_lines(rows)[0])
        local linearization w.r.t. arg0 at the given inputs (not a fixed point, |F| =
        0.7 > 1e-05): max Re = -1.0; diff.fixed_point=true solves for a fixed point
        first
        >>> rows[1] = rows[1]._replace(array=np.array(0.0))
        >>> print(stability_lines(rows)[0])
        fixed point w.r.t. arg0 (|F| = 0.0): stable (max Re = -1.0)
        >>> rows[1] = rows[1]._replace(array=np.array(0.7))
        >>> print(stability_lines(rows, tol=1.0)[0])
        fixed point w.r.t. arg0 (|F| = 0.7): stable (max Re = -1.0)
    """
    map_norms = [float(r.array) for r in results if r.quantity == "map_residual"]
    if map_norms:
        return _map_lines(results, map_norms[0], tol)
    norms = [float(r.array) for r in results if r.quantity == "residual"]
    solved = {r.wrt: r.array for r in results if r.quantity == "fixed_point"}
    lines = []
    for r in results:
        if r.quantity != "eigenvalue_real" or not norms:
            continue
        top, norm = f"max Re = {value_text(r.array.max())}", value_text(norms[0])
        if is_fixed_point(norms[0], tol):
            verdict = "stable" if (r.array < 0).all() else "not stable"
            point = solved.get(r.wrt)
            at = "" if point is None else f" at {value_text(point, as_list=True)}"
            lines.append(f"fixed point w.r.t. {r.wrt}{at} (|F| = {norm}): "
                         f"{verdict} ({top})")  # fmt: skip
        else:
            lines.append(
                f"local linearization w.r.t. {r.wrt} at the given inputs (not a fixed "
                f"point, |F| = {norm} > {tol:g}): {top}; "
                f"diff.fixed_point=true solves for a fixed point first"
            )
    return lines


#: How close to 1 a multiplier's modulus must be to count as the neutral one of a
#: periodic orbit (a period off by one step of a fine grid shifts it by ~1e-2).
NEUTRAL_TOL = 1e-3


def _map_lines(results: Sequence[Result], norm: float, tol: float) -> list[str]:
    """Stability of a map's fixed point by its multipliers (``diff.dynamics=map``).

    Example:
        >>> import numpy as np
        >>> rows = [Result("eigenvalue_real", "arg0", "", np.array([1.0, 0.03])),
        ...         Result("eigenvalue_imag", "arg0", "", np.array([0.0, 0.0]))]
        >>> print(_map_lines(rows, 2e-6, 1e-5)[0])
        fixed point of the map w.r.t. arg0 (|phi(x) - x| = 2e-06): a periodic orbit,
        orbitally stable (one multiplier |mu| = 1.0 ~ 1, the others at most 0.03)
    """
    parts = {(r.quantity, r.wrt): np.asarray(r.array) for r in results}
    lines = []
    for (quantity, wrt), real in parts.items():
        if quantity != "eigenvalue_real":
            continue
        imag = parts.get(("eigenvalue_imag", wrt), np.zeros_like(real))
        moduli = np.sort(np.hypot(real, imag))[::-1]
        top = f"max |mu| = {value_text(moduli[0])}"
        if not is_fixed_point(norm, tol):
            lines.append(
                f"local linearization of the map w.r.t. {wrt} at the given inputs "
                f"(not a fixed point, |phi(x) - x| = {value_text(norm)} > {tol:g}): "
                f"{top}"
            )
            continue
        if (moduli < 1).all():
            verdict = f"stable ({top})"
        elif abs(moduli[0] - 1) <= NEUTRAL_TOL and (moduli[1:] < 1).all():
            rest = value_text(moduli[1]) if len(moduli) > 1 else "none"
            one = value_text(moduli[0])
            verdict = (f"a periodic orbit, orbitally stable (one multiplier |mu| = "
                       f"{one} ~ 1, the others at most {rest})")  # fmt: skip
        else:
            verdict = f"not stable ({top})"
        lines.append(f"fixed point of the map w.r.t. {wrt} (|phi(x) - x| = "
                     f"{value_text(norm)}): {verdict}")  # fmt: skip
    return lines


def save_summary(text: str, output_dir: Path) -> Path | None:
    """Keep the console summary: ``summary.txt`` in the job's directory, and the log.

    The text also goes to every log file of the logging set-up (under Hydra, the
    job's ``<job name>.log``), not to the console, which has shown it already. A
    file that cannot be written is a warning.

    Returns:
        The path of ``summary.txt``, or None when it could not be written.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> save_summary("demo: stable", d).read_text()
        'demo: stable\\n'
    """
    from .tables import atomic_write

    text = text.rstrip("\n") + "\n"
    message = f"console summary:\n{text.rstrip()}"
    record = logging.LogRecord(__name__, logging.INFO, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    path = Path(output_dir) / SUMMARY
    try:
        atomic_write(path, lambda tmp: tmp.write_text(text))
    except OSError as err:
        print(f"warning: cannot write {path} ({err.strerror})", file=sys.stderr)
        return None
    return path
