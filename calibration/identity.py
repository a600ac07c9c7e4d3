"""Camera identity: the one rule by which a label names a camera of a rig.

A label is whatever names a camera outside the calibration: a detections folder (``cam01_json``),
the camera part of a detections key (``S9/Walking 1/54138969``), an HDF5 calibration name, a TOML
section key or a ``name`` field. A label names a camera when it equals the camera's ``name`` or its
TOML section key, or else when both have the same :func:`camera_key`: Human3.6M's camera ids and
their places in the dataset's order are one camera (``54138969`` = ``cam_01`` = ``cam1`` =
``Camera01``), and a camera number keeps its identity under a suffix (``cam01_json`` = ``cam_01``).

:func:`pair_labels` orders a set of labels (e.g. one folder per camera) onto a rig with this rule,
then, failing that, by the one integer in each name, then by sorted order, and says which rule it used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

H36M_CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
PairingRule = Literal["name", "number", "sorted"]
_CAMERA_NUMBER = re.compile(r"(?:cam|camera)[ _-]?0*(\d+)(?:[ _.-].*)?", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")


def camera_key(label: str) -> str:
    """Comparison key of a camera label: ``"54138969"``, ``"cam_01"``, ``"Cam1"``, ``"cam01_json"`` ->
    ``"cam1"``; any other label lower-cased."""
    label = str(label).strip()
    if label in H36M_CAMERA_IDS:
        return f"cam{H36M_CAMERA_IDS.index(label) + 1}"
    match = _CAMERA_NUMBER.fullmatch(label)
    return f"cam{int(match.group(1))}" if match else label.lower()


def aliases(label: str) -> list[str]:
    """Other spellings of the same Human3.6M camera (id <-> ``cam_0N``), for messages; [] for others."""
    key = camera_key(label)
    ids = {f"cam{i + 1}": cid for i, cid in enumerate(H36M_CAMERA_IDS)}
    if key not in ids:
        return []
    return [name for name in (ids[key], f"cam_{key[3:]:0>2}") if name != label]


def find_camera(label: str, names: Sequence[str], keys: Sequence[str] = ()) -> int | None:
    """Index of the camera ``label`` names (module docstring), or None when none or several do.

    Args:
        label: the outside name.
        names: (C,) the cameras' ``name`` fields.
        keys: (C,) their TOML section keys ((): the names).
    """
    label = str(label).strip()
    for own in (names, keys):
        exact = [i for i, n in enumerate(own) if n == label]
        if len(exact) == 1:
            return exact[0]
    want = camera_key(label)
    found = {i for own in (names, keys) for i, n in enumerate(own) if camera_key(n) == want}
    return found.pop() if len(found) == 1 else None


def pair_labels(labels: Sequence[str], names: Sequence[str], keys: Sequence[str] = ()
                ) -> tuple[list[int], PairingRule]:
    """Index into ``labels`` for each camera, and the rule that paired them.

    "name": every label names a distinct camera (:func:`find_camera`); "number": each label and each
    camera name carries one distinct integer (the last one), the same set on both sides; "sorted":
    labels and camera names matched in sorted order. ``len(labels)`` must equal ``len(names)``.
    """
    if len(labels) != len(names):
        raise ValueError(f"{len(labels)} labels for {len(names)} cameras")
    found = [find_camera(label, names, keys) for label in labels]
    if None not in found and len(set(found)) == len(found):
        return [found.index(c) for c in range(len(names))], "name"
    label_numbers, camera_numbers = _numbers(labels), _numbers(names)
    if label_numbers is not None and camera_numbers is not None and set(label_numbers) == set(camera_numbers):
        return [label_numbers.index(n) for n in camera_numbers], "number"
    by_label = sorted(range(len(labels)), key=lambda i: labels[i])
    by_camera = sorted(range(len(names)), key=lambda i: names[i])
    order = [0] * len(names)
    for label_index, camera_index in zip(by_label, by_camera):
        order[camera_index] = label_index
    return order, "sorted"


def _numbers(names: Sequence[str]) -> list[int] | None:
    """The integer in each name (the last one if several), or None when one lacks it or they repeat."""
    found = [_NUMBER.findall(n) for n in names]
    if any(not f for f in found):
        return None
    numbers = [int(f[-1]) for f in found]
    return numbers if len(set(numbers)) == len(numbers) else None
