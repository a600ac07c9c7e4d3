"""The body as an OpenSim model (.osim), written through OpenSim's own API.

Every body of the chain becomes an OpenSim ``Body`` joined to its parent by a ``CustomJoint`` whose
parent frame sits at the joint offset with the rest orientation; the joint's rotations (in order,
body-fixed) and translations are ``TransformAxis`` entries driven by the 62 SIMSPINE coordinates
(radians and metres inside OpenSim; degrees at every spine3d interface). A coordinate that drives
several joints (the neck's three) is owned by the first; the others get a hidden coordinate
(``neck_flexion_cerv2``, ...) held equal to it by a ``CoordinateCouplerConstraint``, as are every
coupling of the body and of the inverse-kinematics parametrisation (lumbar levels, Abs). Markers sit
at the SIMSPINE-37 sites.

Mass properties are rough (segment fractions of a 70 kg adult, Winter's table 4.1 rounded; small
spherical inertias): inverse kinematics does not use them; they only make the model load and display.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from spine3d.biomechanics.coupling import Parametrisation
from spine3d.biomechanics.model import BodyModel
from spine3d.data.synth.coordinates import BODY_COUPLINGS, TRANSLATIONS, Coupling, coordinate_ranges
from spine3d.errors import InputError
from spine3d.formats.simspine_schema import KINEMATIC_AXES
from spine3d.io import atomic_path

INSTALL_HINT = 'pip install -e ".[biomech]"'
_MASS_FRACTION = {"pelvis": 0.142, "femur": 0.100, "tibia": 0.0465, "patella": 0.001, "talus": 0.004,
                  "calcn": 0.007, "toes": 0.0035, "L": 0.006, "thorax_lower": 0.14, "thorax_upper": 0.18,
                  "cerv": 0.01, "head": 0.061, "humerus": 0.028, "ulna": 0.008, "radius": 0.008, "hand": 0.006}
_FREE_RANGE = {"rotation": (-4 * np.pi, 4 * np.pi), "translation": (-20.0, 20.0)}  # rad; m


def import_opensim() -> Any:
    """The ``opensim`` module; InputError with the install line when it is not installed."""
    try:
        import opensim
    except ImportError:
        raise InputError(f"OpenSim is not installed; install the biomechanics extra: {INSTALL_HINT}") from None
    return opensim


def build_model(model: BodyModel, par: Parametrisation | None = None, name: str = "spine3d") -> Any:
    """An ``opensim.Model`` of the body and its markers.

    Args:
        model: the body (dimensions, chain) and its markers.
        par: inverse-kinematics parametrisation whose couplings, held coordinates and bounds the model
            carries (None: the body alone, with only its own couplings).
        name: model name.
    """
    osim = import_opensim()
    out = osim.Model()
    out.setName(name)
    bodies = [out.getGround()]
    owners: dict[int, str] = {}
    hidden: list[Coupling] = []
    for i, joint in enumerate(model.chain.joints):
        body = osim.Body(joint.body, *_mass(joint.body))
        out.addBody(body)
        transform = _spatial_transform(osim, model, i, owners, hidden)
        parent = bodies[0] if joint.parent < 0 else bodies[joint.parent + 1]
        out.addJoint(osim.CustomJoint(f"{joint.body}_joint", parent, _vec(osim, joint.offset),
                                      _vec(osim, xyz_angles(joint.rest)), body, osim.Vec3(0), osim.Vec3(0),
                                      transform))
        bodies.append(body)
    for marker, (body, local) in zip(model.marker_names, model.sites):
        out.addMarker(osim.Marker(marker, bodies[model.chain.index(body) + 1], _vec(osim, local)))
    couplings = tuple(hidden) + BODY_COUPLINGS + (par.couplings if par is not None else ())
    for c in couplings:
        out.addConstraint(_coupler(osim, c))
    out.finalizeConnections()
    _set_coordinates(out, par, couplings)
    return out


def write_model(path: str | os.PathLike, model: BodyModel, par: Parametrisation | None = None,
                name: str = "spine3d") -> None:
    """Write the .osim of :func:`build_model` (atomically)."""
    with atomic_path(path) as tmp:
        if not build_model(model, par, name).printToXML(str(tmp)):
            raise InputError("OpenSim could not write the model", path)


def xyz_angles(r: np.ndarray) -> np.ndarray:
    """(3, 3) rotation -> (3,) rad body-fixed X-Y-Z angles (OpenSim's frame orientations)."""
    b = np.arcsin(np.clip(r[0, 2], -1.0, 1.0))
    return np.array([np.arctan2(-r[1, 2], r[2, 2]), b, np.arctan2(-r[0, 1], r[0, 0])])


def coordinate_name(model: BodyModel, joint: int, coord: int, owners: dict[int, str]) -> str:
    """The OpenSim coordinate of axis ``coord`` in ``joint``: its own name, or a hidden copy's."""
    name = KINEMATIC_AXES[coord]
    if owners.setdefault(coord, model.chain.joints[joint].body) == model.chain.joints[joint].body:
        return name
    return f"{name}_{model.chain.joints[joint].body}"


def _spatial_transform(osim, model: BodyModel, i: int, owners: dict[int, str], hidden: list[Coupling]):
    """The joint's SpatialTransform: rotations (body-fixed, in order), then translations (parent frame)."""
    joint, transform = model.chain.joints[i], osim.SpatialTransform()
    rot_axes, trans_axes = [], []
    for k, r in enumerate(np.flatnonzero(model.rot_joint == i)):
        c = int(model.rot_coord[r])
        name = coordinate_name(model, i, c, owners)
        if name != KINEMATIC_AXES[c]:
            hidden.append(Coupling(name, KINEMATIC_AXES[c], 1.0))
        rot_axes.append(model.chain.rot_axes[r])
        _axis(osim, transform.updTransformAxis(k), name, rot_axes[-1], osim.LinearFunction(model.rot_gain[r], 0.0))
    for k, (axis, c) in enumerate(joint.translations):
        trans_axes.append(joint.rest.T @ axis)  # the joint frame carries the rest orientation
        _axis(osim, transform.updTransformAxis(3 + k), KINEMATIC_AXES[c], trans_axes[-1], osim.LinearFunction(1.0, 0.0))
    for k, axis in enumerate(_complete(rot_axes), start=len(rot_axes)):
        _axis(osim, transform.updTransformAxis(k), None, axis, osim.Constant(0.0))
    for k, axis in enumerate(_complete(trans_axes), start=3 + len(trans_axes)):
        _axis(osim, transform.updTransformAxis(k), None, axis, osim.Constant(0.0))
    return transform


def _axis(osim, transform_axis, coordinate: str | None, axis: np.ndarray, function) -> None:
    names = osim.ArrayStr()
    if coordinate is not None:
        names.append(coordinate)
    transform_axis.setCoordinateNames(names)
    transform_axis.setAxis(_vec(osim, axis))
    transform_axis.set_function(function)  # set_function copies (setFunction would take a Python temporary)


def _complete(axes: list[np.ndarray]) -> list[np.ndarray]:
    """Unit axes completing ``axes`` (0-3 of them) to three independent directions."""
    basis = [a / np.linalg.norm(a) for a in axes]
    for candidate in np.eye(3):
        if len(basis) == 3:
            break
        v = candidate - sum((candidate @ b) * b for b in basis)
        if np.linalg.norm(v) > 1e-6:
            basis.append(v / np.linalg.norm(v))
    return basis[len(axes):]


def _coupler(osim, c: Coupling):
    """``dependent = linear * independent + quadratic * independent^2`` in OpenSim's units (rad, m)."""
    to_dep = 1.0 if c.dependent in TRANSLATIONS else np.pi / 180.0  # internal units per spine3d unit
    to_ind = 1.0 if c.independent in TRANSLATIONS else np.pi / 180.0
    a, b = c.linear * to_dep / to_ind, c.quadratic * to_dep / to_ind ** 2
    constraint = osim.CoordinateCouplerConstraint()
    constraint.setName(f"{c.dependent}_coupler")
    names = osim.ArrayStr()
    names.append(c.independent)
    constraint.setIndependentCoordinateNames(names)
    constraint.setDependentCoordinateName(c.dependent)
    if b == 0.0:
        constraint.setFunction(osim.LinearFunction(a, 0.0))
    else:
        coefficients = osim.Vector(3, 0.0)
        coefficients.set(0, b)  # highest power first: b x^2 + a x + 0
        coefficients.set(1, a)
        constraint.setFunction(osim.PolynomialFunction(coefficients))
    return constraint


def _set_coordinates(out, par: Parametrisation | None, couplings: tuple[Coupling, ...]) -> None:
    """Ranges (clamped for the solved coordinates with bounds), locks of held coordinates, defaults."""
    ranges = dict(zip(KINEMATIC_AXES, coordinate_ranges()))
    dependents = {c.dependent: c.independent for c in couplings}
    coordinates = out.getCoordinateSet()
    for k in range(coordinates.getSize()):
        coordinate = coordinates.get(k)
        name = dependents.get(coordinate.getName(), coordinate.getName()) if coordinate.getName() not in ranges \
            else coordinate.getName()
        unit = 1.0 if name in TRANSLATIONS else np.pi / 180.0
        lo, hi = ranges[name]
        if not np.isfinite(lo):
            lo, hi = _FREE_RANGE["translation" if name in TRANSLATIONS else "rotation"]
        else:
            lo, hi = lo * unit, hi * unit
        coordinate.setRangeMin(float(lo))
        coordinate.setRangeMax(float(hi))
        if par is not None and coordinate.getName() in par.names:
            j = par.names.index(coordinate.getName())
            if np.isfinite(par.lower[j]):
                coordinate.setRangeMin(float(par.lower[j] * unit))
                coordinate.setRangeMax(float(par.upper[j] * unit))
                coordinate.setDefaultClamped(True)
        if par is not None and coordinate.getName() in par.held:
            coordinate.setDefaultValue(float(par.fixed[KINEMATIC_AXES.index(coordinate.getName())] * unit))
            coordinate.setDefaultLocked(True)


def _mass(body: str) -> tuple:
    """(mass kg, centre of mass, inertia) of a body, rough (see the module docstring)."""
    import opensim as osim

    key = next(k for k in (body, body.rsplit("_", 1)[0], body[:4], body[:1]) if k in _MASS_FRACTION)
    mass = 70.0 * _MASS_FRACTION[key]
    inertia = mass * 0.05 ** 2  # a 5 cm radius of gyration
    return mass, osim.Vec3(0), osim.Inertia(inertia, inertia, inertia)


def _vec(osim, v) -> Any:
    return osim.Vec3(*(float(x) for x in v))
