"""SIMSPINE's raw release tree (cameras/, positions/, kinematics/, models/) read like simspine.h5, built
here the way the release lays it out, with its TRC quirk (``Units mm`` over values in metres)."""

from __future__ import annotations

import numpy as np
import pytest

from spine3d.calibration import CameraRig
from spine3d.data.source import SequenceSource, open_dataset
from spine3d.data.synth import generate_dataset
from spine3d.errors import InputError
from spine3d.formats.opensim import write_mot, write_trc
from spine3d.formats.simspine_h5 import KINEMATIC_AXES, SimSpineH5


@pytest.fixture(scope="module")
def h5_and_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    h5_folder = generate_dataset(root / "h5", subjects=("S1", "S9"), seconds_per_action=1.0, seed=3,
                                 actions=("Walking", "Sitting"))
    tree = root / "SIMSPINE"
    with SimSpineH5(h5_folder / "simspine.h5") as h5:
        for subject in h5.subjects:
            cal = h5.calibration(subject)
            rig = CameraRig.from_arrays([f"camera {i}" for i in range(len(cal.names))], cal.K, cal.dist, cal.R,
                                        cal.t, cal.size)
            (tree / "cameras").mkdir(parents=True, exist_ok=True)
            CameraRig(rig.cameras, keys=tuple(cal.names)).to_toml(tree / "cameras" / f"Calib_{subject}.toml")
            for action in h5.actions(subject):
                seq = h5.sequence(subject, action)
                stem = f"{subject}_{action}"
                # the release's quirk: a "Units mm" header over values in metres
                write_trc(tree / "positions" / subject / f"{stem}.trc", seq.markers / 1000.0, h5.marker_names,
                          seq.fps, units="mm")
                write_mot(tree / "kinematics" / subject / stem / f"{stem}.mot", seq.kinematics[:-2], KINEMATIC_AXES,
                          times=seq.timestamps[:-2])  # a shorter IK: rows are cut to the shorter file
                (tree / "kinematics" / subject / stem / "_ik_marker_errors.sto").write_text("ignored\n")
        (tree / "models").mkdir()
    return h5_folder, tree


def test_tree_reads_like_the_hdf5(h5_and_tree, caplog):
    h5_folder, tree = h5_and_tree
    with caplog.at_level("WARNING"):
        from_tree, from_h5 = SequenceSource(tree, "simspine15"), SequenceSource(h5_folder, "simspine15")
    assert from_tree.sequences("train") == from_h5.sequences("train") == [("S1", "Sitting"), ("S1", "Walking")]
    assert from_tree.sequences("test") == from_h5.sequences("test")
    world = from_tree.world("S9", "Walking")
    np.testing.assert_allclose(world, from_h5.world("S9", "Walking")[:-2], atol=1e-9)
    assert "header says Units mm" in caplog.text  # read as metres, with a warning naming the file
    seq, ref = from_tree.dataset.sequence("S1", "Sitting"), from_h5.dataset.sequence("S1", "Sitting")
    np.testing.assert_allclose(seq.kinematics, ref.kinematics[:-2], atol=1e-9)
    np.testing.assert_allclose(seq.timestamps, ref.timestamps[:-2], atol=1e-12)
    tree_rig, h5_rig = from_tree.cameras("S9"), from_h5.cameras("S9")
    assert tree_rig.names == h5_rig.names  # cameras named by their section keys, as the release's writer does
    np.testing.assert_allclose(tree_rig.project(world[:3]), h5_rig.project(world[:3]), atol=1e-9)


def test_incomplete_trials_and_foreign_folders(h5_and_tree, tmp_path):
    _, tree = h5_and_tree
    dataset = open_dataset(tree)
    assert len(dataset) == 4 and dataset.skeleton.name == "simspine15"
    with pytest.raises(InputError, match="no SIMSPINE dataset here"):
        open_dataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path / "missing")
    bad = tmp_path / "bad"
    for folder in ("cameras", "positions/S1", "kinematics"):
        (bad / folder).mkdir(parents=True)
    (bad / "positions" / "S1" / "S1_Walking.trc").write_text("x")
    with pytest.raises(InputError, match="no subject with a calibration, markers and kinematics"):
        open_dataset(bad)
