"""Pictures of a job's derivatives and of a sweep, written as PNG files.

matplotlib is imported inside the functions only, so ``python -m runner`` does not
load it when ``output.plots`` is false. Figures are drawn on matplotlib's
non-interactive Agg canvas (no window, no ``pyplot`` state) and written atomically,
like the tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config.schema import GRADIENT_KINDS, SECOND_ORDER_KINDS
from .dataset import PLOTTED
from .tables import atomic_write

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..compute.experiment import Result

__all__ = ["plot_results", "plot_sweep"]

#: At most this many derivatives (panels) in one picture.
MAX_PANELS = 12
#: Heatmap cells are annotated with their values up to this many rows and columns.
ANNOTATE = 12
#: At most this many elements (lines) per panel of a sweep picture.
MAX_LINES = 20


def plot_results(
    results: Sequence[Result],
    path: Path,
    title: str | None = None,
    kind: str | None = None,
) -> Path | None:
    """Draw each derivative of a job in one PNG: heatmaps for matrices, else bars.

    Only arrays with ``quantity == "grad"`` are drawn. A 2-D array (a Jacobian, a
    Hessian block, or the gradient of a matrix) is a heatmap with a colorbar, its
    cells annotated up to :data:`ANNOTATE` x :data:`ANNOTATE`; a 0-D or 1-D array (a
    gradient) is a bar chart; higher-dimensional arrays are flattened to a matrix.
    Several derivatives are drawn side by side, up to :data:`MAX_PANELS`.

    Args:
        results: the arrays of a job (:func:`runner.compute.experiment.compute`).
        path: the PNG to write (replaced atomically).
        step: ``frame`` holds every ``step``-th point of the sweep (said in the
            heading, so that a reader knows the lines are decimated).
        title: a title over the whole picture, e.g. the experiment's name.
        kind: the derivative's kind (``grad``, ``jacobian``, ``hessian`` ...); it
            only chooses the axis labels.

    Returns:
        ``path``, or None when there is no derivative to draw (nothing written).

    Example:
        >>> import tempfile, pathlib
        >>> from runner.compute.experiment import Result
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> jac = Result("grad", "arg0", "", np.array([[1.0, 0.0], [2.0, -1.0]]))
        >>> plot_results([jac], d / "results.png", title="jacobian").name
        'results.png'
        >>> (d / "results.png").read_bytes()[:4]
        b'\\x89PNG'
        >>> plot_results([Result("value", "", "", np.ones(2))], d / "x.png") is None
        True
    """
    arrays = [r for r in results if r.quantity == "grad" and np.size(r.array)]
    if not arrays:
        return None
    shown = arrays[:MAX_PANELS]
    ncols = min(len(shown), 3)
    nrows = math.ceil(len(shown) / ncols)
    fig = _figure(4.6 * ncols, 3.8 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, result in zip(axes, shown):
        array = np.asarray(result.array, dtype=np.float64)
        name = _name(result.wrt, result.output)
        if array.ndim <= 1:
            _bars(ax, array.reshape(-1), name, scalar=array.ndim == 0)
        else:
            _heatmap(fig, ax, array, name, kind, result.wrt)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    heading = title or ""
    if len(arrays) > len(shown):
        heading += f" (first {len(shown)} of {len(arrays)} derivatives)"
    if heading.strip():
        fig.suptitle(heading.strip())
    return _save(fig, path)


def _element(shape: str, index: int) -> str:
    """An element's position in its array, from the table's ``shape`` and ``index``."""
    dims = tuple(int(n) for n in shape.split(",")) if shape else ()
    return str(tuple(int(i) for i in np.unravel_index(index, dims)))


def plot_sweep(
    frame: pd.DataFrame, swept_keys: Sequence[str], path: Path, step: int = 1
) -> Path | None:
    """Draw each derivative element of a sweep against its one numeric swept key.

    Eigenvalue real parts (``diff.eigenvalues``) get panels of their own, with a
    line at zero: with ``diff.fixed_point`` this is a bifurcation diagram, where a
    real part crossing zero marks a change of stability.

    Args:
        frame: an aggregated sweep table (:func:`runner.app.sweep.aggregate`): columns
            ``job``, one per override, ``status``, ``error``, ``quantity``, ``wrt``,
            ``output``, ``shape``, ``index``, ``value``.
        swept_keys: the override columns. Those with a single value in every job
            (such as ``exp``) are ignored.
        path: the PNG to write (replaced atomically).

    Returns:
        ``path``; or None (nothing written) unless exactly one key varies and its
        values are numbers, or when no job produced a derivative.

    Example:
        >>> import tempfile, pathlib
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"job": [0, 1], "exp": ["grad", "grad"],
        ...     "model.a": [0.0, 0.5], "status": "ok", "error": "",
        ...     "quantity": "grad", "wrt": "arg0", "output": "", "shape": "",
        ...     "index": 0, "value": [1.0, 2.0]})
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> plot_sweep(frame, ["exp", "model.a"], d / "sweep.png").name
        'sweep.png'
        >>> plot_sweep(frame, ["exp"], d / "other.png") is None
        True
    """
    from pandas.api.types import is_numeric_dtype

    varying = [k for k in swept_keys if k in frame and frame[k].nunique() > 1]
    if len(varying) != 1 or not is_numeric_dtype(frame[varying[0]]):
        return None
    key = varying[0]
    drawn = frame["quantity"].isin(PLOTTED)
    grads = frame[drawn & (frame["status"] == "ok")]
    if grads.empty:
        return None
    by = ["quantity", "wrt", "output"]
    groups = list(grads.groupby(by, sort=False, dropna=False))
    shown = groups[:MAX_PANELS]
    ncols = min(len(shown), 3)
    nrows = math.ceil(len(shown) / ncols)
    fig = _figure(4.8 * ncols, 3.6 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, ((quantity, wrt, output), rows) in zip(axes, shown):
        elements = list(rows.groupby(["shape", "index"], sort=False, dropna=False))
        for (shape, index), line in elements[:MAX_LINES]:
            line = line.sort_values(key)
            label = _element(str(shape), int(index))
            ax.plot(line[key], line["value"], "o-", markersize=3, label=label)
        name = _name(wrt, output)
        if quantity == "eigenvalue_real":  # a bifurcation diagram: sign changes
            name = f"eigenvalue real parts, {name}"
            ax.axhline(0.0, color="0.5", linewidth=0.8)
        if len(elements) > MAX_LINES:
            name += f" (first {MAX_LINES} of {len(elements)})"
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(key)
        ax.set_ylabel("derivative" if quantity == "grad" else "Re(eigenvalue)")
        ax.grid(True, alpha=0.3)
        if 1 < len(elements) <= 10:
            ax.legend(title="index", fontsize=7, title_fontsize=7)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    heading = f"derivatives against {key}"
    if len(groups) > len(shown):
        heading += f" (first {len(shown)} of {len(groups)} derivatives)"
    if step > 1:
        heading += f"\nevery {step}th point drawn"
    fig.suptitle(heading)
    return _save(fig, path)


# -- drawing -----------------------------------------------------------------------
def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path


def _name(wrt: Any, output: Any) -> str:
    return f"wrt {wrt}" + (
        f", output {output}" if isinstance(output, str) and output else ""
    )


def _limit(array: np.ndarray) -> float:
    finite = np.abs(array[np.isfinite(array)])
    top = float(finite.max()) if finite.size else 0.0
    return top if top > 0 else 1.0


def _bars(ax: Axes, values: np.ndarray, name: str, scalar: bool) -> None:
    positions = np.arange(values.size)
    colors = ["tab:blue" if v >= 0 else "tab:red" for v in values]
    ax.bar(positions, values, color=colors)
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    if scalar:
        ax.set_xticks([0], ["scalar"])
    elif values.size <= 2 * ANNOTATE:
        ax.set_xticks(positions)
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("" if scalar else "index")
    ax.set_ylabel("derivative")


def _heatmap(
    fig: Figure, ax: Axes, array: np.ndarray, name: str, kind: Any, wrt: str
) -> None:
    flattened = array.ndim > 2
    if flattened:  # output dims x input dims (halves for a Hessian block)
        split = array.ndim // 2
        array = array.reshape(math.prod(array.shape[:split]), -1)
    top = _limit(array)
    image = ax.imshow(array, cmap="RdBu_r", vmin=-top, vmax=top, aspect="auto")
    fig.colorbar(image, ax=ax)
    rows, cols = array.shape
    if rows <= ANNOTATE:
        ax.set_yticks(range(rows))
    if cols <= ANNOTATE:
        ax.set_xticks(range(cols))
    if rows <= ANNOTATE and cols <= ANNOTATE:
        for (i, j), v in np.ndenumerate(array):
            color = "white" if np.isfinite(v) and abs(v) > 0.6 * top else "black"
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8,
                    color=color)  # fmt: skip
    if kind in SECOND_ORDER_KINDS:
        first, _, second = wrt.partition(",")
        ylabel, xlabel = f"input index ({first})", f"input index ({second or first})"
    elif kind in GRADIENT_KINDS:
        ylabel, xlabel = "row", "column"
    else:
        ylabel, xlabel = "output index", "input index"
    suffix = " (flattened)" if flattened else ""
    ax.set_ylabel(ylabel + suffix)
    ax.set_xlabel(xlabel + suffix)
    ax.set_title(name, fontsize=10)
