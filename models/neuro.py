"""Neuron and population models whose vector fields the runner differentiates.

The Jacobian of a vector field at a fixed point decides its stability: the point is
stable when every eigenvalue has a negative real part. Each ``vector_field`` declares
the shape of its state in ``input_shapes``, which the runner checks before the call.
"""

from __future__ import annotations

from typing import Any

import runner.core as bm


class FitzHughNagumo(bm.Base):
    """FitzHugh–Nagumo neuron: ``v' = v - v^3/3 - w + I``, ``w' = (v + a - b w)/tau``.

    Its Jacobian is ``[[1 - v^2, -1], [1/tau, -b/tau]]``.

    Args:
        a, b, tau: recovery parameters (defaults 0.7, 0.8, 12.5).
        current: the injected current ``I``.
        name: an explicit name.

    Example:
        >>> fhn = FitzHughNagumo()
        >>> bm.jacobian(fhn.vector_field)(bm.array([0.0, 0.0])).tolist()
        [[1.0, -1.0], [0.07999999821186066, -0.06400000303983688]]
    """

    def __init__(
        self,
        a: float = 0.7,
        b: float = 0.8,
        tau: float = 12.5,
        current: float = 0.0,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        # The default float dtype: float32, or float64 under bm.enable_x64().
        self.a = bm.Variable(bm.asarray(a, dtype=float))
        self.b = bm.Variable(bm.asarray(b, dtype=float))
        self.tau = bm.Variable(bm.asarray(tau, dtype=float))
        self.current = bm.Variable(bm.asarray(current, dtype=float))

    def vector_field(self, state: Any) -> Any:
        """``(v', w')`` at ``state = (v, w)``."""
        v, w = state[0], state[1]
        dv = v - v**3 / 3 - w + self.current
        dw = (v + self.a - self.b * w) / self.tau
        return bm.stack([dv, dw])

    vector_field.input_shapes = ((2,),)  # type: ignore[attr-defined]


class WilsonCowan(bm.Base):
    """Wilson–Cowan excitatory/inhibitory rates with a sigmoid gain.

    ``tau_e E' = -E + S(w_ee E - w_ei I + P)``,
    ``tau_i I' = -I + S(w_ie E - w_ii I + Q)``, ``S(x) = 1/(1 + exp(-x))``.

    Example:
        >>> wc = WilsonCowan()
        >>> bm.jacobian(wc.vector_field)(bm.zeros(2)).shape
        (2, 2)
    """

    def __init__(
        self,
        w_ee: float = 12.0,
        w_ei: float = 4.0,
        w_ie: float = 13.0,
        w_ii: float = 11.0,
        p: float = 0.0,
        q: float = 0.0,
        tau_e: float = 1.0,
        tau_i: float = 2.0,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.w = bm.Variable(bm.array([[w_ee, -w_ei], [w_ie, -w_ii]]))
        self.drive = bm.Variable(bm.array([p, q]))
        self.tau = bm.Variable(bm.array([tau_e, tau_i]))

    def vector_field(self, rates: Any) -> Any:
        """``(E', I')`` at ``rates = (E, I)``."""
        gain = 1.0 / (1.0 + bm.exp(-(bm.dot(self.w, rates) + self.drive)))
        return (-rates + gain) / self.tau

    vector_field.input_shapes = ((2,),)  # type: ignore[attr-defined]
