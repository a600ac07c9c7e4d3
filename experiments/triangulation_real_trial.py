"""Proof on real data: triangulate the Pose2Sim balancing trial and plot one frame in 3D.

Prints, for the associated detections (``pose-associated``), the median reprojection error over
all detections with confidence > 0.3 (inliers or not) and per point, the frames without any
point, for RANSAC + LM and for the plain confidence-weighted DLT; checks that the raw ``pose``
folders (several people per frame) give the same person; and saves a 3D plot of one frame.

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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    rig = CameraRig.from_toml(args.data / "Calib.toml")
    det = choose_person(rig, read_trial(args.data / "pose-associated", rig, BODY_25B))
    confident = det.confidence > 0.3
    for method in ("weighted", "ransac"):
        res = triangulate(rig, det.points2d, det.confidence, method)
        lost = int(np.isnan(res.points[..., 0]).all(axis=1).sum())
        print(f"{method:8s}: median reprojection error, all detections with confidence > 0.3: "
              f"{np.nanmedian(res.view_errors[confident]):.2f} px; per point (inlier views): "
              f"{np.nanmedian(res.reprojection_error):.2f} px; points reconstructed "
              f"{100 * np.isfinite(res.points[..., 0]).mean():.1f}%; frames without any point: {lost}")
    raw = choose_person(rig, read_trial(args.data / "pose", rig, BODY_25B))
    kept = (det.confidence > 0).any(axis=-1)
    print(f"raw pose/: {raw.people['frames_with_several_people']} frames with several people; chosen candidate "
          f"equals the associated one in {100 * (raw.chosen[kept] == 0).mean():.1f}% of camera-frames")
    points = res.points[args.frame]
    ankles = points[[BODY_25B.index("LAnkle"), BODY_25B.index("RAnkle")], 2]
    print(f"frame {args.frame}: ankle heights L {ankles[0]:.2f} m, R {ankles[1]:.2f} m; head "
          f"{points[BODY_25B.index('Head'), 2]:.2f} m")
    plot_frame(points, rig, args.out, f"Pose2Sim balancing trial, frame {args.frame} (RANSAC + LM)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
