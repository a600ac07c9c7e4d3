"""Keypoint layouts as data: names, kinematic tree, left/right flip pairs, joint groups.

Every layout names its joints in its own vocabulary (``names``) and maps each joint onto one
shared *canonical* vocabulary (``canonical``): the SIMSPINE-37 marker names, plus layout-specific
names for points no other layout shares (e.g. Human3.6M's ``Thorax``). Mapping between layouts is
by canonical name only, so a joint that has no counterpart comes out missing (NaN), never guessed.

Groups used by the metrics (see :func:`Skeleton.group`):

- ``spine``: the 9 vertebral-column points Hip, Spine_01..05, Neck, Neck_02, Neck_03
- ``spine15``: all 15 markers of the released SIMSPINE file
- ``body``: every joint not in ``spine15``
- ``full``: every joint
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from spine3d.errors import InputError

GroupName = Literal["full", "spine", "spine15", "body"]
GROUPS: tuple[str, ...] = ("full", "spine", "spine15", "body")

SPINE_9 = ("Hip", "Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05", "Neck", "Neck_02", "Neck_03")
SIMSPINE_15_NAMES = SPINE_9 + ("Head", "Nose", "LClavicle", "RClavicle", "LLatissimus", "RLatissimus")


@dataclass(frozen=True)
class Skeleton:
    """A keypoint layout.

    Attributes:
        name: short lower-case identifier used on the command line (e.g. ``"spinepose37"``).
        names: (J,) joint names in the layout's own vocabulary, in order.
        parents: (J,) index of each joint's parent in the kinematic tree, -1 for the root.
        canonical: (J,) the shared canonical name of each joint (defaults to ``names``).
    """

    name: str
    names: tuple[str, ...]
    parents: tuple[int, ...]
    canonical: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.canonical:
            object.__setattr__(self, "canonical", self.names)
        j = len(self.names)
        if len(self.parents) != j or len(self.canonical) != j:
            raise ValueError(f"skeleton {self.name}: names, parents and canonical must all have {j} entries")
        if len(set(self.canonical)) != j:
            raise ValueError(f"skeleton {self.name}: canonical names must be unique")
        if list(self.parents).count(-1) != 1:
            raise ValueError(f"skeleton {self.name}: exactly one joint must have parent -1")
        for i in range(j):  # walk to the root: catches out-of-range parents and cycles
            k, steps = i, 0
            while self.parents[k] != -1:
                k, steps = self.parents[k], steps + 1
                if not 0 <= k < j or steps > j:
                    raise ValueError(f"skeleton {self.name}: joint {i} does not reach the root")

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def root(self) -> int:
        """Index of the root joint (the one whose parent is -1)."""
        return self.parents.index(-1)

    def index(self, joint: str) -> int:
        """Index of a joint given by its own or its canonical name."""
        for vocab in (self.names, self.canonical):
            if joint in vocab:
                return vocab.index(joint)
        raise KeyError(f"skeleton {self.name} has no joint {joint!r}")

    @property
    def flip_permutation(self) -> np.ndarray:
        """(J,) int: index of each joint's mirror image (left <-> right; midline joints map to themselves)."""
        lookup = {c: i for i, c in enumerate(self.canonical)}
        return np.array([lookup.get(_mirror_name(c), i) for i, c in enumerate(self.canonical)], dtype=np.int64)

    @property
    def flip_pairs(self) -> list[tuple[int, int]]:
        """Left/right pairs (i, j) with i < j."""
        perm = self.flip_permutation
        return [(i, int(k)) for i, k in enumerate(perm) if i < k]

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(parent, child) index pairs of the kinematic tree."""
        return [(p, c) for c, p in enumerate(self.parents) if p >= 0]

    def group(self, group: GroupName) -> np.ndarray:
        """(J,) bool mask of the joints in a metric group ("full", "spine", "spine15", "body")."""
        canon = np.array(self.canonical)
        if group == "full":
            return np.ones(self.num_joints, dtype=bool)
        if group == "spine":
            return np.isin(canon, SPINE_9)
        if group == "spine15":
            return np.isin(canon, SIMSPINE_15_NAMES)
        if group == "body":
            return ~np.isin(canon, SIMSPINE_15_NAMES)
        raise InputError(f"unknown joint group {group!r}; expected one of {', '.join(GROUPS)}")

    def mapping_to(self, other: "Skeleton") -> np.ndarray:
        """(J_other,) index into this layout for each joint of ``other``; -1 where this layout lacks it."""
        lookup = {c: i for i, c in enumerate(self.canonical)}
        return np.array([lookup.get(c, -1) for c in other.canonical], dtype=np.int64)

    def provides(self, other: "Skeleton") -> np.ndarray:
        """(J_other,) bool: the joints of ``other`` this layout has (by canonical name)."""
        return self.mapping_to(other) >= 0


def _mirror_name(name: str) -> str:
    """Swap the side of a canonical or layout name: LHip <-> RHip, left_eye <-> right_eye."""
    for a, b in (("left_", "right_"), ("right_", "left_"), ("Left", "Right"), ("Right", "Left")):
        if name.startswith(a):
            return b + name[len(a):]
    if len(name) > 1 and name[0] in "LR" and name[1].isupper():
        return ("R" if name[0] == "L" else "L") + name[1:]
    return name


def remap(values: np.ndarray, src: Skeleton, dst: Skeleton, fill: float = np.nan) -> np.ndarray:
    """Re-order keypoints from one layout into another by canonical name.

    Args:
        values: (..., J_src, D) any per-joint values (positions, confidences with D=1, ...).
        src: layout of ``values``.
        dst: target layout.
        fill: value for joints of ``dst`` that ``src`` lacks (NaN: missing).

    Returns:
        (..., J_dst, D) array; joints absent from ``src`` are filled with ``fill``.
    """
    values = np.asarray(values)
    if values.ndim < 2 or values.shape[-2] != src.num_joints:
        raise InputError(
            f"expected keypoints of shape (..., {src.num_joints}, D) for skeleton {src.name}, got {values.shape}"
        )
    idx = src.mapping_to(dst)
    out = np.take(values, np.clip(idx, 0, None), axis=-2).astype(np.result_type(values.dtype, np.float32))
    out[..., idx < 0, :] = fill
    return out


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------

SIMSPINE_15 = Skeleton(
    name="simspine15",
    names=SIMSPINE_15_NAMES,
    parents=(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 5, 4, 4),
)

_SIMSPINE_37_NAMES = (
    "Hip", "Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05", "Neck", "Neck_02", "Neck_03", "Head",
    "Nose", "REye", "LEye", "REar", "LEar", "RLatissimus", "LLatissimus", "RClavicle", "RShoulder", "RElbow",
    "RWrist", "LClavicle", "LShoulder", "LElbow", "LWrist", "RHip", "RKnee", "RAnkle", "RBigToe", "RSmallToe",
    "RHeel", "LHip", "LKnee", "LAnkle", "LBigToe", "LSmallToe", "LHeel",
)
SIMSPINE_37 = Skeleton(
    name="simspine37",
    names=_SIMSPINE_37_NAMES,
    #        Hip S1 S2 S3 S4 S5 Nk N2 N3 Hd  Ns REy LEy REa LEa RLa LLa RCl RSh REl RWr LCl LSh LEl LWr
    parents=(-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 11, 12, 4, 4, 5, 17, 18, 19, 5, 21, 22, 23,
             # RHp RKn RAn RBT RST RHe LHp LKn LAn LBT LST LHe
             0, 25, 26, 27, 27, 27, 0, 31, 32, 33, 33, 33),
)

_COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)
_COCO_CANON = (
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist",
    "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle",
)
_COCO_PARENTS = (-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14)
COCO_17 = Skeleton(name="coco17", names=_COCO_NAMES, parents=_COCO_PARENTS, canonical=_COCO_CANON)

_HALPE_EXTRA = ("head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe", "right_small_toe",
                "left_heel", "right_heel")
_HALPE_EXTRA_CANON = ("Head", "Neck", "Hip", "LBigToe", "RBigToe", "LSmallToe", "RSmallToe", "LHeel", "RHeel")
# Halpe tree: hip is the root; neck under hip; head, nose, shoulders under neck; feet under ankles.
_HALPE_PARENTS = (18, 0, 0, 1, 2, 18, 18, 5, 6, 7, 8, 19, 19, 11, 12, 13, 14,
                  18, 19, -1, 15, 16, 15, 16, 15, 16)
HALPE_26 = Skeleton(
    name="halpe26",
    names=_COCO_NAMES + _HALPE_EXTRA,
    parents=_HALPE_PARENTS,
    canonical=_COCO_CANON + _HALPE_EXTRA_CANON,
)

_SPINEPOSE_EXTRA = ("spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "left_latissimus",
                    "right_latissimus", "left_clavicle", "right_clavicle", "neck_02", "neck_03")
_SPINEPOSE_EXTRA_CANON = ("Spine_01", "Spine_02", "Spine_03", "Spine_04", "Spine_05", "LLatissimus",
                          "RLatissimus", "LClavicle", "RClavicle", "Neck_02", "Neck_03")
# SpinePose tree: hip -> spine_01..05 -> neck -> neck_02 -> neck_03 -> head -> nose (as SpinePose links
# head and nose, and SIMSPINE parents Nose under Head); limbs hang off the column.
_SPINEPOSE_PARENTS = (17, 0, 0, 1, 2, 33, 34, 5, 6, 7, 8, 19, 19, 11, 12, 13, 14,
                      36, 30, -1, 15, 16, 15, 16, 15, 16,
                      19, 26, 27, 28, 29, 29, 29, 30, 30, 18, 35)
SPINEPOSE_37 = Skeleton(
    name="spinepose37",
    names=_COCO_NAMES + _HALPE_EXTRA + _SPINEPOSE_EXTRA,
    parents=_SPINEPOSE_PARENTS,
    canonical=_COCO_CANON + _HALPE_EXTRA_CANON + _SPINEPOSE_EXTRA_CANON,
)

# ``spinepose --spine-only``: the 9 column points of SPINEPOSE_37 (its indices 19, 26..30, 18, 35, 36).
SPINEPOSE_9 = Skeleton(
    name="spinepose9",
    names=("hip", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck", "neck_02", "neck_03"),
    parents=(-1, 0, 1, 2, 3, 4, 5, 6, 7),
    canonical=SPINE_9,
)

_BODY25B_NAMES = (
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist",
    "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle", "Neck", "Head", "LBigToe", "LSmallToe", "LHeel",
    "RBigToe", "RSmallToe", "RHeel",
)
# BODY_25B has no pelvis centre: the tree is rooted at the neck, hips hang off the neck.
_BODY25B_PARENTS = (17, 0, 0, 1, 2, 17, 17, 5, 6, 7, 8, 17, 17, 11, 12, 13, 14, -1, 17, 15, 15, 15, 16, 16, 16)
BODY_25B = Skeleton(name="body25b", names=_BODY25B_NAMES, parents=_BODY25B_PARENTS)

H36M_17 = Skeleton(
    name="h36m17",
    names=("Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax", "Neck/Nose", "Head",
           "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist"),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    canonical=("Hip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "H36M_Spine", "H36M_Thorax",
               "H36M_NeckNose", "H36M_HeadTop", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist"),
)

# The 32-joint Human3.6M motion-capture layout of ``data_3d_h36m.npz`` (VideoPose3D's convention).
H36M_32 = Skeleton(
    name="h36m32",
    names=("Hips", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "RightToeSite", "LeftUpLeg", "LeftLeg",
           "LeftFoot", "LeftToeBase", "LeftToeSite", "Spine", "Spine1", "Neck", "Head", "HeadSite",
           "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LeftHandThumb", "LeftThumbSite", "L_Wrist_End",
           "LeftWristSite", "RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightHandThumb",
           "RightThumbSite", "R_Wrist_End", "RightWristSite"),
    parents=(-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12, 16, 17, 18, 19, 20, 19, 22, 12, 24, 25, 26,
             27, 28, 27, 30),
    canonical=("Hip", "RHip", "RKnee", "RAnkle", "H36M_RToeBase", "H36M_RToeSite", "LHip", "LKnee", "LAnkle",
               "H36M_LToeBase", "H36M_LToeSite", "H36M_SpineBase", "H36M_Spine", "H36M_Thorax", "H36M_NeckNose",
               "H36M_HeadTop", "H36M_LShoulderRoot", "LShoulder", "LElbow", "LWrist", "H36M_LThumb",
               "H36M_LThumbSite", "H36M_LWristEnd", "H36M_LWristSite", "H36M_RShoulderRoot", "RShoulder", "RElbow",
               "RWrist", "H36M_RThumb", "H36M_RThumbSite", "H36M_RWristEnd", "H36M_RWristSite"),
)
# Indices of H36M_17 inside H36M_32 (the usual VideoPose3D reduction).
H36M_32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

SKELETONS: dict[str, Skeleton] = {
    s.name: s for s in (SIMSPINE_15, SIMSPINE_37, SPINEPOSE_37, SPINEPOSE_9, H36M_17, H36M_32, COCO_17, BODY_25B,
                        HALPE_26)
}
# Layouts 2D detectors write as OpenPose-style JSON (their keypoint counts differ: 9, 17, 25, 26, 37).
DETECTOR_LAYOUTS: tuple[str, ...] = ("spinepose37", "spinepose9", "coco17", "body25b", "halpe26")
_ALIASES = {"simspine": "simspine15", "spinepose": "spinepose37", "h36m": "h36m17", "coco": "coco17",
            "body_25b": "body25b", "halpe": "halpe26", "halpe_26": "halpe26", "coco_17": "coco17",
            "simspine_15": "simspine15", "simspine_37": "simspine37", "spinepose_37": "spinepose37",
            "h36m_17": "h36m17", "h36m_32": "h36m32", "spinepose_9": "spinepose9", "spine_only": "spinepose9"}


def get_skeleton(name: str | Skeleton) -> Skeleton:
    """Look a layout up by name (case-insensitive; e.g. ``"spinepose37"``, ``"BODY_25B"``)."""
    if isinstance(name, Skeleton):
        return name
    key = name.lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in SKELETONS:
        raise InputError(f"unknown skeleton {name!r}; choose one of {', '.join(SKELETONS)}")
    return SKELETONS[key]


def keypoints_layout(num_joints: int, given: str | Skeleton | None = None, stored: str | None = None,
                     source: Literal["json", "arrays"] = "arrays") -> Skeleton:
    """The layout of detected keypoints: the one rule of every reader (lift, triangulate, benchmark).

    1. ``given`` (``--skeleton``, ``--detections-skeleton``) when set; its joint count must match.
    2. else ``stored``, the layout name a file carries (an npz's ``skeleton`` entry).
    3. else the keypoint count, never guessing between layouts with the same count: OpenPose-style
       JSON (``source="json"``) is matched against the detector layouts (:data:`DETECTOR_LAYOUTS`,
       so 37 keypoints are SpinePose's and 9 its spine-only output); arrays against every layout,
       and a count several layouts share (17, 37) is an InputError asking for the layout.

    Args:
        num_joints: keypoints per person in the input.
        given: the layout the user named, if any.
        stored: the layout name stored in the file, if any.
        source: "json" (a detector's OpenPose-style output) or "arrays" (an npz).
    """
    for name, what in ((given, "--skeleton"), (stored, "the file's 'skeleton' entry")):
        if name is not None:
            layout = get_skeleton(name)
            if layout.num_joints != num_joints:
                raise InputError(f"{num_joints} keypoints per person, but {what} names {layout.name}, which has "
                                 f"{layout.num_joints}")
            return layout
    pool = DETECTOR_LAYOUTS if source == "json" else tuple(SKELETONS)
    hits = [SKELETONS[n] for n in pool if SKELETONS[n].num_joints == num_joints]
    if len(hits) == 1:
        return hits[0]
    found = ", ".join(s.name for s in hits) or "no known layout"
    raise InputError(f"{num_joints} keypoints per person fit {found}; name the layout with --skeleton NAME "
                     f"(one of {', '.join(SKELETONS)})")
