"""Figures drawn off-screen with matplotlib's Agg canvas (no display, no global pyplot state): what
:mod:`musicgen.plot` and the training log's plot share."""

from __future__ import annotations

import io

#: Dots per inch of the PNG files.
DPI = 120


def png_bytes(fig, dpi: int = DPI) -> bytes:
    """The PNG encoding of a matplotlib ``Figure`` at ``dpi`` dots per inch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def new_figure(width: float, height: float):
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches, not registered with pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))
