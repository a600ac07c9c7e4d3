"""``spine3d benchmark --quick`` end to end: report tables, JSON, figures, and bad --data."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from spine3d.cli.main import main
from spine3d.benchmark.report import FIGURES
from spine3d.triangulation.methods import METHODS


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert main(["benchmark", "--quick", "--out", str(out)]) == 0
    return out


def test_report_has_every_table(quick_report):
    text = (quick_report / "report.md").read_text()
    for heading in ("## Multi-view triangulation", "### Robustness", "## Inverse kinematics of the triangulated markers",
                    "## Monocular lifting", "### Per action", "### Per joint", "### Sagittal spine angles",
                    "## Figures"):
        assert heading in text, heading
    for row in ("GT 2D (oracle) | DLT", f"Detected 2D | {METHODS['ransac'].label}", "GT 2D (oracle) | yes",
                "Detected 2D | no"):
        assert row in text, row


def test_report_json_numbers_match_markdown(quick_report):
    doc = json.loads((quick_report / "report.json").read_text())
    mv = doc["multiview"]["results"]
    oracle = mv["gt"][METHODS["ransac"].label]["overall"]["mpjpe"]["full"]
    assert oracle < 0.1  # exact 2D with the exact camera model: sub-0.1 mm
    detected = mv["detected"]["DLT"]["overall"]["mpjpe"]["spine"]
    assert f"{detected:.2f}" in (quick_report / "report.md").read_text()
    mono = doc["monocular"]["results"]
    assert set(mono) == {"gt", "detected"} and set(mono["gt"]) == {"plain", "flip_tta"}
    assert np.isfinite(mono["detected"]["flip_tta"]["overall"]["p_mpjpe"]["spine"])
    ratios = doc["multiview"]["outliers"]["ratios"]
    curve = doc["multiview"]["outliers"]["mpjpe_full_mm"]["DLT"]
    assert len(curve) == len(ratios) and curve[-1] > curve[0]  # plain DLT degrades with outliers


def test_inverse_kinematics_section(quick_report):
    """Angles scored in degrees; the model's virtual markers bend the spine closer to the truth than the raw
    triangulated markers do (per-level sagittal angles, RMS over every test frame)."""
    kin = json.loads((quick_report / "report.json").read_text())["kinematics"]
    assert kin["frames"] > 0 and np.isfinite(kin["groups"]["lumbar"]["rms"])
    assert "knee_angle_r" in kin["held"]  # 15 spine markers: no leg is seen
    raw = np.mean([v["raw"] for v in kin["sagittal"].values()])
    ik = np.mean([v["ik"] for v in kin["sagittal"].values()])
    assert ik < raw


def test_figures_are_nonempty_images(quick_report):
    doc = json.loads((quick_report / "report.json").read_text())
    assert set(FIGURES) <= set(doc["figures"])
    for name, rel in doc["figures"].items():
        image = cv2.imread(str(quick_report / rel))
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 100, name
        assert image.std() > 5, f"{name} looks blank"
        assert f"]({rel})" in (quick_report / "report.md").read_text()


def test_data_not_simspine_fails_cleanly(tmp_path, capsys):
    bogus = tmp_path / "notes.h5"
    bogus.write_bytes(b"this is not HDF5")
    assert main(["benchmark", "--data", str(bogus), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(bogus) in err and len(err.splitlines()) == 1


def test_data_missing_file(tmp_path, capsys):
    assert main(["benchmark", "--data", str(tmp_path / "nope.h5"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.h5" in capsys.readouterr().err


def test_data_hdf5_without_simspine_schema(tmp_path, capsys):
    import h5py

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["poses"] = np.zeros((10, 17, 3))
    assert main(["benchmark", "--data", str(other), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(other) in err and "metadata" in err and len(err.splitlines()) == 1


def test_h36m_merge_scores_37_keypoints(quick_report, tmp_path):
    """--h36m: the merged 37-keypoint skeleton (limbs from Human3.6M, no eyes/ears/toes/heels)."""
    data = quick_report / "data"
    out = tmp_path / "b37"
    assert main(["benchmark", "--quick", "--data", str(data), "--h36m", str(data / "h36m" / "data_3d_h36m.npz"),
                 "--skip-monocular", "--out", str(out)]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["header"]["skeleton"] == "simspine37"
    result = doc["multiview"]["results"]["gt"]["DLT"]
    assert result["overall"]["mpjpe"]["body"] < 0.1  # limbs reconstructed exactly from exact 2D
    assert result["per_joint"]["LHeel"]["mpjpe"] is None  # missing in Human3.6M: never invented
