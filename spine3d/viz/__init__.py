"""Figures and renderings (matplotlib on the Agg canvas, OpenCV for video).

Every figure function takes arrays, a :class:`spine3d.skeletons.Skeleton` and an output path,
writes the image atomically and returns the path. Modules:

- :mod:`.skeleton3d`: 3D skeleton, prediction vs ground truth, spine curve (``plot_skeleton_3d``)
- :mod:`.spine_profile`: column geometry (``spine_segment_angles``, ``facing_direction``) and the
  sagittal view (``plot_spine_sagittal``)
- :mod:`.charts`: per-joint errors, error vs outlier ratio, error per action
- :mod:`.overlay`: 2D keypoints per camera (``plot_overlay_2d``), 3D results on video (``overlay_on_video``)
- :mod:`.render`: a 3D sequence as PNG frames or MP4 (``render_sequence``)

Names below are importable from ``spine3d.viz`` directly; submodules load on first use, so
importing the package does not pay for matplotlib.
"""

from __future__ import annotations

from spine3d.lazy import lazy_exports

_EXPORTS = {
    "skeleton3d": ("plot_skeleton_3d",),
    "spine_profile": ("facing_direction", "plot_spine_sagittal", "sagittal_spine_angles", "smooth_curve",
                      "spine_chain", "spine_level_names", "spine_segment_angles"),
    "charts": ("plot_error_per_action", "plot_error_vs_outliers", "plot_per_joint_errors", "save_figure"),
    "overlay": ("draw_skeleton_cv2", "overlay_on_video", "plot_overlay_2d", "read_frames"),
    "render": ("frame_sink", "render_sequence"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
