"""The package's shape: one installed namespace, layers that only import downwards, no import cycle.

The layer contract itself is written once, in pyproject.toml ([tool.importlinter]); these tests run
it on the package as it installs, whatever the way this checkout was installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Installed package name -> its source folder, for every folder holding an __init__.py."""
    found = {}
    for name, folder in SETUPTOOLS["package-dir"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            sub = init.parent.relative_to(REPO / folder).parts
            found[".".join((name, *sub))] = init.parent
    return found


def test_every_package_folder_is_installed_under_spine3d():
    folders = _package_folders()
    assert sorted(SETUPTOOLS["packages"]) == sorted(folders)
    assert all(name == "spine3d" or name.startswith("spine3d.") for name in folders)


def test_generic_names_are_not_importable_from_elsewhere(tmp_path):
    """From another folder, only the namespaced packages import (nothing generic at the top level)."""
    code = ("import importlib.util, sys\n"
            "generic = [n for n in ('calibration', 'triangulation', 'lifting', 'evaluation', 'configs') "
            "if importlib.util.find_spec(n) is not None]\n"
            "import spine3d.calibration, spine3d.triangulation, spine3d.lifting, spine3d.evaluation\n"
            "print(generic)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _stage(root: Path) -> Path:
    """The installed layout (spine3d/calibration/..., per package-dir) as plain folders under ``root``."""
    for name, folder in SETUPTOOLS["package-dir"].items():
        target = root.joinpath(*name.split("."))
        shutil.copytree(REPO / folder, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _lint(stage: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with pyproject.toml's contracts, on the staged package."""
    cli = Path(sys.executable).with_name("lint-imports")
    command = [str(cli)] if cli.is_file() else [sys.executable, "-m", "importlinter.cli"]
    return subprocess.run([*command, "--no-cache", str(REPO / "pyproject.toml")], cwd=stage,
                          env={**os.environ, "PYTHONPATH": str(stage)}, capture_output=True, text=True)


def test_layer_contract_holds(tmp_path):
    """import-linter's contracts from pyproject.toml: layers only import downwards, no cycle anywhere."""
    out = _lint(_stage(tmp_path / "stage"))
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_layer_contract_catches_an_upward_import_and_a_cycle(tmp_path):
    """The check can fail: an import from calibration up into lifting, and a cycle inside a layer."""
    stage = _stage(tmp_path / "stage")
    with open(stage / "spine3d" / "calibration" / "camera.py", "a", encoding="utf-8") as f:
        f.write("\nfrom spine3d.lifting import config as _upward  # noqa: E402,F401\n")
    with open(stage / "spine3d" / "triangulation" / "status.py", "a", encoding="utf-8") as f:
        f.write("\nfrom spine3d.triangulation import core as _cycle  # noqa: E402,F401\n")
    out = _lint(stage)
    assert out.returncode != 0
    assert "spine3d.calibration.camera -> spine3d.lifting" in out.stdout
    assert "no import cycle between sibling modules, at any depth BROKEN" in out.stdout
