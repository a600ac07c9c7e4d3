"""Tiny fake SIMSPINE dataset (temporary, until spine3d.synth.generate_dataset lands)."""
from __future__ import annotations
from pathlib import Path
import numpy as np
from spine3d.formats.simspine_h5 import KINEMATIC_AXES, RigArrays, SimSpineSequence, write_simspine_h5
from spine3d.skeletons import SIMSPINE_15

REST = np.array([[0, 0, 1.0], [0, 0, 1.1], [0, 0, 1.2], [0, 0, 1.3], [0, 0, 1.4], [0, 0, 1.5], [0, 0, 1.6],
                 [0, 0, 1.65], [0, 0, 1.7], [0, 0.02, 1.8], [0, -0.1, 1.72], [0.15, 0, 1.5], [-0.15, 0, 1.5],
                 [0.12, 0.05, 1.3], [-0.12, 0.05, 1.3]])


def rig() -> RigArrays:
    R1 = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], float)
    R2 = np.array([[0, 1, 0], [0, 0, -1], [-1, 0, 0]], float)
    K = np.array([[1000, 0, 500], [0, 1000, 500], [0, 0, 1]], float)
    return RigArrays(names=["cam_01", "cam_02"], K=np.stack([K, K]), dist=np.zeros((2, 4)), R=np.stack([R1, R2]),
                     t=np.array([[0, 1, 4], [0, 1, 4]], float), size=np.array([[1000, 1000], [1000, 1000]], float))


def fake_dataset(folder: Path, frames: int = 60) -> Path:
    t = np.arange(frames) / 50.0
    seqs = []
    for s, subject in enumerate(["S1", "S9"]):
        for a, action in enumerate(["Walking", "Sitting"]):
            rng = np.random.default_rng([s, a])
            phase, amp = rng.uniform(0, 6, (15, 3)), rng.uniform(0.01, 0.05, (15, 3))
            bend = 0.2 * np.sin(2 * np.pi * (0.5 + a) * t + s)[:, None] * (REST[:, 2] - 1.0)[None]
            m = REST[None] + amp * np.sin(2 * np.pi * t[:, None, None] + phase)
            m[..., 0] += bend
            seqs.append(SimSpineSequence(subject, action, m, np.zeros((frames, 62)), t))
    folder.mkdir(parents=True, exist_ok=True)
    write_simspine_h5(folder / "simspine.h5", seqs, {"S1": rig(), "S9": rig()}, SIMSPINE_15.names)
    return folder
