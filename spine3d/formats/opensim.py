"""OpenSim text files: TRC marker trajectories and MOT/STO storage tables.

TRC files are Y-up (OpenSim's frame); callers pass and receive points in the toolkit's world frame
(Z-up, metres): ``trc = world[..., [1, 2, 0]]``, ``world = trc[..., [2, 0, 1]]``. Missing markers
are written as empty fields, OpenSim's convention, and read back as NaN.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from spine3d.errors import InputError
from spine3d.formats.marker_units import (MAX_ANY_SPREAD, MAX_SPREAD, MIN_ANY_SPREAD, MIN_MARKERS_FOR_SIZE,
                                          MIN_SPREAD, marker_spread)
from spine3d.io import write_text_atomic

logger = logging.getLogger(__name__)

UNITS_PER_METRE = {"m": 1.0, "mm": 1000.0, "cm": 100.0}
_UNIT_NAMES = {"m": "metres", "mm": "millimetres", "cm": "centimetres"}
_TRC_KEYS = ("DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate", "OrigDataStartFrame",
             "OrigNumFrames")


def _format_table(table: np.ndarray, digits: int | None, nan: str) -> np.ndarray:
    """(T, N) floats -> (T, N) strings; NaN written as ``nan``.

    With ``digits=None`` the text round-trips exactly: shortest repr for float64, 9 significant
    digits for float32.
    """
    if digits is None and table.dtype == np.float64:
        text = np.array(list(map(repr, table.ravel().tolist())), dtype=str).reshape(table.shape)
    else:
        text = np.char.mod(f"%.{9 if digits is None else digits}g", table)
    text[np.isnan(table)] = nan
    return text


def _join_rows(*tables: np.ndarray) -> list[str]:
    """Tab-join (T, N_i) string tables column-wise into T lines."""
    return ["\t".join(row) for row in np.concatenate(tables, axis=1).tolist()]


def write_trc(
    path: str | os.PathLike,
    points_world: np.ndarray,
    marker_names: Sequence[str],
    fps: float,
    units: Literal["m", "mm", "cm"] = "m",
    digits: int | None = None,
) -> None:
    """Write an OpenSim TRC file.

    Args:
        path: output ``.trc`` (written atomically).
        points_world: (T, J, 3) m, world frame Z-up; NaN = missing marker.
        marker_names: (J,) names.
        fps: frame rate, Hz.
        units: length unit written in the file.
        digits: significant digits (default: exact round trip for the array's float dtype).
    """
    points = np.asarray(points_world)
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] != len(marker_names):
        raise InputError(f"points must have shape (T, {len(marker_names)}, 3), got {points.shape}", path)
    if units not in UNITS_PER_METRE:
        raise InputError(f"unknown units {units!r}; expected one of {', '.join(UNITS_PER_METRE)}", path)
    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}", path)
    t, j = points.shape[:2]
    if not np.issubdtype(points.dtype, np.floating):
        points = points.astype(np.float64)
    table = (points[..., [1, 2, 0]] * points.dtype.type(UNITS_PER_METRE[units])).reshape(t, 3 * j)
    rate = format(float(fps), ".10g")
    header = [
        f"PathFileType\t4\t(X/Y/Z)\t{Path(path).name}",
        "\t".join(_TRC_KEYS),
        f"{rate}\t{rate}\t{t}\t{j}\t{units}\t{rate}\t1\t{t}",
        "Frame#\tTime\t" + "\t\t\t".join(marker_names) + "\t\t",
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, j + 1)),
        "",
    ]
    frames = np.arange(1, t + 1).astype(str)[:, None]
    times = np.char.mod("%.6f", np.arange(t) / fps)[:, None]
    rows = _join_rows(frames, times, _format_table(table, digits, nan=""))
    write_text_atomic(path, "\n".join(header + rows) + "\n")


def read_trc(path: str | os.PathLike, units: Literal["header", "auto", "m", "mm", "cm"] = "header"
             ) -> tuple[np.ndarray, list[str], float]:
    """Read an OpenSim TRC file.

    The values are checked against the length unit they are read in: markers span between 0.03 and
    30 m per frame, whatever they are (:mod:`spine3d.formats.marker_units`). A file whose header unit disagrees
    with its values (SIMSPINE's pipeline writes ``Units mm`` over values in metres) is an InputError
    naming the unit the values look like, unless ``units`` says how to read it.

    Args:
        path: the ``.trc`` file.
        units: "header" (the file's ``Units``, checked), "auto" (the header's unit when the values fit
            it, else the unit they fit, with a warning), or a unit that overrides the header.

    Returns:
        points_world: (T, J, 3) m, world frame Z-up; empty fields are NaN.
        marker_names: (J,) names.
        fps: the file's DataRate, Hz.
    """
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        raise InputError("not a TRC file (first line should start with 'PathFileType')", path)
    header = dict(zip((k.strip() for k in lines[1].split("\t")), (v.strip() for v in lines[2].split("\t"))))
    missing = [k for k in ("DataRate", "NumMarkers", "Units") if k not in header]
    if missing:
        raise InputError(f"TRC header lacks {', '.join(missing)}", path)
    if header["Units"] not in UNITS_PER_METRE:
        raise InputError(f"unknown units {header['Units']!r}; expected one of {', '.join(UNITS_PER_METRE)}", path)
    try:
        fps, num_markers = float(header["DataRate"]), int(header["NumMarkers"])
    except ValueError as exc:
        raise InputError(f"bad TRC header values ({exc})", path) from exc
    names = [n.strip() for n in lines[3].split("\t")[2:] if n.strip()]
    if len(names) != num_markers:
        raise InputError(f"header names {len(names)} markers, NumMarkers says {num_markers}", path)
    table = _parse_table([ln for ln in lines[5:] if ln.strip()], 2 + 3 * num_markers, path)
    if "NumFrames" in header and header["NumFrames"] != str(len(table)):
        logger.warning("%s: NumFrames says %s, the file has %d rows", path, header["NumFrames"], len(table))
    raw = table[:, 2:].reshape(len(table), num_markers, 3)
    unit = _trc_unit(raw, header["Units"], units, path)
    return raw[..., [2, 0, 1]] / UNITS_PER_METRE[unit], names, fps


def _trc_unit(raw: np.ndarray, stated: str, units: str, path) -> str:
    """The unit to read ``raw`` (T, J, 3) values in (see :func:`read_trc`)."""
    if units not in ("header", "auto"):
        if units not in UNITS_PER_METRE:
            raise InputError(f"unknown units {units!r}; expected one of {', '.join(UNITS_PER_METRE)}", path)
        return units
    if np.isinf(raw).any():
        raise InputError("the markers hold infinite values (use empty fields for missing markers)", path)
    spread = marker_spread(raw)  # in the file's numbers
    metres = spread / UNITS_PER_METRE[stated]
    few = raw.shape[1] < MIN_MARKERS_FOR_SIZE  # a few markers may lie close together: no lower bound
    if not np.isfinite(spread) or (MIN_ANY_SPREAD <= metres or few) and metres <= MAX_ANY_SPREAD:
        return stated
    fits = [u for u, per_metre in UNITS_PER_METRE.items() if _body_sized(spread / per_metre, raw.shape[1])]
    if units == "auto" and fits:
        logger.warning("%s: the header says Units %s, but the marker values span %.4g per frame: read as %s", path,
                       stated, spread, fits[0])
        return fits[0]
    looks = " or ".join(_UNIT_NAMES[u] for u in fits) if fits else "another unit"
    raise InputError(f"the header says Units {stated}, but the marker values span {spread:.4g} per frame "
                     f"({spread / UNITS_PER_METRE[stated]:.4g} m), which is no person; they look like {looks}: read "
                     "with units='auto' or the right unit", path)


def _body_sized(spread_m: float, markers: int) -> bool:
    """Whether a spread in metres fits one person (a lower bound only with enough markers to span a body)."""
    return spread_m <= MAX_SPREAD and (spread_m >= MIN_SPREAD or markers < MIN_MARKERS_FOR_SIZE)


def _parse_table(lines: list[str], columns: int, path) -> np.ndarray:
    """Tab-separated rows -> (T, columns) float64; empty or absent trailing fields are NaN."""
    rows = [ln.rstrip("\r\n").split("\t") for ln in lines]
    for i, row in enumerate(rows):
        extra = row[columns:]
        if any(f.strip() for f in extra):
            raise InputError(f"data row {i + 1} has {len(row)} fields, expected {columns}", path)
        rows[i] = row[:columns] + [""] * (columns - len(row))
    text = np.array(rows, dtype=str).reshape(len(rows), columns)
    text = np.char.strip(text)
    text[text == ""] = "nan"
    try:
        return text.astype(np.float64)
    except ValueError as exc:
        raise InputError(f"non-numeric data field ({exc})", path) from exc


def write_mot(
    path: str | os.PathLike,
    values: np.ndarray,
    names: Sequence[str],
    fps: float | np.ndarray | None = None,
    *,
    times: np.ndarray | None = None,
    in_degrees: bool = True,
    title: str = "Coordinates",
    digits: int | None = None,
) -> None:
    """Write an OpenSim storage file (``.mot``/``.sto``).

    Args:
        path: output file (written atomically).
        values: (T, K) one column per name (angles in degrees when ``in_degrees``, translations in m).
        names: (K,) column names (``time`` is added).
        fps: frame rate in Hz (times = arange(T) / fps), or directly the (T,) times in s.
        times: (T,) s, instead of ``fps``.
        in_degrees: value of the header's ``inDegrees`` flag.
        title: first header line.
        digits: significant digits (default: exact round trip for the array's float dtype).
    """
    values = np.asarray(values, dtype=np.result_type(np.asarray(values).dtype, np.float32))
    if values.ndim != 2 or values.shape[1] != len(names):
        raise InputError(f"values must have shape (T, {len(names)}), got {values.shape}", path)
    if fps is not None and np.ndim(fps) == 1:
        fps, times = None, fps
    if (fps is None) == (times is None):
        raise InputError("give exactly one of fps and times", path)
    t = len(values)
    times = np.arange(t) / float(fps) if times is None else np.asarray(times, dtype=np.float64)
    if times.shape != (t,):
        raise InputError(f"times must have shape ({t},), got {times.shape}", path)
    header = [title, "version=1", f"nRows={t}", f"nColumns={len(names) + 1}",
              f"inDegrees={'yes' if in_degrees else 'no'}", "endheader", "\t".join(["time", *names])]
    rows = _join_rows(_format_table(times[:, None], None, "nan"), _format_table(values, digits, "nan"))
    write_text_atomic(path, "\n".join(header + rows) + "\n")


def read_mot_header(path: str | os.PathLike) -> dict[str, str]:
    """The ``key=value`` lines above ``endheader`` (e.g. ``{"inDegrees": "yes", "nRows": "100"}``)."""
    return _split_mot(path)[0]


def _split_mot(path) -> tuple[dict[str, str], list[str]]:
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    ends = [i for i, ln in enumerate(lines) if ln.strip().lower() == "endheader"]
    if not ends:
        raise InputError("not an OpenSim storage file (no 'endheader' line)", path)
    header = dict(ln.split("=", 1) for ln in lines[: ends[0]] if "=" in ln)
    return {k.strip(): v.strip() for k, v in header.items()}, [ln for ln in lines[ends[0] + 1:] if ln.strip()]


def read_mot(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read an OpenSim storage file (``.mot``/``.sto``).

    Returns:
        times: (T,) s.
        values: (T, K) as stored (check ``read_mot_header(path)["inDegrees"]`` for the angle unit).
        names: (K,) column names, without ``time``.
    """
    header, lines = _split_mot(path)
    if not lines:
        raise InputError("no column-name line after 'endheader'", path)
    columns = lines[0].split("\t") if "\t" in lines[0] else lines[0].split()
    columns = [c.strip() for c in columns if c.strip()]
    if not columns or columns[0].lower() != "time":
        raise InputError(f"first column must be 'time', got {columns[:1]}", path)
    if "nColumns" in header and header["nColumns"] != str(len(columns)):
        raise InputError(f"nColumns says {header['nColumns']}, the column-name line has {len(columns)}", path)
    try:
        table = np.loadtxt(lines[1:], ndmin=2, dtype=np.float64).reshape(-1, len(columns))
    except ValueError as exc:
        raise InputError(f"malformed data rows ({exc})", path) from exc
    if "nRows" in header and header["nRows"] != str(len(table)):
        logger.warning("%s: nRows says %s, the file has %d rows", path, header["nRows"], len(table))
    return table[:, 0], table[:, 1:], columns[1:]
