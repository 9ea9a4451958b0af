"""Classification reports for the emotion estimator: top-1, macro-F1, confusion matrix, the paper's eq. 11.

Every :class:`ClassificationReport` carries ``data``: a plain statement of what it was measured on
(e.g. "held-out synthetic (NeuroKit2 simulation, 8 simulated subjects, seed 1), all modalities").
Figures from synthetic data measure how well the model decodes the simulation's assumptions, not
how well it reads people; print them with that label, always.

The paper's eq. 11 averages the per-class one-vs-rest accuracy ``(TP_k + TN_k) / N`` over the K
classes. Because every wrong prediction is one false positive and one false negative, that average
equals ``1 − 2(1 − top1)/K`` whatever the class balance: with K = 8 it is far
more flattering than top-1 (top-1 = 50 % gives eq. 11 = 87.5 %). We report it because the paper
does, next to top-1 and macro-F1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.conditions import EMOTIONS
from musicgen.errors import UsageError


@dataclass
class ClassificationReport:
    """Scores of predicted vs true class indices.

    Attributes:
        data: what the figures were measured on (always shown with them).
        labels: class names, in index order.
        confusion: (K, K) int counts, rows = true class, columns = predicted class.
        n: number of samples.
        top1: accuracy (fraction correct).
        macro_f1: unweighted mean of per-class F1 over classes that occur in truth or predictions.
        eq11: the paper's eq. 11 (mean one-vs-rest per-class accuracy).
        precision, recall, f1: (K,) per class (0 where undefined).
    """

    data: str
    labels: tuple[str, ...]
    confusion: np.ndarray
    n: int
    top1: float
    macro_f1: float
    eq11: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    def summary(self) -> dict:
        """JSON-ready headline figures with their data label."""
        return {
            "data": self.data,
            "n": self.n,
            "top1": round(self.top1, 4),
            "macro_f1": round(self.macro_f1, 4),
            "eq11_mean_per_class_accuracy": round(self.eq11, 4),
        }

    def as_dict(self) -> dict:
        """Everything, JSON-ready."""
        return {
            **self.summary(),
            "labels": list(self.labels),
            "confusion": self.confusion.tolist(),
            "precision": self.precision.round(4).tolist(),
            "recall": self.recall.round(4).tolist(),
            "f1": self.f1.round(4).tolist(),
        }

    def headline(self) -> str:
        """One line: ``top-1 …, macro-F1 …, eq.-11 … (n=…) on <data>``."""
        return (
            f"top-1 {100 * self.top1:.2f} %, macro-F1 {100 * self.macro_f1:.2f} %, "
            f"eq.-11 mean per-class accuracy {100 * self.eq11:.2f} % (n={self.n}) — {self.data}"
        )


def confusion_matrix(y_true, y_pred, n_classes: int = len(EMOTIONS)) -> np.ndarray:
    """(K, K) counts, rows = true, columns = predicted.

    Raises:
        UsageError: lengths differ or a class index is outside ``[0, n_classes)``.
    """
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise UsageError(f"{t.size} true labels but {p.size} predictions")
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise UsageError(f"class indices must lie in [0, {n_classes})")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def eq11_accuracy(confusion: np.ndarray) -> float:
    """The paper's eq. 11: mean over classes of one-vs-rest accuracy ``(TP_k + TN_k) / N``."""
    c = np.asarray(confusion, dtype=np.float64)
    n = c.sum()
    if n == 0:
        return float("nan")
    tp = np.diag(c)
    fp = c.sum(0) - tp
    fn = c.sum(1) - tp
    tn = n - tp - fp - fn
    return float(np.mean((tp + tn) / n))


def classification_report(y_true, y_pred, data: str, labels: tuple[str, ...] = EMOTIONS) -> ClassificationReport:
    """Top-1, macro-F1, eq.-11 and the confusion matrix, labelled with ``data``.

    Raises:
        UsageError: no ``data`` label, mismatched lengths or out-of-range classes.
    """
    if not data or not data.strip():
        raise UsageError("a report must say what data it was measured on")
    k = len(labels)
    c = confusion_matrix(y_true, y_pred, k)
    n = int(c.sum())
    tp = np.diag(c).astype(np.float64)
    pred = c.sum(0).astype(np.float64)
    true = c.sum(1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(pred > 0, tp / pred, 0.0)
        recall = np.where(true > 0, tp / true, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    occurs = (pred + true) > 0
    macro = float(f1[occurs].mean()) if occurs.any() else float("nan")
    top1 = float(tp.sum() / n) if n else float("nan")
    return ClassificationReport(data, tuple(labels), c, n, top1, macro, eq11_accuracy(c), precision, recall, f1)


def report_text(report: ClassificationReport) -> str:
    """A plain-text report: headline, then the confusion matrix (rows true, columns predicted) with per-class recall/F1."""
    short = [lab[:5] for lab in report.labels]
    w = max(6, len(str(int(report.confusion.max()))) + 1 if report.confusion.size else 6)
    lines = [
        f"data: {report.data}",
        report.headline(),
        "",
        "true \\ predicted".ljust(18) + "".join(s.rjust(w) for s in short) + "  recall     F1",
    ]
    for i, lab in enumerate(report.labels):
        lines.append(
            lab.ljust(18)
            + "".join(str(int(x)).rjust(w) for x in report.confusion[i])
            + f"  {100 * report.recall[i]:5.1f} %  {100 * report.f1[i]:5.1f} %"
        )
    return "\n".join(lines)


def report_table(report: ClassificationReport):
    """The confusion matrix as a Rich table, titled with the headline and the data label."""
    from rich.table import Table

    t = Table(
        title=f"{report.headline()}",
        caption="rows: true class · columns: predicted class",
        show_lines=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    t.add_column("true \\ pred", no_wrap=True)
    for lab in report.labels:
        t.add_column(lab[:3], justify="right", no_wrap=True)
    t.add_column("recall %", justify="right", no_wrap=True)
    t.add_column("F1 %", justify="right", no_wrap=True)
    for i, lab in enumerate(report.labels):
        t.add_row(
            lab,
            *[str(int(x)) for x in report.confusion[i]],
            f"{100 * report.recall[i]:.1f}",
            f"{100 * report.f1[i]:.1f}",
        )
    return t


def confusion_png(report: ClassificationReport, path: str | Path, force: bool = False) -> Path:
    """Draw the confusion matrix (row-normalised colours, counts written in) to a PNG, atomically.

    Raises:
        OutputExistsError: the file exists and ``force`` is false.
        UsageError: the folder is missing or not writable.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from musicgen._files import atomic_write_bytes, check_writable

    check_writable(path, force)
    c = report.confusion.astype(np.float64)
    rows = c.sum(1, keepdims=True)
    frac = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    fig, ax = plt.subplots(figsize=(7.5, 6.8), dpi=110)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    k = len(report.labels)
    ax.set_xticks(range(k), report.labels, rotation=40, ha="right")
    ax.set_yticks(range(k), report.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(int(c[i, j])),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if frac[i, j] > 0.5 else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class")
    ax.set_title(
        f"top-1 {100 * report.top1:.1f} %  macro-F1 {100 * report.macro_f1:.1f} %  eq.11 {100 * report.eq11:.1f} %\n"
        f"{report.data}",
        fontsize=8,
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue(), force=force)


__all__ = [
    "ClassificationReport",
    "classification_report",
    "confusion_matrix",
    "confusion_png",
    "eq11_accuracy",
    "report_table",
    "report_text",
]
