"""Hypothesis strategies for the core property tests.

A :class:`Problem` is a small stateful model (TrainVars ``w`` and ``b``) together with
positional arguments, the ``argnums`` and ``grad_vars`` to differentiate by, and a
mask of the Variables the function writes. Shapes come from a short list so that
examples reuse compiled operations and the tests stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SHAPES = [(), (2,), (2, 2)]
STATE_SHAPES = [(2,)]
CONTAINERS = [None, "one", "tuple", "list", "dict"]


def grad_vars_of(model: object, container: str | None) -> object:
    """The ``grad_vars`` of ``model`` (TrainVars ``w``, ``b``) in ``container``."""
    w, b = model.w, model.b  # type: ignore[attr-defined]
    return {
        None: None,
        "one": w,
        "tuple": (w, b),
        "list": [w, b],
        "dict": {"w": w, "b": b},
    }[container]


def float_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """float32 arrays of ``shape`` with moderate, finite values."""
    elements = st.floats(-2.0, 2.0, allow_nan=False, width=32)
    return hnp.arrays(np.float32, shape, elements=elements)


@dataclass(frozen=True)
class Problem:
    """Values for the model, the call and the transform options."""

    w: np.ndarray
    b: np.ndarray
    args: tuple[np.ndarray, ...]
    argnums: int | tuple[int, ...] | None
    container: str | None
    writes: tuple[bool, bool]


@st.composite
def argnums_for(draw: st.DrawFn, n_args: int, required: bool) -> object:
    """None (unless ``required``), an int, or a non-empty tuple of distinct ints."""
    options = ["int", "tuple"] if required else ["none", "int", "tuple"]
    form = draw(st.sampled_from(options))
    if form == "none":
        return None
    if form == "int":
        return draw(st.integers(0, n_args - 1))
    positions = draw(st.permutations(range(n_args)))
    size = draw(st.integers(1, n_args))
    return tuple(positions[:size])


@st.composite
def problems(draw: st.DrawFn, containers: list[str | None] = CONTAINERS) -> Problem:
    """A model, arguments and a valid combination of ``argnums`` and ``grad_vars``."""
    w = draw(float_arrays(draw(st.sampled_from(STATE_SHAPES))))
    b = draw(float_arrays(draw(st.sampled_from(SHAPES))))
    n_args = draw(st.integers(1, 3))
    args = tuple(
        draw(float_arrays(draw(st.sampled_from(SHAPES)))) for _ in range(n_args)
    )
    container = draw(st.sampled_from(containers))
    argnums = draw(argnums_for(n_args, required=container is None))
    writes = (draw(st.booleans()), draw(st.booleans()))
    return Problem(w, b, args, argnums, container, writes)


#: Every quantity a results table can hold (docs/results.md), nonfinite rows aside.
TABLE_QUANTITIES = [
    "grad", "value", "aux", "eigenvalue_real", "eigenvalue_imag", "residual",
    "fixed_point", "check_abs_error", "check_rel_error",
]  # fmt: skip


def any_floats(width: int = 64) -> st.SearchStrategy[float]:
    """Every float of ``width`` bits: subnormals, the extremes, -0.0, NaN and Inf."""
    return st.floats(width=width, allow_nan=True, allow_infinity=True,
                     allow_subnormal=True)  # fmt: skip


def any_arrays(width: int = 64) -> st.SearchStrategy[np.ndarray]:
    """Small arrays of any shape in :data:`SHAPES`, any float of ``width`` bits."""
    dtype = np.float32 if width == 32 else np.float64
    return st.sampled_from(SHAPES).flatmap(
        lambda shape: hnp.arrays(dtype, shape, elements=any_floats(width))
    )


#: Quantities that are one number per run.
SCALAR_QUANTITIES = ("residual", "check_abs_error", "check_rel_error")


@st.composite
def results(draw: st.DrawFn, width: int | None = None) -> tuple[str, np.ndarray]:
    """A ``(quantity, array)`` pair as a run returns it, float32 or float64 (any
    float of the ``width``), a 0-d array for :data:`SCALAR_QUANTITIES`."""
    width = width or draw(st.sampled_from([32, 64]))
    quantity = draw(st.sampled_from(TABLE_QUANTITIES))
    array = draw(any_arrays(width))
    if quantity in SCALAR_QUANTITIES:
        array = array.reshape(-1)[:1].reshape(())
    return quantity, array


@st.composite
def result_lists(draw: st.DrawFn) -> list[tuple[str, np.ndarray]]:
    """Up to five :func:`results` of one width, as a run returns them."""
    width = draw(st.sampled_from([32, 64]))
    return draw(st.lists(results(width), max_size=5))


def float_columns(width: int = 64) -> st.SearchStrategy[np.ndarray]:
    """A table column's worth (1 to 20) of any floats of ``width`` bits."""
    dtype = np.float32 if width == 32 else np.float64
    return hnp.arrays(dtype, st.integers(1, 20), elements=any_floats(width))


def precisions() -> st.SearchStrategy[int | None]:
    """``output.precision``: None (full) or 1 to 17 significant digits."""
    return st.none() | st.integers(1, 17)
