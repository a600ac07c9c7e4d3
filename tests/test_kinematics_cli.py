"""``spine3d kinematics`` end to end: the shared balancing trial, synthetic trials, lifted input, a folder
of trials that trains a lifter, the OpenSim backend, and the missing-OpenSim exit."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pytest

from spine3d.cli.main import main
from spine3d.data.synth import generate as gen
from spine3d.data.synth.body import subject_dims
from spine3d.biomechanics.model import BodyModel
from spine3d.data.synth.coordinates import TRANSLATIONS
from spine3d.formats.opensim import read_mot, read_mot_header, write_trc
from spine3d.triangulation.status import trusted
from spine3d.formats.simspine_h5 import KINEMATIC_AXES, SimSpineH5
from spine3d.skeletons import BODY_25B, SIMSPINE_15, SIMSPINE_37

LEVELS = ("L5_S1", "L4_L5", "L3_L4", "L2_L3", "L1_L2", "L1_T12")


@pytest.fixture(scope="module")
def osim():
    return pytest.importorskip("opensim", reason="OpenSim is an optional extra: pip install -e '.[biomech]'")


def _synthetic_trc(path: Path, subject: str, action: str, seconds: float, names=SIMSPINE_37.names,
                   noise: float = 0.005, seed: int = 0) -> np.ndarray:
    """A TRC of the body's markers for a synthetic trial (+ Gaussian noise, m); returns the true (T, 62)."""
    seq, _ = gen.synthesize_sequence(subject, action, seconds, seed=0)
    q = seq.kinematics.astype(np.float64)
    markers = BodyModel(subject_dims(subject, 0), names).world_markers(q)
    markers += np.random.default_rng(seed).normal(0, noise, markers.shape)
    write_trc(path, markers, names, 50.0)
    return q


@pytest.fixture(scope="module")
def balancing(shared_data, osim, tmp_path_factory):
    trial = shared_data / "pose2sim_balancing"
    work = tmp_path_factory.mktemp("balancing")
    assert main(["triangulate", "--calib", str(trial / "Calib.toml"), "--detections", str(trial / "pose-associated"),
                 "--skeleton", "body25b", "--fps", "60", "--out", str(work / "bal.npz"), "--no-progress"]) == 0
    assert main(["kinematics", "--markers", str(work / "bal.npz"), "--out", str(work / "kin"),
                 "--calib", str(trial / "Calib.toml"), "--no-progress"]) == 0
    return work


def test_balancing_trial_writes_every_output(balancing, osim):
    out = balancing / "kin"
    for name in ("kinematics.mot", "model.osim", "simspine.h5", "report.md", "report.json", "lumbar_angles.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    times, values, names = read_mot(out / "kinematics.mot")
    assert names == list(KINEMATIC_AXES) and values.shape == (100, 62) and read_mot_header(out / "kinematics.mot")[
        "inDegrees"] == "yes"
    np.testing.assert_allclose(np.diff(times), 1 / 60, atol=1e-9)
    with SimSpineH5(out / "simspine.h5") as f:
        seq = f.sequence("S1", "bal")
        assert f.marker_names == list(SIMSPINE_37.names) and seq.markers.shape == (100, 37, 3)
        np.testing.assert_allclose(seq.kinematics, values, atol=1e-4)  # float32 storage
        assert f.calibration("S1").names == ["cam_01", "cam_02", "cam_03", "cam_04"]
    report = json.loads((out / "report.json").read_text())
    assert report["header"]["input"].startswith(str(balancing / "bal.npz")) and "body25b" in report["header"]["input"]
    assert "pro_sup_r" in report["held"] and "L5_S1_Flex_Ext" in report["solved"]


def test_balancing_marker_errors_match_opensim_on_the_written_files(balancing, osim):
    """Independent check: OpenSim loads model.osim, takes the .mot's coordinates, and puts the markers at the
    distances from the triangulated points that the report states."""
    out = balancing / "kin"
    model = osim.Model(str(out / "model.osim"))
    state = model.initSystem()
    _, q, _ = read_mot(out / "kinematics.mot")
    data = np.load(balancing / "bal.npz")
    points, names = data["points"], [str(n) for n in data["joint_names"]]
    report = json.loads((out / "report.json").read_text())
    coordinates, markers = model.getCoordinateSet(), model.getMarkerSet()
    for t in (0, 37, 99):  # three frames through OpenSim's API
        for k in range(coordinates.getSize()):
            c = coordinates.get(k)
            axis = next(a for a in sorted(KINEMATIC_AXES, key=len, reverse=True) if c.getName().startswith(a))
            v = q[t, KINEMATIC_AXES.index(axis)]
            c.setValue(state, float(v if axis in TRANSLATIONS else np.deg2rad(v)), False)
        model.realizePosition(state)
        errors = []
        for j, name in enumerate(names):
            if np.isfinite(points[t, j]).all() and trusted(data["status"][t, j]):
                y_up = markers.get(name).getLocationInGround(state)
                errors.append(np.linalg.norm(np.array([y_up.get(i) for i in range(3)]) - points[t, j, [1, 2, 0]]))
        assert np.sqrt(np.mean(np.square(errors))) * 1000 == pytest.approx(report["per_frame_rms_mm"][t], abs=0.01)


@pytest.mark.slow
def test_synthetic_folder_trains_a_lifter(osim, tmp_path):
    """Two subjects (S1 train, S9 test) through a 2-process pool: gathered simspine.h5 trains `spine3d train`."""
    truth = {}
    for subject in ("S1", "S9"):
        (tmp_path / "in" / subject).mkdir(parents=True)
        truth[subject] = _synthetic_trc(tmp_path / "in" / subject / "sit.trc", subject, "SittingDown", 4.0)
    out = tmp_path / "out"
    assert main(["kinematics", "--markers", str(tmp_path / "in"), "--out", str(out), "--jobs", "2",
                 "--no-progress"]) == 0
    with SimSpineH5(out / "simspine.h5") as f:
        assert f.subjects == ["S1", "S9"] and f.split("test") == [("S9", "sit")]
    for subject, q in truth.items():
        _, solved, _ = read_mot(out / subject / "sit" / "kinematics.mot")
        for extra in ((), ("Abs_r3",)):  # the lumbar flexion total, and the trunk's (lumbar + thoracic)
            flexion = [KINEMATIC_AXES.index(n) for n in (*(f"{lv}_Flex_Ext" for lv in LEVELS), *extra)]
            total, true_total = solved[:, flexion].sum(1), q[:, flexion].sum(1)
            assert np.sqrt(np.mean((total - true_total) ** 2)) < true_total.std()  # beats the trial's mean pose
    run = tmp_path / "run"
    assert main(["train", "--config", "tiny", "--data", str(out), "--out", str(run), "--epochs", "1",
                 "--no-progress"]) == 0
    assert (run / "last.pt").is_file() and (run / "eval.json").is_file()


def test_lifted_input_says_pelvis_translations_mean_nothing(osim, tmp_path):
    seq, _ = gen.synthesize_sequence("S9", "Eating", 2.0, seed=0)
    world = seq.markers.astype(np.float64) - seq.markers[:, :1]  # root-relative
    camera = np.stack([world[..., 1], -world[..., 2], -world[..., 0]], axis=-1) * 1000.0  # upright -> camera, mm
    np.savez(tmp_path / "lifted.npz", points_3d=camera, joint_names=np.array(SIMSPINE_15.names),
             skeleton=np.array("simspine15"), units=np.array("mm"), frame=np.array("camera, root-relative"))
    assert main(["kinematics", "--markers", str(tmp_path / "lifted.npz"), "--out", str(tmp_path / "k"),
                 "--no-progress"]) == 0
    report = json.loads((tmp_path / "k" / "report.json").read_text())
    assert any("pelvis_tx, pelvis_ty, pelvis_tz mean nothing" in n for n in report["notes"])
    assert "knee_angle_r" in report["held"]  # 15 spine markers: the legs are not observed
    text = (tmp_path / "k" / "report.md").read_text()
    assert "mean nothing" in text


def test_opensim_backend_through_the_cli(osim, tmp_path):
    _synthetic_trc(tmp_path / "t.trc", "S5", "Directions", 0.4, names=BODY_25B.names)
    assert main(["kinematics", "--markers", str(tmp_path / "t.trc"), "--out", str(tmp_path / "o"),
                 "--backend", "opensim", "--no-progress"]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["header"]["backend"] == "opensim" and len(report["per_frame_rms_mm"]) == 20


def test_without_opensim_exits_2_with_the_install_line(tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_opensim(name, *args, **kwargs):
        if name == "opensim" or name.startswith("opensim."):
            raise ImportError("No module named 'opensim'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_opensim)
    write_trc(tmp_path / "t.trc", np.zeros((3, 25, 3)), BODY_25B.names, 50.0)
    assert main(["kinematics", "--markers", str(tmp_path / "t.trc"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install -e ".[biomech]"' in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_bad_arguments_exit_2(tmp_path, capsys):
    pytest.importorskip("opensim", reason="OpenSim is an optional extra: pip install -e '.[biomech]'")
    assert main(["kinematics", "--markers", str(tmp_path / "missing.trc"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.trc" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["kinematics", "--markers", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no .trc or .npz" in capsys.readouterr().err
