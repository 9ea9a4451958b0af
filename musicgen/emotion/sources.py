"""A command-line SOURCE opened as a stream of chunks: a file, ``-`` (stdin), or ``lsl:SPEC``.

The signal contract is in :mod:`musicgen.emotion.contract`; readers in :mod:`musicgen.emotion.files`
and :mod:`musicgen.emotion.lsl`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicgen.emotion.contract import CHANNELS, Diagnostics, Source
from musicgen.emotion.files import FileSource
from musicgen.emotion.lsl import LSLSource
from musicgen.errors import UsageError


def open_source(
    spec: str | Path | Source,
    *,
    follow: bool = False,
    realtime: bool = False,
    sampling_rate: float | None = None,
    idle_timeout: float | None = None,
    diagnostics: Diagnostics | None = None,
) -> Source:
    """A :class:`Source` for a command-line SOURCE: a file path, ``-`` (stdin), or ``lsl:SPEC``.

    Raises:
        InputError: the file does not exist.
        UsageError: a bad option (e.g. ``follow`` on stdin or LSL).
    """
    if isinstance(spec, Source):
        return spec
    s = str(spec)
    if s.lower().startswith("lsl:"):
        if follow or realtime:
            raise UsageError("--follow and --realtime apply to files; an LSL stream is live already")
        return LSLSource(s, idle_timeout=idle_timeout, diagnostics=diagnostics)
    if s == "-" and follow:
        raise UsageError("--follow applies to files; stdin is read until it closes")
    return FileSource(
        s,
        follow=follow,
        realtime=realtime,
        sampling_rate=sampling_rate,
        idle_timeout=idle_timeout,
        diagnostics=diagnostics,
    )


def read_all(source: Source) -> tuple[np.ndarray, np.ndarray]:
    """Read a (finite) source to its end: ``(time (n,), data (n, len(CHANNELS)))``, rows in time order.

    Raises:
        InputError: as the source does.
    """
    ts, ds = [], []
    for chunk in source:
        ts.append(chunk.time)
        ds.append(chunk.data)
    if not ts:
        return np.zeros(0), np.zeros((0, len(CHANNELS)))
    return np.concatenate(ts), np.vstack(ds)


__all__ = ["open_source", "read_all"]
