"""A seeded model of 2D keypoint-detector errors, to turn projected ground truth into "detected" 2D.

Applied to clean pixels ``uv`` (ground-truth projections) the model adds, in this order:

1. **Left/right swaps**: for a few frames a flip pair (``Skeleton.flip_pairs``, e.g. LClavicle and
   RClavicle) trades places; events start at a rate such that ``swap_rate`` of (frame, pair) slots
   are swapped on average.
2. **Jitter**: Gaussian, per axis std ``sigma_px * difficulty[joint]``, temporally correlated: white
   noise low-pass filtered along T by a Gaussian kernel of std ``smooth_frames``, renormalised to unit
   variance, so the per-axis rms is exactly ``sigma_px * difficulty`` and the lag-k autocorrelation is
   ``exp(-k^2 / (4 smooth_frames^2))``.
3. **Gross errors**: a constant offset of ``gross_px`` (uniform in [min, max], random direction) held
   for ``event_frames`` frames; ``gross_rate`` of the points are affected on average.
4. **Confidence** from the final error e (px): ``conf = exp(conf_jitter * N(0,1)) / (1 + (e / conf_px)^2)``
   clipped to [0, 1]: close to 1 for a few px, ~0.1 for a gross error of 40 px.
5. **Drops**: ``drop_rate`` of the points (in runs of ``event_frames`` frames) become NaN with
   confidence uniform in [0, 0.02]. Input points that are already NaN stay NaN with confidence 0.

Joint difficulty is looked up by canonical name (DEFAULT_DIFFICULTY; 1.0 for names it lacks): the
interior spine points (Spine_02..04) and the latissimus markers, which a detector sees through clothing
and soft tissue, are hardest; the hips and neck are medium; nose and eyes, sharp facial features, are
easiest. All pixel parameters are for an image ``reference_width`` px wide (Human3.6M's 1000 px); with
``image_size`` given they scale by ``width / reference_width`` so the error in width-normalised
coordinates does not depend on the camera's resolution.

The defaults (jitter rms 2.5 px x difficulty per axis, 0.5 % gross errors) aim at a mean 2D error of a
few px on the 15 SIMSPINE markers at 1000 px, the order of the off-the-shelf detectors reported with
SIMSPINE (README's main-job section states the measured mean). numpy only (a leaf module; the triangulation benchmark uses it too).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from spine3d.errors import InputError
from spine3d.skeletons import Skeleton

DEFAULT_DIFFICULTY: dict[str, float] = {
    "Nose": 0.6, "LEye": 0.6, "REye": 0.6, "LEar": 0.8, "REar": 0.8, "Head": 1.0,
    "Neck": 1.3, "Neck_02": 1.3, "Neck_03": 1.2,
    "Hip": 1.4, "LHip": 1.5, "RHip": 1.5,
    "Spine_01": 1.6, "Spine_02": 2.0, "Spine_03": 2.0, "Spine_04": 2.0, "Spine_05": 1.6,
    "LLatissimus": 2.0, "RLatissimus": 2.0, "LClavicle": 1.2, "RClavicle": 1.2,
    "LShoulder": 1.0, "RShoulder": 1.0, "LElbow": 1.0, "RElbow": 1.0, "LWrist": 1.1, "RWrist": 1.1,
    "LKnee": 1.0, "RKnee": 1.0, "LAnkle": 1.0, "RAnkle": 1.0,
    "LBigToe": 1.2, "RBigToe": 1.2, "LSmallToe": 1.2, "RSmallToe": 1.2, "LHeel": 1.2, "RHeel": 1.2,
}
DROP_CONF_MAX = 0.02  # confidence of a dropped point is uniform in [0, DROP_CONF_MAX]


@dataclass
class DetectorNoise:
    """Parameters of the detector-error model (module docstring); pixel values at ``reference_width``.

    Attributes:
        sigma_px: per-axis jitter std for a joint of difficulty 1, px.
        smooth_frames: std of the Gaussian low-pass along time, frames (0: white noise).
        difficulty: canonical joint name -> jitter multiplier (entries override DEFAULT_DIFFICULTY).
        default_difficulty: multiplier of joints absent from ``difficulty``.
        gross_rate: expected fraction of points displaced by a gross error.
        gross_px: [min, max] size of a gross error, px.
        swap_rate: expected fraction of (frame, left/right pair) slots swapped.
        drop_rate: expected fraction of points dropped (NaN, confidence ~0).
        event_frames: [min, max] duration of a gross error, swap or drop, frames (inclusive).
        conf_px: error (px) at which the confidence falls to 0.5.
        conf_jitter: std of the log-normal factor on the confidence.
        reference_width: image width the pixel values refer to, px.
    """

    sigma_px: float = 2.5
    smooth_frames: float = 2.0
    difficulty: dict[str, float] = field(default_factory=dict)
    default_difficulty: float = 1.0
    gross_rate: float = 0.005
    gross_px: tuple[float, float] = (20.0, 80.0)
    swap_rate: float = 0.002
    drop_rate: float = 0.01
    event_frames: tuple[int, int] = (1, 5)
    conf_px: float = 15.0
    conf_jitter: float = 0.1
    reference_width: float = 1000.0

    def __post_init__(self) -> None:
        self.difficulty = {**DEFAULT_DIFFICULTY, **{str(k): float(v) for k, v in dict(self.difficulty).items()}}
        self.gross_px = tuple(float(v) for v in self.gross_px)  # type: ignore[assignment]
        self.event_frames = tuple(int(v) for v in self.event_frames)  # type: ignore[assignment]
        for name in ("sigma_px", "smooth_frames", "default_difficulty", "conf_jitter"):
            if not getattr(self, name) >= 0:
                raise InputError(f"detector noise: {name} must be >= 0, got {getattr(self, name)}")
        for name in ("gross_rate", "swap_rate", "drop_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"detector noise: {name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("conf_px", "reference_width"):
            if not getattr(self, name) > 0:
                raise InputError(f"detector noise: {name} must be > 0, got {getattr(self, name)}")
        if any(v < 0 for v in self.difficulty.values()):
            raise InputError("detector noise: difficulty multipliers must be >= 0")
        lo, hi = self.gross_px
        if len(self.gross_px) != 2 or not 0 <= lo <= hi:
            raise InputError(f"detector noise: gross_px must be [min, max] with 0 <= min <= max, got {self.gross_px}")
        lo, hi = self.event_frames
        if len(self.event_frames) != 2 or not 1 <= lo <= hi:
            raise InputError(f"detector noise: event_frames must be [min, max] with 1 <= min <= max, "
                             f"got {self.event_frames}")

    def joint_difficulty(self, skeleton: Skeleton) -> np.ndarray:
        """(J,) jitter multiplier of each joint of ``skeleton`` (by canonical name, then own name)."""
        table = self.difficulty
        return np.array([table.get(c, table.get(n, self.default_difficulty))
                         for c, n in zip(skeleton.canonical, skeleton.names)], dtype=np.float64)


def derive_seed(seed: int, *keys: str) -> list[int]:
    """A stable seed (for ``np.random.default_rng``) from an integer and names, e.g. subject, action, camera.

    Uses CRC32 of each name (Python's ``hash`` is salted per process, so it is not reproducible).
    """
    return [int(seed)] + [zlib.crc32(k.encode("utf-8")) for k in keys]


def apply_detector_noise(
    uv: np.ndarray,
    skeleton: Skeleton,
    noise: DetectorNoise,
    rng: np.random.Generator | int | Sequence[int],
    image_size: Sequence[float] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a 2D detector on clean keypoints.

    Args:
        uv: (..., T, J, 2) px, clean 2D keypoints (NaN for points with no ground truth).
        skeleton: layout of the J joints (difficulties and flip pairs).
        noise: model parameters.
        rng: a generator, or a seed (int or sequence of ints, e.g. :func:`derive_seed`).
        image_size: (2,) [width, height] px; pixel parameters scale by width / reference_width.

    Returns:
        uv_noisy: (..., T, J, 2) px, float64; NaN where dropped or missing.
        conf: (..., T, J) in [0, 1]; 0 for missing input points.
    """
    uv = np.asarray(uv, dtype=np.float64)
    if uv.ndim < 3 or uv.shape[-2:] != (skeleton.num_joints, 2):
        raise InputError(f"detector noise: expected keypoints of shape (..., T, {skeleton.num_joints}, 2) for "
                         f"skeleton {skeleton.name}, got {uv.shape}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    scale = 1.0 if image_size is None else float(np.asarray(image_size, dtype=np.float64)[0]) / noise.reference_width
    missing = ~np.isfinite(uv).all(axis=-1)
    out = _swap_pairs(uv, skeleton, noise, gen)
    sigma = noise.sigma_px * scale * noise.joint_difficulty(skeleton)
    out = out + correlated_noise(gen, uv.shape, noise.smooth_frames) * sigma[:, None]
    out = out + _gross_offsets(gen, uv.shape, noise, scale)
    err = np.linalg.norm(out - uv, axis=-1)
    conf = np.exp(noise.conf_jitter * gen.standard_normal(err.shape)) / (1.0 + (err / (noise.conf_px * scale)) ** 2)
    conf = np.clip(np.nan_to_num(conf, nan=0.0), 0.0, 1.0)
    dropped = _events(gen, uv.shape[:-1], noise.drop_rate, noise.event_frames)
    conf = np.where(dropped, gen.uniform(0.0, DROP_CONF_MAX, conf.shape), conf)
    conf[missing] = 0.0
    out[dropped | missing] = np.nan
    return out, conf


def correlated_noise(rng: np.random.Generator, shape: tuple[int, ...], smooth_frames: float) -> np.ndarray:
    """Unit-variance Gaussian noise of ``shape`` (..., T, J, D), low-pass filtered along T.

    The filter is a Gaussian kernel of std ``smooth_frames`` normalised to unit energy, applied to
    white noise that extends past both ends ("valid" convolution via FFT), so the result is
    stationary: per-sample variance 1 at every frame, lag-k autocorrelation exp(-k^2 / (4 s^2)).
    """
    if smooth_frames <= 0:
        return rng.standard_normal(shape)
    *lead, t, j, d = shape
    half = int(np.ceil(4 * smooth_frames))
    k = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (k / smooth_frames) ** 2)
    kernel /= np.sqrt(np.sum(kernel**2))
    white = rng.standard_normal((*lead, j, d, t + 2 * half))  # T last: the FFT axis
    n = white.shape[-1] + kernel.size - 1
    full = np.fft.irfft(np.fft.rfft(white, n) * np.fft.rfft(kernel, n), n)
    valid = full[..., 2 * half: 2 * half + t]
    return np.moveaxis(valid, -1, -3)


def _events(rng: np.random.Generator, shape: tuple[int, ...], rate: float, frames: tuple[int, int],
            values: np.ndarray | None = None) -> np.ndarray:
    """Runs of ``frames`` [min, max] frames along axis -2 of ``shape`` (..., T, K) covering ~``rate`` of slots.

    Returns the (..., T, K) bool mask, or with ``values`` (..., T, K, D) (one value per possible start)
    the (..., T, K, D) array holding each active slot's event value (latest start wins), 0 elsewhere.
    """
    mean_len = 0.5 * (frames[0] + frames[1])
    starts = rng.random(shape) < rate / mean_len
    length = rng.integers(frames[0], frames[1] + 1, size=shape)
    mask = np.zeros(shape, dtype=bool)
    out = None if values is None else np.zeros(values.shape)
    for lag in range(frames[1] - 1, -1, -1):  # loop over the few event lengths, not over frames
        src = (slice(None, shape[-2] - lag), slice(None))
        dst = (slice(lag, None), slice(None))
        active = starts[(..., *src)] & (length[(..., *src)] > lag)
        mask[(..., *dst)] |= active
        if out is not None:
            region = out[(..., *dst, slice(None))]
            region[active] = values[(..., *src, slice(None))][active]
    return mask if out is None else out


def _swap_pairs(uv: np.ndarray, skeleton: Skeleton, noise: DetectorNoise, rng: np.random.Generator) -> np.ndarray:
    """(..., T, J, 2) with left/right pairs swapped during random events."""
    pairs = np.array(skeleton.flip_pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0 or noise.swap_rate == 0:
        return uv.copy()
    swapped = _events(rng, (*uv.shape[:-2], len(pairs)), noise.swap_rate, noise.event_frames)  # (..., T, P)
    perm = np.broadcast_to(np.arange(uv.shape[-2]), (*uv.shape[:-2], uv.shape[-2])).copy()
    left, right = pairs[:, 0], pairs[:, 1]
    perm[..., left] = np.where(swapped, right, left)
    perm[..., right] = np.where(swapped, left, right)
    return np.take_along_axis(uv, perm[..., None], axis=-2)


def _gross_offsets(rng: np.random.Generator, shape: tuple[int, ...], noise: DetectorNoise, scale: float) -> np.ndarray:
    """(..., T, J, 2) px offsets of gross errors (0 where none)."""
    if noise.gross_rate == 0:
        return np.zeros(shape)
    size = rng.uniform(*noise.gross_px, size=shape[:-1]) * scale
    angle = rng.uniform(0.0, 2 * np.pi, size=shape[:-1])
    offsets = np.stack([size * np.cos(angle), size * np.sin(angle)], axis=-1)
    return _events(rng, shape[:-1], noise.gross_rate, noise.event_frames, values=offsets)
