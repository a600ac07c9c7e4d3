"""Dataset and exchange formats: read/validate/write, converting frames only at this boundary.

Modules (each imports only numpy/h5py/stdlib and spine3d.skeletons/errors/io):

- :mod:`.simspine_h5`: SIMSPINE HDF5 reader (:class:`SimSpineH5`); re-exports the writer
  (:mod:`.simspine_h5_write`) and the data model (:mod:`.simspine_schema`)
- :mod:`.h36m_npz`: VideoPose3D's ``data_3d_h36m.npz`` (Human3.6M 32-joint positions)
- :mod:`.merge`: 15 SIMSPINE markers + Human3.6M limbs -> the 37-marker layout
- :mod:`.opensim`: TRC marker files and MOT/STO storage tables
- :mod:`.mmpose_npz`: SIMSPINE's MMPose-style ``simspine_{train,test}.npz``
- :mod:`.openpose_json`: per-frame OpenPose JSON detections
- :mod:`.keypoints_npz`: 2D keypoint arrays in npz

Names below are importable from ``spine3d.formats`` directly; the submodule is imported on first
use, so ``import spine3d.formats.openpose_json`` does not pay for h5py.
"""

from __future__ import annotations

from spine3d.lazy import lazy_exports

_EXPORTS = {
    "simspine_h5": ("ACTIONS", "KINEMATIC_AXES", "TEST_SUBJECTS", "TRAIN_SUBJECTS", "RigArrays", "SimSpineH5",
                    "SimSpineSequence", "write_simspine_h5"),
    "h36m_npz": ("read_h36m_positions", "write_h36m_positions"),
    "merge": ("merge_simspine_h36m", "merged_sequences"),
    "opensim": ("read_mot", "read_mot_header", "read_trc", "write_mot", "write_trc"),
    "mmpose_npz": ("read_simspine_mmpose",),
    "openpose_json": ("OpenPoseSequence", "read_openpose_folder", "read_openpose_folders", "read_openpose_frame"),
    "keypoints_npz": ("read_keypoints_npz", "write_keypoints_npz"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
