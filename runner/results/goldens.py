"""Golden tables: written, read back and compared as regression tests need them.

A golden is a table written as pytest-regressions writes one (CSV, 17 significant
digits, the row index first), so it reads back to the same numbers; the
comparison gives one line per difference, naming the row by its labels. Used by
the pytest plugin (:mod:`runner.app.pytest_plugin`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tables import atomic_write

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["compare_tables", "read_golden", "write_golden"]


def write_golden(frame: pd.DataFrame, path: Path) -> None:
    """Write a golden table as pytest-regressions does (CSV, 17 significant digits),
    to a temporary file renamed into place, so an interrupted run leaves none.

    Example:
        >>> import pandas as pd
        >>> path = Path(tempfile.mkdtemp()) / "goldens" / "x.csv"
        >>> write_golden(pd.DataFrame({"value": [0.1]}), path)
        >>> path.read_text().splitlines()
        [',value', '0,0.10000000000000001']
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: frame.to_csv(tmp, float_format="%.17g"))


def read_golden(path: Path) -> pd.DataFrame:
    """Read a golden table written by :func:`write_golden`.

    Example:
        >>> import pandas as pd
        >>> path = Path(tempfile.mkdtemp()) / "x.csv"
        >>> write_golden(pd.DataFrame({"wrt": [""], "value": [1.5]}), path)
        >>> read_golden(path).to_dict("list")
        {'wrt': [''], 'value': [1.5]}
    """
    import pandas as pd

    frame = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    for column in frame.columns:  # numbers where every non-empty cell is one
        cells = frame[column].replace("", None)
        if cells.notna().any():
            try:
                frame[column] = pd.to_numeric(cells)
            except (TypeError, ValueError):
                pass
    frame.index = frame.index.astype(int)
    frame.index.name = None
    return frame


def _round_trip(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as it reads back from its golden, so both sides compare alike."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "obtained.csv"
        write_golden(frame, path)
        return read_golden(path)


def compare_tables(
    expected: pd.DataFrame, obtained: pd.DataFrame, rtol: float, atol: float
) -> list[str]:
    """The differences between a golden and an obtained table, one line each.

    Numeric columns compare within ``rtol``/``atol`` (NaN equals NaN); the others
    exactly, as text. Rows are named by their cells other than ``value``.

    Returns:
        Empty when the tables agree; otherwise at most 20 lines, e.g. ``row 3
        [quantity=grad wrt=arg0 shape=2,2 index=3]: value expected -0.064, got
        -0.056``.

    Example:
        >>> import pandas as pd
        >>> a = pd.DataFrame({"quantity": ["grad", "grad"], "wrt": ["arg0", "arg1"],
        ...                   "value": [2.0, 1.0]})
        >>> compare_tables(a, a.assign(value=[2.0, 1.5]), 1e-5, 1e-6)
        ['row 1 [quantity=grad wrt=arg1]: value expected 1, got 1.5 (diff 0.5)']
        >>> compare_tables(a, a.iloc[:1], 1e-5, 1e-6)
        ['1 row(s) missing: [quantity=grad wrt=arg1]']
    """
    import numpy as np

    obtained = _round_trip(obtained)
    if list(expected.columns) != list(obtained.columns):
        return [
            f"columns: expected {list(expected.columns)}, got {list(obtained.columns)}"
        ]
    numeric = [
        c
        for c in expected.columns
        if expected[c].dtype.kind in "fiu" and obtained[c].dtype.kind in "fiu"
    ]
    if len(expected) != len(obtained):
        return _row_sets(expected, obtained)
    lines = []
    for i in range(len(expected)):
        want, got = expected.iloc[i], obtained.iloc[i]
        for c in expected.columns:
            if c in numeric:
                same = np.isclose(got[c], want[c], rtol=rtol, atol=atol, equal_nan=True)
                diff = f" (diff {abs(float(got[c]) - float(want[c])):.3g})"
            else:
                same, diff = str(got[c]) == str(want[c]), ""
            if not same:
                expected_got = f"expected {_cell(want[c])}, got {_cell(got[c])}"
                lines.append(f"row {i} [{_label(want)}]: {c} {expected_got}{diff}")
    if len(lines) > 20:
        lines = [*lines[:20], f"... and {len(lines) - 20} more difference(s)"]
    return lines


def _cell(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def _label(row: Any) -> str:
    keep = [c for c in row.index if c != "value" and row[c] != ""]
    return " ".join(f"{c}={row[c]}" for c in keep)


def _row_sets(expected: pd.DataFrame, obtained: pd.DataFrame) -> list[str]:
    want = [_label(r) for _, r in expected.iterrows()]
    got = [_label(r) for _, r in obtained.iterrows()]
    lines = [f"{len(expected)} row(s) expected, {len(obtained)} obtained"]
    for title, rows, other in (("missing", want, set(got)), ("new", got, set(want))):
        extra = [r for r in rows if r not in other]
        if extra:
            shown = ", ".join(f"[{r}]" for r in extra[:10])
            more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
            lines.append(f"{len(extra)} row(s) {title}: {shown}{more}")
    return lines[1:] if len(lines) > 1 else lines
