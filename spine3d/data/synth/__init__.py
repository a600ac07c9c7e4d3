"""Synthetic SIMSPINE-format data: the toolkit's built-in default dataset.

A subject is a scaled OpenSim-style body (:mod:`.body`) driven through the 62 SIMSPINE kinematic
axes by vectorised forward kinematics (:mod:`.kinematics`); one motion generator per Human3.6M
action (:mod:`.actions`, :mod:`.locomotion`), and per spine-loading exercise Human3.6M lacks
(:mod:`.spine_actions`: bending, twisting, squats, lifting, one-leg stance, balance, reaching), writes
posture channels (:mod:`.posture`) built from smooth signals (:mod:`.motion`); the person is placed
on the floor inside the volume all four Human3.6M cameras see (:mod:`.placement`); :mod:`.generate`
writes ``simspine.h5``, ``h36m/data_3d_h36m.npz`` and ``cameras/Calib_<S>.toml``.

Names below are importable from ``spine3d.data.synth`` directly (loaded on first use).
"""

from __future__ import annotations

from spine3d.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {"generate": (
    "generate_dataset", "synthesize_sequence", "points_from_kinematics", "default_dataset_dir", "dataset_dir",
    "ensure_default_dataset", "DEFAULT_SECONDS", "SUBJECTS")})
