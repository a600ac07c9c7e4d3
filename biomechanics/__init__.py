"""Biomechanics: SIMSPINE's simulation framework on the synthetic body (scaling, inverse kinematics).

One body (:mod:`spine3d.data.synth.body`, :mod:`spine3d.data.synth.kinematics`) is the single source
of the numpy forward kinematics, of the OpenSim model spine3d writes (:mod:`.osim_model`), and of the
batched inverse-kinematics solver (:mod:`.solver`); OpenSim's own IK solver (:mod:`.opensim_ik`) is
the reference backend. :mod:`.pipeline` runs the framework end to end (``spine3d kinematics``).

OpenSim is optional (``pip install -e ".[biomech]"``): only :mod:`.osim_model` and
:mod:`.opensim_ik` import it, on first use.
"""

from spine3d.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "config": ("KinematicsConfig", "load_config"),
    "model": ("BodyModel",),
    "solver": ("IKSolver", "IKResult"),
    "pipeline": ("run_kinematics",),
})
