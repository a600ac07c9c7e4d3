"""OpenPose JSON detections: one file per frame, ``people[i].pose_keypoints_2d`` = flat x, y, conf.

Conventions of the arrays returned here: pixel coordinates (origin top-left); a keypoint that was
not detected (OpenPose writes 0, 0, 0) has x = y = NaN and confidence 0; rows or people that do
not exist (a missing frame file, fewer people than the frame with most) look the same.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from spine3d.errors import InputError

logger = logging.getLogger(__name__)

_FRAME_NUMBER = re.compile(r"(\d+)\D*$")  # the last integer of the file stem


@dataclass
class OpenPoseSequence:
    """Detections of one camera.

    Attributes:
        people: (T, P, J, 3) x px, y px, confidence; x = y = NaN, conf = 0 where missing.
        frame_numbers: (T,) int, consecutive: row t is frame ``frame_numbers[0] + t``.
        files: (T,) the file read for each row, None for rows inserted for a missing frame.
        folder: the folder read (None for sequences built otherwise).
    """

    people: np.ndarray
    frame_numbers: np.ndarray
    files: list[Path | None]
    folder: Path | None = None

    @property
    def num_frames(self) -> int:
        return self.people.shape[0]

    @property
    def num_people(self) -> int:
        return self.people.shape[1]

    @property
    def num_joints(self) -> int:
        return self.people.shape[2]


def _person_array(flat: Sequence[float], path) -> np.ndarray:
    """Flat [x0, y0, c0, x1, ...] -> (J, 3); 0,0,0 (or non-finite x, y) -> NaN, NaN, 0."""
    try:
        values = np.asarray(flat, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("pose_keypoints_2d holds something other than numbers", path) from None
    if values.ndim != 1 or len(values) % 3:
        raise InputError(f"pose_keypoints_2d holds {values.size} numbers, not a multiple of 3 (x, y, conf)", path)
    person = values.reshape(-1, 3)
    if (person[:, 2] < 0).any():
        raise InputError(f"negative confidence {person[:, 2].min():g} (confidences are in [0, 1])", path)
    missing = (person == 0).all(axis=1) | ~np.isfinite(person[:, :2]).all(axis=1)
    person[missing] = (np.nan, np.nan, 0.0)
    person[~np.isfinite(person[:, 2]), 2] = 0.0
    return person


def _parse_frame(path: Path, strict: bool = False) -> list[np.ndarray] | None:
    """People of one file; None when the file is not readable JSON (logged), InputError instead if ``strict``."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if strict:
            raise InputError(f"not readable OpenPose JSON ({exc})", path) from None
        logger.warning("%s: not readable OpenPose JSON (%s); no people", path, exc)
        return None
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        if strict:
            raise InputError("no 'people' list (expected OpenPose JSON: {\"people\": [{\"pose_keypoints_2d\": "
                             "[x, y, c, ...]}]})", path)
        logger.warning("%s: no 'people' list; no people", path)
        return None
    out = []
    for i, entry in enumerate(people):
        flat = entry.get("pose_keypoints_2d") if isinstance(entry, dict) else None
        if not flat:
            logger.warning("%s: person %d has no pose_keypoints_2d; skipped", path, i)
            continue
        out.append(_person_array(flat, path))
    return out


def read_openpose_frame(path: str | os.PathLike) -> list[np.ndarray]:
    """People detected in one OpenPose JSON file, each (J, 3) x px, y px, conf (see module doc).

    An empty or invalid file logs a warning and gives no people.
    """
    people = _parse_frame(Path(path))
    return [] if people is None else people


def frame_number(path: str | os.PathLike) -> int | None:
    """Trailing integer of the file name: ``cam01.0012.json`` and ``x_000000000012_keypoints.json`` -> 12."""
    name = Path(path).name
    stem = name[: -len(".json")] if name.lower().endswith(".json") else Path(path).stem
    match = _FRAME_NUMBER.search(stem)
    return None if match is None else int(match.group(1))


def _numbered_files(folder: Path) -> tuple[list[Path], np.ndarray]:
    files = [p for p in folder.iterdir() if p.suffix.lower() == ".json" and p.is_file()]
    if not files:
        raise InputError("no .json files", folder)
    numbers = [frame_number(p) for p in files]
    if all(n is None for n in numbers):
        files.sort()
        logger.warning("%s: no frame numbers in the file names; frames taken in name order", folder)
        return files, np.arange(len(files))
    if None in numbers:
        bad = files[numbers.index(None)]
        raise InputError(f"cannot read a frame number from {bad.name} (other files have one)", folder)
    order = np.argsort(numbers, kind="stable")
    files, numbers = [files[i] for i in order], np.asarray(numbers)[order]
    dup = np.flatnonzero(np.diff(numbers) == 0)
    if len(dup):
        raise InputError(f"{files[dup[0]].name} and {files[dup[0] + 1].name} are both frame {numbers[dup[0]]}",
                         folder)
    return files, numbers


def read_openpose_folder(folder: str | os.PathLike, num_joints: int | None = None,
                         strict: bool = False) -> OpenPoseSequence:
    """Read a folder of per-frame OpenPose JSON files of one camera.

    Args:
        folder: folder of ``*.json`` files whose names end with the frame number.
        num_joints: expected J (default: taken from the first person found).
        strict: raise InputError naming the file for an unreadable file or one without a ``people``
            list (default: such a file logs a warning and counts as a frame with no people).

    Returns:
        OpenPoseSequence; frames missing from the numbering become NaN rows (with a warning).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    files, numbers = _numbered_files(folder)
    frames = [_parse_frame(p, strict) for p in files]
    if all(f is None for f in frames):
        raise InputError(f"none of the {len(files)} .json files is readable OpenPose JSON", folder)
    frames = [f or [] for f in frames]
    j = num_joints
    origin = "" if num_joints is not None else " (as in the other files)"
    for path, people in zip(files, frames):
        for person in people:
            j = len(person) if j is None else j
            if len(person) != j:
                raise InputError(f"{len(person)} keypoints per person, expected {j}{origin}", path)
    if j is None:
        raise InputError("no person detected in any file; pass num_joints to read an empty camera", folder)
    p = max(1, max(len(f) for f in frames))
    first = int(numbers[0])
    people = np.full((int(numbers[-1]) - first + 1, p, j, 3), np.nan)
    people[..., 2] = 0.0
    rows: list[Path | None] = [None] * len(people)
    for path, number, persons in zip(files, numbers, frames):
        if persons:
            people[number - first, : len(persons)] = np.stack(persons)
        rows[number - first] = path
    gaps = len(people) - len(files)
    if gaps:
        logger.warning("%s: %d frame numbers missing between %d and %d; NaN rows inserted", folder, gaps, first,
                       numbers[-1])
    return OpenPoseSequence(people, np.arange(first, first + len(people)), rows, folder)


def align_sequences(sequences: Sequence[OpenPoseSequence]) -> list[OpenPoseSequence]:
    """Re-index sequences onto the union of their frame ranges (NaN rows where a camera lacks a frame)."""
    first = min(int(s.frame_numbers[0]) for s in sequences)
    last = max(int(s.frame_numbers[-1]) for s in sequences)
    out = []
    for seq in sequences:
        start = int(seq.frame_numbers[0]) - first
        if start or len(seq.frame_numbers) != last - first + 1:
            logger.warning("%s: frames %d-%d, the other cameras span %d-%d; NaN rows added", seq.folder,
                           seq.frame_numbers[0], seq.frame_numbers[-1], first, last)
        people = np.full((last - first + 1, *seq.people.shape[1:]), np.nan)
        people[..., 2] = 0.0
        people[start: start + seq.num_frames] = seq.people
        files: list[Path | None] = [None] * len(people)
        files[start: start + seq.num_frames] = seq.files
        out.append(OpenPoseSequence(people, np.arange(first, last + 1), files, seq.folder))
    return out


def read_openpose_folders(
    folders: Sequence[str | os.PathLike], num_joints: int | None = None
) -> list[OpenPoseSequence]:
    """Read one folder per camera and align them on frame numbers (same T and frame_numbers for all)."""
    if not folders:
        raise InputError("no OpenPose folders given")
    sequences = [read_openpose_folder(f, num_joints) for f in folders]
    joints = {s.num_joints for s in sequences}
    if len(joints) > 1:
        counts = ", ".join(f"{s.folder}: {s.num_joints}" for s in sequences)
        raise InputError(f"cameras disagree on the number of keypoints ({counts})")
    return align_sequences(sequences)
