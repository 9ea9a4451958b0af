"""Signal files and stdin as a :class:`~musicgen.emotion.contract.Source`: CSV or JSON lines, replayed fast or in real time.

The format is sniffed from the suffix (``.csv``/``.tsv``, ``.jsonl``/``.ndjson``/``.json``) or, for
stdin and other names, from the first line. Lines starting with ``#`` in a CSV are comments.

Replay: files are read as fast as possible unless ``realtime`` is true (then rows are released at the
pace of their timestamps). ``follow=True`` keeps reading a growing file (like ``tail -f``) until
``idle_timeout`` seconds pass without new data (``None``: until interrupted).
"""

from __future__ import annotations

import math
import sys
import time as _time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from musicgen.emotion.contract import Chunk, Diagnostics, Source
from musicgen.emotion.parsing import RowParser
from musicgen.errors import InputError, UsageError


def _detect_format(path: Path | None, first_line: str) -> str:
    suffix = path.suffix.lower() if path is not None else ""
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return "jsonl" if first_line.lstrip().startswith("{") else "csv"


class FileSource(Source):
    """Rows from a CSV / JSON-lines file, or from a text stream such as stdin.

    Args:
        path: the file; ``"-"`` reads standard input (JSON lines or CSV, sniffed from the first line).
        follow: keep reading as the file grows (``tail -f``), until ``idle_timeout``.
        realtime: release rows at the pace of their timestamps instead of as fast as possible.
        sampling_rate: rows per second, for files without a ``time`` column (Hz).
        idle_timeout: with ``follow``, stop after this many seconds without new data (None: never).
        poll_s: with ``follow``, how often to look for new data (s).
        chunk_rows: rows per chunk when replaying fast.
        stream: an already open text stream to read instead of ``path`` (tests, pipes).
        diagnostics: where to count warnings (a new :class:`Diagnostics` if None).

    Raises (when iterated):
        InputError: the file is missing, unreadable, empty, or its header has no time / no signal column.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        follow: bool = False,
        realtime: bool = False,
        sampling_rate: float | None = None,
        idle_timeout: float | None = None,
        poll_s: float = 0.1,
        chunk_rows: int = 1024,
        stream: IO[str] | None = None,
        diagnostics: Diagnostics | None = None,
    ):
        if sampling_rate is not None and not (math.isfinite(sampling_rate) and sampling_rate > 0):
            raise UsageError(f"sampling rate must be a positive number of Hz, got {sampling_rate}")
        self.is_stdin = str(path) == "-" and stream is None
        self.path = None if (self.is_stdin or stream is not None) else Path(path)
        self.name = "<stdin>" if self.is_stdin else str(path)
        self.follow = follow
        self.realtime = realtime
        self.rate = sampling_rate
        self.idle_timeout = idle_timeout
        self.poll_s = poll_s
        self.chunk_rows = chunk_rows
        self._stream = stream
        self._fh: IO[str] | None = None
        self.diagnostics = diagnostics if diagnostics is not None else Diagnostics()
        if self.path is not None and not self.path.exists():
            raise InputError(self.path, "no such file", reason="missing")
        if self.path is not None and self.path.is_dir():
            raise InputError(self.path, "is a folder; give a CSV or JSON-lines file", reason="unsupported")

    def close(self) -> None:
        if self._fh is not None and self._fh is not sys.stdin and self._stream is None:
            self._fh.close()
        self._fh = None

    def _lines(self) -> Iterator[tuple[int, str | None]]:
        """(line number, text) pairs; text None means "no new data right now" (follow mode)."""
        if self._stream is not None:
            fh = self._stream
        elif self.is_stdin:
            fh = sys.stdin
        else:
            try:
                fh = open(self.path, encoding="utf-8", errors="replace", newline="")
            except OSError as exc:
                raise InputError(self.path, f"cannot open ({exc.strerror})", reason="unreadable") from None
        self._fh = fh
        lineno = 0
        partial = ""
        idle_since = _time.monotonic()
        while True:
            text = fh.readline()
            if text:
                if not text.endswith("\n") and self.follow:
                    partial += text  # a line still being written: wait for its end
                    continue
                text, partial = partial + text, ""
                lineno += 1
                idle_since = _time.monotonic()
                yield lineno, text
                continue
            if not self.follow:
                if partial:
                    lineno += 1
                    yield lineno, partial
                return
            if self.idle_timeout is not None and _time.monotonic() - idle_since >= self.idle_timeout:
                if partial:
                    lineno += 1
                    yield lineno, partial
                return
            yield lineno, None
            _time.sleep(self.poll_s)

    def __iter__(self) -> Iterator[Chunk]:
        parser = RowParser(self.name, self.diagnostics, self.rate)
        fmt = None
        pace = _Pacer() if self.realtime else None
        try:
            for lineno, text in self._lines():
                if text is None:  # follow mode, no new data: hand over what we have
                    chunk = parser.flush()
                    if chunk is not None:
                        yield from _paced(chunk, pace)
                    continue
                stripped = text.strip()
                if not stripped or (fmt != "jsonl" and stripped.startswith("#")):
                    continue
                if fmt is None:
                    fmt = _detect_format(self.path, stripped)
                    if fmt == "csv":
                        parser.set_header(text, lineno)
                        continue
                if fmt == "csv":
                    parser.csv_row(text, lineno)
                else:
                    parser.json_row(stripped, lineno)
                if parser.pending() >= self.chunk_rows or (
                    (self.realtime or self.follow or self.is_stdin) and parser.pending_span() >= 0.25
                ):
                    yield from _paced(parser.flush(), pace)
            if fmt is None:
                raise InputError(
                    self.name, "the file is empty (expected a header line or JSON objects)", reason="empty"
                )
            chunk = parser.flush()
            if chunk is not None:
                yield from _paced(chunk, pace)
        finally:
            self.close()


class _Pacer:
    """Sleeps so that stream time advances with the wall clock (``--realtime``)."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.wall0 = 0.0

    def wait(self, t: float) -> None:
        if self.t0 is None:
            self.t0, self.wall0 = t, _time.monotonic()
            return
        delay = self.wall0 + (t - self.t0) - _time.monotonic()
        if delay > 0:
            _time.sleep(delay)


def _paced(chunk: Chunk, pace: _Pacer | None, step_s: float = 0.1) -> Iterator[Chunk]:
    """Yield ``chunk`` at once, or (realtime) in pieces of ``step_s`` released on their timestamps."""
    if pace is None:
        yield chunk
        return
    t = chunk.time
    edges = np.arange(t[0], t[-1] + step_s, step_s)
    idx = np.searchsorted(t, edges[1:], side="left")
    start = 0
    for stop in list(idx) + [len(t)]:
        if stop > start:
            pace.wait(float(t[stop - 1]))
            yield Chunk(t[start:stop], chunk.data[start:stop])
            start = stop


__all__ = ["FileSource"]
