"""Shared fixtures: the read-only real data in ../shared/data, or $SPINE3D_SHARED_DATA (a checkout that
does not sit beside ../shared, e.g. a git worktree); tests needing it skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SPINE3D_SHARED_DATA") or REPO.parent / "shared" / "data")
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data; skips the test when the shared folder is not beside the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real shared data not found at {SHARED_DATA} (clone the repo next to ../shared)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def h36m_cameras_pkl(shared_data: Path) -> Path:
    path = shared_data / "h36m" / "cameras.pkl"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny models: one intra-op thread is faster, and immune to OpenMP slow-downs on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
