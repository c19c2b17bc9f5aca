"""Hooks for tools built on the core, such as the runner's app layer.

These are public and tested, but not part of BrainPy's vocabulary: a tool that
labels derivatives by what was differentiated needs the gradients before they are
assembled into BrainPy's return structure.

- :func:`per_position`: a transform that returns ``(grads, value, aux)``, with
  ``grads`` in JAX's own layout, one entry per differentiated position: the
  ``grad_vars`` container first, then each ``argnums`` entry (for Jacobians that
  tuple at every leaf of the output; for ``hessian``, at every leaf of the output,
  a tuple over positions holding that tuple again at every leaf of its position).

Example:
    >>> import runner.core as bm
    >>> from runner.core.internal import per_position
    >>> f = per_position(bm.jacrev(lambda x, y: x * y, argnums=(0, 1)))
    >>> grads, value, aux = f(2.0, 3.0)
    >>> [float(g) for g in grads], float(value), aux
    ([3.0, 2.0], 6.0, None)
"""

from ._autograd import per_position

__all__ = ["per_position"]
