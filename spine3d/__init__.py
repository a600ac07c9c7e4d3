"""spine3d: 3D human spine motion from multi-view and monocular 2D keypoints.

The ``spine3d`` package holds the leaves every other package stands on (skeletons, dataset
formats, the synthetic SIMSPINE generator) and the command-line interface on top. Importing it is
cheap: nothing heavy is imported here.
"""

__version__ = "0.1.0"
