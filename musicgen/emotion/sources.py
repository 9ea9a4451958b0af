"""Timestamped physiological and facial-expression signals from files, stdin and Lab Streaming Layer.

The file contract (scripts and users rely on it)
------------------------------------------------
A CSV (comma, semicolon or tab separated, one header line) or JSON-lines file (one object per line).
The ``time`` column is required: seconds, any origin (0 at the start, or Unix time). Then any of:

============== ============ ===================================================================
column         unit         what it is
============== ============ ===================================================================
ecg            mV           electrocardiogram (one lead), sampled at >= 50 Hz
ppg            a.u.         photoplethysmogram (finger / wrist pulse), >= 20 Hz
hr             bpm          heart rate as a wearable reports it (e.g. once a second)
eda            µS           electrodermal activity (skin conductance; "gsr" is accepted), >= 4 Hz
rsp            a.u.         respiration (belt or thermistor), >= 5 Hz
temp           °C           skin (finger) temperature
face_neutral … probability  the 8 expression probabilities a face analyser emits per frame:
face_contempt               face_neutral, face_happy, face_anger, face_sadness, face_fear,
                            face_surprise, face_disgust, face_contempt (0..1)
============== ============ ===================================================================

Each modality may be missing from the file, or absent on a given row (an empty CSV field, a missing
JSON key or ``null``): channels sampled at different rates share one file that way. Names are matched
case-insensitively; common aliases (``gsr``, ``resp``, ``heart_rate``, ``temperature``,
``timestamp``, ``face_happiness``, …) are accepted. OpenFace-style action-unit intensities
(``AU01_r`` … ``AU45_r``, 0..5) are turned into the 8 face probabilities by
:func:`au_to_face_probabilities` when no ``face_*`` column is present. A file without a ``time``
column needs ``sampling_rate`` (rows are then evenly spaced).

Robustness (documented behaviour, never a crash)
------------------------------------------------
Every problem below is skipped and counted in :class:`Diagnostics` (category in quotes); the first
example of each category keeps its ``file:line``:

- "garbage line": not parseable (wrong field count, no numeric time, not a JSON object) — skipped;
- "non-finite time", "duplicate timestamp" (time equal to the previous row's),
  "unsorted timestamp" (time before the previous row's) — the row is skipped;
- "bad value" (text where a number belongs), "NaN value" (``nan``/``inf``), "out-of-range value"
  (physically impossible: see :data:`VALID_RANGES`) — that value is dropped, the row kept;
- "unknown column" — ignored (counted once per column).

Signal-level problems (dropouts, clipping/saturation, too low a sampling rate) are detected per window
by :mod:`musicgen.emotion.features`, into the same :class:`Diagnostics`.

Replay: files are read as fast as possible unless ``realtime`` is true (then rows are released at the
pace of their timestamps). ``follow=True`` keeps reading a growing file (like ``tail -f``) until
``idle_timeout`` seconds pass without new data (``None``: until interrupted).
"""

from __future__ import annotations

import json
import math
import sys
import time as _time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np

from musicgen.emotion.labels import ALIASES as _EMOTION_ALIASES
from musicgen.emotion.labels import EMOTIONS
from musicgen.errors import InputError, UsageError

FACE_CHANNELS: tuple[str, ...] = tuple(f"face_{e}" for e in EMOTIONS)
#: Every signal channel a source can deliver, in this order (the columns of :attr:`Chunk.data`).
CHANNELS: tuple[str, ...] = ("ecg", "ppg", "hr", "eda", "rsp", "temp") + FACE_CHANNELS

#: Units of each channel (for documentation and the CLI's help).
UNITS: dict[str, str] = {
    "time": "s", "ecg": "mV", "ppg": "a.u.", "hr": "bpm", "eda": "µS", "rsp": "a.u.", "temp": "°C",
    **{c: "probability" for c in FACE_CHANNELS},
}

#: Physically possible values; anything outside is dropped as "out-of-range value". ``ppg`` and
#: ``rsp`` are in arbitrary units and have no range. ECG: a surface ECG beyond ±20 mV is an
#: artefact; heart rate 20–250 bpm; skin conductance 0–100 µS (typical 1–40); skin temperature 15–45 °C.
VALID_RANGES: dict[str, tuple[float, float]] = {
    "ecg": (-20.0, 20.0), "hr": (20.0, 250.0), "eda": (0.0, 100.0), "temp": (15.0, 45.0),
    **{c: (0.0, 1.0) for c in FACE_CHANNELS},
}

_CHANNEL_ALIASES: dict[str, str] = {
    "time": "time", "t": "time", "timestamp": "time", "time_s": "time", "seconds": "time",
    "ecg": "ecg", "ekg": "ecg", "ecg_mv": "ecg",
    "ppg": "ppg", "bvp": "ppg", "pleth": "ppg", "plethysmograph": "ppg",
    "hr": "hr", "heart_rate": "hr", "heartrate": "hr", "bpm": "hr",
    "eda": "eda", "gsr": "eda", "scl": "eda", "skin_conductance": "eda", "eda_us": "eda",
    "rsp": "rsp", "resp": "rsp", "respiration": "rsp", "breathing": "rsp",
    "temp": "temp", "temperature": "temp", "skin_temp": "temp", "skt": "temp",
}
for _alias, _canon in _EMOTION_ALIASES.items():
    _CHANNEL_ALIASES[f"face_{_alias}"] = f"face_{_canon}"

#: Action units used by :func:`au_to_face_probabilities` (OpenFace's intensity outputs).
AU_NUMBERS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26)

#: EMFACS-style prototypes (Friesen & Ekman 1983, "EMFACS-7"; the combinations as tabulated by Lucey
#: et al. 2010, "The Extended Cohn-Kanade Dataset (CK+)", CVPR workshops, Table 2). AU16 is not in
#: OpenFace's intensity set, so disgust uses AU9 + AU10 + AU15; contempt's AU12 + AU14 is one-sided in
#: EMFACS, which intensities cannot show. A heuristic conversion, not a trained classifier.
AU_PROTOTYPES: dict[str, tuple[int, ...]] = {
    "happy": (6, 12),
    "sadness": (1, 4, 15),
    "surprise": (1, 2, 5, 26),
    "fear": (1, 2, 4, 5, 7, 20, 26),
    "anger": (4, 5, 7, 23),
    "disgust": (9, 10, 15),
    "contempt": (12, 14),
}

#: Problem categories counted by :class:`Diagnostics` (see the module docstring).
CATEGORIES: tuple[str, ...] = (
    "garbage line", "non-finite time", "duplicate timestamp", "unsorted timestamp", "bad value",
    "NaN value", "out-of-range value", "unknown column", "dropout", "clipped signal",
    "low sampling rate", "processing failure", "window without signal",
)


@dataclass
class Diagnostics:
    """Counted warnings about a stream: ``counts[category]`` and the first example of each.

    Attributes:
        counts: how many times each category (see :data:`CATEGORIES`) occurred.
        examples: the first message of each category, with ``file:line`` where there is one.
    """

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def warn(self, category: str, message: str, n: int = 1) -> None:
        """Count ``n`` occurrences of ``category``; keep ``message`` if it is the first."""
        self.counts[category] += n
        self.examples.setdefault(category, message)

    @property
    def total(self) -> int:
        """All warnings counted."""
        return int(sum(self.counts.values()))

    def summary_lines(self) -> list[str]:
        """One line per category: ``"<n> × <category> (first: <example>)"``, most frequent first."""
        return [f"{n} × {cat} (first: {self.examples.get(cat, '')})" for cat, n in self.counts.most_common()]

    def as_dict(self) -> dict:
        """JSON-ready ``{category: {"count": n, "first": message}}``."""
        return {cat: {"count": int(n), "first": self.examples.get(cat, "")} for cat, n in self.counts.most_common()}


@dataclass
class Chunk:
    """A block of rows from a source.

    Attributes:
        time: (n,) float64 seconds, strictly increasing within the chunk.
        data: (n, len(CHANNELS)) float64, one column per :data:`CHANNELS` entry; NaN where a channel
            has no sample on that row.
    """

    time: np.ndarray
    data: np.ndarray

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def channel(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of one channel's samples in this chunk (rows where it has a value)."""
        v = self.data[:, CHANNELS.index(name)]
        ok = np.isfinite(v)
        return self.time[ok], v[ok]

    def present(self) -> list[str]:
        """The channels that have at least one sample in this chunk."""
        ok = np.isfinite(self.data).any(axis=0)
        return [c for c, o in zip(CHANNELS, ok) if o]


def au_to_face_probabilities(au: np.ndarray) -> np.ndarray:
    """Turn action-unit intensities into the 8 expression probabilities (a documented heuristic).

    Args:
        au: (n, len(AU_NUMBERS)) intensities on OpenFace's 0..5 scale, columns in :data:`AU_NUMBERS`
            order; NaN where an AU is not reported (counts as 0).

    Returns:
        (n, 8) probabilities in :data:`EMOTIONS` order. Each expression's evidence is the mean
        intensity / 5 of its :data:`AU_PROTOTYPES` units; neutral's is 1 − the largest of those;
        probabilities are a softmax of 4 × evidence. Rows with no AU at all are NaN.
    """
    a = np.asarray(au, dtype=float)
    none = ~np.isfinite(a).any(axis=1)
    a = np.clip(np.nan_to_num(a, nan=0.0), 0.0, 5.0) / 5.0
    col = {n: i for i, n in enumerate(AU_NUMBERS)}
    ev = np.zeros((a.shape[0], len(EMOTIONS)))
    for e, units in AU_PROTOTYPES.items():
        ev[:, EMOTIONS.index(e)] = a[:, [col[u] for u in units]].mean(axis=1)
    ev[:, EMOTIONS.index("neutral")] = 1.0 - ev.max(axis=1)
    z = 4.0 * ev
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[none] = np.nan
    return p


def _canonical_column(raw: str) -> str | None:
    """The contract name of a header/key (``"time"``, a channel, ``"au:NN"``), or None if unknown."""
    key = raw.strip().lstrip("\ufeff").strip().strip('"').strip().lower().replace(" ", "_").replace("-", "_")
    if key in _CHANNEL_ALIASES:
        return _CHANNEL_ALIASES[key]
    if key.startswith("au") and key.endswith("_r"):
        num = key[2:-2]
        if num.isdigit() and int(num) in AU_NUMBERS:
            return f"au:{int(num)}"
    # OpenFace's own bookkeeping columns are expected, not unknown
    return None


_OPENFACE_META = {"frame", "face_id", "confidence", "success"}


class _RowParser:
    """Validates rows (CSV fields or JSON objects) and accumulates them into :class:`Chunk`\\ s."""

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
        for c, (lo, hi) in VALID_RANGES.items():
            self.lo[CHANNELS.index(c)] = lo
            self.hi[CHANNELS.index(c)] = hi

    # -- shared validation ---------------------------------------------------------------------
    def _loc(self, line: int) -> str:
        return f"{self.where}:{line}"

    def _accept_time(self, t: float, line: int) -> bool:
        if not math.isfinite(t):
            self.diag.warn("non-finite time", f"{self._loc(line)}: time {t!r} is not a finite number of seconds")
            return False
        if t == self.last_time:
            self.diag.warn("duplicate timestamp", f"{self._loc(line)}: time {t} repeats the previous row's")
            return False
        if t < self.last_time:
            self.diag.warn("unsorted timestamp", f"{self._loc(line)}: time {t} is before the previous row's ({self.last_time})")
            return False
        self.last_time = t
        return True

    def _check_values(self, v: np.ndarray, line: int) -> np.ndarray:
        bad = np.isnan(v) & self._nan_given
        if bad.any():
            self.diag.warn("NaN value", f"{self._loc(line)}: non-finite value in {CHANNELS[int(np.argmax(bad))]}", int(bad.sum()))
        inf = np.isinf(v)
        if inf.any():
            self.diag.warn("NaN value", f"{self._loc(line)}: infinite value in {CHANNELS[int(np.argmax(inf))]}", int(inf.sum()))
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

    def _append(self, t: float, v: np.ndarray, au: np.ndarray | None) -> None:
        self.rows_t.append(t)
        self.rows_v.append(v)
        if au is not None:
            if self.rows_au is None:
                self.rows_au = [np.full(len(AU_NUMBERS), np.nan)] * (len(self.rows_t) - 1)
            self.rows_au.append(au)
        elif self.rows_au is not None:
            self.rows_au.append(np.full(len(AU_NUMBERS), np.nan))

    def pending(self) -> int:
        return len(self.rows_t)

    def pending_span(self) -> float:
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
            c = _canonical_column(raw)
            if c == "time":
                self.time_col = i
            elif c is None:
                if raw.strip().lower() not in _OPENFACE_META and raw.strip():
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
                self.where, "no 'time' column (seconds); add one, or give the sampling rate (--rate HZ)",
                line=line, reason="no time")
        if not self.col_idx and not self.au_idx:
            raise InputError(
                self.where,
                "no known signal column; expected any of " + ", ".join(CHANNELS) + " (or OpenFace AUxx_r)",
                line=line, reason="no signals")
        self._nan_given = np.zeros(len(CHANNELS), dtype=bool)

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
                self.diag.warn("garbage line", f"{self._loc(line)}: time {fields[self.time_col].strip()[:30]!r} is not a number")
                return
        if not self._accept_time(t, line):
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
        self._append(t, self._check_values(v, line), au)

    # -- JSON lines ------------------------------------------------------------------------------
    def json_row(self, text: str, line: int) -> None:
        """Validate one JSON-lines object and keep it (or count why not)."""
        if not hasattr(self, "_nan_given"):
            self._nan_given = np.zeros(len(CHANNELS), dtype=bool)
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
        has_face = any(_canonical_column(k) in FACE_CHANNELS for k in obj)
        for k, x in obj.items():
            c = _canonical_column(str(k))
            if c is None:
                if str(k).lower() not in _OPENFACE_META:
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
            self.diag.warn("garbage line", f"{self._loc(line)}: no \"time\" key")
            return
        if t_raw is None:
            t = self.n_rows / self.rate
        else:
            try:
                t = float(t_raw)
            except (TypeError, ValueError):
                self.diag.warn("garbage line", f"{self._loc(line)}: time {str(t_raw)[:30]!r} is not a number")
                return
        if not self._accept_time(t, line):
            return
        self.n_rows += 1
        self._append(t, self._check_values(v, line), au)


class Source:
    """A stream of :class:`Chunk`\\ s; iterate it once. Subclasses: :class:`FileSource`, :class:`LSLSource`.

    Attributes:
        name: what to call it in messages (a path, ``<stdin>``, ``lsl:NAME``).
        diagnostics: the counted warnings (shared with the feature extractor downstream).
    """

    name: str = "<source>"
    diagnostics: Diagnostics

    def __iter__(self) -> Iterator[Chunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release the file / stream (idempotent)."""


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
                fh = open(self.path, "r", encoding="utf-8", errors="replace", newline="")
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
        parser = _RowParser(self.name, self.diagnostics, self.rate)
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
                raise InputError(self.name, "the file is empty (expected a header line or JSON objects)", reason="empty")
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


_LSL_QUIET = False


def _quiet_liblsl() -> None:
    """Lower liblsl's console logging to errors only (once, before the first liblsl call)."""
    global _LSL_QUIET
    if _LSL_QUIET:
        return
    _LSL_QUIET = True
    import os

    if "LSLAPICFG" not in os.environ:
        try:
            import pylsl

            pylsl.set_config_content("[log]\nlevel = -3\n")
        except Exception:  # noqa: BLE001 - logging configuration is cosmetic
            pass


def lsl_available() -> tuple[bool, str]:
    """Whether pylsl and liblsl load here: ``(True, version)`` or ``(False, reason)``."""
    try:
        import pylsl

        return True, f"liblsl {pylsl.library_version()}"
    except Exception as exc:  # noqa: BLE001 - any load failure means "unavailable", with its reason
        return False, f"{type(exc).__name__}: {exc}"


def _lsl_channel_labels(info) -> list[str]:
    labels = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling()
    return labels


class LSLSource(Source):
    """Samples from Lab Streaming Layer outlets (live sensors, face analysers), through pylsl.

    A spec is ``NAME`` (a stream name) or ``PROP=VALUE`` (``type=EDA``, ``source_id=...``); several
    specs are separated by commas (e.g. ``"MyECG,type=FaceExpressions"``) and their samples merge.
    Channels are named from each stream's ``desc/channels/channel/label`` (matched like file
    columns); a one-channel stream without labels is named after its ``type`` (``ECG``, ``EDA``, …).
    Times are the outlet's timestamps mapped to this machine's clock (``time_correction``), in
    seconds.

    Args:
        specs: the stream specs (a list, or one comma-separated string; an ``lsl:`` prefix is allowed).
        resolve_timeout: seconds to wait for each stream to appear.
        idle_timeout: stop after this many seconds without a sample (None: run until interrupted).
        diagnostics: where to count warnings.

    Raises:
        UsageError: liblsl cannot load, or a stream is not found within ``resolve_timeout``, or a
            stream's channels cannot be mapped to the contract.
    """

    def __init__(
        self,
        specs: str | Iterable[str],
        *,
        resolve_timeout: float = 5.0,
        idle_timeout: float | None = None,
        diagnostics: Diagnostics | None = None,
    ):
        if isinstance(specs, str):
            specs = specs[4:] if specs.lower().startswith("lsl:") else specs
            specs = [s for s in specs.split(",") if s.strip()]
        self.specs = [s.strip() for s in specs]
        if not self.specs:
            raise UsageError("an LSL source needs a stream name or PROP=VALUE, e.g. lsl:MyECG or lsl:type=EDA")
        self.name = "lsl:" + ",".join(self.specs)
        self.resolve_timeout = resolve_timeout
        self.idle_timeout = idle_timeout
        self.diagnostics = diagnostics if diagnostics is not None else Diagnostics()
        self._inlets: list = []
        self._maps: list[np.ndarray] = []
        self._opened = False

    def open(self) -> None:
        """Resolve the streams and open their inlets (done on first iteration if not called).

        Raises:
            UsageError: see the class docstring.
        """
        if self._opened:
            return
        ok, why = lsl_available()
        if not ok:
            raise UsageError(f"cannot use LSL: liblsl does not load ({why})")
        _quiet_liblsl()
        import pylsl

        for spec in self.specs:
            prop, value = spec.split("=", 1) if "=" in spec else ("name", spec)
            found = pylsl.resolve_byprop(prop.strip(), value.strip(), 1, self.resolve_timeout)
            if not found:
                raise UsageError(f"no LSL stream with {prop.strip()}={value.strip()!r} found within {self.resolve_timeout:g} s")
            inlet = pylsl.StreamInlet(found[0], max_buflen=360, processing_flags=pylsl.proc_clocksync)
            info = inlet.info(timeout=self.resolve_timeout)
            labels = _lsl_channel_labels(info)
            n = info.channel_count()
            if len(labels) != n or not any(labels):
                labels = [info.type()] if n == 1 else []
                if n == len(FACE_CHANNELS) and "face" in info.type().lower():
                    labels = list(FACE_CHANNELS)
            cols = np.full(n, -1)
            for i, lab in enumerate(labels):
                c = _canonical_column(lab)
                if c is not None and c in CHANNELS:
                    cols[i] = CHANNELS.index(c)
                elif lab:
                    self.diagnostics.warn("unknown column", f"{self.name}: channel {lab!r} of stream {info.name()!r} is not part of the contract; ignored")
            if (cols < 0).all():
                raise UsageError(
                    f"LSL stream {info.name()!r} ({n} channels, type {info.type()!r}) has no channel this toolkit reads; "
                    "label its channels (desc/channels/channel/label) as ecg, ppg, hr, eda, rsp, temp or face_*")
            inlet.open_stream(timeout=self.resolve_timeout)
            self._inlets.append(inlet)
            self._maps.append(cols)
        self._opened = True

    def close(self) -> None:
        for inlet in self._inlets:
            try:
                inlet.close_stream()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._inlets = []

    def __iter__(self) -> Iterator[Chunk]:
        self.open()
        parsers = [_RowParser(f"{self.name}[{i}]", self.diagnostics) for i in range(len(self._inlets))]
        for p in parsers:
            p._nan_given = np.zeros(len(CHANNELS), dtype=bool)
        last_data = _time.monotonic()
        try:
            while True:
                got = False
                for inlet, cols, parser in zip(self._inlets, self._maps, parsers):
                    try:
                        samples, stamps = inlet.pull_chunk(timeout=0.05, max_samples=4096)
                    except Exception as exc:  # noqa: BLE001 - e.g. pylsl.LostError: end this stream cleanly
                        self.diagnostics.warn("dropout", f"{self.name}: stream lost ({type(exc).__name__}: {exc})")
                        return
                    if not stamps:
                        continue
                    got = True
                    try:
                        arr = np.asarray(samples, dtype=np.float64).reshape(len(stamps), -1)
                    except (TypeError, ValueError):
                        self.diagnostics.warn("garbage line", f"{self.name}: a chunk of {len(stamps)} non-numeric samples", len(stamps))
                        continue
                    ts = np.asarray(stamps, dtype=np.float64)
                    for k in range(len(ts)):
                        if not parser._accept_time(float(ts[k]), parser.n_rows + 1):
                            continue
                        parser.n_rows += 1
                        v = np.full(len(CHANNELS), np.nan)
                        use = cols >= 0
                        v[cols[use]] = arr[k, use]
                        parser._append(float(ts[k]), parser._check_values(v, parser.n_rows), None)
                    chunk = parser.flush()
                    if chunk is not None:
                        yield chunk
                if got:
                    last_data = _time.monotonic()
                elif self.idle_timeout is not None and _time.monotonic() - last_data >= self.idle_timeout:
                    return
        finally:
            self.close()


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
        s, follow=follow, realtime=realtime, sampling_rate=sampling_rate, idle_timeout=idle_timeout,
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


__all__ = [
    "AU_NUMBERS",
    "AU_PROTOTYPES",
    "CATEGORIES",
    "CHANNELS",
    "Chunk",
    "Diagnostics",
    "FACE_CHANNELS",
    "FileSource",
    "LSLSource",
    "Source",
    "UNITS",
    "VALID_RANGES",
    "au_to_face_probabilities",
    "lsl_available",
    "open_source",
    "read_all",
]
