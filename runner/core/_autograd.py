"""One engine for every derivative transform, and the thin public wrappers over it.

The engine normalises the arguments, makes state functional (``grad_vars`` become the
first positional argument of a pure function), applies one JAX transform, writes
state back and assembles the outputs. The return structure is decided in one place,
:func:`_assemble`, following this table (``V`` = gradients of ``grad_vars``, ``A`` =
gradients of ``argnums``, ``L`` = the function's value, ``X`` = its aux data)::

    grad_vars  argnums   has_aux=False  has_aux=True  return_value  both
    no         (0)       A              (A, X)        (A, L)        (A, L, X)
    yes        no        V              (V, X)        (V, L)        (V, L, X)
    yes        yes       (V, A)         ((V, A), X)   ((V, A), L)   ((V, A), L, X)

``argnums`` given as an int gives a bare ``A``; a tuple or list gives a tuple. ``V``
has the container of ``grad_vars``: one Array, a tuple, a list or a dict.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._base import Base, iter_arrays
from ._checks import (
    ArgNums,
    GradVars,
    _blame,
    _check_aux_pair,
    _check_callable,
    _check_inexact,
    _check_nargs,
    _check_scalar,
    _decorator_form,
    _disown,
    _entry_name,
    _normalize_argnums,
    _normalize_grad_vars,
)
from ._state import (
    _STACK,
    Array,
    StateTrace,
    _record_write,
    _refuse_tracers,
    unwrap,
)

__all__ = ["grad", "hessian", "jacfwd", "jacobian", "jacrev", "vector_grad"]


# -- the engine --------------------------------------------------------------------
def _owner_arrays(func: Any) -> list[Array]:
    """Arrays reachable from the object a function belongs to (for ``jit``)."""
    known_states = getattr(func, "known_states", None)
    if known_states is not None:
        return known_states()
    owner = getattr(func, "__self__", func)
    found = [array for _, array in iter_arrays(owner)]
    return found + _referenced_arrays(getattr(func, "__func__", func))


def _referenced_arrays(func: Any) -> list[Array]:
    """Arrays, and those of ``Base`` objects, that a function's code names directly.

    Looks at closure cells and at the globals named in the code, so that ``jit``
    knows the state of a closure before tracing; state reached only through other
    functions is found while tracing instead.
    """
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    objects = []
    for cell in getattr(func, "__closure__", None) or ():
        try:
            objects.append(cell.cell_contents)
        except ValueError:  # a cell not yet filled
            continue
    namespace = getattr(func, "__globals__", {})
    objects += [namespace[name] for name in code.co_names if name in namespace]
    objects = [obj for obj in objects if isinstance(obj, (Array, Base))]
    return [array for _, array in iter_arrays(objects)]


class _Transform:
    """A derivative of ``func``; call it with the function's arguments."""

    def __init__(
        self,
        kind: str,
        func: Callable[..., Any],
        grad_vars: GradVars,
        dyn_vars: Any,
        argnums: ArgNums,
        has_aux: bool,
        return_value: bool,
        options: dict[str, Any],
        name: str | None = None,
    ) -> None:
        # ``name``: the transform the user called, for messages (jacobian -> jacrev).
        self.name = name = name or kind
        _check_callable(name, func)
        self.kind = kind
        self.func = func
        self.vars, self.treedef = _normalize_grad_vars(name, grad_vars)
        self.dyn_vars = _normalize_grad_vars(name, dyn_vars, "dyn_vars")[0]
        self.argnums = _normalize_argnums(name, argnums, bool(self.vars))
        self.has_aux = bool(has_aux)
        self.return_value = bool(return_value)
        arg_tuple = () if self.argnums is None else np.atleast_1d(self.argnums)
        self.arg_tuple: tuple[int, ...] = tuple(int(a) for a in arg_tuple)
        jax_argnums = tuple(a + 1 for a in self.arg_tuple)
        if self.vars:
            jax_argnums = (0,) + jax_argnums
        self._written: list[Array] = []
        self._n_external = 0
        self._apply = _jax_transform(kind, self._pure, jax_argnums, options)
        self.__doc__ = getattr(func, "__doc__", None)

    def known_states(self) -> list[Array]:
        """Arrays this derivative is known to touch: grad_vars, dyn_vars, owner's."""
        return self.vars + self.dyn_vars + _owner_arrays(self.func)

    def _pure(self, var_values: list[Any], *args: Any, **kwargs: Any) -> Any:
        with StateTrace() as trace:
            if self.vars:
                trace.swap_in(self.vars, self.treedef.flatten_up_to(var_values))
            try:
                out = self.func(*args, **kwargs)
            except Exception as err:  # the function's own, even a nested transform's
                _disown(err)
                raise
            aux = None
            if self.has_aux:
                out, aux = _check_aux_pair(self.name, out)
                aux = unwrap(aux)
            out = unwrap(out)
            if self.kind == "grad":
                _check_scalar(out)
            # Arrays made inside the function hold values of this level too (they
            # may have been stored on an object); return them to write them back.
            external = list(trace.external(trace.writes).values())
            self._n_external = len(external)
            self._written = external + list(trace.created.values())
            written = [a._value for a in self._written]
        return out, (out, aux, written)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        grads, value, aux, var_values, args = self._run(args, kwargs)
        grads = self._regroup(grads, value, var_values, args)
        return _assemble(self, grads, value, aux)

    def _run(self, args: tuple, kwargs: dict) -> tuple[Any, Any, Any, Any, tuple]:
        """Apply the JAX transform and write state back; return JAX's gradients
        (per differentiated position), the value, the aux, and the primals."""
        args = tuple(a.value if isinstance(a, Array) else unwrap(a) for a in args)
        _check_nargs(self.name, self.arg_tuple, len(args))
        var_values = None
        if self.vars:
            var_values = self.treedef.unflatten([a.value for a in self.vars])
        if self.kind == "vector_grad":  # jax.vjp itself accepts integer inputs
            self._explain_int(args)
        try:
            grads, (value, aux, written) = self._apply(var_values, *args, **kwargs)
        except TypeError as err:
            # grad/jacrev mention allow_int; jacfwd (and hessian) say "real-valued".
            if "allow_int" in str(err) or "requires real-valued inputs" in str(err):
                self._explain_int(args)
            raise
        n = self._n_external
        _refuse_tracers(self._written[:n], written[:n])
        for i, (array, new) in enumerate(zip(self._written, written)):
            if _STACK and i < self._n_external:
                _record_write(array)
            array._value = new
        self._written = []
        return grads, value, aux, var_values, args

    def _regroup(self, grads: Any, value: Any, var_values: Any, args: tuple) -> Any:
        """Group JAX's per-position results into ``V``, ``A`` or ``(V, A)``.

        ``grad`` and ``vector_grad`` give one tuple over the differentiated positions.
        ``jacrev`` and ``jacfwd`` give that tuple at every leaf of the output, and
        ``hessian`` gives, at every leaf of the output, a tuple over positions whose
        entries hold, at every leaf of their position, a second tuple over positions.
        """
        if self.kind in ("grad", "vector_grad"):
            return self._group(grads)
        primals = [var_values] if self.vars else []
        primals += [args[a] for a in self.arg_tuple]

        def inner(_: Any, per_position: tuple[Any, ...]) -> Any:
            return self._group(per_position)

        def per_output_leaf(_: Any, per_position: tuple[Any, ...]) -> Any:
            if self.kind == "hessian":
                per_position = tuple(
                    jax.tree_util.tree_map(inner, primal, rows)
                    for primal, rows in zip(primals, per_position)
                )
            return self._group(per_position)

        return jax.tree_util.tree_map(per_output_leaf, value, grads)

    def _group(self, per_position: tuple[Any, ...]) -> Any:
        """Group results per differentiated position into ``V``, ``A`` or ``(V, A)``."""
        if self.vars:
            var_part, per_position = per_position[0], per_position[1:]
            if self.argnums is None:
                return var_part
        if isinstance(self.argnums, int):
            args_part = per_position[0]
        else:
            args_part = tuple(per_position)
        return (var_part, args_part) if self.vars else args_part

    @functools.cached_property
    def _var_names(self) -> list[str]:
        """``grad_vars entry i`` (with its key in a dict), for messages."""
        tree = self.treedef.unflatten(self.vars) if self.vars else ()
        paths = jax.tree_util.tree_flatten_with_path(
            tree, is_leaf=lambda x: isinstance(x, Array)
        )[0]
        return [_entry_name(i, path) for i, (path, _) in enumerate(paths)]

    def _explain_int(self, args: tuple[Any, ...]) -> None:
        entries = [
            (name, array.value, "grad_vars")
            for name, array in zip(self._var_names, self.vars)
        ]
        entries += [
            (f"argument {a} (argnums)", args[a], "allow_int") for a in self.arg_tuple
        ]
        _check_inexact(self.name, entries)


class _PerPosition:
    """A transform that returns ``(grads, value, aux)`` before the return table.

    ``grads`` is JAX's own layout: for ``grad`` and ``vector_grad`` a tuple with one
    entry per differentiated position (the ``grad_vars`` container first, then each
    ``argnums`` entry); for Jacobians that tuple at every leaf of the output; for
    ``hessian``, at every leaf of the output, a tuple over positions whose entries
    hold that tuple again at every leaf of their position. Private: the runner's
    app layer labels results by position with it, and nothing is regrouped.
    """

    def __init__(self, transform: _Transform) -> None:
        self.transform = transform

    def known_states(self) -> list[Array]:
        return self.transform.known_states()

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any, Any]:
        grads, value, aux, _, _ = self.transform._run(args, kwargs)
        return grads, value, aux


def per_position(transform: Any) -> _PerPosition:
    """``transform`` (made by :func:`grad`, :func:`jacobian`, ...) returning its
    gradients per differentiated position, its value and its aux (see
    :class:`_PerPosition`); public as :mod:`runner.core.internal`.

    Example:
        >>> f = per_position(jacrev(lambda x, y: x * y, argnums=(0, 1)))
        >>> grads, value, aux = f(2.0, 3.0)
        >>> [float(g) for g in grads], float(value), aux
        ([3.0, 2.0], 6.0, None)
    """
    return _PerPosition(transform)


def _assemble(t: _Transform, grads: Any, value: Any, aux: Any) -> Any:
    """Add the value and aux to ``grads`` by the table in this module's docstring."""
    if t.return_value and t.has_aux:
        return grads, value, aux
    if t.return_value:
        return grads, value
    if t.has_aux:
        return grads, aux
    return grads


def _jax_transform(
    kind: str, pure: Callable[..., Any], argnums: tuple[int, ...], options: dict
) -> Callable[..., Any]:
    if kind == "grad":
        return jax.grad(pure, argnums=argnums, has_aux=True, **options)
    if kind == "jacrev":
        return jax.jacrev(pure, argnums=argnums, has_aux=True, **options)
    if kind == "jacfwd":
        return jax.jacfwd(pure, argnums=argnums, has_aux=True, **options)
    if kind == "hessian":
        return jax.hessian(pure, argnums=argnums, has_aux=True, **options)
    if kind == "jacobian":
        return _auto_jacobian_transform(pure, argnums, options)
    return _vector_grad_transform(pure, argnums)


def _auto_jacobian_transform(
    pure: Callable[..., Any], argnums: tuple[int, ...], options: dict
) -> Callable[..., Any]:
    """Forward mode when the differentiated inputs have fewer elements than the
    output, reverse mode otherwise; the output's size comes from an abstract trace.
    """
    reverse = jax.jacrev(pure, argnums=argnums, has_aux=True, **options)
    forward = jax.jacfwd(pure, argnums=argnums, has_aux=True, **options)

    def apply(*args: Any, **kwargs: Any) -> Any:
        out = jax.eval_shape(pure, *args, **kwargs)[0]
        n_out = sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(out))
        n_in = sum(
            int(np.size(leaf))
            for i in argnums
            for leaf in jax.tree_util.tree_leaves(args[i])
        )
        return (forward if n_in < n_out else reverse)(*args, **kwargs)

    return apply


def _vector_grad_transform(
    pure: Callable[..., Any], argnums: tuple[int, ...]
) -> Callable[..., Any]:
    """Gradient of ``sum(f)``: a VJP with a cotangent of ones, one pass."""

    def apply(*args: Any, **kwargs: Any) -> Any:
        def partial(*diff: Any) -> Any:
            full = list(args)
            for i, x in zip(argnums, diff):
                full[i] = x
            return pure(*full, **kwargs)

        diff = [args[i] for i in argnums]
        out, vjp_fn, aux = jax.vjp(partial, *diff, has_aux=True)
        ones = jax.tree_util.tree_map(jnp.ones_like, out)
        return vjp_fn(ones), aux

    return apply


# -- public transforms ---------------------------------------------------------------
@_decorator_form
def grad(
    func: Callable[..., Any],
    grad_vars: GradVars = None,
    dyn_vars: Any = None,
    argnums: ArgNums = None,
    has_aux: bool = False,
    return_value: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Callable[..., Any]:
    """Gradient of a scalar-output function, bound method or callable ``Base``.

    Args:
        func: the function to differentiate; it may read and write Arrays. Leave it
            out to get a decorator: ``@bm.grad(argnums=0)``.
        grad_vars: Arrays (one, or a tuple/list/dict of them) to differentiate by.
        dyn_vars: Arrays (one, or a tuple/list/dict of them) the function reads or
            writes; optional, since state is found automatically.
        argnums: positional argument(s) to differentiate by; default 0 when
            ``grad_vars`` is not given.
        has_aux: ``func`` returns ``(value, aux)``; ``aux`` is passed through.
        return_value: also return the function's value.
        holomorphic: as in ``jax.grad``.
        allow_int: as in ``jax.grad``: integer inputs get float0 zero gradients.

    Returns:
        A function with ``func``'s signature that returns the outputs in the table of
        this module's docstring. Values written to Arrays inside ``func`` stay
        written after the call.

    Raises:
        TypeError: ``func`` is not callable, an output is not scalar, a
            ``grad_vars`` entry is not an Array, or an input is an integer.
        ValueError: ``argnums`` is negative or past the positional arguments.

    Example:
        >>> import runner.core as bm
        >>> def f(a, b):
        ...     return a * 2 + b
        >>> da, db = bm.grad(f, argnums=(0, 1))(2.0, 1.0)
        >>> float(da), float(db)
        (2.0, 1.0)
    """
    options = {"holomorphic": holomorphic, "allow_int": allow_int}
    return _Transform("grad", func, grad_vars, dyn_vars, argnums, has_aux,
                      return_value, options)  # fmt: skip


@_decorator_form
def vector_grad(
    func: Callable[..., Any],
    grad_vars: GradVars = None,
    dyn_vars: Any = None,
    argnums: ArgNums = None,
    has_aux: bool = False,
    return_value: bool = False,
) -> Callable[..., Any]:
    """Gradient of the sum of a vector-output function (one reverse pass).

    For an elementwise function this is the elementwise derivative. Arguments,
    returns and errors are those of :func:`grad`, without the scalar-output rule.

    Example:
        >>> import runner.core as bm
        >>> bm.vector_grad(lambda x: x ** 2)(bm.arange(3.0))
        Array([0., 2., 4.], dtype=float32)
        >>> @bm.vector_grad(argnums=0)
        ... def cube(x, c):
        ...     return c * x**3
        >>> cube(bm.array([1.0, 2.0]), 1.0)
        Array([ 3., 12.], dtype=float32)
    """
    return _Transform("vector_grad", func, grad_vars, dyn_vars, argnums, has_aux,
                      return_value, {})  # fmt: skip


@_decorator_form
def jacrev(
    func: Callable[..., Any],
    grad_vars: GradVars = None,
    dyn_vars: Any = None,
    argnums: ArgNums = None,
    has_aux: bool = False,
    return_value: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Callable[..., Any]:
    """Jacobian by reverse mode: one pass per output element.

    Cheaper than :func:`jacfwd` when outputs are fewer than inputs. Arguments,
    returns and errors are those of :func:`grad`, without the scalar-output rule;
    each Jacobian has shape ``output.shape + input.shape``.

    Example:
        >>> import runner.core as bm
        >>> bm.jacrev(lambda x: x[:2] * x[2])(bm.array([1.0, 2.0, 3.0]))
        Array([[3., 0., 1.],
               [0., 3., 2.]], dtype=float32)
    """
    options = {"holomorphic": holomorphic, "allow_int": allow_int}
    return _Transform("jacrev", func, grad_vars, dyn_vars, argnums, has_aux,
                      return_value, options)  # fmt: skip


@_decorator_form
def jacfwd(
    func: Callable[..., Any],
    grad_vars: GradVars = None,
    dyn_vars: Any = None,
    argnums: ArgNums = None,
    has_aux: bool = False,
    return_value: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Jacobian by forward mode: one pass per input element.

    Cheaper than :func:`jacrev` when inputs are fewer than outputs. Arguments,
    returns and errors are those of :func:`grad`, without the scalar-output rule.

    Example:
        >>> import runner.core as bm
        >>> bm.jacfwd(lambda x: x[:2] * x[2])(bm.array([1.0, 2.0, 3.0]))
        Array([[3., 0., 1.],
               [0., 3., 2.]], dtype=float32)
    """
    options = {"holomorphic": holomorphic}
    return _Transform("jacfwd", func, grad_vars, dyn_vars, argnums, has_aux,
                      return_value, options)  # fmt: skip


@_decorator_form
def jacobian(
    func: Callable[..., Any],
    grad_vars: GradVars = None,
    dyn_vars: Any = None,
    argnums: ArgNums = None,
    has_aux: bool = False,
    return_value: bool = False,
    holomorphic: bool = False,
    mode: str = "reverse",
) -> Callable[..., Any]:
    """Jacobian of ``func``: :func:`jacrev` by default, :func:`jacfwd` on request.

    Choose ``mode="forward"`` when the differentiated inputs have fewer elements
    than the output (e.g. a vector field of a few state variables evaluated on
    long parameter vectors), ``mode="reverse"`` (the default) otherwise. Both give
    the same numbers; only the cost differs. ``mode="auto"`` compares the sizes at
    each call (one extra abstract trace of ``func``; under :func:`jit` only when
    tracing) and picks the cheaper mode.

    Args:
        mode: ``"reverse"``, ``"forward"`` or ``"auto"``. The other arguments are
            :func:`grad`'s.

    Example:
        >>> import runner.core as bm
        >>> jac = bm.jacobian(lambda x: x * x, mode="forward")
        >>> jac(bm.array([1.0, 2.0]))
        Array([[2., 0.],
               [0., 4.]], dtype=float32)
    """
    kinds = {"reverse": "jacrev", "forward": "jacfwd", "auto": "jacobian"}
    if mode in kinds:
        options = {"holomorphic": holomorphic}
        return _Transform(kinds[mode], func, grad_vars, dyn_vars, argnums, has_aux,
                          return_value, options, name="jacobian")  # fmt: skip
    raise _blame(
        ValueError(
            f"jacobian(mode={mode!r}): expected 'reverse', 'forward' or 'auto'; use "
            f"'forward' when inputs have fewer elements than outputs."
        ),
        "mode",
    )


@_decorator_form
def hessian(
    func: Callable[..., Any],
    grad_vars: GradVars = None,
    dyn_vars: Any = None,
    argnums: ArgNums = None,
    has_aux: bool = False,
    return_value: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Hessian of a scalar function: ``jacfwd`` of ``jacrev``.

    With ``grad_vars`` and/or a tuple of ``argnums`` the result is nested blocks,
    ``H[i][j] = d2 f / dx_i dx_j``, in the structure of :func:`grad`'s ``V``/``A``
    (for ``grad_vars`` and ``argnums`` together, the blocks are over the single
    tuple ``(V, A)``). ``return_value=True`` also returns ``func``'s value.

    Example:
        >>> import runner.core as bm
        >>> bm.hessian(lambda x: (x ** 3).sum())(bm.array([1.0, 2.0]))
        Array([[ 6.,  0.],
               [ 0., 12.]], dtype=float32)
    """
    options = {"holomorphic": holomorphic}
    return _Transform("hessian", func, grad_vars, dyn_vars, argnums, has_aux,
                      return_value, options)  # fmt: skip
