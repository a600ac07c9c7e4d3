"""OpenSim TRC and MOT files: exact round trips, the Y-up file frame, NaN as empty fields, parsing."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.errors import InputError
from spine3d.formats.opensim import read_mot, read_mot_header, read_trc, write_mot, write_trc

SEED = 7
NAMES = ["Hip", "Neck", "Head"]


def _points(dtype=np.float64, frames: int = 40) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    return (rng.normal(0, 1, (frames, len(NAMES), 3)) * [0.3, 0.3, 1.0] + [0, 0, 1]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trc_round_trip_exact(tmp_path, dtype):
    points = _points(dtype)
    points[3, 1] = np.nan  # a missing marker
    path = tmp_path / "a.trc"
    write_trc(path, points, NAMES, fps=60.0)
    got, names, fps = read_trc(path)
    assert names == NAMES and fps == 60.0 and got.shape == points.shape
    np.testing.assert_array_equal(got.astype(dtype), points)  # NaN positions equal too


def test_trc_layout_y_up_and_empty_fields(tmp_path):
    points = np.zeros((2, 3, 3))
    points[:, 0] = [0.25, -0.5, 1.75]  # world x, y, z (z up)
    points[1, 2] = np.nan
    path = tmp_path / "b.trc"
    write_trc(path, points, NAMES, fps=50)
    lines = path.read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t")))
    assert header["NumFrames"] == "2" and header["NumMarkers"] == "3" and header["Units"] == "m"
    assert float(header["DataRate"]) == 50.0
    assert [n for n in lines[3].split("\t") if n] == ["Frame#", "Time", *NAMES]
    assert lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"]
    first = lines[6].split("\t")
    assert first[0] == "1" and float(first[1]) == 0.0
    assert [float(v) for v in first[2:5]] == [-0.5, 1.75, 0.25]  # TRC = world[..., [1, 2, 0]]: Y is height
    second = lines[7].split("\t")
    assert second[0] == "2" and float(second[1]) == pytest.approx(0.02)
    assert second[8:11] == ["", "", ""] and len(second) == 11


def test_trc_millimetres(tmp_path):
    points = _points()
    path = tmp_path / "mm.trc"
    write_trc(path, points, NAMES, fps=100, units="mm")
    row = np.array(path.read_text().splitlines()[6].split("\t")[2:], dtype=float)
    np.testing.assert_allclose(row, points[0][:, [1, 2, 0]].ravel() * 1000, rtol=1e-15)
    got, _, _ = read_trc(path)
    np.testing.assert_allclose(got, points, rtol=1e-14, atol=1e-15)


def test_read_pose2sim_style_trc(tmp_path):
    """No blank line after the header, mm units, trailing empty fields cut off, CRLF line ends."""
    text = (
        "PathFileType\t4\t(X/Y/Z)\tdemo.trc\r\n"
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\r\n"
        "30\t30\t2\t2\tmm\t30\t0\t2\r\n"
        "Frame#\tTime\tA\t\t\tB\t\t\t\r\n"
        "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\r\n"
        "0\t0.0\t100\t1700\t-200\t1\t2\t3\r\n"
        "1\t0.033\t110\t1710\t-210\r\n"
    )
    path = tmp_path / "p.trc"
    path.write_bytes(text.encode())
    points, names, fps = read_trc(path)
    assert names == ["A", "B"] and fps == 30.0
    np.testing.assert_allclose(points[0, 0], [-0.2, 0.1, 1.7])  # world = trc[..., [2, 0, 1]]
    np.testing.assert_allclose(points[0, 1], [0.003, 0.001, 0.002])
    assert np.isnan(points[1, 1]).all()


@pytest.mark.parametrize(
    "text, message",
    [
        ("hello\n", "not a TRC file"),
        ("PathFileType\t4\n DataRate\tNumMarkers\tUnits\n30\t1\tinch\nFrame#\tTime\tA\n\n", "unknown units 'inch'"),
        ("PathFileType\t4\nDataRate\tNumMarkers\tUnits\n30\t2\tm\nFrame#\tTime\tA\n\t\tX1\n1\t0\t1\t2\t3\n",
         "NumMarkers says 2"),
        ("PathFileType\t4\nDataRate\tNumMarkers\tUnits\n30\t1\tm\nFrame#\tTime\tA\n\t\tX1\n1\t0\t1\t2\t3\t4\n",
         "has 6 fields, expected 5"),
        ("PathFileType\t4\nDataRate\tNumMarkers\tUnits\n30\t1\tm\nFrame#\tTime\tA\n\t\tX1\n1\t0\t1\tx\t3\n",
         "non-numeric"),
    ],
)
def test_trc_errors_name_the_file(tmp_path, text, message):
    path = tmp_path / "bad.trc"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        read_trc(path)
    assert str(path) in str(err.value)


def test_write_trc_checks_shape(tmp_path):
    with pytest.raises(InputError, match=r"\(T, 3, 3\)"):
        write_trc(tmp_path / "x.trc", np.zeros((4, 2, 3)), NAMES, fps=30)


def test_mot_round_trip(tmp_path):
    rng = np.random.default_rng(SEED)
    values = rng.normal(0, 40, (25, 4))
    values[2, 3] = np.nan
    names = ["pelvis_tilt", "pelvis_tx", "knee_angle_r", "neck_flexion"]
    path = tmp_path / "ik.mot"
    write_mot(path, values, names, 50.0)
    times, got, got_names = read_mot(path)
    assert got_names == names
    np.testing.assert_array_equal(got, values)
    np.testing.assert_array_equal(times, np.arange(25) / 50.0)
    header = read_mot_header(path)
    assert header["inDegrees"] == "yes" and header["nRows"] == "25" and header["nColumns"] == "5"
    lines = path.read_text().splitlines()
    assert lines[lines.index("endheader") + 1] == "time\t" + "\t".join(names)


def test_mot_times_and_radians(tmp_path):
    times = np.array([0.0, 0.1, 0.25])
    values = np.ones((3, 1), dtype=np.float32) / 3
    path = tmp_path / "r.sto"
    write_mot(path, values, ["a"], times=times, in_degrees=False)
    got_times, got, _ = read_mot(path)
    np.testing.assert_array_equal(got_times, times)
    np.testing.assert_array_equal(got.astype(np.float32), values)
    assert read_mot_header(path)["inDegrees"] == "no"
    write_mot(path, values, ["a"], times)  # an array in the fps slot is taken as times
    np.testing.assert_array_equal(read_mot(path)[0], times)
    with pytest.raises(InputError, match="exactly one of fps and times"):
        write_mot(path, values, ["a"])
    with pytest.raises(InputError, match=r"shape \(T, 2\)"):
        write_mot(path, values, ["a", "b"], 50)


def test_read_opensim_written_mot(tmp_path):
    """The header OpenSim's IK tool writes, with whitespace-padded numbers."""
    text = (
        "Coordinates\nversion=1\nnRows=2\nnColumns=3\ninDegrees=yes\n\n"
        "Units are S.I. units (second, meters, Newtons, ...)\n"
        "If the header above contains a line with 'inDegrees', this indicates whether rotational values are in "
        "degrees (yes) or radians (no).\n\nendheader\n"
        "time\tpelvis_tilt\tpelvis_tx\n"
        "      0.00000000\t     -3.50000000\t      0.12500000\n"
        "      0.01000000\t     -3.25000000\t      0.13000000\n"
    )
    path = tmp_path / "ik.mot"
    path.write_text(text)
    times, values, names = read_mot(path)
    assert names == ["pelvis_tilt", "pelvis_tx"]
    np.testing.assert_array_equal(times, [0.0, 0.01])
    np.testing.assert_array_equal(values, [[-3.5, 0.125], [-3.25, 0.13]])
    path.write_text(text.replace("nColumns=3", "nColumns=4"))
    with pytest.raises(InputError, match="nColumns says 4"):
        read_mot(path)
    path.write_text("time\ta\n0\t1\n")
    with pytest.raises(InputError, match="no 'endheader'"):
        read_mot(path)


def test_trc_values_are_checked_against_the_header_unit(tmp_path, caplog):
    """SIMSPINE's pipeline writes 'Units mm' over values in metres: refused by default, read as metres with
    units='auto' (warned) or units='m'; a right header reads silently."""
    person = np.random.default_rng(2).normal([0.0, 0.0, 1.0], [0.2, 0.2, 0.5], (6, 15, 3))  # m, about 1.7 m tall
    names = [f"m{i}" for i in range(15)]
    write_trc(tmp_path / "right.trc", person, names, 50.0, units="mm")
    np.testing.assert_allclose(read_trc(tmp_path / "right.trc")[0], person, atol=1e-9)
    write_trc(tmp_path / "quirk.trc", person / 1000.0, names, 50.0, units="mm")  # metres under a mm header
    with pytest.raises(InputError, match="header says Units mm.*look like metres"):
        read_trc(tmp_path / "quirk.trc")
    with caplog.at_level("WARNING"):
        np.testing.assert_allclose(read_trc(tmp_path / "quirk.trc", units="auto")[0], person, atol=1e-9)
    assert "read as m" in caplog.text
    np.testing.assert_allclose(read_trc(tmp_path / "quirk.trc", units="m")[0], person, atol=1e-9)
    write_trc(tmp_path / "mm_as_m.trc", person * 1000.0, names, 50.0, units="m")  # millimetres under a m header
    with pytest.raises(InputError, match="look like millimetres"):
        read_trc(tmp_path / "mm_as_m.trc")
