"""Proof on real data: triangulate the Pose2Sim balancing trial and plot one frame in 3D.

Prints a table, for the associated detections (``pose-associated``), filtering off: for the default
method, the confidence-weighted DLT (with and without the checks in time) and RANSAC with the fixed
15 px threshold it had before issue 13, the median reprojection error over all detections
with confidence > 0.3 (inliers or not) and per point, the points reconstructed and trusted, the
frames without any point, and the bone-length steadiness (standard deviation over the trial of the
8 limb-segment lengths, median and max over the segments; :mod:`spine3d.triangulation.steadiness`),
over the trusted points; checks that the raw ``pose`` folders (several people per frame) give the
same person; and saves a 3D plot of one frame.

    python experiments/triangulation_real_trial.py [--frame 50] [--out experiments/figures/balancing_frame50.png]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from spine3d.calibration import CameraRig  # noqa: E402
from spine3d.skeletons import BODY_25B  # noqa: E402
from spine3d.triangulation import triangulate  # noqa: E402
from spine3d.data.trial import read_trial  # noqa: E402
from spine3d.triangulation.detections import choose_person  # noqa: E402
from spine3d.triangulation.methods import DEFAULT_METHOD, METHODS  # noqa: E402
from spine3d.triangulation.status import trusted  # noqa: E402
from spine3d.triangulation.steadiness import steadiness_summary  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "pose2sim_balancing"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="the pose2sim_balancing folder")
    p.add_argument("--frame", type=int, default=50, help="frame to plot (the right foot is lifted around 50)")
    p.add_argument("--out", type=Path, default=REPO / "experiments" / "figures" / "balancing_frame50.png")
    return p.parse_args(argv)


def plot_frame(points: np.ndarray, rig: CameraRig, path: Path, title: str) -> None:
    """Two views of one frame. points: (J, 3) m, world Z-up, BODY_25B order."""
    fig = plt.figure(figsize=(10, 6))
    mid = np.nanmean(points, axis=0)
    for k, azim in enumerate((-60, 30)):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        for parent, child in BODY_25B.bones:
            seg = points[[parent, child]]
            if np.isfinite(seg).all():
                side = BODY_25B.names[child][0]
                ax.plot(*seg.T, color={"L": "tab:blue", "R": "tab:red"}.get(side, "k"), lw=2.5)
        ax.scatter(*points.T, s=10, color="k")
        ax.plot([mid[0] - 0.8, mid[0] + 0.8], [mid[1], mid[1]], [0, 0], color="0.6", lw=1)  # floor line
        ax.set_xlim(mid[0] - 0.8, mid[0] + 0.8)
        ax.set_ylim(mid[1] - 0.8, mid[1] + 0.8)
        ax.set_zlim(0, 1.9)
        ax.set_box_aspect((1.6, 1.6, 1.9))
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_zlabel("z (m, up)")
        ax.view_init(elev=8, azim=azim)
        ax.tick_params(labelsize=7)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_major_locator(plt.MaxNLocator(4))
    fig.suptitle(title + "\nleft side blue, right side red", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


COLUMNS = (  # (label, method, options): the default method, weighted DLT with and without the checks in time
    (f"{METHODS[DEFAULT_METHOD].label} (default)", DEFAULT_METHOD, {}),
    (METHODS["weighted"].label, "weighted", {}),
    (f"{METHODS['weighted'].label}, temporal: false", "weighted", {"temporal": False}),
    (f"{METHODS['ransac'].label}, fixed 15 px threshold", "ransac", {"threshold": 15.0, "threshold_from_data": False}),
)


def measure(rig: CameraRig, det, method: str, **options) -> dict[str, float]:
    """One method on the trial: reprojection errors (px), shares (%), frames, steadiness (mm), threshold (px)."""
    res = triangulate(rig, det.points2d, det.confidence, method, **options)
    good = trusted(res.status)
    steady = steadiness_summary(np.where(good[..., None], res.points, np.nan), BODY_25B)
    return {"view_error": np.nanmedian(res.view_errors[det.confidence > 0.3]),
            "point_error": np.nanmedian(res.reprojection_error),
            "reconstructed": 100 * np.isfinite(res.points[..., 0]).mean(), "trusted": 100 * good.mean(),
            "lost": int((~good).all(axis=1).sum()), "steady_median": steady["median_mm"],
            "steady_max": steady["max_mm"], "threshold": res.threshold}


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """Markdown table, one column per method."""
    lines = ["| | " + " | ".join(rows) + " |", "|---|" + "---|" * len(rows)]
    for key, label, fmt in (
            ("view_error", "median reprojection error, all detections with confidence > 0.3", "{:.2f} px"),
            ("point_error", "median reprojection error per point (its inlier views)", "{:.2f} px"),
            ("reconstructed", "points reconstructed", "{:.1f} %"), ("trusted", "points trusted", "{:.1f} %"),
            ("lost", "frames without any trusted point", "{:d}"),
            ("steady_median", "bone-length std, median of 8 limb segments", "{:.1f} mm"),
            ("steady_max", "bone-length std, max of 8 limb segments", "{:.1f} mm"),
            ("threshold", "RANSAC inlier threshold", "{:.1f} px")):
        lines.append(f"| {label} | " + " | ".join(fmt.format(r[key]) if np.isfinite(r[key]) else "-"
                                                 for r in rows.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rig = CameraRig.from_toml(args.data / "Calib.toml")
    det = choose_person(rig, read_trial(args.data / "pose-associated", rig, BODY_25B))
    rows = {label: measure(rig, det, method, **options) for label, method, options in COLUMNS}
    print(format_table(rows))
    res = triangulate(rig, det.points2d, det.confidence)
    raw = choose_person(rig, read_trial(args.data / "pose", rig, BODY_25B))
    kept = (det.confidence > 0).any(axis=-1)
    print(f"raw pose/: {raw.people['frames_with_several_people']} frames with several people; chosen candidate "
          f"equals the associated one in {100 * (raw.chosen[kept] == 0).mean():.1f}% of camera-frames")
    points = res.points[args.frame]
    ankles = points[[BODY_25B.index("LAnkle"), BODY_25B.index("RAnkle")], 2]
    print(f"frame {args.frame}: ankle heights L {ankles[0]:.2f} m, R {ankles[1]:.2f} m; head "
          f"{points[BODY_25B.index('Head'), 2]:.2f} m")
    plot_frame(points, rig, args.out, f"Pose2Sim balancing trial, frame {args.frame} ({METHODS[res.method].label})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
