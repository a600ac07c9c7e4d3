"""Rotation conversions (numpy and torch, any leading batch shape).

Convention: rotation vectors are axis * angle in radians (Rodrigues, as in OpenCV); matrices act on
column vectors, x' = R x.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from spine3d.calibration.arrays import device_kwargs, namespace


def rotvec_to_rotmat(rotvec: Any) -> Any:
    """Rodrigues' formula, differentiable everywhere (Taylor expansion near zero angle).

    Args:
        rotvec: (..., 3) axis-angle, radians; numpy array or torch tensor.

    Returns:
        (..., 3, 3) rotation matrices of the same array type.
    """
    xp = namespace(rotvec)
    theta2 = xp.sum(rotvec * rotvec, axis=-1)[..., None, None]
    small = theta2 < 1e-12
    safe2 = xp.where(small, xp.ones_like(theta2), theta2)
    theta = xp.sqrt(safe2)
    # sin(t)/t and (1 - cos(t))/t^2, with their Taylor series where t -> 0.
    a = xp.where(small, 1.0 - theta2 / 6.0, xp.sin(theta) / theta)
    b = xp.where(small, 0.5 - theta2 / 24.0, (1.0 - xp.cos(theta)) / safe2)
    x, y, z = rotvec[..., 0], rotvec[..., 1], rotvec[..., 2]
    zero = xp.zeros_like(x)
    skew = xp.stack([xp.stack([zero, -z, y], axis=-1),
                     xp.stack([z, zero, -x], axis=-1),
                     xp.stack([-y, x, zero], axis=-1)], axis=-2)
    eye = xp.eye(3, dtype=rotvec.dtype, **device_kwargs(rotvec))
    return eye + a * skew + b * (skew @ skew)


def rotmat_to_rotvec(rotmat: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 3) rotation vectors (numpy; robust near pi via scipy)."""
    rotmat = np.asarray(rotmat, dtype=np.float64)
    flat = Rotation.from_matrix(rotmat.reshape(-1, 3, 3)).as_rotvec()
    return flat.reshape(rotmat.shape[:-2] + (3,))

