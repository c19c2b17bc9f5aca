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
