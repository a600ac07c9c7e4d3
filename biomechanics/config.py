"""Settings of ``spine3d kinematics``: typed dataclasses with the defaults of ``configs/kinematics.yaml``.

The YAML file documents every value with its unit and source; :func:`load_config` maps it onto
:class:`KinematicsConfig` (unknown keys and wrong types raise :class:`spine3d.errors.InputError`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from spine3d.errors import InputError
from spine3d.typed_yaml import config_path, load_yaml

Backend = Literal["spine3d", "opensim"]
ThoraxMode = Literal["auto", "free", "coupled"]

# SIMSPINE's OpenSim inverse-kinematics marker weights (its assets/OpenSim_Setup).
SIMSPINE_WEIGHTS: dict[str, float] = {
    "LShoulder": 2.0, "RShoulder": 2.0, "LHip": 2.0, "RHip": 2.0,
    "LElbow": 1.0, "RElbow": 1.0, "LWrist": 1.0, "RWrist": 1.0, "Hip": 1.0, "LKnee": 1.0, "RKnee": 1.0,
    "LAnkle": 1.0, "RAnkle": 1.0, "LBigToe": 1.0, "RBigToe": 1.0, "LSmallToe": 1.0, "RSmallToe": 1.0,
    "LHeel": 1.0, "RHeel": 1.0,
    "Neck": 0.5, "Neck_02": 0.5, "Neck_03": 0.5, "Spine_01": 0.5, "Spine_02": 0.5, "Spine_03": 0.5,
    "Spine_04": 0.5, "Spine_05": 0.5,
    "Head": 0.3, "LClavicle": 0.3, "RClavicle": 0.3, "LLatissimus": 0.3, "RLatissimus": 0.3,
    "Nose": 0.1, "LEye": 0.1, "REye": 0.1, "LEar": 0.1, "REar": 0.1,
}
# Representative segmental ranges of motion (deg) at L5-S1, L4-L5, L3-L4, L2-L3, L1-L2, T12-L1:
# White & Panjabi, Clinical Biomechanics of the Spine, 2nd ed. (1990), lumbar and thoracic tables
# (flexion + extension; lateral bending and axial rotation to one side).
LUMBAR_ROM: dict[str, tuple[float, ...]] = {
    "flex": (17.0, 16.0, 15.0, 14.0, 12.0, 12.0),
    "bend": (3.0, 6.0, 8.0, 6.0, 6.0, 8.0),
    "rot": (1.0, 2.0, 2.0, 2.0, 2.0, 2.0),
}


@dataclass(frozen=True)
class EvidenceOptions:
    """How a marker's weight follows the input's evidence (see :mod:`spine3d.biomechanics.weights`).

    Attributes:
        reprojection_px: px; a triangulated marker's weight is multiplied by 1 / (1 + (e / this)^2),
            e its mean reprojection error over its inlier views.
        filled_weight: factor for points created by gap filling (no triangulation behind them).
    """

    reprojection_px: float = 10.0
    filled_weight: float = 0.25

    def __post_init__(self) -> None:
        if not self.reprojection_px > 0 or not 0.0 <= self.filled_weight <= 1.0:
            raise InputError("evidence: reprojection_px must be > 0 and filled_weight in [0, 1]")


@dataclass(frozen=True)
class SpineOptions:
    """The lumbar coupling and the thoracic joint (see :mod:`spine3d.biomechanics.coupling`).

    Attributes:
        lumbar_rom: per axis ("flex", "bend", "rot"), the ranges of motion (deg) of L5-S1 .. T12-L1;
            the 18 lumbar coordinates move as ``share_level * total``, share = ROM / sum of ROMs.
        thorax: "coupled": the thoracic Abs joint follows the lumbar totals in proportion to the
            coordinate ranges; "free": Abs_r3 / Abs_r2 are solved too (Abs_r1 always follows: no
            midline marker sees axial rotation); "auto": free when the input has Spine_03 and
            Spine_04 or Spine_05, else coupled. "free" is ill-conditioned with SIMSPINE's markers
            (Hip, LHip, RHip all lie on the hip axis, so pelvis tilt, lumbar flexion and Abs_r3 trade
            off): on synthetic trials it leaves 4 deg of lumbar-total error even without noise.
    """

    lumbar_rom: dict[str, tuple[float, float, float, float, float, float]] = field(
        default_factory=lambda: dict(LUMBAR_ROM))
    thorax: ThoraxMode = "coupled"

    def __post_init__(self) -> None:
        if set(self.lumbar_rom) != {"flex", "bend", "rot"}:
            raise InputError("spine.lumbar_rom must have the keys flex, bend, rot")
        if any(v <= 0 for rom in self.lumbar_rom.values() for v in rom):
            raise InputError("spine.lumbar_rom values must be positive degrees")


@dataclass(frozen=True)
class SolverOptions:
    """The batched Levenberg-Marquardt solver (:mod:`spine3d.biomechanics.solver`).

    Attributes:
        max_iterations: LM iterations per frame and warm-start level.
        tolerance: stop a frame when its weighted cost falls by less than this fraction.
        levels: warm-start levels: frames at strides 2^(levels-1), ..., 2, 1, each level started
            from the previous one's solution.
        chunk_frames: frames per batch of the numpy path (memory: about 150 kB per frame).
        restarts: extra random starts (joint angles, pelvis on the markers) of the coarsest frames.
        seed: seed of those starts.
        compiled: solve each frame in the compiled kernel (:mod:`spine3d.biomechanics.kernel`);
            False: the numpy reference path.
    """

    max_iterations: int = 40
    tolerance: float = 1e-8
    levels: int = 5
    chunk_frames: int = 1024
    restarts: int = 3
    seed: int = 0
    compiled: bool = True

    def __post_init__(self) -> None:
        if self.max_iterations < 1 or not self.tolerance > 0 or self.levels < 1 or self.chunk_frames < 1 \
                or self.restarts < 0:
            raise InputError("solver: max_iterations, levels and chunk_frames must be >= 1, restarts >= 0, "
                             "tolerance > 0")


@dataclass(frozen=True)
class ScalingOptions:
    """Body-dimension fit (:mod:`spine3d.biomechanics.scaling`).

    Attributes:
        frames: frames picked from the trial (the most complete, spread over time).
        prior_sigma: relative standard deviation of the proportion factors around 1 (keeps
            dimensions no marker measures at the average adult's).
        prior_mm: marker error (mm, per frame) that a one-sigma factor deviation costs.
    """

    frames: int = 12
    prior_sigma: float = 0.05
    prior_mm: float = 10.0

    def __post_init__(self) -> None:
        if self.frames < 1 or not self.prior_sigma > 0 or not self.prior_mm > 0:
            raise InputError("scaling: frames must be >= 1, prior_sigma and prior_mm > 0")


@dataclass(frozen=True)
class KinematicsConfig:
    """Everything ``spine3d kinematics`` needs besides its file arguments.

    Attributes:
        backend: "spine3d" (the batched solver) or "opensim" (OpenSim's IK solver, the reference).
        weights: marker name -> IK weight (markers not listed: 1).
        held: coordinate -> value (deg) it is held at whatever the markers (full-body gait models such
            as Rajagopal's commonly lock subtalar and mtp: toe and heel keypoints a few centimetres
            apart cannot pin them).
        filter_cutoff: Hz, 2nd-order zero-phase Butterworth on the virtual markers (SIMSPINE: 5 Hz).
    """

    backend: Backend = "spine3d"
    weights: dict[str, float] = field(default_factory=lambda: dict(SIMSPINE_WEIGHTS))
    held: dict[str, float] = field(default_factory=lambda: {
        "subtalar_angle_r": 0.0, "subtalar_angle_l": 0.0, "mtp_angle_r": 0.0, "mtp_angle_l": 0.0})
    evidence: EvidenceOptions = field(default_factory=EvidenceOptions)
    spine: SpineOptions = field(default_factory=SpineOptions)
    solver: SolverOptions = field(default_factory=SolverOptions)
    scaling: ScalingOptions = field(default_factory=ScalingOptions)
    filter_cutoff: float = 5.0

    def __post_init__(self) -> None:
        if any(w < 0 for w in self.weights.values()):
            raise InputError("weights must be >= 0")
        if not self.filter_cutoff > 0:
            raise InputError("filter_cutoff must be > 0 Hz")


def load_config(path: str | os.PathLike | None = None) -> KinematicsConfig:
    """Read a kinematics YAML (default: the shipped ``configs/kinematics.yaml``)."""
    return load_yaml(KinematicsConfig, config_path(path or "kinematics"))
