"""SIMSPINE HDF5: write/read round trips, the Y-up file frame, schema violations, pickling."""

from __future__ import annotations

import multiprocessing
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spine3d.errors import InputError
from spine3d.formats.simspine_h5 import (
    ACTIONS,
    KINEMATIC_AXES,
    RigArrays,
    SimSpineH5,
    SimSpineSequence,
    write_simspine_h5,
)
from spine3d.skeletons import SIMSPINE_15, SIMSPINE_37

SEED = 20240611


def make_rig(rng: np.random.Generator, views: int = 4) -> RigArrays:
    K = np.tile(np.array([[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]]), (views, 1, 1))
    R = Rotation.random(views, random_state=rng.integers(1 << 31)).as_matrix()
    return RigArrays([f"cam_{i:02d}" for i in range(1, views + 1)], K, rng.normal(0, 0.01, (views, 5)), R,
                     rng.normal(0, 3, (views, 3)), np.tile([1000.0, 1002.0], (views, 1)))


def make_sequence(rng, subject: str, action: str, frames: int, markers: int = 15, dtype=np.float64):
    return SimSpineSequence(subject, action, rng.normal(0, 0.15, (frames, markers, 3)).astype(dtype),  # body-sized, m
                            rng.normal(0, 30, (frames, len(KINEMATIC_AXES))), np.arange(frames) / 50.0)


@pytest.fixture()
def tiny(tmp_path: Path):
    """A file with two subjects (S1 train, S9 test) and three trials, plus what was written."""
    rng = np.random.default_rng(SEED)
    seqs = [make_sequence(rng, "S1", "Walking 1", 30), make_sequence(rng, "S1", "Directions", 7),
            make_sequence(rng, "S9", "Sitting 2", 12)]
    rigs = {"S1": make_rig(rng), "S9": make_rig(rng, views=2)}
    path = tmp_path / "simspine.h5"
    write_simspine_h5(path, iter(seqs), rigs, SIMSPINE_15.names)
    return path, seqs, rigs


def test_constants():
    assert len(KINEMATIC_AXES) == 62 and len(set(KINEMATIC_AXES)) == 62
    assert KINEMATIC_AXES[0] == "pelvis_tilt" and KINEMATIC_AXES[-1] == "wrist_dev_l"
    assert len(ACTIONS) == 15


def test_round_trip(tiny):
    path, seqs, rigs = tiny
    with SimSpineH5(path) as h5:
        assert h5.subjects == ["S1", "S9"]
        assert h5.actions("S1") == ["Directions", "Walking 1"]
        assert h5.skeleton is SIMSPINE_15 and h5.marker_names == list(SIMSPINE_15.names)
        assert len(h5) == 3
        for seq in seqs:
            got = h5.sequence(seq.subject, seq.action)
            np.testing.assert_array_equal(got.markers, seq.markers)
            np.testing.assert_array_equal(got.kinematics, seq.kinematics)
            np.testing.assert_array_equal(got.timestamps, seq.timestamps)
            assert got.fps == pytest.approx(50.0)
        for subject, rig in rigs.items():
            got = h5.calibration(subject)
            assert got.names == rig.names
            for key in ("K", "dist", "R", "t", "size"):
                np.testing.assert_array_equal(getattr(got, key), getattr(rig, key))
        assert sorted((s.subject, s.action) for s in h5) == sorted((s.subject, s.action) for s in seqs)
        assert h5.num_frames("S1", "Walking 1") == 30
        window = h5.sequence("S1", "Walking 1", frames=slice(10, 25))
        np.testing.assert_array_equal(window.markers, seqs[0].markers[10:25])
        np.testing.assert_array_equal(window.kinematics, seqs[0].kinematics[10:25])
        np.testing.assert_array_equal(window.timestamps, seqs[0].timestamps[10:25])


def test_file_frame_is_y_up(tmp_path):
    """A world point (x, y, z) Z-up is stored as (y, z, x): the height is the file's second axis."""
    world = np.zeros((2, 15, 3))
    world[:, :, :] = [0.1, 0.2, 1.7]
    seq = SimSpineSequence("S1", "Posing", world, np.zeros((2, 62)), np.array([0.0, 0.02]))
    path = tmp_path / "f.h5"
    write_simspine_h5(path, [seq], {"S1": make_rig(np.random.default_rng(0))}, SIMSPINE_15.names)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["S1/Posing/markers"][0, 0], [0.2, 1.7, 0.1])
        assert [n.decode() for n in f["metadata/kinematic_axes"][()]] == list(KINEMATIC_AXES)


def test_streaming_writer_chunks_float32_and_37_markers(tmp_path):
    rng = np.random.default_rng(SEED)
    consumed = []

    def gen():
        for i in range(3):
            consumed.append(i)
            yield make_sequence(rng, "S5", f"Eating {i}", 2500, markers=37, dtype=np.float32)

    path = tmp_path / "big.h5"
    write_simspine_h5(path, gen(), {"S5": make_rig(rng)}, SIMSPINE_37.names, chunk_frames=1000)
    assert consumed == [0, 1, 2]
    with h5py.File(path, "r") as f:
        ds = f["S5/Eating 1/markers"]
        assert ds.chunks == (1000, 37, 3) and ds.compression == "gzip" and ds.dtype == np.float32
    h5 = SimSpineH5(path)
    assert h5.skeleton is SIMSPINE_37 and h5.split("train") == [("S5", f"Eating {i}") for i in range(3)]
    assert h5.split("test") == []
    assert h5.sequence("S5", "Eating 2").markers.dtype == np.float32


def test_split(tiny):
    h5 = SimSpineH5(tiny[0])
    assert h5.split("train") == [("S1", "Directions"), ("S1", "Walking 1")]
    assert h5.split("test") == [("S9", "Sitting 2")]
    with pytest.raises(InputError, match="unknown split"):
        h5.split("val")
    with pytest.raises(InputError, match="no subject 'S2'"):
        h5.actions("S2")
    with pytest.raises(InputError, match="no action 'Walking'"):
        h5.sequence("S1", "Walking")


def test_writer_is_atomic(tiny):
    path, seqs, rigs = tiny
    before = path.read_bytes()

    def broken():
        yield seqs[0]
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError):
        write_simspine_h5(path, broken(), rigs, SIMSPINE_15.names)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_writer_rejects_bad_sequences(tmp_path):
    rng = np.random.default_rng(1)
    rigs = {"S1": make_rig(rng)}
    bad_shape = make_sequence(rng, "S1", "Eating", 5, markers=14)
    with pytest.raises(InputError, match=r"markers has shape \(5, 14, 3\), expected \(5, 15, 3\)"):
        write_simspine_h5(tmp_path / "a.h5", [bad_shape], rigs, SIMSPINE_15.names)
    with pytest.raises(InputError, match="no calibration"):
        write_simspine_h5(tmp_path / "a.h5", [make_sequence(rng, "S7", "Eating", 5)], rigs, SIMSPINE_15.names)
    with pytest.raises(InputError, match="given twice"):
        write_simspine_h5(tmp_path / "a.h5", [make_sequence(rng, "S1", "Eating", 5)] * 2, rigs, SIMSPINE_15.names)
    with pytest.raises(InputError, match="62"):
        write_simspine_h5(tmp_path / "a.h5", [], rigs, SIMSPINE_15.names, kinematic_axes=KINEMATIC_AXES[:61])
    assert not list(tmp_path.iterdir())


def _mutate(path: Path, edit) -> Path:
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _replace(f: h5py.File, key: str, value) -> None:
    del f[key]
    f[key] = value


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda f: f.__delitem__("metadata/markers_names"), "missing dataset metadata/markers_names"),
        (lambda f: f.__delitem__("metadata/kinematic_axes"), "missing dataset metadata/kinematic_axes"),
        (lambda f: _replace(f, "metadata/kinematic_axes", np.array([a.encode() for a in KINEMATIC_AXES[:61]])),
         "holds 61 names, expected the 62"),
        (lambda f: _replace(f, "metadata/markers_names", np.array([b"Hip", b"Tail"] + [n.encode() for n in
                                                                   SIMSPINE_15.names[2:]])),
         r"unknown markers \['Tail'\]"),
        (lambda f: _replace(f, "S1/Directions/markers", np.zeros((7, 14, 3))),
         r"S1/Directions/markers has shape \(7, 14, 3\), expected \(7, 15, 3\)"),
        (lambda f: _replace(f, "S1/Directions/kinematics", np.zeros((6, 62))),
         r"S1/Directions/kinematics has shape \(6, 62\), expected \(7, 62\)"),
        (lambda f: f.__delitem__("S9/Sitting 2/timestamps"), "S9/Sitting 2 lacks timestamps"),
        (lambda f: f.__delitem__("S1/calibration/dist"), "S1/calibration lacks dist"),
        (lambda f: _replace(f, "S1/calibration/t", np.zeros((4, 3, 1))),
         r"S1/calibration/t has shape \(4, 3, 1\), expected \(4, 3\)"),
        (lambda f: _replace(f, "S9/calibration/R", np.ones((2, 3, 3))), "not a stack of rotation matrices"),
        (lambda f: _replace(f, "S9/calibration/K", np.full((2, 3, 3), np.nan)), "non-finite"),
    ],
)
def test_schema_violations_name_the_file(tiny, edit, message):
    path = _mutate(tiny[0], edit)
    with pytest.raises(InputError, match=message) as err:
        SimSpineH5(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_not_hdf5(tmp_path):
    path = tmp_path / "x.h5"
    path.write_text("hello")
    with pytest.raises(InputError, match="not a readable HDF5"):
        SimSpineH5(path)
    with pytest.raises(FileNotFoundError):
        SimSpineH5(tmp_path / "missing.h5")


def test_markers_in_nonstandard_order_are_reordered(tiny):
    path, seqs, _ = tiny
    perm = np.random.default_rng(3).permutation(15)
    with h5py.File(path, "r+") as f:
        _replace(f, "metadata/markers_names", np.array([SIMSPINE_15.names[i].encode() for i in perm]))
        for seq in seqs:
            key = f"{seq.subject}/{seq.action}/markers"
            _replace(f, key, f[key][()][:, perm])
    h5 = SimSpineH5(path)
    np.testing.assert_array_equal(h5.sequence("S1", "Walking 1").markers, seqs[0].markers)


_INHERITED: SimSpineH5 | None = None  # set before forking: workers inherit it (with the parent's open handle)


def _read_pickled(args):
    h5, subject, action = args
    return h5.sequence(subject, action).markers


def _read_inherited(key):
    assert _INHERITED is not None
    return _INHERITED.sequence(*key).markers, _INHERITED._pid


def test_pickle_and_forked_workers(tiny):
    path, seqs, _ = tiny
    h5 = SimSpineH5(path)
    h5.sequence("S1", "Directions")  # the parent holds an open handle before pickling / forking
    clone = pickle.loads(pickle.dumps(h5))
    assert clone._file is None and clone.subjects == h5.subjects
    np.testing.assert_array_equal(clone.sequence("S9", "Sitting 2").markers, seqs[2].markers)
    global _INHERITED
    _INHERITED = h5
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        pickled = pool.map(_read_pickled, [(h5, s.subject, s.action) for s in seqs])
        inherited = pool.map(_read_inherited, [(s.subject, s.action) for s in seqs])
    _INHERITED = None
    for got, (got_inherited, pid), seq in zip(pickled, inherited, seqs):
        np.testing.assert_array_equal(got, seq.markers)
        np.testing.assert_array_equal(got_inherited, seq.markers)
        assert pid != h5._pid  # each worker opened its own handle
    h5.close()
    assert h5._file is None
