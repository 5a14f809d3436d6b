"""A stand-in for gymnasium: CartPole-v1 alone, so that the reinforcement-learning examples run offline.

The cart-pole is the classic one (Barto, Sutton and Anderson, 1983): a pole hinged on a cart that a force
of +-10 N pushes left or right, Euler steps of 0.02 s, an episode ending when the pole leans past 12
degrees or the cart leaves +-2.4 m, or after 500 steps; reward 1 per step. ``spec.reward_threshold``
(475 in gymnasium) is read from COMPAT_REWARD_THRESHOLD when set, so that a run "solves" the task early
and stays short: the question is whether the script runs and learns alike under torch and gpugrad.
"""
from __future__ import annotations

import math
import os
from types import SimpleNamespace

import numpy as np

__all__ = ["make"]


class CartPole:
    gravity, cart_mass, pole_mass, half_length, force, dt = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    angle_limit, position_limit, max_steps = 12 * 2 * math.pi / 360, 2.4, 500

    def __init__(self, render_mode=None) -> None:
        threshold = float(os.environ.get("COMPAT_REWARD_THRESHOLD", 475.0))
        self.spec = SimpleNamespace(id="CartPole-v1", reward_threshold=threshold, max_episode_steps=self.max_steps)
        self.render_mode = render_mode
        self._rng = np.random.default_rng()
        self._state = np.zeros(4)
        self._steps = 0

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._state = self._rng.uniform(-0.05, 0.05, 4)
        self._steps = 0
        return self._state.astype(np.float32), {}

    def step(self, action):
        x, x_dot, theta, theta_dot = self._state
        push = self.force if int(action) == 1 else -self.force
        total_mass = self.cart_mass + self.pole_mass
        moment = self.pole_mass * self.half_length
        cos, sin = math.cos(theta), math.sin(theta)
        lean = (push + moment * theta_dot**2 * sin) / total_mass
        theta_acc = (self.gravity * sin - cos * lean) / (
            self.half_length * (4.0 / 3.0 - self.pole_mass * cos**2 / total_mass))
        x_acc = lean - moment * theta_acc * cos / total_mass
        x, x_dot = x + self.dt * x_dot, x_dot + self.dt * x_acc
        theta, theta_dot = theta + self.dt * theta_dot, theta_dot + self.dt * theta_acc
        self._state = np.array([x, x_dot, theta, theta_dot])
        self._steps += 1
        terminated = bool(abs(x) > self.position_limit or abs(theta) > self.angle_limit)
        truncated = self._steps >= self.max_steps
        return self._state.astype(np.float32), 1.0, terminated, truncated, {}

    def render(self):
        return None

    def close(self) -> None:
        return None


def make(env_id: str, render_mode=None, **kwargs):
    if env_id != "CartPole-v1":
        raise ValueError(f"the compatibility harness's gymnasium stand-in has CartPole-v1 only, not {env_id!r}")
    return CartPole(render_mode=render_mode)
