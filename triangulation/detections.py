"""One person's 2D detections in every camera: the input of the triangulation pipeline.

:func:`choose_person` makes it from everyone each camera detected (read by
:func:`spine3d.data.trial.read_trial`): frames where a camera saw several people keep, per camera,
the person most consistent across the views (:func:`spine3d.triangulation.people.select_person`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from spine3d.calibration import CameraRig
from spine3d.triangulation.config import PeopleOptions
from spine3d.triangulation.people import select_person


@dataclass(frozen=True, eq=False)
class Detections:
    """2D detections of one person, in the rig's camera order.

    Attributes:
        points2d: (C, T, J, 2) px (NaN = missing).
        confidence: (C, T, J) in [0, 1] (0 = missing).
        frame_numbers: (T,) int.
        sources: (C,) the folder (or npz camera index) read for each camera of the rig.
        pairing: (C,) lines "source -> camera", in rig order.
        pairing_rule: how sources were paired with cameras ("name", "number", "sorted", "npz order").
        people: summary of the person selection (empty when every frame had one person).
        chosen: (C, T) int candidate taken per camera and frame (-1 = none), or None.
    """

    points2d: np.ndarray
    confidence: np.ndarray
    frame_numbers: np.ndarray
    sources: list[str]
    pairing: list[str]
    pairing_rule: str
    people: dict = field(default_factory=dict)
    chosen: np.ndarray | None = None


class PeopleDetections(Protocol):
    """Everyone each camera detected (e.g. :class:`spine3d.data.trial.TrialDetections`).

    Attributes:
        people: (C, T, P, J, 3) u px, v px, confidence (NaN, NaN, 0 where missing).
        frame_numbers, sources, pairing, pairing_rule: as in :class:`Detections`.
    """

    people: np.ndarray
    frame_numbers: np.ndarray
    sources: list[str]
    pairing: list[str]
    pairing_rule: str


def choose_person(rig: CameraRig, trial: PeopleDetections, options: PeopleOptions = PeopleOptions(),
                  confidence_threshold: float = 0.3) -> Detections:
    """One person per frame from everyone each camera detected.

    Args:
        rig: the C cameras.
        trial: everyone each camera detected, in the rig's camera order.
        options: the person-selection settings.
        confidence_threshold: confidence below which keypoints are ignored by the selection.
    """
    people = trial.people
    labels = (trial.frame_numbers, list(trial.sources), list(trial.pairing), str(trial.pairing_rule))
    if people.shape[2] == 1:  # one person per camera and frame: nothing to choose
        return Detections(people[:, :, 0, :, :2], people[:, :, 0, :, 2], *labels)
    selection = select_person(rig, people, options.threshold, options.min_keypoints, confidence_threshold)
    summary = selection.summary() if selection.ambiguous.any() else {}
    return Detections(selection.points2d, selection.confidence, *labels, summary, selection.chosen)
