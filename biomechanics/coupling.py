"""Which coordinates inverse kinematics solves, and how the others follow them.

Three lumbar markers (Spine_01 on L5, Spine_02 on L3, Spine_03 on L1) cannot pin six levels with
three rotations each: a midline point does not move when its vertebra turns about its own axis, and
vertebrae 2-3 cm tall turn a few millimetres of marker noise into tens of degrees. So the 18 lumbar
coordinates are hard-coupled, per axis, to one lumbar total distributed over the levels in proportion
to their published ranges of motion (White & Panjabi 1990): L5_S1_* are the solved coordinates and
``level = (share_level / share_L5S1) * L5_S1``. OpenSim gets the same as coordinate coupler constraints.

The thoracic "Abs" joint sits above the lumbar column, under the torso markers. Its axial rotation
(Abs_r1) always follows the lumbar axial total (no midline marker sees the split); by default its
flexion and bending follow too ("coupled"), in proportion to the coordinate ranges of Abs and of the
lumbar column: with SIMSPINE's markers the pelvis tilt is seen only through the spine (Hip, LHip and
RHip lie on the hip axis), and pelvis tilt, lumbar flexion and Abs flexion together are too weakly
determined to solve apart. The body's own couplings (patellae, Abs
shear and shortening; :data:`spine3d.data.synth.coordinates.BODY_COUPLINGS`) always apply.

A :class:`Parametrisation` maps the solved coordinates p (T, n) to the 62 axes q (T, 62):
``q_c = fixed_c`` for held coordinates, else ``linear_c * p_k + quadratic_c * p_k^2`` with k the
solved coordinate that drives c. Units: degrees, metres for translations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spine3d.data.synth.coordinates import BODY_COUPLINGS, Coupling, coordinate_ranges, limits_for
from spine3d.errors import InputError
from spine3d.formats.simspine_schema import KINEMATIC_AXES
from spine3d.biomechanics.config import SpineOptions

LEVELS = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")
AXIS_SUFFIX = {"flex": "Flex_Ext", "bend": "Lat_Bending", "rot": "axial_rotation"}
ABS_AXIS = {"flex": "Abs_r3", "bend": "Abs_r2", "rot": "Abs_r1"}
_INDEX = {name: i for i, name in enumerate(KINEMATIC_AXES)}


def lumbar_shares(rom: dict[str, tuple[float, ...]]) -> dict[str, np.ndarray]:
    """Per axis, (6,) fraction of the lumbar total taken by L5_S1 .. L1_T12 (ROM / sum of ROMs)."""
    return {axis: np.asarray(v, np.float64) / np.sum(v) for axis, v in rom.items()}


def thorax_ratio(axis: str) -> float:
    """Abs rotation per degree of lumbar total: the Abs range over the summed lumbar ranges."""
    lo, hi = limits_for(ABS_AXIS[axis])
    level_lo, level_hi = limits_for(f"L5_S1_{AXIS_SUFFIX[axis]}")
    return (hi - lo) / (len(LEVELS) * (level_hi - level_lo))


def spine_couplings(options: SpineOptions, thorax_free: bool) -> tuple[Coupling, ...]:
    """Lumbar levels from L5_S1_*; Abs_r1 (and Abs_r3, Abs_r2 unless ``thorax_free``) from the lumbar totals."""
    shares = lumbar_shares(options.lumbar_rom)
    out = []
    for axis, suffix in AXIS_SUFFIX.items():
        base = f"{LEVELS[0]}_{suffix}"
        share = shares[axis]
        out += [Coupling(f"{level}_{suffix}", base, float(share[i] / share[0])) for i, level in
                enumerate(LEVELS) if i]
        if axis == "rot" or not thorax_free:
            out.append(Coupling(ABS_AXIS[axis], base, thorax_ratio(axis) / float(share[0])))
    return tuple(out)


@dataclass(frozen=True)
class Parametrisation:
    """The solved coordinates and the map from them to the 62 axes.

    Attributes:
        names: (n,) solved coordinates (axis names).
        owner: (62,) index in ``names`` of the coordinate driving each axis; -1: held at ``fixed``.
        linear, quadratic: (62,) gains of each axis on its owner (deg/deg, m/deg, m/deg^2, ...).
        fixed: (62,) value of the held axes (deg; m).
        lower, upper: (n,) bounds of the solved coordinates, deg (m): their own range intersected
            with what keeps every linearly coupled axis inside its range.
        couplings: every coupling in force (body and spine), for the OpenSim model.
        held: names of the coordinates held fixed (not observed by the markers, or asked for).
    """

    names: tuple[str, ...]
    owner: np.ndarray
    linear: np.ndarray
    quadratic: np.ndarray
    fixed: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    couplings: tuple[Coupling, ...]
    held: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.names)

    def expand(self, p: np.ndarray) -> np.ndarray:
        """(T, n) solved coordinates -> (T, 62) axes (deg; m)."""
        x = _owned(p, self.owner)
        return np.where(self.owner >= 0, self.linear * x + self.quadratic * x * x, self.fixed)

    def derivative(self, p: np.ndarray) -> np.ndarray:
        """(T, n) -> (T, 62) d q_c / d p_owner(c) (0 for held axes)."""
        x = _owned(p, self.owner)
        return np.where(self.owner >= 0, self.linear + 2.0 * self.quadratic * x, 0.0)

    def reduce(self, q: np.ndarray) -> np.ndarray:
        """(T, 62) axes -> (T, n) the solved coordinates' own values (their dependents are ignored)."""
        return np.asarray(q, np.float64)[:, [_INDEX[n] for n in self.names]]


def _owned(p: np.ndarray, owner: np.ndarray) -> np.ndarray:
    p = np.asarray(p, np.float64)
    return np.where(owner >= 0, p[:, np.clip(owner, 0, None)], 0.0) if p.shape[1] else np.zeros((len(p), len(owner)))


def build_parametrisation(couplings: tuple[Coupling, ...], held: set[str] | frozenset[str] = frozenset(),
                          fixed_values: dict[str, float] | None = None) -> Parametrisation:
    """Resolve ``couplings`` (applied after the body's own) and ``held`` axes into a :class:`Parametrisation`.

    A coupled axis whose driver is itself coupled is resolved to the final driver (a quadratic of a
    quadratic is refused). Held axes, and axes driven by held ones, take ``fixed_values`` (default 0).
    """
    everything = BODY_COUPLINGS + tuple(couplings)
    driver = {c.dependent: c for c in everything}
    if len(driver) != len(everything):
        raise InputError("a coordinate is coupled twice")
    bad = sorted(set(held) - (set(KINEMATIC_AXES) - set(driver)))
    if bad:
        raise InputError(f"only independent coordinates can be held, not {bad}")
    free = [n for n in KINEMATIC_AXES if n not in driver and n not in held]
    roots = [_resolve(n, driver) for n in KINEMATIC_AXES]
    owner = np.array([free.index(r[0]) if r[0] in free else -1 for r in roots])
    linear, quadratic = np.array([r[1] for r in roots]), np.array([r[2] for r in roots])
    base = np.array([(fixed_values or {}).get(r[0], 0.0) for r in roots])  # value of each axis's driver
    fixed = linear * base + quadratic * base * base
    lower, upper = _bounds(free, owner, linear, quadratic)
    return Parametrisation(tuple(free), owner, linear, quadratic, fixed, lower, upper, tuple(couplings),
                           tuple(sorted(held)))


def _resolve(name: str, driver: dict[str, Coupling]) -> tuple[str, float, float]:
    """(final driver, linear, quadratic) of axis ``name``."""
    if name not in driver:
        return name, 1.0, 0.0
    c = driver[name]
    root, a, b = _resolve(c.independent, driver)
    if b != 0.0 and c.quadratic != 0.0:
        raise InputError(f"{name}: a quadratic coupling of a quadratic coupling is not supported")
    return root, c.linear * a, c.linear * b + c.quadratic * a * a


def _bounds(free: list[str], owner: np.ndarray, linear: np.ndarray, quadratic: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """(n,) lower and upper bounds: every linearly driven axis stays inside its range."""
    ranges = coordinate_ranges()
    lower, upper = np.full(len(free), -np.inf), np.full(len(free), np.inf)
    for c in np.flatnonzero((owner >= 0) & (quadratic == 0.0) & (linear != 0.0)):  # 62 axes at most
        lo, hi = np.sort(ranges[c] / linear[c])
        lower[owner[c]], upper[owner[c]] = max(lower[owner[c]], lo), min(upper[owner[c]], hi)
    return lower, upper
