"""BrainPy-style automatic differentiation on JAX: ``import runner.core as bm``.

Stateful objects (:class:`Base` holding :class:`Variable` s), array functions that
accept them, and derivative transforms (:func:`grad`, :func:`vector_grad`,
:func:`jacobian`, :func:`jacrev`, :func:`jacfwd`, :func:`hessian`) plus :func:`jit`
that find the state a function reads and writes by themselves, and control flow
that carries that state through compiled loops and branches (:func:`for_loop`,
:func:`scan`, :func:`while_loop`, :func:`cond`, :func:`ifelse`, :func:`make_loop`,
with a :class:`ProgressBar` for long simulations).

Example:
    >>> import runner.core as bm
    >>> class Linear(bm.Base):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = bm.ones((1, 3))
    ...         self.b = bm.zeros(1)
    ...     def update(self, x):
    ...         return (bm.dot(self.w, x) + self.b).sum()
    >>> l = Linear()
    >>> dw, db = bm.grad(l.update, grad_vars=(l.w, l.b))(bm.arange(3.0))
    >>> dw
    Array([[0., 1., 2.]], dtype=float32)
"""

import sys as _sys

from . import random
from ._autograd import grad, hessian, jacfwd, jacobian, jacrev, vector_grad
from ._base import Base, Collector, iter_arrays
from ._control import cond, for_loop, ifelse, make_loop, scan, while_loop
from ._jit import jit
from ._numpy import CONSTANTS as _CONSTANTS
from ._numpy import FUNCTIONS as _FUNCTIONS
from ._platform import disable_x64, enable_x64, set_platform
from ._progress import ProgressBar
from ._state import Array, TrainVar, Variable
from ._substitute import substitute

globals().update(_FUNCTIONS)
globals().update(_CONSTANTS)

#: This namespace itself, so that BrainPy code such as ``bp.math.set_platform("cpu")``
#: runs unchanged with ``bp = bm``.
math = _sys.modules[__name__]

__all__ = [
    "Array",
    "Base",
    "Collector",
    "ProgressBar",
    "TrainVar",
    "Variable",
    "cond",
    "disable_x64",
    "enable_x64",
    "for_loop",
    "grad",
    "hessian",
    "ifelse",
    "iter_arrays",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "make_loop",
    "random",
    "scan",
    "set_platform",
    "substitute",
    "vector_grad",
    "while_loop",
    *sorted(_FUNCTIONS),
    *sorted(_CONSTANTS),
]
