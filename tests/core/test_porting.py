"""BrainPy-style programs written as a porting user would, each checked against a
hand-written pure-JAX twin: in-place state updates under ``bm.jit``, random draws
in a jitted step, and a training loop with ``bm.grad`` and ``-=`` updates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import runner.core as bm

bp = bm  # BrainPy code says ``bp.math``; here ``bm.math`` is ``bm`` itself


# -- a leaky integrator: self.V += ... under bm.jit ----------------------------------
class LIF(bp.math.Base):
    def __init__(self, n, tau=10.0, v_th=1.0):
        super().__init__()
        self.tau, self.v_th = tau, v_th
        self.V = bm.Variable(bm.zeros(n))
        self.spikes = bm.Variable(bm.zeros(n, dtype=bool))
        self.t = bm.Variable(bm.zeros(()))

    def update(self, current, dt=0.1):
        self.V += (-self.V + current) / self.tau * dt
        self.spikes.value = self.V >= self.v_th
        self.V.value = bm.where(self.spikes, 0.0, self.V)
        self.t += dt
        return self.V.value


def lif_twin(v, current, steps, tau=10.0, v_th=1.0, dt=0.1):
    out = []
    for _ in range(steps):
        v = v + (-v + current) / tau * dt
        v = jnp.where(v >= v_th, 0.0, v)
        out.append(v)
    return jnp.stack(out)


def test_leaky_integrator_under_jit_matches_the_twin():
    lif = LIF(3)
    v_before = lif.V  # an alias a user might keep
    step = bm.jit(lif.update)
    current = jnp.array([5.0, 12.0, 30.0])
    trace = jnp.stack([step(current) for _ in range(300)])
    np.testing.assert_allclose(trace, lif_twin(jnp.zeros(3), current, 300), atol=1e-5)
    assert lif.V is v_before and type(lif.V) is bm.Variable
    np.testing.assert_allclose(float(lif.t), 30.0, rtol=1e-5)
    assert bool(trace[:, 2].min() < 0.5)  # the strongest input spiked and reset


# -- a noisy rate model: bm.random.normal inside a jitted step -----------------------
class NoisyRate(bm.Base):
    def __init__(self, n, sigma=0.3):
        super().__init__()
        self.sigma = sigma
        self.r = bm.Variable(bm.zeros(n))

    def update(self, drive, dt=0.1):
        noise = bm.random.normal(0.0, self.sigma, self.r.shape)
        self.r += dt * (-self.r + bm.tanh(drive)) + bm.sqrt(dt) * noise
        return self.r.value


def noisy_rate_twin(key, drive, steps, n, sigma=0.3, dt=0.1):
    r, out = jnp.zeros(n), []
    for _ in range(steps):
        key, sub = jax.random.split(key)
        noise = jax.random.normal(sub, (n,)) * sigma
        r = r + dt * (-r + jnp.tanh(drive)) + jnp.sqrt(dt) * noise
        out.append(r)
    return jnp.stack(out)


def test_noisy_rate_model_under_jit_matches_the_twin():
    bm.random.seed(2024)
    model = NoisyRate(4)
    step = bm.jit(model.update)
    trace = jnp.stack([step(0.8) for _ in range(50)])
    twin = noisy_rate_twin(jax.random.PRNGKey(2024), 0.8, 50, 4)
    np.testing.assert_allclose(trace, twin, rtol=1e-5, atol=1e-6)
    assert not np.allclose(trace[-1], trace[-2])  # fresh noise every step
    bm.random.seed(2024)  # the same seed: the same run, byte for byte
    again = NoisyRate(4)
    step_again = bm.jit(again.update)
    assert np.asarray(jnp.stack([step_again(0.8) for _ in range(50)])).tobytes() == (
        np.asarray(trace).tobytes()
    )


# -- a training loop: bm.grad(..., grad_vars=model.train_vars()) and -= updates ------
class Regressor(bm.Base):
    def __init__(self):
        super().__init__()
        self.w = bm.TrainVar(bm.array([[0.5], [-0.3]]))
        self.b = bm.TrainVar(bm.zeros(1))

    def loss(self, x, y):
        pred = x @ self.w + self.b
        return bm.mean((pred - y) ** 2)


def regression_twin(params, x, y, lr, steps):
    def loss(p):
        return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)

    losses = []
    for _ in range(steps):
        value, g = jax.value_and_grad(loss)(params)
        params = {k: params[k] - lr * g[k] for k in params}
        losses.append(value)
    return params, jnp.stack(losses)


def test_training_loop_matches_the_twin():
    x = jnp.linspace(-1.0, 1.0, 20).reshape(10, 2)
    y = x @ jnp.array([[2.0], [-1.0]]) + 0.5
    model = Regressor()
    params0 = {"w": model.w.value, "b": model.b.value}
    grad_fn = bm.grad(model.loss, grad_vars=model.train_vars(), return_value=True)

    @bm.jit
    def train_step(x, y):
        grads, loss = grad_fn(x, y)
        for key, var in model.train_vars().items():
            var -= 0.1 * grads[key]
        return loss

    losses = jnp.stack([train_step(x, y) for _ in range(60)])
    params, twin_losses = regression_twin(params0, x, y, 0.1, 60)
    np.testing.assert_allclose(losses, twin_losses, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(model.w.value, params["w"], rtol=1e-5)
    np.testing.assert_allclose(model.b.value, params["b"], rtol=1e-5)
    assert float(losses[-1]) < 1e-2 * float(losses[0])
