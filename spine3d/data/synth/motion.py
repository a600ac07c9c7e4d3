"""Smooth signal primitives for the motion generators, and their seeding.

All signals are sampled on a time vector ``t`` (T,) in seconds and are C2-smooth (sums of
sinusoids, von Mises bumps, quintic "smootherstep" transitions), so marker accelerations stay
bounded. Randomness always comes from :func:`stable_rng`, keyed by strings, so a dataset is a pure
function of its seed.
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np


def stable_rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator fixed by ``seed`` and string ``keys`` (CRC32, stable across runs and platforms)."""
    return np.random.default_rng([int(seed), *(zlib.crc32(k.encode("utf-8")) for k in keys)])


def smooth_noise(t: np.ndarray, rng: np.random.Generator, amplitude: float, f_max: float = 0.5,
                 n: int = 5, channels: int | None = None) -> np.ndarray:
    """Band-limited noise: a sum of ``n`` sinusoids, frequencies in [f_max / 8, f_max] Hz, random phases.

    Args:
        t: (T,) s.
        amplitude: bound on |noise| (the weights sum to 1).
        channels: None for a (T,) signal, else (T, channels) independent signals.

    Returns:
        (T,) or (T, channels), same unit as ``amplitude``.
    """
    c = 1 if channels is None else channels
    freq = rng.uniform(f_max / 8, f_max, size=(n, c))
    phase = rng.uniform(0, 2 * np.pi, size=(n, c))
    weight = rng.uniform(0.5, 1.0, size=(n, c))
    weight /= weight.sum(axis=0)
    out = amplitude * np.einsum("nc,tnc->tc", weight, np.sin(2 * np.pi * freq * t[:, None, None] + phase))
    return out[:, 0] if channels is None else out


def smootherstep(u: np.ndarray) -> np.ndarray:
    """Quintic ease 6u^5 - 15u^4 + 10u^3 on [0, 1] (zero 1st and 2nd derivative at both ends)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def keyframes(t: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Eased piecewise interpolation through keyframes.

    Args:
        t: (T,) s, query times.
        times: (K,) s, increasing knot times (K >= 2).
        values: (K,) or (K, C) values at the knots.

    Returns:
        (T,) or (T, C): ``values`` joined by quintic transitions, held constant outside the knots.
    """
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    u = smootherstep((t - times[i]) / np.maximum(times[i + 1] - times[i], 1e-9))
    if values.ndim == 2:
        u = u[:, None]
    return values[i] + (values[i + 1] - values[i]) * u


def pose_sequence(t: np.ndarray, rng: np.random.Generator, sample: Callable[[int], np.ndarray],
                  hold: tuple[float, float] = (1.0, 3.0), move: tuple[float, float] = (0.6, 1.5)) -> np.ndarray:
    """Hold a random pose, move smoothly to the next, hold it, ... for the whole of ``t``.

    Args:
        t: (T,) s, starting at 0.
        sample: ``sample(n) -> (n, C)`` draws n poses (C channels).
        hold, move: ranges (s) of the hold and transition durations.

    Returns:
        (T, C).
    """
    duration = float(t[-1]) if len(t) else 0.0
    n = int(duration / (hold[0] + move[0])) + 2  # enough poses to cover the sequence
    durations = np.stack([rng.uniform(*hold, n), rng.uniform(*move, n)], axis=1).ravel()
    times = np.concatenate([[0.0], np.cumsum(durations)]) - rng.uniform(0, hold[1])  # random start in a hold
    poses = np.asarray(sample(n + 1))
    values = np.repeat(poses, 2, axis=0)[: len(times)]  # [p0, p0, p1, p1, ...]: hold, then move
    return keyframes(t, times, values)


def periodic_curve(table: np.ndarray, phase: np.ndarray, harmonics: int = 3) -> np.ndarray:
    """Smooth periodic curve through samples of one cycle (trigonometric least squares).

    Args:
        table: (N,) values at phases 2 pi k / N, k = 0..N-1.
        phase: (T,) rad.
        harmonics: Fourier harmonics kept (< N / 2).

    Returns:
        (T,) the truncated Fourier series evaluated at ``phase``.
    """
    coef = np.fft.rfft(table) / len(table)
    k = np.arange(1, harmonics + 1)
    wave = coef[1: harmonics + 1] * np.exp(1j * np.outer(phase, k))
    return coef[0].real + 2 * wave.real.sum(axis=1)


def bump(phase: np.ndarray, centre: float, kappa: float) -> np.ndarray:
    """Periodic von Mises bump exp(kappa (cos(phase - centre) - 1)), peak 1 at ``centre`` (rad)."""
    return np.exp(kappa * (np.cos(phase - centre) - 1.0))


def soft_clip(x: np.ndarray, lo: float, hi: float, width: float) -> np.ndarray:
    """Smoothly saturate ``x`` into (lo, hi): identity well inside, C-infinity everywhere.

    ``lo + softplus(x - lo) - softplus(x - hi)`` with softplus(u) = width * log(1 + exp(u / width)).
    """
    return lo + width * (np.logaddexp(0.0, (x - lo) / width) - np.logaddexp(0.0, (x - hi) / width))


def soft_min(values: np.ndarray, tau: float, axis: int = -1) -> np.ndarray:
    """Smooth minimum -tau log sum exp(-v / tau) along ``axis`` (<= the true minimum, within tau log N)."""
    return -tau * np.logaddexp.reduce(-values / tau, axis=axis)


def state_sequence(t: np.ndarray, rng: np.random.Generator, states: dict[str, tuple[float, dict]],
                   hold: tuple[float, float] = (1.0, 3.0),
                   move: tuple[float, float] = (0.6, 1.5)) -> dict[str, np.ndarray]:
    """Hold / move between random states, each a set of channel ranges.

    Args:
        t: (T,) s.
        states: name -> (probability weight, {channel: (lo, hi) or value}); a channel a state does
            not list is 0 in that state. Each visit draws every channel uniformly in its range.
        hold, move: duration ranges (s) of holds and transitions.

    Returns:
        channel -> (T,) track.
    """
    names = list(states)
    prob = np.array([states[s][0] for s in names], dtype=np.float64)
    channels = sorted({c for _, spec in states.values() for c in spec})

    bounds = np.array([[np.broadcast_to(states[s][1].get(c, 0.0), (2,)) for c in channels] for s in names])  # (S, C, 2)

    def sample(n: int) -> np.ndarray:
        picks = rng.choice(len(names), size=n, p=prob / prob.sum())
        lo, hi = bounds[picks, :, 0], bounds[picks, :, 1]
        return lo + (hi - lo) * rng.random(lo.shape)

    track = pose_sequence(t, rng, sample, hold, move)
    return {c: track[:, j] for j, c in enumerate(channels)}
