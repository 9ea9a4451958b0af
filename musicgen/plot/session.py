"""The timeline of a live session (``musicgen interact --plot``): what the listener's estimate did, and
what the music did in answer.

Top panel: the estimated valence and arousal over stream time (seconds), with a vertical line and the
new label wherever the estimated label changes. Bottom panel: one block per phrase, from its start in
stream time to the start of the next, labelled with its key and tempo and coloured by its mode (major
warm, minor cool), so that a reader sees whether the mode changes where the valence changes sign and
whether the tempo follows the arousal.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musicgen._figure import DPI, new_figure, png_bytes
from musicgen._files import atomic_write_bytes
from musicgen.errors import UsageError

_VALENCE, _AROUSAL = "#c62828", "#1565c0"
_MAJOR, _MINOR = "#ffcc80", "#90caf9"


def _label_changes(estimates: Sequence[dict]) -> list[tuple[float, str]]:
    out, last = [], None
    for e in estimates:
        if e.get("label") != last:
            out.append((float(e["time"]), str(e.get("label"))))
            last = e.get("label")
    return out


def session_figure(estimates: Sequence[dict], phrases: Sequence[dict], title: str = "musicgen interactive session"):
    """The figure of :func:`plot_session` (a matplotlib ``Figure``).

    Args:
        estimates: the estimate timeline, dicts with ``time`` (s), ``valence``, ``arousal``, ``label``.
        phrases: the phrases, dicts with ``stream_time`` (s), ``tempo_bpm``, ``key`` (e.g. "G minor"),
            ``label``.
        title: the figure's title.

    Raises:
        UsageError: no estimate to draw.
    """
    if not estimates:
        raise UsageError("the session has no estimate to plot")
    t = np.asarray([float(e["time"]) for e in estimates])
    v = np.asarray([float(e["valence"]) for e in estimates])
    a = np.asarray([float(e["arousal"]) for e in estimates])
    end = float(t.max())
    fig = new_figure(11.0, 5.2)
    ax, axp = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1.0], "hspace": 0.08})
    ax.axhline(0.0, color="#9e9e9e", lw=0.8)
    ax.plot(t, v, color=_VALENCE, lw=1.6, label="valence")
    ax.plot(t, a, color=_AROUSAL, lw=1.6, label="arousal")
    for x, lab in _label_changes(estimates):
        ax.axvline(x, color="#616161", lw=0.8, ls=":")
        ax.text(
            x,
            1.02,
            f" {lab}",
            rotation=0,
            fontsize=8,
            va="bottom",
            ha="left",
            color="#424242",
            transform=ax.get_xaxis_transform(),
        )
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("estimate")
    ax.legend(loc="lower left", fontsize=8, frameon=False, ncol=2)
    ax.set_title(title, fontsize=11, pad=18, loc="left", fontweight="bold")
    starts = [float(p["stream_time"]) for p in phrases]
    for i, p in enumerate(phrases):
        x0 = starts[i]
        x1 = starts[i + 1] if i + 1 < len(starts) else max(end, x0 + 1.0)
        key = str(p.get("key") or "")
        colour = _MINOR if "minor" in key else _MAJOR
        axp.axvspan(x0, x1, ymin=0.1, ymax=0.9, color=colour, alpha=0.9, lw=0)
        axp.axvline(x0, color="#424242", lw=0.8)
        axp.text(
            x0 + 0.01 * (end or 1.0),
            0.5,
            f"{i + 1}\n{key.replace(' major', '').replace(' minor', 'm')}\n{float(p['tempo_bpm']):.0f}",
            fontsize=7.5,
            va="center",
            ha="left",
            transform=axp.get_xaxis_transform(),
        )
    axp.set_yticks([])
    axp.set_ylabel("phrases\n(key, bpm)", fontsize=8)
    axp.set_xlabel("stream time (s)")
    axp.set_xlim(float(min(t.min(), starts[0] if starts else t.min())), max(end, starts[-1] + 1.0 if starts else end))
    from matplotlib.patches import Patch

    axp.legend(
        handles=[Patch(color=_MAJOR, label="major"), Patch(color=_MINOR, label="minor")],
        loc="upper right",
        fontsize=7.5,
        frameon=False,
        ncol=2,
        bbox_to_anchor=(1.0, 1.35),
    )
    fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.11)
    return fig


def plot_session(
    estimates: Sequence[dict],
    phrases: Sequence[dict],
    path: str | os.PathLike,
    *,
    title: str = "musicgen interactive session",
    dpi: int = DPI,
    force: bool = False,
) -> Path:
    """Draw a session's timeline (see the module docstring) to a PNG file.

    Args:
        estimates / phrases: as :func:`session_figure` (``Session.timeline`` and the phrases' ``as_dict()``).
        path: the PNG to write.
        title: the figure's title.
        dpi: dots per inch.
        force: replace an existing file.

    Returns:
        the path written.

    Raises:
        UsageError: nothing to plot; ``path`` exists without ``force`` or its folder is missing.
    """
    from musicgen._files import check_writable

    check_writable(path, force)
    return atomic_write_bytes(path, png_bytes(session_figure(estimates, phrases, title), dpi), force)


__all__ = ["plot_session", "session_figure"]
