"""Distributions of evaluation metrics over MIDI folders, folders overlaid for comparison."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musicgen._figure import DPI, new_figure, png_bytes
from musicgen._files import atomic_write_bytes
from musicgen.errors import UsageError


def _metric_values(report: dict, metric: str) -> np.ndarray:
    vals = [f.get(metric) for f in report.get("files", []) if f.get("error") is None]
    return np.asarray([v for v in vals if v is not None and np.isfinite(v)], dtype=np.float64)


def _view_range(values: np.ndarray) -> tuple[float, float, bool]:
    """(low, high, clipped): the values' range, or their 5th-95th percentile range when a few outliers
    stretch the range more than threefold (the outliers then pile up in the edge bins)."""
    lo, hi = float(values.min()), float(values.max())
    q_lo, q_hi = (float(x) for x in np.percentile(values, [5, 95]))
    if q_hi > q_lo and hi - lo > 3 * (q_hi - q_lo):
        return q_lo, q_hi, True
    return lo, hi, False


def _bins(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Shared bin edges over [lo, hi] (default: the values' range): whole numbers get one bin each (up to
    40 of them), others up to 20 equal bins."""
    lo = float(values.min()) if lo is None else lo
    hi = float(values.max()) if hi is None else hi
    if np.all(values == np.round(values)) and hi - lo <= 40:
        return np.arange(np.floor(lo) - 0.5, np.ceil(hi) + 1.5, 1.0)
    if hi - lo < 1e-12:
        return np.array([lo - 0.5, hi + 0.5]) if lo == 0 else np.array([lo * 0.95, hi * 1.05 + 1e-12])
    n = int(np.clip(np.sqrt(values.size) * 2, 6, 20))
    return np.linspace(lo, hi, n + 1)


def metrics_figure(reports: Sequence[tuple[str, dict]], metrics: Sequence[str] | None = None, columns: int = 4):
    """The figure of :func:`plot_metrics` (a matplotlib ``Figure``).

    Raises:
        as :func:`plot_metrics`.
    """
    from matplotlib.patches import Patch

    from musicgen.evaluate import METRICS

    if not reports:
        raise UsageError("no report to plot")
    if metrics is None:
        metrics = list(reports[0][1].get("summary", {}).keys()) or list(METRICS)
    metrics = [m for m in metrics if any(_metric_values(r, m).size for _, r in reports)]
    if not metrics:
        raise UsageError("nothing to plot: no file of the report(s) could be evaluated")
    cols = max(1, min(columns, len(metrics)))
    rows = int(np.ceil(len(metrics) / cols))
    height = 2.45 * rows + 1.1
    fig = new_figure(3.4 * cols, height)
    top = 1 - 1.0 / height
    gs = fig.add_gridspec(rows, cols, left=0.05, right=0.985, bottom=0.06, top=top - 0.02, hspace=0.7, wspace=0.28)
    colours = ("#2f5d9e", "#e07b39", "#3a9e5b", "#9e3a8c")
    for k, m in enumerate(metrics):
        ax = fig.add_subplot(gs[k // cols, k % cols])
        per = [_metric_values(r, m) for _, r in reports]
        allv = np.concatenate([v for v in per if v.size])
        lo, hi, clipped = _view_range(allv)
        edges = _bins(allv, lo, hi)
        for i, v in enumerate(per):
            if not v.size:
                continue
            c = colours[i % len(colours)]
            mean = float(v.mean())
            v = np.clip(v, edges[0] + 1e-12, edges[-1] - 1e-12) if clipped else v
            w = np.full(v.size, 100.0 / v.size)
            ax.hist(v, bins=edges, weights=w, color=c, alpha=0.38 if len(reports) > 1 else 0.7, histtype="stepfilled")
            ax.hist(v, bins=edges, weights=w, color=c, histtype="step", lw=1.3)
            if edges[0] <= mean <= edges[-1]:
                ax.axvline(mean, color=c, ls="--", lw=1.1)
        unit = METRICS[m][0] if m in METRICS else ("rule score" if m.startswith("rule_") else "R_F")
        ax.set_title(f"{m}  [{unit}]" + ("\n(outliers in the edge bins)" if clipped else ""), fontsize=9.5)
        ax.tick_params(labelsize=7.5)
        if k % cols == 0:
            ax.set_ylabel("% of files", fontsize=8)
        for s in ("top", "right"):
            ax.spines[s].set_visible(False)
    handles = []
    for i, (name, r) in enumerate(reports):
        n = sum(1 for f in r.get("files", []) if f.get("error") is None)
        handles.append(
            Patch(facecolor=colours[i % len(colours)], alpha=0.6, label=f"{name} ({n} files; dashed line = mean)")
        )
    title = "Metric distributions: " + " vs ".join(name for name, _ in reports)
    fig.text(0.05, 1 - 0.12 / height, title, fontsize=13, fontweight="bold", ha="left", va="top")
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.045, 1 - 0.42 / height),
        ncol=len(handles),
        frameon=False,
        fontsize=9.5,
    )
    return fig


def plot_metrics(
    reports: Sequence[tuple[str, dict]],
    path: str | os.PathLike,
    *,
    metrics: Sequence[str] | None = None,
    dpi: int = DPI,
    force: bool = False,
) -> Path:
    """Draw the distribution of each metric over one or more evaluated folders, one small panel per
    metric, folders overlaid on the same bins (y: percent of each folder's files, so folders of different
    sizes compare), with each folder's mean as a dashed line.

    Args:
        reports: (name for the legend, report of :func:`musicgen.evaluate.evaluate_paths`) per folder.
        path: the PNG file to write.
        metrics: the metric columns to draw (default: every column of the first report's summary; columns
            without a value in any report are left out).
        dpi: dots per inch.
        force: replace an existing file.

    Returns:
        the path written.

    Raises:
        UsageError: no report, nothing to plot, ``path`` exists without ``force`` or its folder is missing.
    """
    from musicgen._files import check_writable

    check_writable(path, force)
    return atomic_write_bytes(path, png_bytes(metrics_figure(reports, metrics), dpi), force)
