"""Per-epoch training logs: ``metrics.csv`` (rewritten atomically each epoch) and TensorBoard scalars.

TensorBoard is optional: without the ``tensorboard`` package only the CSV is written (one log line
says so). On resume the CSV keeps the rows of the epochs the checkpoint contains and drops any row
a killed run wrote after its last checkpoint.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path
from typing import Any

from spine3d.io import write_text_atomic

logger = logging.getLogger(__name__)


class RunLog:
    """Append one row per epoch to ``out/metrics.csv`` and ``out/tensorboard``.

    Args:
        out: run folder.
        resume_epoch: completed epochs of the checkpoint being resumed (rows with a larger
            ``epoch`` are dropped); None starts a new log.
        tensorboard: also write TensorBoard event files when the package is installed.
    """

    def __init__(self, out: Path, resume_epoch: int | None = None, tensorboard: bool = True) -> None:
        self.path = Path(out) / "metrics.csv"
        self.rows: list[dict[str, Any]] = []
        if resume_epoch is not None and self.path.is_file():
            with open(self.path, newline="", encoding="utf-8") as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= resume_epoch]
        self.writer = _tensorboard_writer(Path(out) / "tensorboard") if tensorboard else None

    def write(self, row: dict[str, Any]) -> None:
        """Add an epoch's row (must hold ``epoch`` and ``step``) and flush both logs."""
        self.rows.append(dict(row))
        columns: list[str] = []
        for r in self.rows:
            columns += [k for k in r if k not in columns]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _fmt(v) for k, v in r.items()} for r in self.rows)
        write_text_atomic(self.path, text.getvalue())
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("epoch", "step") and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key.replace("_", "/", 1), value, global_step=int(row["step"]))
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fmt(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def _tensorboard_writer(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises ImportError when the tensorboard package is missing
        logger.info("tensorboard is not installed: logging to metrics.csv only")
        return None
    return SummaryWriter(log_dir=str(folder))
