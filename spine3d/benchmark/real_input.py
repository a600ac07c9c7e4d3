"""Does a lifter hold up on real input? Scores for keypoint subsets and for a real multi-camera trial.

Two measurements (``experiments/lifter_real_input.py`` prints them as tables):

- :func:`layout_scores`: the synthetic test split (every camera of its rigs), lifted with all joints
  given and with only the joints one detector layout provides (the others at confidence 0, exactly as
  ``spine3d lift`` feeds a BODY_25B, COCO-17 or spine-only file), scored as P-MPJPE on the body joints
  that BODY_25B shares with the model's layout and on the spine joints.
- :func:`real_trial_scores`: a real trial filmed by a calibrated rig (the Pose2Sim balancing trial):
  its detections are triangulated into a 3D reference; each camera's real detections, and the
  reference projected ideally into that camera, are lifted and scored against the reference in that
  camera's frame on the shared body joints, beside a constant pose (the reference's own mean pose
  in that camera's frame, every frame) as the floor any useful lifter must beat.

- :func:`pose_coverage`: how far the trial's poses are from every pose the lifter was trained on (the
  P-MPJPE to the nearest training pose), beside the same for the synthetic test split: what a lifter
  can be expected to know.
- :func:`camera_swap_scores`: synthetic test motions lifted from their own (Human3.6M) rig and from the
  trial's real cameras, the subject placed where the trial's subject stands: whether the cameras or the
  poses make a real trial hard.

P-MPJPE aligns each frame by a similarity transform on the scored joints, so definitions of a joint
that differ between a detector and SIMSPINE's markers (hip centres, head top) stay in the error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch

from spine3d.calibration import CameraRig
from spine3d.data.config import DataConfig
from spine3d.data.source import SequenceSource
from spine3d.data.synth.placement import in_view
from spine3d.data.trial import read_trial
from spine3d.errors import InputError
from spine3d.evaluation import joint_errors, p_mpjpe
from spine3d.lifting.data import eval_sequences
from spine3d.lifting.infer import lift_sequence
from spine3d.lifting.normalize import make_inputs
from spine3d.skeletons import BODY_25B, Skeleton, get_skeleton, remap
from spine3d.triangulation import triangulate
from spine3d.triangulation.detections import Detections, choose_person
from spine3d.triangulation.status import trusted

# The body joints a BODY_25B detector gives that are not face or foot points: scored everywhere here.
BODY_15 = ("Nose", "Neck", "Head", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
           "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle")
INPUT_LAYOUTS = ("all", "body25b", "coco17", "spinepose9")
SWAP_ACTIONS = ("Walking", "Posing", "BendSideways", "OneLegStance", "Balance")  # camera_swap_scores' default


@dataclass
class Scores:
    """P-MPJPE (mm) of one input condition: on ``BODY_15`` and on the spine joints (NaN where not scored)."""

    body: float
    spine: float = float("nan")
    frames: int = 0


def joint_indices(skeleton: Skeleton, names: Sequence[str]) -> np.ndarray:
    """(K,) indices of the canonical ``names`` in ``skeleton`` (InputError naming a missing one)."""
    try:
        return np.array([skeleton.index(n) for n in names])
    except KeyError as exc:
        raise InputError(f"layout {skeleton.name} lacks a joint: {exc.args[0]}") from None


def only_layout(inputs: np.ndarray, layout: str, skeleton: Skeleton) -> np.ndarray:
    """(..., J, 3) lifter inputs with the joints ``layout`` lacks set missing (0, 0, 0); "all" keeps all."""
    if layout == "all":
        return inputs
    keep = get_skeleton(layout).provides(skeleton)
    return np.where(keep[:, None], inputs, np.float32(0.0)).astype(np.float32)


def layout_scores(model: torch.nn.Module, frames: int, skeleton: Skeleton, source: SequenceSource,
                  data: DataConfig, layouts: Sequence[str] = INPUT_LAYOUTS, step: int = 1) -> dict[str, Scores]:
    """P-MPJPE on every frame of the test items of ``source`` under each input layout (module docstring).

    ``data``: the protocol ("gt" or "detected") and noise model of the 2D inputs. ``step``: score every
    ``step``-th test item (sequence x camera; 3 rotates through a 4-camera rig), 1: all.
    """
    body, spine = joint_indices(skeleton, BODY_15), np.flatnonzero(skeleton.group("spine"))
    preds: dict[str, list[np.ndarray]] = {name: [] for name in layouts}
    targets = []
    for k, seq in enumerate(eval_sequences(source, "test", data)):
        if k % step:
            continue
        for name in layouts:
            preds[name].append(lift_sequence(model, only_layout(seq.inputs, name, skeleton), frames, False, skeleton))
        targets.append(seq.target)
    gt = np.concatenate(targets)
    return {name: Scores(p_mpjpe(np.concatenate(p)[:, body], gt[:, body]),
                         p_mpjpe(np.concatenate(p)[:, spine], gt[:, spine]) if len(spine) >= 3 else float("nan"),
                         len(gt))
            for name, p in preds.items()}


@dataclass
class TrialScores:
    """P-MPJPE (mm) on ``BODY_15`` over every camera and trusted reference frame of a real trial."""

    detected: float
    ideal: float
    constant: float
    frames: int
    cameras: int


class TrialReference(NamedTuple):
    """A real trial: its rig, the chosen person's detections, their layout and the 3D reference."""

    rig: CameraRig
    detections: Detections
    layout: Skeleton
    world: np.ndarray  # (T, J_layout, 3) m, the default triangulation's trusted points (NaN elsewhere)


def trial_reference(calibration: str | Path, detections: str | Path,
                    layout: str | Skeleton = BODY_25B) -> TrialReference:
    """Read a real trial (calibration TOML, OpenPose JSON folders one per camera, their keypoint layout),
    choose the most plausible person per frame and triangulate it (the trusted points are the reference)."""
    rig = CameraRig.from_toml(calibration)
    det = choose_person(rig, read_trial(detections, rig, layout))
    res = triangulate(rig, det.points2d, det.confidence)
    world = np.where(trusted(res.status)[..., None], res.points, np.nan)
    return TrialReference(rig, det, get_skeleton(layout) if isinstance(layout, str) else layout, world)


def real_trial_scores(model: torch.nn.Module, frames: int, skeleton: Skeleton, trial: TrialReference) -> TrialScores:
    """Lift each camera of a real trial (:func:`trial_reference`) and score it against its 3D reference
    (module docstring)."""
    rig, det, found, world = trial
    idx_model, idx_ref = joint_indices(skeleton, BODY_15), joint_indices(found, BODY_15)
    scores: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"detected": [], "ideal": [], "constant": []}
    for c, camera in enumerate(rig):
        ref = camera.world_to_camera(world)[:, idx_ref] * 1000.0  # (T, 15, 3) mm camera frame
        real = np.concatenate([det.points2d[c], det.confidence[c][..., None]], axis=-1)
        ideal = camera.project(world)
        for name, kp in (("detected", real), ("ideal", np.concatenate([ideal, np.isfinite(ideal[..., :1])], -1))):
            kp = remap(kp, found, skeleton)  # joints the layout lacks: NaN, lifted as missing
            inputs = make_inputs(kp[..., :2], kp[..., 2], camera.size)
            scores[name].append((lift_sequence(model, inputs, frames, False, skeleton)[:, idx_model], ref))
        centred = ref - np.nanmean(ref, axis=1, keepdims=True)
        scores["constant"].append((np.broadcast_to(np.nanmean(centred, axis=0), ref.shape), ref))
    result = {name: p_mpjpe(np.concatenate([p for p, _ in pairs]), np.concatenate([g for _, g in pairs]))
              for name, pairs in scores.items()}
    return TrialScores(result["detected"], result["ideal"], result["constant"], len(world), len(rig))


def nearest_pose_errors(query: np.ndarray, pool: np.ndarray, chunk: int = 8) -> np.ndarray:
    """How far each query pose is from every pose of a pool: its P-MPJPE to the nearest one.

    A measure of coverage: a lifter trained on ``pool`` has never seen anything closer to the query.

    Args:
        query: (Q, J, 3) poses (NaN joints ignored; a pose with fewer than 3 joints gives NaN).
        pool: (N, J, 3) poses, same joints and unit (any frame: each pair is similarity-aligned).
        chunk: query poses aligned against the whole pool at once (memory: chunk x N x J x 3).

    Returns:
        (Q,) the mean joint error after aligning the nearest pool pose to the query, in the input unit.
    """
    best = np.full(len(query), np.nan)
    for start in range(0, len(query), chunk):  # chunks bound the (chunk, N, J, 3) alignment
        q = query[start:start + chunk, None]
        err = joint_errors(np.broadcast_to(pool, (len(q), *pool.shape)), np.broadcast_to(q, (len(q), *pool.shape)),
                           aligned="procrustes")
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN poses: NaN
            best[start:start + chunk] = np.nanmin(np.nanmean(err, axis=-1), axis=-1)
    return best


def pose_coverage(source: SequenceSource, trial: TrialReference, every: int = 10) -> dict[str, np.ndarray]:
    """Nearest-training-pose P-MPJPE (mm, :func:`nearest_pose_errors`) on ``BODY_15`` of a real trial's poses
    and, as the yardstick, of the synthetic test split's, against the training split of ``source``.

    Args:
        source: the dataset a lifter was trained on (its training split: every ``every``-th frame).
        trial: the real trial (:func:`trial_reference`).
        every: frame step of the training pool and of the test split's sample (x 10 for the test split).

    Returns:
        {"trial": (T,), "test": (K,)} mm per pose.
    """
    idx = joint_indices(source.skeleton, BODY_15)
    pool = np.concatenate([source.world(s, a)[::every, idx] for s, a in source.sequences("train")]) * 1000.0
    test = np.concatenate([source.world(s, a)[::10 * every, idx] for s, a in source.sequences("test")]) * 1000.0
    poses = trial.world[:, joint_indices(trial.layout, BODY_15)] * 1000.0
    return {"trial": nearest_pose_errors(poses, pool), "test": nearest_pose_errors(test, pool)}


def placed_like(world: np.ndarray, skeleton: Skeleton, trial: TrialReference) -> np.ndarray:
    """``world`` (T, J, 3) m in ``skeleton``'s order, moved (translated only, both worlds Z-up) so that its
    mean hip centre stands over the trial subject's and its lowest ankle is as high as the trial's lowest."""
    ends = ("RHip", "LHip", "RAnkle", "LAnkle")
    ours, theirs = world[:, joint_indices(skeleton, ends)], trial.world[:, joint_indices(trial.layout, ends)]
    shift = np.nanmean(theirs[:, :2], axis=(0, 1)) - np.nanmean(ours[:, :2], axis=(0, 1))
    shift[2] = np.nanmin(theirs[:, 2:, 2]) - np.nanmin(ours[:, 2:, 2])
    return world + shift


def camera_swap_scores(model: torch.nn.Module, frames: int, skeleton: Skeleton, source: SequenceSource,
                       trial: TrialReference, actions: Sequence[str] = SWAP_ACTIONS,
                       layout: str = "body25b") -> dict[str, tuple[Scores, Scores]]:
    """P-MPJPE on ``BODY_15`` of the test split's ``actions``, ideal 2D with only ``layout``'s joints, lifted
    from each camera of the sequence's own rig and from each camera of ``trial``'s rig, the sequence
    placed where the trial's subject stands (:func:`placed_like`). Both are scored on the same frames:
    those whose ``BODY_15`` joints every trial camera sees (inside its image, in front of it).

    Returns:
        {action: (own rig, trial rig)} for the actions with such frames; ``Scores.frames`` counts
        frames x cameras, ``Scores.spine`` is NaN.
    """
    body = joint_indices(skeleton, BODY_15)
    pairs: dict[tuple[str, int], list[tuple[np.ndarray, np.ndarray]]] = {}
    for subject, action in source.sequences("test"):
        if action not in actions:
            continue
        world = source.world(subject, action)
        placed = placed_like(world, skeleton, trial)
        shown = in_view(trial.rig, placed[:, body]).all(axis=1)  # (T,)
        if not shown.any():
            continue
        for k, (rig, points) in enumerate(((source.cameras(subject), world), (trial.rig, placed))):
            for camera in rig:
                inputs = only_layout(make_inputs(camera.project(points), None, camera.size), layout, skeleton)
                pred = lift_sequence(model, inputs, frames, False, skeleton)[shown][:, body]
                gt = camera.world_to_camera(points[shown][:, body]) * 1000.0  # mm, camera frame
                pairs.setdefault((action, k), []).append((pred, gt))

    def score(items: list[tuple[np.ndarray, np.ndarray]]) -> Scores:
        pred, gt = (np.concatenate(x) for x in zip(*items))
        return Scores(p_mpjpe(pred, gt), frames=len(gt))

    return {a: (score(pairs[(a, 0)]), score(pairs[(a, 1)])) for a in actions if (a, 0) in pairs}

