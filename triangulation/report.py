"""JSON report of a triangulated trial: per-keypoint and per-camera errors, views used, NaN share,
each point's trust level (status), bone-length steadiness, settings."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from spine3d.io import json_ready, write_json_atomic
from spine3d.triangulation.pipeline import Reconstruction
from spine3d.triangulation.status import STATUS_MEANINGS
from spine3d.triangulation.steadiness import steadiness_summary


def build_report(recon: Reconstruction, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Summary of a reconstruction (errors in px; NaN becomes null in JSON).

    ``view_errors_confident`` are the exact reprojection errors of every detection whose confidence
    exceeds the threshold, inlier or not (the proof-on-real-data metric). ``status_counts`` count
    each trust level (``status_meanings`` say what they mean); ``trusted_share`` is the share of
    points a TRC file gets by default; ``steadiness`` is the bone-length steadiness of the trusted
    points (:mod:`spine3d.triangulation.steadiness`).
    """
    res, det = recon.result, recon.detections
    conf_threshold = recon.config.triangulation.confidence_threshold
    confident = det.confidence > conf_threshold  # (C, T, J)
    missing = np.isnan(recon.points[..., 0])
    trusted = res.trusted
    summary = {
        "frames": int(res.points.shape[0]),
        "keypoints": int(res.points.shape[1]),
        "status_counts": res.status_counts(),
        "status_meanings": STATUS_MEANINGS,
        "trusted_share": float(trusted.mean()),
        "nan_share": float(np.isnan(res.points[..., 0]).mean()),
        "nan_share_after_postprocessing": float(missing.mean()),
        "frames_without_any_point": int(missing.all(axis=1).sum()),
        "frames_without_any_trusted_point": int((~recon.trusted).all(axis=1).sum()),
        "mean_views_used": _mean(res.num_views[trusted]),
        "inlier_threshold_px": res.threshold,
        "reprojection_error_px": _stats(res.reprojection_error),
        "view_errors_confident_px": _stats(res.view_errors[confident]),
        "confidence_threshold_of_view_errors": conf_threshold,
        "steadiness": steadiness_summary(np.where(trusted[..., None], res.points, np.nan), recon.skeleton),
    }
    per_keypoint = {
        name: {"reprojection_error_px": _stats(res.reprojection_error[:, j]),
               "mean_views_used": _mean(res.num_views[:, j][trusted[:, j]]),
               "nan_share": float(np.isnan(res.points[:, j, 0]).mean()),
               "trusted_share": float(trusted[:, j].mean())}
        for j, name in enumerate(recon.skeleton.names)
    }
    per_camera = {
        name: {"inlier_error_px": _stats(res.view_errors[c][res.inliers[c]]),
               "confident_view_error_px": _stats(res.view_errors[c][confident[c]]),
               "detections": int(np.isfinite(det.points2d[c, ..., 0]).sum()),
               "inlier_share_of_confident": _share(res.inliers[c] & confident[c], confident[c])}
        for c, name in enumerate(res.camera_names)
    }
    first = int(det.frame_numbers[0]) if len(det.frame_numbers) else None
    return json_ready({
        "inputs": {**(inputs or {}), "skeleton": recon.skeleton.name, "fps": recon.fps,
                   "cameras": list(res.camera_names), "first_frame": first},
        "camera_pairing": {"rule": det.pairing_rule, "pairs": det.pairing},
        "people": det.people or {"rule": "one person per frame in every camera: no selection needed"},
        "method": res.method,
        "settings": recon.config.to_dict(),
        "summary": summary,
        "per_keypoint": per_keypoint,
        "per_camera": per_camera,
        "postprocessing": {"gap_fill": recon.config.filter.gap_fill, "points_filled": int(recon.filled.sum()),
                           "lowpass": recon.config.filter.lowpass},
    })


def write_report(path: str | os.PathLike, report: dict[str, Any]) -> None:
    """Write the report as indented JSON, atomically."""
    write_json_atomic(path, report, indent=2)


def _stats(values: np.ndarray) -> dict[str, float | int | None]:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    return {"count": int(v.size), "mean": float(v.mean()), "median": float(np.median(v)),
            "p90": float(np.percentile(v, 90))}


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if np.size(values) else None


def _share(part: np.ndarray, whole: np.ndarray) -> float | None:
    total = int(whole.sum())
    return float(part.sum() / total) if total else None
