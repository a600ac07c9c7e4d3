"""Array-namespace dispatch so one implementation of the geometry serves numpy and torch.

Functions written against the namespace returned by :func:`namespace` (``xp.stack``, ``xp.where``,
``@``, ...) run unchanged on numpy arrays and on (differentiable, GPU) torch tensors: the math is
literally the same code, which is what the numpy/torch agreement tests rely on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_torch_array


def namespace(*arrays: Any):
    """The array-API namespace of the inputs (numpy or torch); numpy for plain Python sequences."""
    arrays = tuple(a for a in arrays if a is not None)
    return array_namespace(*(np.asarray(a) if isinstance(a, (list, tuple, float, int)) else a for a in arrays))


def like(value: Any, ref: Any):
    """``value`` as an array of ``ref``'s kind, float dtype and device (camera parameters -> input's type)."""
    if is_torch_array(ref):
        import torch

        if isinstance(value, torch.Tensor):
            return value.to(dtype=ref.dtype, device=ref.device)
        return torch.as_tensor(np.asarray(value), dtype=ref.dtype, device=ref.device)
    return np.asarray(value, dtype=np.float64)


def device_kwargs(ref: Any) -> dict:
    """``{"device": ...}`` for torch tensors, ``{}`` for numpy: for creation functions like ``xp.eye``."""
    return {} if isinstance(ref, np.ndarray) else {"device": ref.device}
