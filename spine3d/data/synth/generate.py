"""Synthesise sequences and write the dataset: ``simspine.h5``, ``h36m/data_3d_h36m.npz``, ``cameras/``.

Layout of a dataset folder (the same files, in the same formats, as the real data)::

    simspine.h5                  15 SIMSPINE markers + 62 kinematic axes per trial, rigs per subject
    h36m/data_3d_h36m.npz        VideoPose3D's positions_3d: subject -> action -> (T, 32, 3) m
    cameras/Calib_<S>.toml       the Human3.6M cameras of each subject
    synth.json                   the generator's parameters, written last: its presence marks a complete set
    .synth-incomplete            present only while a generation runs (or after one was interrupted)

One sequence is synthesised and written at a time; only the (T, 32, 3) float32 Human3.6M arrays
are kept until the end, because VideoPose3D's npz is a single pickled dict.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Literal, Sequence

import numpy as np
from tqdm import tqdm

from spine3d.calibration import h36m_rig
from spine3d.errors import InputError
from spine3d.formats.h36m_npz import write_h36m_positions
from spine3d.formats.simspine_h5 import (ACTIONS, TEST_SUBJECTS, TRAIN_SUBJECTS, RigArrays, SimSpineSequence,
                                         write_simspine_h5)
from spine3d.io import write_json_atomic, write_text_atomic
from spine3d.skeletons import SIMSPINE_15
from spine3d.data.synth.actions import GENERATORS as H36M_GENERATORS
from spine3d.data.synth.body import foot_contacts, h36m_sites, marker_sites, subject_dims
from spine3d.data.synth.kinematics import AXIS, Chain, build_chain, forward_kinematics, site_positions
from spine3d.data.synth.motion import stable_rng
from spine3d.data.synth.placement import CONTACT_SMOOTHING, Area, capture_area, floor_lift, in_view, planted_anchor
from spine3d.data.synth.posture import to_coordinates
from spine3d.data.synth.spine_actions import SPINE_ACTIONS, SPINE_GENERATORS

logger = logging.getLogger(__name__)

GENERATOR_VERSION = 2  # bump when the motion model changes: cached default datasets are regenerated
SUBJECTS: tuple[str, ...] = TRAIN_SUBJECTS + TEST_SUBJECTS
DEFAULT_SECONDS = 20.0  # s per action: 7 subjects x 15 actions x 1000 frames = 105 000 frames
GENERATORS = {**H36M_GENERATORS, **SPINE_GENERATORS}  # every action name synthesize_sequence accepts
# The built-in datasets: Human3.6M's 15 actions (the default), or those plus the 8 spine actions.
MOTIONS: dict[str, tuple[str, ...]] = {"h36m": ACTIONS, "spine": ACTIONS + SPINE_ACTIONS}
SPINE_SUFFIX = "-spine"  # folder of the "spine" dataset: the default folder's name + this
FPS = 50.0
H5_NAME, H36M_NAME, CAMERAS_DIR, MANIFEST_NAME = "simspine.h5", "h36m/data_3d_h36m.npz", "cameras", "synth.json"
INCOMPLETE_NAME = ".synth-incomplete"
AREA_SHRINK = (1.0, 0.7, 0.45, 0.25, 0.0)  # capture-area scales tried until every point is in view
VIEW_MARGIN_PX = 2.0


@lru_cache(maxsize=32)
def _subject(subject: str, seed: int):
    dims = subject_dims(subject, seed)
    rig = h36m_rig(subject)
    return dims, build_chain(dims), rig, capture_area(rig)


def synthesize_sequence(subject: str, action: str, seconds: float, seed: int = 0,
                        fps: float = FPS) -> tuple[SimSpineSequence, np.ndarray]:
    """One synthetic trial, deterministic in (subject, action, seconds, seed, fps).

    Returns:
        the SIMSPINE sequence (markers (T, 15, 3) float32 m world Z-up in SIMSPINE_15 order,
        kinematics (T, 62) float32, timestamps (T,) s) and the Human3.6M joints (T, 32, 3) float32 m
        world Z-up in H36M_32 order, from the same forward kinematics.
    """
    if action not in GENERATORS:
        raise InputError(f"unknown action {action!r}; choose from {', '.join(GENERATORS)}")
    if seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed}")
    n = int(round(seconds * fps))
    if n < 2:
        raise InputError(f"{seconds} s at {fps} Hz gives {n} frames; need at least 2")
    dims, chain, rig, area = _subject(subject, seed)
    t = np.arange(n) / fps
    fallback = None  # the largest area where the spine markers, if not every limb joint, stay in view
    for scale in AREA_SHRINK:
        q = _motion(subject, action, seed, t, fps, dims, chain, area.scaled(scale))
        markers, joints = _points(chain, dims, q)
        if in_view(rig, markers, VIEW_MARGIN_PX).all():
            if in_view(rig, joints, VIEW_MARGIN_PX).all():
                break
            fallback = fallback or (q, markers, joints)
        logger.debug("%s/%s: points leave the images in a %.0f%% area", subject, action, 100 * scale)
    else:
        if fallback is None:
            logger.warning("%s/%s: spine markers leave the images even at the centre of the capture area",
                           subject, action)
        else:  # e.g. hands raised above the head of a tall subject near a camera
            q, markers, joints = fallback
            logger.debug("%s/%s: some limb joints leave the images in some frames", subject, action)
    seq = SimSpineSequence(subject, action, markers.astype(np.float32), q.astype(np.float32), t)
    return seq, joints.astype(np.float32)


def _motion(subject: str, action: str, seed: int, t: np.ndarray, fps: float, dims, chain: Chain,
            area: Area) -> np.ndarray:
    """(T, 62) placed coordinates: posture from the action generator, then floor contact and anchoring."""
    rng = stable_rng(seed, "motion", subject, action)
    plan = GENERATORS[action](t, rng, dims, area)
    q = to_coordinates(plan.posture, t, plan.heading, rng)
    tx, ty, tz = AXIS["pelvis_tx"], AXIS["pelvis_ty"], AXIS["pelvis_tz"]
    if not plan.planted:  # the pelvis follows the floor path (world x = OpenSim z, world y = OpenSim x)
        q[:, tx], q[:, tz] = plan.floor[:, 1], plan.floor[:, 0]
    R, p = forward_kinematics(chain, q)
    soles = site_positions(chain, R, p, foot_contacts(dims))  # (T, 6, 3) OpenSim frame, right foot first
    q[:, ty] += floor_lift(soles[..., 1].reshape(len(t), 2, -1), plan.support, CONTACT_SMOOTHING * fps)
    if plan.planted:  # the feet (those bearing weight) stay on their spot; the pelvis moves over them
        anchor = planted_anchor(soles[..., [0, 2]].reshape(len(t), 2, -1, 2), plan.support)
        q[:, tx] += plan.floor[:, 1] - anchor[:, 0]
        q[:, tz] += plan.floor[:, 0] - anchor[:, 1]
    return q


def _points(chain: Chain, dims, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SIMSPINE_15 markers (T, 15, 3) and H36M_32 joints (T, 32, 3), m, world Z-up."""
    R, p = forward_kinematics(chain, q)
    sites = marker_sites(dims)
    markers = site_positions(chain, R, p, [sites[name] for name in SIMSPINE_15.names])
    joints = site_positions(chain, R, p, h36m_sites(dims))
    return markers[..., [2, 0, 1]], joints[..., [2, 0, 1]]  # OpenSim Y-up -> world Z-up


def points_from_kinematics(subject: str, kinematics: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics of stored coordinates of a synthetic subject (body fixed by ``seed``).

    Args:
        kinematics: (T, 62) coordinates in KINEMATIC_AXES order (deg; pelvis_t* m).

    Returns:
        SIMSPINE_15 markers (T, 15, 3) and H36M_32 joints (T, 32, 3), m, world Z-up (float64).
    """
    kinematics = np.asarray(kinematics, dtype=np.float64)
    if kinematics.ndim != 2 or kinematics.shape[1] != len(AXIS):
        raise InputError(f"kinematics must have shape (T, {len(AXIS)}), got {kinematics.shape}")
    dims, chain, _, _ = _subject(subject, seed)
    return _points(chain, dims, kinematics)


def generate_dataset(out_dir: str | os.PathLike, subjects: Sequence[str] = SUBJECTS,
                     seconds_per_action: float = DEFAULT_SECONDS, seed: int = 0, fps: float = FPS,
                     actions: Sequence[str] = ACTIONS) -> Path:
    """Write a synthetic SIMSPINE-format dataset to ``out_dir`` (see module docstring); returns the folder."""
    out = Path(out_dir).expanduser()
    subjects, actions = list(dict.fromkeys(subjects)), list(dict.fromkeys(actions))
    unknown = [a for a in actions if a not in GENERATORS]
    if unknown or not actions:
        raise InputError(f"unknown actions {unknown}; choose from {', '.join(GENERATORS)}")
    if not subjects:
        raise InputError("no subjects given")
    if not seconds_per_action > 0 or not fps > 0:
        raise InputError(f"seconds per action and fps must be positive, got {seconds_per_action} and {fps}")
    rigs = {s: h36m_rig(s) for s in subjects}  # raises InputError for an unknown subject
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    write_text_atomic(out / INCOMPLETE_NAME, "generation in progress or interrupted\n")  # recognisably ours
    for s, rig in rigs.items():
        rig.to_toml(out / CAMERAS_DIR / f"Calib_{s}.toml")
    calibrations = {s: RigArrays(**rig.to_arrays()) for s, rig in rigs.items()}
    positions: dict[str, dict[str, np.ndarray]] = {s: {} for s in subjects}

    def sequences() -> Iterator[SimSpineSequence]:
        pairs = [(s, a) for s in subjects for a in actions]
        for s, a in tqdm(pairs, desc="synthesising", unit="seq", disable=None):
            seq, joints = synthesize_sequence(s, a, seconds_per_action, seed, fps)
            positions[s][a] = joints
            yield seq

    write_simspine_h5(out / H5_NAME, sequences(), calibrations, SIMSPINE_15.names)
    write_h36m_positions(out / H36M_NAME, positions)
    manifest = _manifest(subjects, seconds_per_action, seed, fps, actions)
    write_json_atomic(out / MANIFEST_NAME, manifest, indent=2)
    (out / INCOMPLETE_NAME).unlink()
    logger.info("synthetic SIMSPINE dataset written to %s", out)
    return out


def _manifest(subjects, seconds: float, seed: int, fps: float, actions) -> dict:
    return {"generator_version": GENERATOR_VERSION, "subjects": list(subjects), "actions": list(actions),
            "seconds_per_action": float(seconds), "seed": int(seed), "fps": float(fps)}


def default_dataset_dir() -> Path:
    """``$SPINE3D_DATA`` when set, else ``~/.cache/spine3d/synthetic``."""
    env = os.environ.get("SPINE3D_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "spine3d" / "synthetic"


def dataset_dir(motions: Literal["h36m", "spine"] = "h36m") -> Path:
    """Folder of a built-in dataset: :func:`default_dataset_dir`, or beside it with SPINE_SUFFIX for "spine"."""
    folder = default_dataset_dir()
    if motions not in MOTIONS:
        raise InputError(f"unknown motions {motions!r}; choose from {', '.join(MOTIONS)}")
    return folder if motions == "h36m" else folder.parent / (folder.name + SPINE_SUFFIX)


def ensure_default_dataset(motions: Literal["h36m", "spine"] = "h36m") -> Path:
    """A built-in dataset's folder (:func:`dataset_dir`), generated first if absent or made by an older generator.

    ``motions``: "h36m", the 15 Human3.6M actions (the default dataset); "spine", the same subjects
    with those and the 8 spine actions (SPINE_ACTIONS), in its own folder. A folder holding a
    ``simspine.h5`` but no ``synth.json`` is someone's own data (e.g. the real SIMSPINE release under
    ``$SPINE3D_DATA``) and is returned untouched.
    """
    folder = dataset_dir(motions)
    manifest = folder / MANIFEST_NAME
    if (folder / H5_NAME).is_file() and not manifest.is_file() and not (folder / INCOMPLETE_NAME).exists():
        return folder
    expected = _manifest(SUBJECTS, DEFAULT_SECONDS, 0, FPS, MOTIONS[motions])
    complete = all((folder / name).is_file() for name in (H5_NAME, H36M_NAME))
    if manifest.is_file() and complete:
        try:
            if json.loads(manifest.read_text(encoding="utf-8")) == expected:
                return folder
        except (OSError, ValueError):
            pass  # unreadable manifest: regenerate
    logger.info("generating the synthetic SIMSPINE dataset (%s motions) in %s (once)", motions, folder)
    return generate_dataset(folder, actions=MOTIONS[motions])
