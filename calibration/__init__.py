"""Camera models and calibration: projection (numpy / torch), TOML I/O, Human3.6M cameras,
intrinsic calibration from checkerboards, PnP and bundle adjustment."""

from calibration.camera import Camera
from calibration.distortion import distort, undistort
from calibration.h36m import H36M_CAMERA_IDS, H36M_SUBJECTS, h36m_rig, load_h36m_cameras
from calibration.rig import CameraRig
from calibration.rotations import rotmat_to_rotvec, rotvec_to_rotmat

__all__ = ["Camera", "CameraRig", "distort", "undistort", "load_h36m_cameras", "h36m_rig",
           "H36M_SUBJECTS", "H36M_CAMERA_IDS", "rotvec_to_rotmat", "rotmat_to_rotvec"]

# Calibration procedures (OpenCV / scipy.optimize): imported on first use, so `import calibration`
# stays light for code that only projects.
_LAZY = {"Checkerboard": "boards", "CharucoBoard": "boards", "IntrinsicsResult": "intrinsics",
         "calibrate_images": "intrinsics", "calibrate_views": "intrinsics", "detect_views": "intrinsics",
         "solve_pnp": "extrinsics", "BundleResult": "bundle", "bundle_adjust": "bundle",
         "triangulate_linear": "bundle"}
__all__ += sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'calibration' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"calibration.{_LAZY[name]}"), name)
