"""Simulated models: derivatives of whole trajectories.

Each model runs its dynamics with ``bm.for_loop`` (one compiled ``jax.lax.scan``,
no Python loop over time steps), carrying its state in a local Variable, so the
runner's transforms differentiate through every step: the gradient of a time
average with respect to a parameter, the Jacobian of the flow map with respect to
the initial state (Floquet multipliers over one period of a limit cycle), and
backpropagation through time of a recurrent network's loss. No method writes the
model's own Variables, so a vectorized sweep may replace them.
"""

from __future__ import annotations

import math
from typing import Any

import runner.core as bm

from .neuro import FitzHughNagumo

__all__ = ["FitzHughNagumoSim", "RateRNN"]


def _check_steps(steps: Any, dt: Any, model: str) -> tuple[int, float]:
    """``steps`` as an int >= 1 and ``dt`` as a finite float > 0."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"{model}(steps={steps!r}): expected an int >= 1 (the number of time "
            f"steps); pass e.g. steps=1000."
        )
    if isinstance(dt, bool) or not isinstance(dt, (int, float)):
        raise TypeError(f"{model}(dt={dt!r}): expected a number; pass e.g. dt=0.05.")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(
            f"{model}(dt={dt!r}): expected a finite time step > 0; pass e.g. dt=0.05."
        )
    return steps, float(dt)


class FitzHughNagumoSim(FitzHughNagumo):
    """FitzHugh–Nagumo in time: ``v' = v - v^3/3 - w + I``, ``w' = (v + a - b w)/tau``.

    ``steps`` steps of size ``dt`` with the classical fourth-order Runge–Kutta
    method (RK4), chosen for accuracy: its global error is O(dt^4). At dt = 0.05
    the state after T = 50 (I = 0.5) is off by 2e-8, below float32 rounding
    (1e-7); Euler's method, O(dt), would be off by 8e-4 and bias every derivative
    by as much. The parameters are Variables, so
    ``grad_vars`` can name them (``current``, ``b``, ...); ``steps`` and ``dt`` are
    plain numbers (they fix the compiled loop).

    Args:
        a, b, tau: the recovery parameters (defaults 0.7, 0.8, 12.5).
        current: the injected current ``I``.
        steps: the number of time steps (an int >= 1).
        dt: the time step (> 0).
        name: an explicit name.

    Raises:
        ValueError: ``steps`` < 1 or ``dt`` not a finite positive number.
        TypeError: ``steps`` or ``dt`` is not a number.

    Example:
        >>> fhn = FitzHughNagumoSim(current=0.5, steps=200, dt=0.05)
        >>> x0 = bm.array([-1.0, 1.0])
        >>> fhn.trajectory(x0).shape
        (200, 2)
        >>> flow = bm.jacfwd(fhn.final_state)(x0)     # the flow map's Jacobian
        >>> state, phi = fhn.variational(x0)          # the same, another way
        >>> bool(bm.allclose(flow, phi, atol=1e-5))
        True
    """

    def __init__(
        self,
        a: float = 0.7,
        b: float = 0.8,
        tau: float = 12.5,
        current: float = 0.0,
        steps: int = 1000,
        dt: float = 0.05,
        name: str | None = None,
    ) -> None:
        super().__init__(a=a, b=b, tau=tau, current=current, name=name)
        self.steps, self.dt = _check_steps(steps, dt, type(self).__name__)

    def jacobian_field(self, state: Any) -> Any:
        """The vector field's Jacobian in closed form, ``[[1 - v^2, -1], [1/tau,
        -b/tau]]`` (no autodiff: the variational equations use it).

        Args:
            state: the state ``(v, w)``.

        Returns:
            The 2 x 2 Jacobian at ``state``.

        Example:
            >>> FitzHughNagumoSim(tau=10.0, b=0.5).jacobian_field(bm.ones(2)).tolist()
            [[0.0, -1.0], [0.10000000149011612, -0.05000000074505806]]
        """
        v = state[0]
        row0 = bm.stack([1 - v**2, -bm.ones_like(v)])
        row1 = bm.stack([1 / self.tau, -self.b / self.tau])
        return bm.stack([row0, row1])

    def _rk4(self, field: Any, x: Any) -> Any:
        """One RK4 step of ``x' = field(x)`` (``x`` a pytree of arrays)."""
        h = self.dt

        def axpy(a: Any, k: Any) -> Any:  # x + a k, leaf by leaf
            return _tree(lambda xi, ki: xi + a * ki, x, k)

        k1 = field(x)
        k2 = field(axpy(h / 2, k1))
        k3 = field(axpy(h / 2, k2))
        k4 = field(axpy(h, k3))
        return _tree(
            lambda xi, a, b, c, d: xi + h / 6 * (a + 2 * b + 2 * c + d),
            x, k1, k2, k3, k4,
        )  # fmt: skip

    def trajectory(self, state0: Any) -> Any:
        """The states after each of the ``steps`` steps from ``state0``.

        Args:
            state0: the initial state ``(v, w)``.

        Returns:
            An array of shape ``(steps, 2)``: row ``k`` is the state at time
            ``(k + 1) dt``.

        Example:
            >>> fhn = FitzHughNagumoSim(steps=3, dt=0.1)
            >>> fhn.trajectory(bm.array([0.0, 0.0])).shape
            (3, 2)
        """
        x = bm.Variable(bm.asarray(state0, dtype=self.current.dtype))  # carried

        def step(_: Any) -> Any:
            x.value = self._rk4(self.vector_field, x.value)
            return x.value

        return bm.for_loop(step, bm.arange(self.steps))

    def mean_v(self, state0: Any) -> Any:
        """The mean of ``v`` over the trajectory from ``state0``.

        The average of ``v`` at the ``steps`` times ``dt, 2 dt, ..., steps dt``
        (a Riemann sum for the time average ``(1/T) ∫ v dt``, ``T = steps dt``).

        Args:
            state0: the initial state ``(v, w)``.

        Returns:
            A scalar.

        Example:
            >>> fhn = FitzHughNagumoSim(steps=100, dt=0.05)
            >>> dmean = bm.grad(fhn.mean_v, grad_vars=fhn.current)
            >>> float(dmean(bm.array([-1.2, -0.6]))) > 0   # more current, higher v
            True
        """
        return self.trajectory(state0)[:, 0].mean()

    def final_state(self, state0: Any) -> Any:
        """The state after ``steps`` steps: the flow map ``phi_T(state0)``,
        ``T = steps dt``; its Jacobian in ``state0`` is the flow map's.

        Args:
            state0: the initial state ``(v, w)``.

        Returns:
            The state after ``steps`` steps, shape ``(2,)``.

        Example:
            >>> fhn = FitzHughNagumoSim(steps=10, dt=0.1)
            >>> bm.jacfwd(fhn.final_state)(bm.zeros(2)).shape
            (2, 2)
        """
        return self.trajectory(state0)[-1]

    def variational(self, state0: Any) -> tuple[Any, Any]:
        """The final state and the flow map's Jacobian from the variational equations.

        Integrates ``x' = F(x)`` together with ``Phi' = J(x) Phi``, ``Phi(0) = I``,
        ``J`` the closed-form :meth:`jacobian_field`, with the same RK4 steps: an
        independent reference for the autodiff Jacobian of :meth:`final_state`.
        A Runge-Kutta step of the variational equations is the derivative of the
        Runge-Kutta step itself, so the two agree to rounding, not only to O(dt^4).

        Args:
            state0: the initial state ``(v, w)``.

        Returns:
            ``(state, Phi)``: the state after ``steps`` steps and the 2 x 2
            Jacobian of the flow map at ``state0``.

        Example:
            >>> state, phi = FitzHughNagumoSim(steps=1, dt=1e-3).variational(
            ...     bm.zeros(2))
            >>> bool(bm.allclose(phi, bm.eye(2), atol=2e-3))
            True
        """
        x = bm.Variable(bm.asarray(state0, dtype=self.current.dtype))
        phi = bm.Variable(bm.eye(2, dtype=x.dtype))

        def field(pair: Any) -> Any:
            state, flow = pair
            return self.vector_field(state), bm.dot(self.jacobian_field(state), flow)

        def step(_: Any) -> None:
            x.value, phi.value = self._rk4(field, (x.value, phi.value))

        bm.for_loop(step, bm.arange(self.steps))
        return x.value, phi.value


# Read by the runner before the call: every method takes one state (v, w).
for _name in ("vector_field", "jacobian_field", "trajectory", "mean_v", "final_state",
              "variational"):  # fmt: skip
    getattr(FitzHughNagumoSim, _name).input_shapes = ((2,),)
del _name


def _tree(fn: Any, *trees: Any) -> Any:
    """``fn`` leaf by leaf over equally structured tuples (or single arrays)."""
    if isinstance(trees[0], tuple):
        return tuple(fn(*leaves) for leaves in zip(*trees))
    return fn(*trees)


class RateRNN(bm.Base):
    """A rate RNN, ``h_t = h_{t-1} + dt/tau (-h_{t-1} + tanh(W h_{t-1} + U x_t + b))``.

    From ``h_0 = 0``, one step per input ``x_t`` (``t = 1 .. T``), read out as
    ``y_t = V h_t``. The weights are TrainVars (``W``, ``U``, ``V``, ``b``), drawn
    from their own generator seeded by ``seed`` (normal, standard deviation
    ``gain / sqrt(n_hidden)`` for ``W``, ``1 / sqrt(fan-in)`` for ``U`` and
    ``V``; ``b`` zero), so the same seed gives the same network whatever else was
    drawn.

    Args:
        n_in, n_hidden, n_out: the sizes of ``x_t``, ``h_t`` and ``y_t``.
        dt, tau: the time step and the time constant.
        gain: the scale of the recurrent weights ``W``.
        seed: the seed of the weights.
        name: an explicit name.

    Example:
        >>> rnn = RateRNN(n_in=2, n_hidden=4, n_out=1, seed=0)
        >>> xs, targets = bm.ones((120, 2)), bm.zeros((120, 1))
        >>> grads = bm.grad(rnn.loss, grad_vars=[rnn.W, rnn.U, rnn.V, rnn.b])
        >>> [g.shape for g in grads(xs, targets)]
        [(4, 4), (4, 2), (1, 4), (4,)]
    """

    def __init__(
        self,
        n_in: int = 2,
        n_hidden: int = 16,
        n_out: int = 1,
        dt: float = 0.1,
        tau: float = 1.0,
        gain: float = 1.2,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.dt, self.tau = float(dt), float(tau)
        rng = bm.random.RandomState(seed)
        self.W = bm.TrainVar(rng.normal(0.0, gain / n_hidden**0.5, (n_hidden,) * 2))
        self.U = bm.TrainVar(rng.normal(0.0, 1 / n_in**0.5, (n_hidden, n_in)))
        self.V = bm.TrainVar(rng.normal(0.0, 1 / n_hidden**0.5, (n_out, n_hidden)))
        self.b = bm.TrainVar(bm.zeros(n_hidden))

    def outputs(self, xs: Any) -> Any:
        """The readouts ``y_1 .. y_T`` for the inputs ``xs``.

        Args:
            xs: the inputs ``x_1 .. x_T``, shape ``(T, n_in)``.

        Returns:
            The readouts, shape ``(T, n_out)``.

        Example:
            >>> RateRNN(n_in=1, n_hidden=3, n_out=2).outputs(bm.zeros((5, 1))).shape
            (5, 2)
        """
        h = bm.Variable(bm.zeros(self.b.shape, dtype=self.b.dtype))
        rate = self.dt / self.tau

        def step(x: Any) -> Any:
            drive = bm.dot(self.W, h.value) + bm.dot(self.U, x) + self.b
            h.value = h.value + rate * (bm.tanh(drive) - h.value)
            return bm.dot(self.V, h.value)

        return bm.for_loop(step, xs)

    def loss(self, xs: Any, targets: Any) -> Any:
        """The mean squared error of the readouts against ``targets``.

        Args:
            xs: the inputs, shape ``(T, n_in)``.
            targets: the wanted readouts, shape ``(T, n_out)``.

        Returns:
            A scalar: the mean over steps and outputs of the squared error.

        Example:
            >>> rnn = RateRNN(n_in=1, n_hidden=3, n_out=1)
            >>> float(rnn.loss(bm.zeros((4, 1)), bm.ones((4, 1))))   # h stays 0
            1.0
        """
        return bm.mean((self.outputs(xs) - targets) ** 2)

    outputs.input_shapes = ((None, None),)  # type: ignore[attr-defined]
    loss.input_shapes = ((None, None), (None, None))  # type: ignore[attr-defined]
