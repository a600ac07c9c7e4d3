"""Nothing confidently wrong: each malformed or adversarial input (issue "Nothing confidently wrong",
probes 1, 2, 5, 6, 7) exits 2 with one line naming the file and the problem, through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from spine3d.calibration import h36m_rig
from spine3d.cli.main import main
from spine3d.io import atomic_path, remove_stale_temporaries

TINY = Path(__file__).resolve().parents[1] / "configs" / "lifting" / "tiny.yaml"
pytestmark = pytest.mark.usefixtures("torch_one_thread")


def one_line_error(capsys, *argv: str) -> str:
    """Run the CLI, require exit 2 and a single error line, the last thing on stderr; return that line."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and err.endswith(errors[0]) and errors[0].startswith("spine3d "), err
    return errors[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    from spine3d.data.synth import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("bad") / "data", subjects=["S1", "S9"], seconds_per_action=2,
                            actions=["Walking", "Sitting"])


@pytest.fixture()
def trial(tmp_path) -> Path:
    """A calibration and a 2-camera keypoints npz of 4 frames."""
    rig = h36m_rig("S9")
    rig.to_toml(tmp_path / "Calib.toml")
    points = np.random.default_rng(0).normal([0, 0, 1], 0.2, (4, 15, 3))
    np.savez(tmp_path / "kp.npz", keypoints=rig.project(points), skeleton=np.array("simspine15"))
    return tmp_path


def _triangulate(trial: Path, calib: Path | None = None, detections: Path | None = None) -> list[str]:
    return ["triangulate", "--calib", str(calib or trial / "Calib.toml"), "--detections",
            str(detections or trial / "kp.npz"), "--fps", "50", "--out", str(trial / "o.npz"), "--no-progress"]


# ---- probe 1: typed calibration fields --------------------------------------------------------------
@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("fisheye = false", 'fisheye = "false"', 1), 'fisheye must be true or false, got \'false\''),
    (lambda t: t.replace("[ 0.0, 0.0, 1.0]]", "[ 5.0, 3.0, 7.0]]", 1), "K must be upper-triangular with last row"),
    (lambda t: t.replace("size = [ 1000.0, 1002.0]", "size = [ -1000.0, 1002.0]", 1), "size must be positive"),
])
def test_calibration_fields_are_typed(trial, capsys, edit, message):
    text = (trial / "Calib.toml").read_text()
    edited = edit(text)
    assert edited != text
    (trial / "bad.toml").write_text(edited)
    err = one_line_error(capsys, *_triangulate(trial, calib=trial / "bad.toml"))
    assert "bad.toml" in err and message in err


def test_rotation_matrix_gets_the_rodrigues_hint(trial, capsys):
    lines = (trial / "Calib.toml").read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("rotation"))
    lines[at] = "rotation = [ [ 1.0, 0.0, 0.0], [ 0.0, 1.0, 0.0], [ 0.0, 0.0, 1.0]]"
    (trial / "bad.toml").write_text("\n".join(lines))
    err = one_line_error(capsys, *_triangulate(trial, calib=trial / "bad.toml"))
    assert "rotation must be a Rodrigues vector" in err and "3x3 matrix" in err


# ---- probe 2: one npz opener -------------------------------------------------------------------------
def _truncate(path: Path) -> Path:
    out = path.with_name("truncated.npz")
    out.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    return out


def test_corrupt_npz_in_triangulate_and_lift(trial, capsys):
    err = one_line_error(capsys, *_triangulate(trial, detections=_truncate(trial / "kp.npz")))
    assert "truncated.npz" in err and "not a readable npz" in err
    err = one_line_error(capsys, "lift", "--input", str(trial / "truncated.npz"), "--out", str(trial / "l.npz"),
                         "--checkpoint", str(trial / "none.pt"))
    assert "none.pt" in err  # the checkpoint is checked first
    (trial / "garbage.npz").write_bytes(b"PK\x03\x04" + os.urandom(200))
    err = one_line_error(capsys, *_triangulate(trial, detections=trial / "garbage.npz"))
    assert "garbage.npz" in err and "not a readable npz" in err


def test_corrupt_npz_in_benchmark(data, tmp_path, capsys):
    (tmp_path / "h36m.npz").write_bytes(b"PK\x03\x04 cut short")
    err = one_line_error(capsys, "benchmark", "--data", str(data), "--h36m", str(tmp_path / "h36m.npz"), "--out",
                         str(tmp_path / "b"), "--skip-monocular")
    assert "h36m.npz" in err and "not a readable npz" in err
    err = one_line_error(capsys, "benchmark", "--data", str(data), "--detections", str(tmp_path / "h36m.npz"),
                         "--out", str(tmp_path / "b"), "--skip-monocular")
    assert "h36m.npz" in err and "not a readable npz" in err


# ---- probe 5: training data validated before training --------------------------------------------
def _edited_copy(data: Path, tmp_path: Path, edit) -> Path:
    out = tmp_path / "edited"
    shutil.copytree(data, out)
    with h5py.File(out / "simspine.h5", "r+") as f:
        for action in ("Walking", "Sitting"):
            markers = f[f"S1/{action}/markers"]
            markers[...] = edit(markers[()])
    return out


@pytest.mark.parametrize("edit, message", [
    (lambda m: np.full_like(m, np.nan), "no finite 3D marker in the train split"),
    (lambda m: np.where(np.arange(m.shape[1])[None, :, None] == 3, np.inf, m), "S1/Sitting/markers holds infinite"),
    (lambda m: m * 1000.0, "they look like millimetres"),
])
def test_training_data_is_checked_before_training(data, tmp_path, capsys, edit, message):
    edited = _edited_copy(data, tmp_path, edit)
    err = one_line_error(capsys, "train", "--config", str(TINY), "--data", str(edited), "--out", str(tmp_path / "r"),
                         "--epochs", "1", "--no-progress")
    assert "simspine.h5" in err and message in err
    assert not (tmp_path / "r" / "last.pt").exists()


# ---- probe 6: resume on other data; no NaN in the epoch log -----------------------------------------
def test_resume_refuses_other_data_and_logs_no_nan(data, tmp_path, capsys, caplog):
    out = tmp_path / "run"
    args = ["train", "--config", str(TINY), "--out", str(out), "--no-progress", "--eval-every", "0"]
    with caplog.at_level("INFO"):
        assert main([*args, "--data", str(data), "--epochs", "1"]) == 0
    epoch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch 1/1")]
    assert epoch_lines and all("nan" not in line for line in epoch_lines)
    capsys.readouterr()
    other = _edited_copy(data, tmp_path, lambda m: m + 0.01)
    err = one_line_error(capsys, *args, "--data", str(other), "--epochs", "2", "--resume")
    assert "last.pt" in err and "trained on" in err and "another content" in err
    eval_json = json.loads((out / "eval.json").read_text())
    assert eval_json  # untouched by the refused resume


# ---- probe 7 -----------------------------------------------------------------------------------------
def test_zero_frames_negative_confidence_and_missing_paths(trial, capsys):
    np.savez(trial / "empty.npz", keypoints=np.zeros((0, 15, 3)), image_size=np.array([1000.0, 1000.0]))
    err = one_line_error(capsys, "lift", "--input", str(trial / "empty.npz"), "--out", str(trial / "l.npz"),
                         "--checkpoint", str(trial / "none.pt"))
    assert "none.pt" in err
    from spine3d.formats.keypoints_npz import read_keypoints_npz
    from spine3d.errors import InputError

    with pytest.raises(InputError, match="empty.npz.*holds no frames"):
        read_keypoints_npz(trial / "empty.npz")
    kp = np.load(trial / "kp.npz")["keypoints"]
    conf = np.full(kp.shape[:-1], 0.9)
    conf[1, 2, 3] = -0.5
    np.savez(trial / "neg.npz", keypoints=kp, confidence=conf)
    err = one_line_error(capsys, *_triangulate(trial, detections=trial / "neg.npz"))
    assert "neg.npz" in err and "negative confidence -0.5" in err
    folder = trial / "json" / "cam1"
    folder.mkdir(parents=True)
    (folder / "frame_00000.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0, 2.0, -0.2] * 17}]}))
    err = one_line_error(capsys, "lift", "--input", str(folder), "--out", str(trial / "l.npz"), "--image-size",
                         "1000", "1000", "--checkpoint", str(trial / "none.pt"))
    assert "none.pt" in err
    from spine3d.formats.openpose_json import read_openpose_folder

    with pytest.raises(InputError, match="frame_00000.json.*negative confidence -0.2"):
        read_openpose_folder(folder)
    err = one_line_error(capsys, *_triangulate(trial, detections=trial / "absent.npz"))
    assert "absent.npz" in err and "no such detections folder or file" in err


def test_benchmark_without_test_subjects(tmp_path, capsys):
    from spine3d.data.synth import generate_dataset

    only_train = generate_dataset(tmp_path / "d", subjects=["S1"], seconds_per_action=1, actions=["Walking"])
    err = one_line_error(capsys, "benchmark", "--data", str(only_train), "--out", str(tmp_path / "b"))
    assert "simspine.h5" in err and "no test sequences" in err and "S9, S11" in err


def test_visualize_names_the_file_for_an_unknown_layout(tmp_path, capsys):
    np.savez(tmp_path / "p24.npz", points=np.random.default_rng(1).normal(0, 0.3, (3, 24, 3)))
    err = one_line_error(capsys, "visualize", str(tmp_path / "p24.npz"), "--out", str(tmp_path / "v"))
    assert "p24.npz" in err and "24 keypoints per person fit no known layout" in err


def test_temporary_file_of_a_killed_writer_is_removed(tmp_path):
    """A writer killed with kill -9 mid-write leaves its temporary file; the next write removes it."""
    target = tmp_path / "last.pt"
    code = ("import os, sys\nfrom spine3d.io import atomic_path\n"
            f"with atomic_path({str(target)!r}) as tmp:\n"
            "    tmp.write_bytes(b'x' * (1 << 20))\n    os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path)  # not the checkout (shadowing)
    left = list(tmp_path.glob(".last.*.tmp.pt"))
    assert len(left) == 1 and not target.exists()
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"ok")
    assert target.read_bytes() == b"ok" and not list(tmp_path.glob(".last.*.tmp.pt"))
    assert remove_stale_temporaries(target) == []
