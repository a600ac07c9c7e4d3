"""``spine3d train`` / ``lift`` / ``export-onnx`` end to end through ``spine3d.cli.main.main``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spine3d.lifting.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from spine3d.data.source import SequenceSource
from spine3d.lifting.infer import lift_sequence
from spine3d.lifting.normalize import make_inputs
from spine3d.cli.main import main
from spine3d.formats.opensim import read_trc

TINY = Path(__file__).resolve().parents[1] / "configs" / "lifting" / "tiny.yaml"


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Path]:
    """A tiny synthetic dataset and a 1-epoch run of the shipped tiny config, trained through the CLI."""
    from spine3d.data.synth import generate_dataset

    root = tmp_path_factory.mktemp("cli")
    data = generate_dataset(root / "data", subjects=["S1", "S9"], seconds_per_action=2, actions=["Walking", "Sitting"])
    out = root / "run"
    assert main(["train", "--config", str(TINY), "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--no-progress"]) == 0
    return {"root": root, "data": data, "config": TINY, "out": out}


def test_train_writes_the_run_folder(run):
    out = run["out"]
    for name in ("best.pt", "last.pt", "metrics.csv", "config.yaml", "eval.json"):
        assert (out / name).is_file(), name
    assert any((out / "tensorboard").glob("events.out.tfevents.*"))
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 1 and float(rows[0]["test_p_mpjpe_spine"]) > 0
    report = json.loads((out / "eval.json").read_text())
    assert set(report) == {"plain", "flip_tta"}
    logged = float(rows[0]["test_p_mpjpe_spine"])
    assert report["plain"]["overall"]["p_mpjpe"]["spine"] == pytest.approx(logged, rel=1e-4)
    assert set(report["plain"]["per_action"]) == {"Walking", "Sitting"}
    ckpt = read_checkpoint(out / "last.pt")
    assert ckpt["epoch"] == 1 and ckpt["skeleton"] == "simspine15" and ckpt["model_kind"] == "transformer"
    assert {"optimizer", "scheduler", "scaler", "rng", "spine3d_version", "joint_names"} <= set(ckpt)


def test_train_refuses_to_overwrite_then_resumes(run, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--config", str(run["config"]), "--data", str(run["data"]), "--out", str(out), "--no-progress",
            "--eval-every", "0"]
    assert main([*args, "--resume"]) == 2
    assert "no last.pt to continue from" in capsys.readouterr().err
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "1"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    assert [r["epoch"] for r in csv.DictReader(open(out / "metrics.csv"))] == ["1", "2"]
    assert not (out / "best.pt").exists() and (out / "eval.json").is_file()  # no test scores: last.pt evaluated


def _test_keypoints(data: Path) -> tuple[np.ndarray, np.ndarray]:
    source = SequenceSource(data, "simspine15")
    camera = source.cameras("S9")[0]
    return camera.project(source.world("S9", "Walking")), np.asarray(camera.size, dtype=float)


def test_lift_npz_to_npz_and_trc(run, tmp_path):
    uv, size = _test_keypoints(run["data"])
    np.savez(tmp_path / "kp.npz", keypoints=uv, image_size=size)
    ckpt = run["out"] / "best.pt"
    assert main(["lift", "--checkpoint", str(ckpt), "--input", str(tmp_path / "kp.npz"), "--out",
                 str(tmp_path / "out.npz"), "--flip-tta", "--trc", str(tmp_path / "out.trc"), "--fps", "50"]) == 0
    result = np.load(tmp_path / "out.npz")
    model, cfg, skeleton = load_checkpoint(ckpt)
    expected = lift_sequence(model, make_inputs(uv, None, size), cfg.data.frames, True, skeleton)
    np.testing.assert_allclose(result["points"], expected, atol=1e-4)
    assert result["points"].shape == (len(uv), 15, 3) and list(result["joint_names"]) == list(skeleton.names)
    assert (str(result["frame"]), str(result["unit"]), bool(result["root_relative"])) == ("camera", "mm", True)
    world, names, fps = read_trc(tmp_path / "out.trc")
    trc_columns = world[..., [1, 2, 0]] * 1000.0  # back to the file's X, Y, Z in mm
    p = result["points"]
    np.testing.assert_allclose(trc_columns, np.stack([p[..., 0], -p[..., 1], -p[..., 2]], -1), atol=1e-3)
    assert names == list(skeleton.names) and fps == 50


def test_lift_errors_are_one_line(run, tmp_path, capsys):
    uv, size = _test_keypoints(run["data"])
    np.savez(tmp_path / "bad.npz", keypoints=uv[:, :14], image_size=size)
    ckpt = str(run["out"] / "best.pt")
    out = str(tmp_path / "o.npz")
    assert main(["lift", "--checkpoint", ckpt, "--input", str(tmp_path / "bad.npz"), "--out", out]) == 2
    err = capsys.readouterr().err
    assert "bad.npz: 14 keypoints per person fit no known layout" in err and err.count("\n") == 1
    np.savez(tmp_path / "nan.npz", keypoints=np.full_like(uv, np.nan), image_size=size)
    assert main(["lift", "--checkpoint", ckpt, "--input", str(tmp_path / "nan.npz"), "--out", out]) == 2
    assert "nothing to lift" in capsys.readouterr().err
    payload = read_checkpoint(ckpt)
    payload["config"]["model"]["depth"] += 1
    save_checkpoint(tmp_path / "other.pt", payload)
    np.savez(tmp_path / "kp.npz", keypoints=uv, image_size=size)
    assert main(["lift", "--checkpoint", str(tmp_path / "other.pt"), "--input", str(tmp_path / "kp.npz"), "--out",
                 str(tmp_path / "o.npz")]) == 2
    assert "other.pt: weights do not match the stored config" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def test_export_onnx_matches_pytorch(run, tmp_path, capsys):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    ckpt = run["out"] / "best.pt"
    assert main(["export-onnx", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.onnx")]) == 0
    assert "max |difference|" in capsys.readouterr().out
    model, cfg, skeleton = load_checkpoint(ckpt)
    uv, size = _test_keypoints(run["data"])
    f = cfg.data.frames
    x = make_inputs(uv[: 3 * f], None, size).reshape(3, f, 15, 3)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"keypoints_2d": x})
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, ref - ref[:, :, :1], atol=1e-4, rtol=0)
