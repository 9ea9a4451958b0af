"""Row validation and parsing against the signal contract (:mod:`musicgen.emotion.contract`).

:class:`RowParser` reads CSV lines (after their header) and JSON-lines objects, and validates
samples from any reader: every problem is skipped and counted in a
:class:`~musicgen.emotion.contract.Diagnostics` (categories in the contract's docstring), with the
first example of each category naming ``file:line``. OpenFace action-unit columns become the 8
face probabilities through :func:`~musicgen.emotion.contract.au_to_face_probabilities`.
"""

from __future__ import annotations

import json
import math

import numpy as np

from musicgen.emotion.contract import (
    AU_NUMBERS,
    CHANNELS,
    FACE_CHANNELS,
    OPENFACE_META,
    UNITS,
    VALID_RANGES,
    Chunk,
    Diagnostics,
    au_to_face_probabilities,
    canonical_column,
)
from musicgen.errors import InputError


class RowParser:
    """Validates rows (CSV fields, JSON objects or LSL samples) and accumulates them into :class:`Chunk`\\ s.

    Args:
        where: the source's name, for messages (``file:line`` is built from it).
        diagnostics: where problems are counted.
        sampling_rate: rows per second, for input without a time column (Hz).
    """

    def __init__(self, where: str, diagnostics: Diagnostics, sampling_rate: float | None = None):
        self.where = where
        self.diag = diagnostics
        self.rate = sampling_rate
        self.last_time = -math.inf
        self.n_rows = 0
        self.rows_t: list[float] = []
        self.rows_v: list[np.ndarray] = []
        self.rows_au: list[np.ndarray] | None = None
        self.has_face = False
        self.unknown: set[str] = set()
        self.lo = np.full(len(CHANNELS), -np.inf)
        self.hi = np.full(len(CHANNELS), np.inf)
        self._nan_given = np.zeros(len(CHANNELS), dtype=bool)  # channels given as NaN on the current row
        for c, (lo, hi) in VALID_RANGES.items():
            self.lo[CHANNELS.index(c)] = lo
            self.hi[CHANNELS.index(c)] = hi

    # -- shared validation ---------------------------------------------------------------------
    def _loc(self, line: int) -> str:
        return f"{self.where}:{line}"

    def accept_time(self, t: float, line: int) -> bool:
        """Whether a row at time ``t`` (s) is kept: finite, after the previous row's (else counted)."""
        if not math.isfinite(t):
            self.diag.warn("non-finite time", f"{self._loc(line)}: time {t!r} is not a finite number of seconds")
            return False
        if t == self.last_time:
            self.diag.warn("duplicate timestamp", f"{self._loc(line)}: time {t} repeats the previous row's")
            return False
        if t < self.last_time:
            self.diag.warn(
                "unsorted timestamp", f"{self._loc(line)}: time {t} is before the previous row's ({self.last_time})"
            )
            return False
        self.last_time = t
        return True

    def check_values(self, v: np.ndarray, line: int) -> np.ndarray:
        """``v`` (one row, :data:`CHANNELS` order) with NaN/inf/out-of-range values counted and set to NaN."""
        bad = np.isnan(v) & self._nan_given
        if bad.any():
            self.diag.warn(
                "NaN value", f"{self._loc(line)}: non-finite value in {CHANNELS[int(np.argmax(bad))]}", int(bad.sum())
            )
        inf = np.isinf(v)
        if inf.any():
            self.diag.warn(
                "NaN value", f"{self._loc(line)}: infinite value in {CHANNELS[int(np.argmax(inf))]}", int(inf.sum())
            )
            v[inf] = np.nan
        with np.errstate(invalid="ignore"):
            out = (v < self.lo) | (v > self.hi)
        if out.any():
            i = int(np.argmax(out))
            self.diag.warn(
                "out-of-range value",
                f"{self._loc(line)}: {CHANNELS[i]}={v[i]:g} outside {VALID_RANGES[CHANNELS[i]]} {UNITS[CHANNELS[i]]}",
                int(out.sum()),
            )
            v[out] = np.nan
        return v

    def _unknown(self, name: str, line: int) -> None:
        if name not in self.unknown:
            self.unknown.add(name)
            self.diag.warn("unknown column", f"{self._loc(line)}: column {name!r} is not part of the contract; ignored")

    def append(self, t: float, v: np.ndarray, au: np.ndarray | None) -> None:
        """Keep a validated row (``au``: its action-unit intensities, or None)."""
        self.rows_t.append(t)
        self.rows_v.append(v)
        if au is not None:
            if self.rows_au is None:
                self.rows_au = [np.full(len(AU_NUMBERS), np.nan)] * (len(self.rows_t) - 1)
            self.rows_au.append(au)
        elif self.rows_au is not None:
            self.rows_au.append(np.full(len(AU_NUMBERS), np.nan))

    def pending(self) -> int:
        """Rows kept since the last :meth:`flush`."""
        return len(self.rows_t)

    def pending_span(self) -> float:
        """Seconds spanned by the rows kept since the last :meth:`flush`."""
        return self.rows_t[-1] - self.rows_t[0] if self.rows_t else 0.0

    def flush(self) -> Chunk | None:
        """The rows accumulated so far as one chunk (None if there are none)."""
        if not self.rows_t:
            return None
        t = np.asarray(self.rows_t, dtype=np.float64)
        data = np.vstack(self.rows_v)
        if self.rows_au is not None:
            face = au_to_face_probabilities(np.vstack(self.rows_au))
            cols = [CHANNELS.index(c) for c in FACE_CHANNELS]
            fill = ~np.isfinite(data[:, cols]).any(axis=1)
            data[np.ix_(fill, cols)] = face[fill]
        self.rows_t, self.rows_v = [], []
        self.rows_au = [] if self.rows_au is not None else None
        return Chunk(t, data)

    # -- CSV -------------------------------------------------------------------------------------
    def set_header(self, line_text: str, line: int) -> None:
        """Read the CSV header: delimiter, column → channel map.

        Raises:
            InputError: no time column (and no sampling rate) or no known signal column.
        """
        self.delim = max([",", ";", "\t"], key=line_text.count)
        names = [n.strip() for n in line_text.rstrip("\r\n").split(self.delim)]
        self.n_fields = len(names)
        self.time_col: int | None = None
        self.col_idx: list[int] = []
        self.col_chan: list[int] = []
        au_idx, au_pos = [], []
        for i, raw in enumerate(names):
            c = canonical_column(raw)
            if c == "time":
                self.time_col = i
            elif c is None:
                if raw.strip().lower() not in OPENFACE_META and raw.strip():
                    self._unknown(raw.strip(), line)
            elif c.startswith("au:"):
                au_idx.append(i)
                au_pos.append(AU_NUMBERS.index(int(c[3:])))
            else:
                self.col_idx.append(i)
                self.col_chan.append(CHANNELS.index(c))
        self.has_face = any(CHANNELS[j].startswith("face_") for j in self.col_chan)
        self.au_idx = au_idx if (au_idx and not self.has_face) else []
        self.au_pos = au_pos if self.au_idx else []
        if self.time_col is None and not self.rate:
            raise InputError(
                self.where,
                "no 'time' column (seconds); add one, or give the sampling rate (--rate HZ)",
                line=line,
                reason="no time",
            )
        if not self.col_idx and not self.au_idx:
            raise InputError(
                self.where,
                "no known signal column; expected any of " + ", ".join(CHANNELS) + " (or OpenFace AUxx_r)",
                line=line,
                reason="no signals",
            )

    def csv_row(self, text: str, line: int) -> None:
        """Validate one CSV data line and keep it (or count why not)."""
        fields = text.rstrip("\r\n").split(self.delim)
        if len(fields) != self.n_fields:
            self.diag.warn("garbage line", f"{self._loc(line)}: {len(fields)} fields, the header has {self.n_fields}")
            return
        if self.time_col is None:
            t = self.n_rows / self.rate
        else:
            try:
                t = float(fields[self.time_col])
            except ValueError:
                self.diag.warn(
                    "garbage line", f"{self._loc(line)}: time {fields[self.time_col].strip()[:30]!r} is not a number"
                )
                return
        if not self.accept_time(t, line):
            return
        self.n_rows += 1
        v = np.full(len(CHANNELS), np.nan)
        self._nan_given[:] = False
        for i, j in zip(self.col_idx, self.col_chan):
            s = fields[i].strip().strip('"')
            if not s or s.lower() in ("na", "null", "none"):
                continue
            try:
                x = float(s)
            except ValueError:
                self.diag.warn("bad value", f"{self._loc(line)}: {CHANNELS[j]}={s[:30]!r} is not a number")
                continue
            v[j] = x
            if math.isnan(x):
                self._nan_given[j] = True
        au = None
        if self.au_idx:
            au = np.full(len(AU_NUMBERS), np.nan)
            for i, p in zip(self.au_idx, self.au_pos):
                try:
                    au[p] = float(fields[i])
                except ValueError:
                    pass
        self.append(t, self.check_values(v, line), au)

    # -- JSON lines ------------------------------------------------------------------------------
    def json_row(self, text: str, line: int) -> None:
        """Validate one JSON-lines object and keep it (or count why not)."""
        try:
            obj = json.loads(text)
        except ValueError:
            self.diag.warn("garbage line", f"{self._loc(line)}: not valid JSON")
            return
        if not isinstance(obj, dict):
            self.diag.warn("garbage line", f"{self._loc(line)}: a JSON {type(obj).__name__}, expected an object")
            return
        t_raw = None
        v = np.full(len(CHANNELS), np.nan)
        self._nan_given[:] = False
        au = None
        has_face = any(canonical_column(k) in FACE_CHANNELS for k in obj)
        for k, x in obj.items():
            c = canonical_column(str(k))
            if c is None:
                if str(k).lower() not in OPENFACE_META:
                    self._unknown(str(k), line)
                continue
            if c == "time":
                t_raw = x
                continue
            if x is None:
                continue
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                try:
                    x = float(x)  # numeric strings are tolerated
                except (TypeError, ValueError):
                    self.diag.warn("bad value", f"{self._loc(line)}: {c}={str(x)[:30]!r} is not a number")
                    continue
            if c.startswith("au:"):
                if not has_face:
                    if au is None:
                        au = np.full(len(AU_NUMBERS), np.nan)
                    au[AU_NUMBERS.index(int(c[3:]))] = float(x)
                continue
            j = CHANNELS.index(c)
            v[j] = float(x)
            if math.isnan(v[j]):
                self._nan_given[j] = True
        if t_raw is None and not self.rate:
            self.diag.warn("garbage line", f'{self._loc(line)}: no "time" key')
            return
        if t_raw is None:
            t = self.n_rows / self.rate
        else:
            try:
                t = float(t_raw)
            except (TypeError, ValueError):
                self.diag.warn("garbage line", f"{self._loc(line)}: time {str(t_raw)[:30]!r} is not a number")
                return
        if not self.accept_time(t, line):
            return
        self.n_rows += 1
        self.append(t, self.check_values(v, line), au)


__all__ = ["RowParser"]
