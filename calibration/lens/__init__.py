"""The lens model: one set of formulas in the three forms the toolkit computes with.

- :mod:`.model`: the reference, on normalised coordinates of any batch shape, numpy or torch
  (differentiable): "pinhole" (OpenCV k1 k2 p1 p2 k3 k4 k5 k6), "fisheye" (OpenCV), "h36m"
  (Human3.6M's own tangential terms); :func:`~.model.distort` and its Newton inverse.
- :mod:`.groups` and :mod:`.undistortion`: the radial-tangential models batched over the cameras of a
  rig, with analytic Jacobians and an exact, checked inverse (the numpy solvers' form).
- :mod:`.compiled`: the same per point, compiled with numba (the triangulation kernel's form).

tests/test_lens.py checks the forms against each other and against OpenCV. Nothing is imported
here, so importing one form does not load the others (numba in particular).
"""
