"""Atomic file output: write to a temporary file beside the target, then rename over it.

A crash (or Ctrl-C) mid-write never leaves a truncated file where a good one was expected.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed to ``path``.

    The parent folder is created when missing. The temporary file keeps the target's suffix so
    libraries that dispatch on the extension (numpy, h5py, matplotlib, OpenCV) behave the same, and
    carries the writing process's id: temporary files of the same target left by a process that no
    longer runs (killed with ``kill -9`` mid-write) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes the file private; give it the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of ``path`` (see :func:`atomic_path`) whose writer no longer runs."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.stem)}.*.tmp{glob.escape(path.suffix)}"):
        pid = tmp.name[len(path.stem) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's live process
        return True
    return True


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_ready(value: Any) -> Any:
    """``value`` as strict JSON data: numpy scalars and arrays as Python numbers and lists, NaN and
    infinity as null, tuples as lists, other objects as their text (recursively)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
        return json_ready(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def write_json_atomic(path: str | os.PathLike, value: Any, indent: int = 1) -> None:
    """Write ``value`` as strict JSON (:func:`json_ready`) to ``path`` atomically."""
    write_text_atomic(path, json.dumps(json_ready(value), indent=indent, allow_nan=False) + "\n")
