"""Complete the 15 SIMSPINE spine markers with Human3.6M limbs into the 37-marker SIMSPINE layout.

The released SIMSPINE file has only the spine-centric markers; the limbs of the same trials are in
Human3.6M's motion capture (``data_3d_h36m.npz``, same subjects, actions, 50 Hz, world frame).
Joints are placed by canonical name (``spine3d.skeletons.remap``); SIMSPINE_37 joints neither
source has (eyes, ears, toes, heels) are NaN.
"""

from __future__ import annotations

import logging
from typing import Iterator, Literal, Mapping

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.simspine_h5 import SimSpineH5, SimSpineSequence
from spine3d.skeletons import H36M_32, SIMSPINE_15, SIMSPINE_37, remap

logger = logging.getLogger(__name__)

# The SIMSPINE_37 joints taken from Human3.6M (canonical names; H36M's pelvis is not used).
H36M_LIMB_JOINTS: tuple[str, ...] = (
    "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle",
)
MAX_LENGTH_MISMATCH = 0.01  # relative frame-count difference above which two trials are not the same
HIP_OFFSET_WARNING = 0.25  # m; a larger median SIMSPINE-vs-H36M pelvis distance hints at a frame mismatch
_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}  # H36M spellings of SIMSPINE action names
_logged_missing = False


def _missing_joints() -> list[str]:
    taken = set(SIMSPINE_15.canonical) | set(H36M_LIMB_JOINTS)
    return [n for n in SIMSPINE_37.canonical if n not in taken]


def merge_simspine_h36m(
    spine: SimSpineSequence | np.ndarray, body32: np.ndarray, name: str = "sequence"
) -> np.ndarray:
    """Merge spine markers and Human3.6M joints of one trial.

    Args:
        spine: (T, 15, 3) m world Z-up in SIMSPINE_15 order, or a sequence whose ``markers`` are.
        body32: (T', 32, 3) m world Z-up in H36M_32 order, same trial.
        name: label used in messages (e.g. ``"S1/Walking 1"``).

    Returns:
        (min(T, T'), 37, 3) m in SIMSPINE_37 order; eyes, ears, toes and heels are NaN.
    """
    global _logged_missing
    markers = np.asarray(getattr(spine, "markers", spine))
    body32 = np.asarray(body32)
    if markers.ndim != 3 or markers.shape[1:] != (SIMSPINE_15.num_joints, 3):
        raise InputError(f"{name}: spine markers have shape {markers.shape}, expected (T, 15, 3)")
    if body32.ndim != 3 or body32.shape[1:] != (H36M_32.num_joints, 3):
        raise InputError(f"{name}: Human3.6M joints have shape {body32.shape}, expected (T, 32, 3)")
    t = _common_length(len(markers), len(body32), name)
    out = remap(markers[:t], SIMSPINE_15, SIMSPINE_37)
    limbs = np.isin(np.array(SIMSPINE_37.canonical), H36M_LIMB_JOINTS)
    out[:, limbs] = remap(body32[:t], H36M_32, SIMSPINE_37)[:, limbs]
    _check_same_frame(out, body32[:t], name)
    if not _logged_missing:
        logger.info("SIMSPINE+H36M merge: %s have no source and are NaN", ", ".join(_missing_joints()))
        _logged_missing = True
    return out


def _common_length(t_spine: int, t_body: int, name: str) -> int:
    if t_spine == t_body:
        return t_spine
    gap = abs(t_spine - t_body) / max(t_spine, t_body)
    if gap > MAX_LENGTH_MISMATCH:
        raise InputError(f"{name}: SIMSPINE has {t_spine} frames and Human3.6M {t_body} "
                         f"({gap:.1%} apart, more than {MAX_LENGTH_MISMATCH:.0%}): not the same trial or rate")
    logger.info("%s: SIMSPINE has %d frames, Human3.6M %d; truncated to %d", name, t_spine, t_body,
                min(t_spine, t_body))
    return min(t_spine, t_body)


def _check_same_frame(merged: np.ndarray, body32: np.ndarray, name: str) -> None:
    """Warn when the SIMSPINE pelvis is far from H36M's: different world frames or units."""
    hip = SIMSPINE_37.index("Hip")
    offset = np.linalg.norm(merged[:, hip] - body32[:, H36M_32.index("Hip")], axis=-1)
    if len(offset) and np.nanmedian(offset) > HIP_OFFSET_WARNING:
        logger.warning("%s: SIMSPINE and Human3.6M pelvis are %.2f m apart (median); check both are world "
                       "Z-up metres", name, float(np.nanmedian(offset)))


def _find_action(actions: Mapping[str, np.ndarray], action: str) -> str | None:
    if action in actions:
        return action
    canonical = {_canonical_action(a): a for a in actions}
    return canonical.get(_canonical_action(action))


def _canonical_action(action: str) -> str:
    for old, new in _ALIASES.items():
        if action.startswith(old):
            action = new + action[len(old):]
    return action.strip()


def merged_sequences(
    h5: SimSpineH5,
    h36m: Mapping[str, Mapping[str, np.ndarray]],
    on_missing: Literal["skip", "raise"] = "skip",
) -> Iterator[SimSpineSequence]:
    """Yield every trial of a 15-marker SIMSPINE file with its Human3.6M limbs (37 markers).

    Trials are matched by subject and action name (Human3.6M's ``TakingPhoto``/``WalkingDog`` are
    accepted for SIMSPINE's ``Photo``/``WalkDog``). Unmatched trials are listed in one warning and
    skipped, or raise with ``on_missing="raise"``; kinematics and timestamps are truncated with
    the markers.
    """
    if h5.skeleton is not SIMSPINE_15:
        raise InputError(f"expected the 15-marker SIMSPINE file, it has {len(h5.marker_names)} markers", h5.path)
    pairs, missing = [], []
    for subject in h5.subjects:
        for action in h5.actions(subject):
            match = _find_action(h36m.get(subject, {}), action)
            if match is None:
                missing.append(f"{subject}/{action}")
            else:
                pairs.append((subject, action, match))
    if missing:
        msg = f"{len(missing)} SIMSPINE trials have no Human3.6M counterpart: {', '.join(missing)}"
        if on_missing == "raise" or not pairs:
            raise InputError(msg, h5.path)
        logger.warning("%s: %s (skipped)", h5.path, msg)
    for subject, action, match in pairs:
        seq = h5.sequence(subject, action)
        markers = merge_simspine_h36m(seq, h36m[subject][match], name=f"{subject}/{action}")
        t = len(markers)
        yield SimSpineSequence(subject, action, markers, seq.kinematics[:t], seq.timestamps[:t])
