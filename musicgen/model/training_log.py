"""The CSV logs of a training run (one row per iteration) and their plot.

``vq_log.csv`` has :data:`VQ_LOG_COLUMNS`, ``train_log.csv`` (the GAN stage) :data:`LOG_COLUMNS`. Rows
are flushed as they are written, so a crash keeps what was logged, and a resumed run rewrites the log up
to its checkpoint before appending.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from musicgen._files import atomic_write_bytes, atomic_write_text

#: Columns of the GAN log: losses and terms of the generator's objective (see
#: :class:`musicgen.model.config.TrainConfig`), discriminator outputs, and validation figures (filled every
#: ``val_every`` iterations, carried forward in between).
LOG_COLUMNS = (
    "iteration",
    "d_loss",
    "g_loss",
    "g_adv",
    "rule_soft",
    "rule_hard",
    "l1",
    "mode",
    "density_pair",
    "density_line",
    "scale",
    "leap",
    "mode_seeking_ratio",
    "mode_contrast_gap",
    "npb_gap",
    "d_real",
    "d_fake",
    "pce_batch",
    "val_pce",
    "val_pce_gap",
    "val_rule",
    "val_nn_rhythm",
    "val_distinct",
    "val_mode_ok",
    "val_dense_pairs",
    "seconds",
)
#: Columns of the VQ-VAE log.
VQ_LOG_COLUMNS = ("iteration", "ce", "commit", "batch_perplexity", "lr", "seconds")


def read_log(path: str | Path, upto: int = 1 << 62) -> list[dict]:
    """The rows (dicts of strings) of a log with ``iteration`` ≤ ``upto``; [] when there is no file."""
    p = Path(path)
    if not p.is_file():
        return []
    with open(p, newline="") as f:
        return [r for r in csv.DictReader(f) if int(r["iteration"]) <= upto]


class CsvLog:
    """Appends rows to a CSV log, flushing each one.

    Args:
        path: the log file (rewritten with ``rows`` first).
        columns: the header.
        rows: rows to keep from before (a resumed run's log up to its checkpoint).
    """

    def __init__(self, path: str | Path, columns, rows: list[dict] | None = None):
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows or []:
            w.writerow(r)
        atomic_write_text(Path(path), buf.getvalue(), force=True)
        self._f = open(path, "a", newline="")
        self._w = csv.DictWriter(self._f, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")

    def write(self, row: dict) -> None:
        """Append one row (floats to 6 significant digits)."""
        self._w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self._f.flush()

    def close(self) -> None:
        """Close the file."""
        self._f.close()


def plot_log(log_path: str | Path, png_path: str | Path) -> Path | None:
    """Plot a GAN training log to a PNG: losses; the rule reward; validation PCE against the valid split's;
    the control probe (diversity, mode and density shares). Returns None when there is nothing to plot."""
    from musicgen._figure import new_figure, png_bytes

    rows = read_log(log_path)
    if not rows:
        return None

    def col(name):
        return np.asarray([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])

    it = col("iteration")
    fig = new_figure(9, 11)
    ax = fig.subplots(4, 1, sharex=True)
    for name in ("d_loss", "g_adv", "l1"):
        ax[0].plot(it, col(name), label=name, lw=0.8)
    ax[0].set_ylabel("loss")
    ax[0].legend(loc="upper right")
    for name in ("rule_soft", "rule_hard", "val_rule"):
        ax[1].plot(it, col(name), label=name, lw=0.8)
    ax[1].set_ylabel("R_F")
    ax[1].legend(loc="lower right")
    ax[2].plot(it, col("pce_batch"), label="PCE (batch)", lw=0.6, alpha=0.6)
    ax[2].plot(it, col("val_pce"), label="validation PCE", lw=0.9)
    ax[2].plot(it, col("val_pce") - col("val_pce_gap"), label="valid split PCE", lw=0.9, ls="--")
    ax[2].set_ylabel("bits")
    ax[2].legend(loc="lower right")
    for name in ("val_nn_rhythm", "val_distinct", "val_mode_ok", "val_dense_pairs"):
        ax[3].plot(it, col(name), label=name.replace("val_", ""), lw=0.9)
    ax[3].set_ylabel("control probe")
    ax[3].set_ylim(-0.02, 1.02)
    ax[3].set_xlabel("GAN iteration")
    ax[3].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return atomic_write_bytes(Path(png_path), png_bytes(fig, 90), force=True)


__all__ = ["LOG_COLUMNS", "VQ_LOG_COLUMNS", "CsvLog", "plot_log", "read_log"]
