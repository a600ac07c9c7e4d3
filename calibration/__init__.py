"""Camera models and calibration: projection (numpy / torch), TOML I/O, Human3.6M cameras,
intrinsic calibration from checkerboards, PnP and bundle adjustment."""

from spine3d.calibration.camera import Camera
from spine3d.calibration.lens.model import distort, undistort
from spine3d.calibration.h36m import H36M_CAMERA_IDS, H36M_SUBJECTS, h36m_rig, load_h36m_cameras
from spine3d.calibration.rig import CameraRig
from spine3d.calibration.rotations import rotmat_to_rotvec, rotvec_to_rotmat
from spine3d.lazy import lazy_exports

__all__ = ["Camera", "CameraRig", "distort", "undistort", "load_h36m_cameras", "h36m_rig",
           "H36M_SUBJECTS", "H36M_CAMERA_IDS", "rotvec_to_rotmat", "rotmat_to_rotvec"]

# Calibration procedures (OpenCV / scipy.optimize): imported on first use, so `import calibration`
# stays light for code that only projects.
_lazy_getattr, _lazy_dir, _lazy_all = lazy_exports(__name__, {
    "boards": ("Checkerboard", "CharucoBoard"),
    "intrinsics": ("IntrinsicsResult", "calibrate_images", "calibrate_views", "detect_views"),
    "extrinsics": ("solve_pnp",),
    "bundle": ("BundleResult", "bundle_adjust", "triangulate_linear"),
})
__getattr__ = _lazy_getattr
__all__ += _lazy_all
