"""Pictures of a job's derivatives and of a sweep, written as PNG files.

matplotlib is imported inside the functions only, so ``python -m runner`` does not
load it when ``output.plots`` is false. Figures are drawn on matplotlib's
non-interactive Agg canvas (no window, no ``pyplot`` state) and written atomically,
like the tables. :func:`results_figure` and :func:`sweep_figure` return the figure
that :func:`plot_results` and :func:`plot_sweep` write.

Small entries stay visible beside a dominating one: a heatmap, a bar chart or a
panel of sweep curves where at least :data:`SMALL_SHARE` of the nonzero
magnitudes are below 1/:data:`DYNAMIC_RANGE` of the largest (too small to see on
a linear scale) switches to a symmetric log scale, linear within ``±t`` (``t``
the smallest magnitude, at most :data:`MAX_DECADES` decades below the largest),
and says so on its axis.
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

__all__ = ["plot_results", "plot_sweep", "results_figure", "sweep_figure"]

#: At most this many derivatives (panels) in one picture.
MAX_PANELS = 12
#: Heatmap cells are annotated with their values up to this many rows and columns.
ANNOTATE = 12
#: At most this many elements (lines) per panel of a sweep picture.
MAX_LINES = 20
#: A magnitude below 1/DYNAMIC_RANGE of the largest is invisible on a linear scale;
#: magnitudes are the entries of a heatmap or bar chart, the peaks of the curves of
#: a sweep panel.
DYNAMIC_RANGE = 100.0
#: The share of nonzero magnitudes that must be invisible for a symmetric log scale.
SMALL_SHARE = 0.1
#: The symmetric log scale's linear threshold is at most this many decades below
#: the largest magnitude (so noise near zero does not stretch the scale).
MAX_DECADES = 6


def plot_results(
    results: Sequence[Result],
    path: Path,
    title: str | None = None,
    kind: str | None = None,
) -> Path | None:
    """Draw each derivative of a job in one PNG (see :func:`results_figure`).

    Args:
        results, title, kind: as for :func:`results_figure`.
        path: the PNG to write (replaced atomically).

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
    fig = results_figure(results, title, kind)
    return None if fig is None else _save(fig, path)


def results_figure(
    results: Sequence[Result], title: str | None = None, kind: str | None = None
) -> Figure | None:
    """Each derivative of a job in one figure: heatmaps for matrices, else bars.

    Only arrays with ``quantity == "grad"`` are drawn. A 2-D array (a Jacobian, a
    Hessian block, or the gradient of a matrix) is a heatmap with a colorbar, its
    cells annotated up to :data:`ANNOTATE` x :data:`ANNOTATE`; a 0-D or 1-D array (a
    gradient) is a bar chart; higher-dimensional arrays are flattened to a matrix.
    Several derivatives are drawn side by side, up to :data:`MAX_PANELS`. A
    heatmap or bar chart dominated by a few entries (see the module doc) is
    drawn on a symmetric log scale.

    Args:
        results: the arrays of a job (:func:`runner.compute.experiment.compute`).
        title: a title over the whole picture, e.g. the experiment's name.
        kind: the derivative's kind (``grad``, ``jacobian``, ``hessian`` ...); it
            only chooses the axis labels.

    Returns:
        A matplotlib ``Figure`` (on the Agg canvas), or None when there is no
        derivative to draw.

    Example:
        >>> from runner.compute.experiment import Result
        >>> jac = Result("grad", "arg0", "", np.array([[1e3, 1.0], [0.0, -0.5]]))
        >>> ax = results_figure([jac]).axes[0]
        >>> type(ax.images[0].norm).__name__, ax.get_title()
        ('SymLogNorm', 'wrt arg0')
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
    return fig


def _element(shape: str, index: int) -> str:
    """An element's position in its array, from the table's ``shape`` and ``index``."""
    dims = tuple(int(n) for n in shape.split(",")) if shape else ()
    return str(tuple(int(i) for i in np.unravel_index(index, dims)))


def plot_sweep(
    frame: pd.DataFrame, swept_keys: Sequence[str], path: Path, step: int = 1
) -> Path | None:
    """Draw a sweep's derivatives against its one numeric swept key, as a PNG
    (see :func:`sweep_figure`).

    Args:
        frame, swept_keys, step: as for :func:`sweep_figure`.
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
    fig = sweep_figure(frame, swept_keys, step)
    return None if fig is None else _save(fig, path)


def sweep_figure(
    frame: pd.DataFrame, swept_keys: Sequence[str], step: int = 1
) -> Figure | None:
    """Each derivative element of a sweep against its one numeric swept key.

    One panel per derivative (``quantity``, ``wrt``, ``output``) of
    :data:`~runner.results.dataset.PLOTTED`, one line per element. Eigenvalues
    (``diff.eigenvalues``) get two panels, each with a line at zero: real parts,
    where points of a complex pair are ringed, and imaginary parts. With
    ``diff.fixed_point`` this is a bifurcation diagram: real parts crossing zero
    mark a change of stability, a Hopf bifurcation when the pair is complex (its
    imaginary parts ``±ω`` nonzero), a real one when an imaginary part is zero.
    A panel dominated by a few curves (see the module doc) has a symmetric log
    y-axis.

    Args:
        frame: an aggregated sweep table (:func:`runner.app.sweep.aggregate`): columns
            ``job``, one per override, ``status``, ``error``, ``quantity``, ``wrt``,
            ``output``, ``shape``, ``index``, ``value``.
        swept_keys: the override columns. Those with a single value in every job
            (such as ``exp``) are ignored.
        step: ``frame`` holds every ``step``-th point of the sweep (said in the
            heading, so that a reader knows the lines are decimated).

    Returns:
        A matplotlib ``Figure``; or None unless exactly one key varies and its
        values are numbers, or when no job produced a derivative.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"job": [0, 0, 1, 1], "model.a": [0.0, 0.0, 1.0, 1.0],
        ...     "status": "ok", "error": "", "wrt": "arg0", "output": "", "shape": "1",
        ...     "quantity": ["eigenvalue_real", "eigenvalue_imag"] * 2, "index": 0,
        ...     "value": [-1.0, 0.5, 1.0, 0.5]})
        >>> [ax.get_ylabel() for ax in sweep_figure(frame, ["model.a"]).axes]
        ['Re(eigenvalue)', 'Im(eigenvalue)']
    """
    from pandas.api.types import is_numeric_dtype

    varying = [k for k in swept_keys if k in frame and frame[k].nunique() > 1]
    if len(varying) != 1 or not is_numeric_dtype(frame[varying[0]]):
        return None
    key = varying[0]
    drawn = frame[frame["quantity"].isin(PLOTTED) & (frame["status"] == "ok")]
    if drawn.empty:
        return None
    groups = list(drawn.groupby(["quantity", "wrt", "output"], sort=False,
                                dropna=False))  # fmt: skip
    shown = groups[:MAX_PANELS]
    ncols = min(len(shown), 3)
    nrows = math.ceil(len(shown) / ncols)
    fig = _figure(4.8 * ncols, 3.6 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    imag = dict(list(drawn[drawn["quantity"] == "eigenvalue_imag"].groupby(
        ["wrt", "output"], sort=False, dropna=False)))  # fmt: skip
    for ax, ((quantity, wrt, output), rows) in zip(axes, shown):
        ring = imag.get((wrt, output)) if quantity == "eigenvalue_real" else None
        _sweep_panel(ax, str(quantity), _name(wrt, output), rows, key, ring)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    heading = f"derivatives against {key}"
    if len(groups) > len(shown):
        heading += f" (first {len(shown)} of {len(groups)} derivatives)"
    if step > 1:
        heading += f"\nevery {step}th point drawn"
    fig.suptitle(heading)
    return fig


#: Title prefix and y label of each drawn quantity.
_PANELS = {
    "grad": ("", "derivative"),
    "eigenvalue_real": ("eigenvalue real parts, ", "Re(eigenvalue)"),
    "eigenvalue_imag": ("eigenvalue imaginary parts, ", "Im(eigenvalue)"),
}


def _sweep_panel(
    ax: Axes, quantity: str, name: str, rows: Any, key: str, imag: Any
) -> None:
    """One panel of a sweep: a line per element of one derivative."""
    prefix, ylabel = _PANELS.get(quantity, ("", quantity))
    elements = list(rows.groupby(["shape", "index"], sort=False, dropna=False))
    peaks, ringed = [], False
    for (shape, index), line in elements[:MAX_LINES]:
        line = line.sort_values(key)
        label = _element(str(shape), int(index))
        ax.plot(line[key], line["value"], "o-", markersize=3, label=label)
        peaks.append(np.nanmax(np.abs(line["value"].to_numpy(float)), initial=0.0))
    if imag is not None and not imag.empty:
        on = ["job", "shape", "index"]
        pairs = rows.merge(imag[[*on, "value"]], on=on, suffixes=("", "_imag"))
        ring = pairs[pairs["value_imag"].abs() > 0]
        ringed = not ring.empty
        if ringed:
            ax.plot(ring[key], ring["value"], "o", markersize=8, markerfacecolor="none",
                    color="0.3", label="complex pair")  # fmt: skip
    if quantity != "grad":
        ax.axhline(0.0, color="0.5", linewidth=0.8)
    _y_axis(ax, np.array(peaks), ylabel)
    title = prefix + name
    if len(elements) > MAX_LINES:
        title += f" (first {MAX_LINES} of {len(elements)})"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(key)
    ax.grid(True, alpha=0.3)
    if (len(elements) > 1 or ringed) and len(elements) <= 10:
        ax.legend(title="index", fontsize=7, title_fontsize=7)


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


def _linthresh(values: np.ndarray) -> float | None:
    """The linear threshold of a symmetric log scale for ``values``; None when a
    linear scale shows them well (fewer than :data:`SMALL_SHARE` of the nonzero
    magnitudes below 1/:data:`DYNAMIC_RANGE` of the largest).

    Example:
        >>> _linthresh(np.array([1000.0, -0.5, 0.0])), _linthresh(np.array([2.0, 1.0]))
        (0.5, None)
    """
    magnitudes = np.abs(values[np.isfinite(values)])
    magnitudes = magnitudes[magnitudes > 0]
    if magnitudes.size < 2:
        return None
    top = float(magnitudes.max())
    if np.mean(magnitudes < top / DYNAMIC_RANGE) < SMALL_SHARE:
        return None
    return max(float(magnitudes.min()), top * 10.0**-MAX_DECADES)


def _y_axis(ax: Axes, magnitudes: np.ndarray, label: str) -> None:
    """Label the y-axis, on a symmetric log scale when :func:`_linthresh` says so."""
    threshold = _linthresh(magnitudes)
    if threshold is not None:
        ax.set_yscale("symlog", linthresh=threshold)
        label += f" (symlog, linear within ±{threshold:.2g})"
    ax.set_ylabel(label)


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
    _y_axis(ax, values, "derivative")


def _heatmap(
    fig: Figure, ax: Axes, array: np.ndarray, name: str, kind: Any, wrt: str
) -> None:
    from matplotlib.colors import Normalize, SymLogNorm

    flattened = array.ndim > 2
    if flattened:  # output dims x input dims (halves for a Hessian block)
        split = array.ndim // 2
        array = array.reshape(math.prod(array.shape[:split]), -1)
    top = _limit(array)
    threshold = _linthresh(array)
    norm = (
        Normalize(vmin=-top, vmax=top)
        if threshold is None
        else SymLogNorm(threshold, vmin=-top, vmax=top, base=10)
    )
    image = ax.imshow(array, cmap="RdBu_r", norm=norm, aspect="auto")
    bar = fig.colorbar(image, ax=ax)
    if threshold is not None:
        bar.set_label(f"symlog, linear within ±{threshold:.2g}", fontsize=8)
    rows, cols = array.shape
    if rows <= ANNOTATE:
        ax.set_yticks(range(rows))
    if cols <= ANNOTATE:
        ax.set_xticks(range(cols))
    if rows <= ANNOTATE and cols <= ANNOTATE:
        for (i, j), v in np.ndenumerate(array):
            dark = np.isfinite(v) and abs(float(norm(v)) - 0.5) > 0.3
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")  # fmt: skip
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
