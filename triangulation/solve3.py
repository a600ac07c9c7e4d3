"""Symmetric 3x3 solves by the adjugate (Cramer's rule), in plain arithmetic.

One formula for the LM step of both refinement paths: numpy applies it to (n,) arrays
(:func:`spine3d.triangulation.refine.solve_symmetric3`), the compiled loop compiles this very function
(:mod:`spine3d.triangulation.refine_kernel`). A singular H gives inf / NaN (IEEE division).
"""

from __future__ import annotations


def symmetric3_solution(h00, h01, h02, h11, h12, h22, g0, g1, g2):
    """The three components of H^-1 g for a symmetric 3x3 H (upper entries h00 .. h22) by the adjugate."""
    c00 = h11 * h22 - h12 * h12
    c01 = h02 * h12 - h01 * h22
    c02 = h01 * h12 - h02 * h11
    c11 = h00 * h22 - h02 * h02
    c12 = h01 * h02 - h00 * h12
    c22 = h00 * h11 - h01 * h01
    inv_det = 1.0 / (h00 * c00 + h01 * c01 + h02 * c02)
    return ((c00 * g0 + c01 * g1 + c02 * g2) * inv_det, (c01 * g0 + c11 * g1 + c12 * g2) * inv_det,
            (c02 * g0 + c12 * g1 + c22 * g2) * inv_det)
