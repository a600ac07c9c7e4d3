"""The ``spine3d`` entry point: help, version, subcommand discovery, error handling."""

from __future__ import annotations

import subprocess
import sys

import pytest

from spine3d import __version__
from spine3d.cli import main as cli


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    out = capsys.readouterr().out
    assert "usage: spine3d" in out


def test_every_listed_command_has_help(capsys):
    names = [name for name, _, _ in cli.available_commands()]
    assert {"synth", "calibrate", "triangulate", "train", "lift", "benchmark", "visualize"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as info:
            cli.main([name, "--help"])
        assert info.value.code == 0, name
        assert f"spine3d {name}" in capsys.readouterr().out


def test_console_script_runs(tmp_path):
    # cwd away from the checkout: its spine3d/ folder would shadow the installed package
    out = subprocess.run([sys.executable, "-m", "spine3d.cli.main", "--help"], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert "triangulate" in out and "benchmark" in out
