"""The signal contract: channels, units, valid ranges, column names, counted warnings, chunks, sources.

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

Readers: :mod:`musicgen.emotion.parsing` validates rows against this contract;
:mod:`musicgen.emotion.files` reads files and stdin, :mod:`musicgen.emotion.lsl` Lab Streaming Layer;
:func:`musicgen.emotion.sources.open_source` picks one for a command-line SOURCE.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from musicgen.conditions import ALIASES as _EMOTION_ALIASES
from musicgen.conditions import EMOTIONS

FACE_CHANNELS: tuple[str, ...] = tuple(f"face_{e}" for e in EMOTIONS)
#: Every signal channel a source can deliver, in this order (the columns of :attr:`Chunk.data`).
CHANNELS: tuple[str, ...] = ("ecg", "ppg", "hr", "eda", "rsp", "temp") + FACE_CHANNELS

#: Units of each channel (for documentation and the CLI's help).
UNITS: dict[str, str] = {
    "time": "s",
    "ecg": "mV",
    "ppg": "a.u.",
    "hr": "bpm",
    "eda": "µS",
    "rsp": "a.u.",
    "temp": "°C",
    **{c: "probability" for c in FACE_CHANNELS},
}

#: Physically possible values; anything outside is dropped as "out-of-range value". ``ppg`` and
#: ``rsp`` are in arbitrary units and have no range. ECG: a surface ECG beyond ±20 mV is an
#: artefact; heart rate 20–250 bpm; skin conductance 0–100 µS (typical 1–40); skin temperature 15–45 °C.
VALID_RANGES: dict[str, tuple[float, float]] = {
    "ecg": (-20.0, 20.0),
    "hr": (20.0, 250.0),
    "eda": (0.0, 100.0),
    "temp": (15.0, 45.0),
    **{c: (0.0, 1.0) for c in FACE_CHANNELS},
}

_CHANNEL_ALIASES: dict[str, str] = {
    "time": "time",
    "t": "time",
    "timestamp": "time",
    "time_s": "time",
    "seconds": "time",
    "ecg": "ecg",
    "ekg": "ecg",
    "ecg_mv": "ecg",
    "ppg": "ppg",
    "bvp": "ppg",
    "pleth": "ppg",
    "plethysmograph": "ppg",
    "hr": "hr",
    "heart_rate": "hr",
    "heartrate": "hr",
    "bpm": "hr",
    "eda": "eda",
    "gsr": "eda",
    "scl": "eda",
    "skin_conductance": "eda",
    "eda_us": "eda",
    "rsp": "rsp",
    "resp": "rsp",
    "respiration": "rsp",
    "breathing": "rsp",
    "temp": "temp",
    "temperature": "temp",
    "skin_temp": "temp",
    "skt": "temp",
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
    "garbage line",
    "non-finite time",
    "duplicate timestamp",
    "unsorted timestamp",
    "bad value",
    "NaN value",
    "out-of-range value",
    "unknown column",
    "dropout",
    "clipped signal",
    "low sampling rate",
    "processing failure",
    "window without signal",
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


def canonical_column(raw: str) -> str | None:
    """The contract name of a header/key (``"time"``, a channel, ``"au:NN"``), or None if unknown."""
    key = raw.strip().lstrip("\ufeff").strip().strip('"').strip().lower().replace(" ", "_").replace("-", "_")
    if key in _CHANNEL_ALIASES:
        return _CHANNEL_ALIASES[key]
    if key.startswith("au") and key.endswith("_r"):
        num = key[2:-2]
        if num.isdigit() and int(num) in AU_NUMBERS:
            return f"au:{int(num)}"
    return None


#: OpenFace's own bookkeeping columns: expected in its CSVs, never counted as unknown.
OPENFACE_META = {"frame", "face_id", "confidence", "success"}


class Source:
    """A stream of :class:`Chunk`\\ s; iterate it once.

    Subclasses: :class:`~musicgen.emotion.files.FileSource`, :class:`~musicgen.emotion.lsl.LSLSource`.

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


__all__ = [
    "AU_NUMBERS",
    "AU_PROTOTYPES",
    "CATEGORIES",
    "CHANNELS",
    "Chunk",
    "Diagnostics",
    "FACE_CHANNELS",
    "OPENFACE_META",
    "Source",
    "UNITS",
    "VALID_RANGES",
    "au_to_face_probabilities",
    "canonical_column",
]
