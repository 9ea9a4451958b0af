"""The fiddle corpus: music21's own fiddle/violin tunes converted once into a cached dataset.

Sources (shipped inside the music21 package, read through its corpus folder, never downloaded):

* ``ryansMammoth`` — Ryan's Mammoth Collection (1883), ~1,059 fiddle tunes, one ABC file each;
* ``oneills1850`` — O'Neill's Music of Ireland (1903), ~1,850 Irish fiddle tunes in 39 ABC files;
* ``airdsAirs`` — Aird's Selection of Scotch, English, Irish and Foreign Airs (1778–), ~1,180 airs
  "adapted to the Fife, Violin, or German-Flute" in 6 ABC files.

Each ABC file is split into tunes at its ``X:`` lines and each tune is parsed on its own (so one bad tune
costs only itself). A tune is skipped, and counted by reason, when music21 cannot parse it, when it has no
notes, when it has several voices, when its meter does not fit the 12-steps-per-quarter grid, or when it is
a duplicate (same pitch/rhythm content) of a tune already kept.

Labels (derived transparently from the music — the corpus carries no emotion labels):

* **mode**: music21's Krumhansl–Schmuckler key analysis (``analyze("key")``) → "major" / "minor";
* **valence** = +c for major, −c for minor, where c is the analysis' correlation coefficient clipped
  to [0, 1] (how clearly the tune is in that mode);
* **tempo** (quarter notes per minute): the ABC ``Q:`` field when present; otherwise the tempo at which
  the tune's median inter-onset interval runs at a typical note rate for its tune type
  (:data:`TYPE_NOTE_RATE`, this toolkit's documented choice; the type comes from the ``R:`` field, the
  title, or the meter), scaled by tempo words in the ``N:``/``Q:`` fields ("very slow" ×0.55, "slow"
  ×0.7, "lively"/"quick" ×1.1);
* **arousal** = tanh((density − 4.5) / 2), density being notes per second at that tempo: fast and
  dense → high arousal, slow and sparse → low.
* **emotion**: the nearest of the 8 classes to (valence, arousal) in :data:`musicgen.emotion.EMOTION_VA`.

Split: deterministic by tune — a hash of the tune's content sends 80 % to train, 10 % valid, 10 % test.

The cache is one ``.npz`` file: the notes of every tune (ticks at 480 per quarter, exact), the same notes
on the 12-steps-per-quarter bar grid in sparse form (onset step, duration in steps, pitch), per-tune
offsets, and the metadata as JSON. :meth:`Corpus.grid` rebuilds a dense :class:`~musicgen.grid.Grid`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen.errors import InputError, UsageError
from musicgen.grid import Grid, GridSpec, piece_to_grid
from musicgen.piece import DEFAULT_RESOLUTION, Key, Piece, Track

COLLECTIONS = ("ryansMammoth", "oneills1850", "airdsAirs")

#: Typical running-note rates per tune type, in notes per second, at session tempi: a reel's running
#: eighths at ~110 half notes per minute are ~7.3 notes/s, a jig's at ~115 dotted quarters ~5.8 notes/s,
#: a slow air ~2.5 notes/s. This toolkit's documented choice (no source gives one table); used only when
#: the ABC text has no ``Q:`` tempo, through :func:`tempo_for`.
TYPE_NOTE_RATE = {
    "reel": 7.0,
    "jig": 6.0,
    "double jig": 6.0,
    "single jig": 6.0,
    "slip jig": 6.0,
    "slide": 6.5,
    "hornpipe": 5.5,
    "clog": 5.5,
    "highland fling": 5.0,
    "strathspey": 4.5,
    "march": 4.5,
    "polka": 5.5,
    "schottische": 5.0,
    "set dance": 5.0,
    "waltz": 4.0,
    "mazurka": 4.0,
    "air": 2.5,
    "lament": 2.0,
}
DEFAULT_NOTE_RATE = 4.5

_TYPE_PATTERNS = sorted(TYPE_NOTE_RATE, key=len, reverse=True)

FORMAT_VERSION = 1


@dataclass
class TuneMeta:
    """Metadata of one corpus tune (see the module docstring for how labels are derived)."""

    title: str
    source: str
    collection: str
    meter: str
    key: str
    mode: str
    key_confidence: float
    tune_type: str
    tempo_qpm: float
    tempo_from: str
    n_notes: int
    n_bars: int
    density_nps: float
    valence: float
    arousal: float
    emotion: str
    split: str
    quantisation: dict = field(default_factory=dict)


@dataclass
class BuildReport:
    """What a corpus build did: tunes kept, tunes skipped by reason, where it was written."""

    kept: int
    skipped: Counter
    path: Path
    by_collection: Counter
    by_split: Counter


# --------------------------------------------------------------------------------------- sources
def music21_corpus_root() -> Path:
    """The folder of music21's bundled corpus.

    Raises:
        UsageError: music21 is installed without its corpus.
    """
    import music21

    root = Path(music21.__file__).resolve().parent / "corpus"
    if not root.is_dir():
        raise UsageError(f"music21's corpus folder is missing ({root})")
    return root


def split_abc_tunes(text: str) -> list[tuple[str, str]]:
    """Split the text of an ABC file into (X number, tune text) pairs, one per ``X:`` header.

    File-level header lines before the first ``X:`` are prepended to every tune.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header: list[str] = []
    tunes: list[tuple[str, list[str]]] = []
    for line in lines:
        m = re.match(r"^X:\s*(\S*)", line)
        if m:
            tunes.append((m.group(1), [line]))
        elif tunes:
            tunes[-1][1].append(line)
        elif not line.startswith("%"):
            header.append(line)
    return [(num, "\n".join(header + body)) for num, body in tunes]


def abc_field(text: str, name: str) -> list[str]:
    """All values of ABC header field ``name`` (e.g. "R", "Q", "N") in a tune's text."""
    return [m.group(1).strip() for m in re.finditer(rf"^{name}:(.*)$", text, flags=re.M)]


def tune_type(text: str, title: str, meter: tuple[int, int]) -> str:
    """The tune type: from the ``R:`` field, else a type word in the title, else guessed from the meter."""
    for cand in abc_field(text, "R") + [title]:
        low = cand.lower().replace("slipjig", "slip jig")
        for t in _TYPE_PATTERNS:
            if t in low:
                return t
    num, den = meter
    if (num, den) in ((6, 8),):
        return "jig"
    if (num, den) in ((9, 8),):
        return "slip jig"
    return "unknown"


def _tempo_words_factor(text: str) -> float:
    words = " ".join(abc_field(text, "N") + abc_field(text, "Q")).lower()
    if "very slow" in words:
        return 0.55
    if "slow" in words:
        return 0.7
    if "lively" in words or "quick" in words or "brisk" in words:
        return 1.1
    return 1.0


def arousal_from(density_nps: float) -> float:
    """Arousal in (-1, 1) from the note rate (notes per second): tanh((rate - 4.5) / 2)."""
    return float(np.tanh((density_nps - 4.5) / 2.0))


def tempo_for(piece: Piece, tune_type_: str) -> float:
    """A tempo (quarter notes per minute) at which the tune's median inter-onset interval is played at
    the tune type's typical note rate (:data:`TYPE_NOTE_RATE`), rounded to a whole number.

    This makes the tempo independent of how the tune is notated (a reel in 2/4 sixteenths or 4/4 eighths).
    """
    on = np.unique(piece.notes["onset"])
    ioi = float(np.median(np.diff(on))) if on.size > 1 else 0.5
    rate = TYPE_NOTE_RATE.get(tune_type_, DEFAULT_NOTE_RATE)
    return float(np.clip(round(rate * 60.0 * ioi), 30, 300))


def nearest_emotion(valence: float, arousal: float) -> str:
    """The class of :data:`~musicgen.emotion.EMOTIONS` whose (valence, arousal) position is nearest."""
    from musicgen.conditions import EMOTION_VA, EMOTIONS

    d = [(valence - EMOTION_VA[e][0]) ** 2 + (arousal - EMOTION_VA[e][1]) ** 2 for e in EMOTIONS]
    return EMOTIONS[int(np.argmin(d))]


def content_hash(piece: Piece) -> str:
    """A hash of a tune's musical content (relative onsets, durations, pitch intervals), for dedup and split."""
    n = piece.notes
    if not n.size:
        return "0"
    arr = np.stack(
        [n["onset_tick"] - n["onset_tick"][0], n["duration_tick"], n["pitch"].astype(np.int64) - int(n["pitch"][0])]
    )
    return hashlib.sha1(arr.astype(np.int64).tobytes()).hexdigest()


def split_of(digest: str) -> str:
    """Deterministic split from a content hash: 80 % train, 10 % valid, 10 % test."""
    bucket = int(digest[:8], 16) % 100
    return "train" if bucket < 80 else ("valid" if bucket < 90 else "test")


def convert_tune(text: str, source: str, collection: str) -> tuple[Piece, TuneMeta] | tuple[None, str]:
    """Parse one ABC tune's text and derive its metadata.

    Returns:
        (piece, meta) on success, or (None, reason) when the tune is skipped.
    """
    from music21 import converter

    from musicgen.io.notation import piece_from_stream

    try:
        s = converter.parse(text, format="abc")
    except Exception:
        return None, "music21 cannot parse it"
    parts = list(s.parts) if hasattr(s, "parts") else []
    if len(parts) > 1:
        return None, "several voices"
    try:
        piece = piece_from_stream(s, source)
    except ValueError:
        return None, "no notes"
    except Exception:
        return None, "music21 cannot parse it"
    if len(piece) < 8:
        return None, "fewer than 8 notes"
    meter = piece.time_signature
    try:
        grid, q = piece_to_grid(piece)
    except ValueError:
        return None, "meter does not fit the grid"
    if q.n_out_of_range:
        return None, "notes outside the grid's pitch window"
    try:
        k = s.analyze("key")
        mode = "minor" if k.mode == "minor" else "major"
        conf = float(np.clip(k.correlationCoefficient, 0.0, 1.0))
        key = Key(int(k.tonic.pitchClass), mode)
    except Exception:
        key = piece.key or Key(0, "major")
        mode, conf = key.mode, 0.5
    title = piece.title or source
    ttype = tune_type(text, title, meter)
    if piece.meta.get("has_tempo"):
        tempo, tempo_from = piece.tempo, "Q: field"
    else:
        tempo, tempo_from = tempo_for(piece, ttype), f"typical {ttype} note rate"
    factor = _tempo_words_factor(text)
    if factor != 1.0:
        tempo *= factor
        tempo_from += " x tempo words"
    piece.tempos = np.array([[0.0, float(tempo)]])
    if piece.key is None:
        piece.key = key
    dur_s = max(piece.end - piece.meta.get("pickup_padding_qn", 0.0), 1e-6) * 60.0 / tempo
    density = len(piece) / dur_s
    valence = conf if mode == "major" else -conf
    arousal = arousal_from(density)
    meta = TuneMeta(
        title=title,
        source=source,
        collection=collection,
        meter=f"{meter[0]}/{meter[1]}",
        key=str(key),
        mode=mode,
        key_confidence=conf,
        tune_type=ttype,
        tempo_qpm=float(tempo),
        tempo_from=tempo_from,
        n_notes=len(piece),
        n_bars=grid.n_bars,
        density_nps=float(density),
        valence=float(valence),
        arousal=arousal,
        emotion=nearest_emotion(valence, arousal),
        split=split_of(content_hash(piece)),
        quantisation=q.as_dict(),
    )
    piece.meta.update(tune_type=ttype, collection=collection)
    return piece, meta


def _convert_file(args: tuple[str, str, int | None]) -> list[tuple[str, Piece | None, TuneMeta | str]]:
    path, collection, limit = args
    text = Path(path).read_text(encoding="latin-1")
    out = []
    rel = f"{collection}/{Path(path).name}"
    tunes = split_abc_tunes(text)
    if limit is not None:
        tunes = tunes[:limit]
    for num, body in tunes:
        src = f"{rel}#X:{num}"
        piece, meta = convert_tune(body, src, collection)
        out.append((src, piece, meta))
    return out


# --------------------------------------------------------------------------------------- build
def build_corpus(
    out: str | Path,
    collections: Iterable[str] = COLLECTIONS,
    workers: int = 1,
    limit_files: int | None = None,
    limit_tunes_per_file: int | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Convert music21's fiddle collections into a cached ``.npz`` dataset at ``out``.

    Args:
        out: output path (``.npz``); written atomically.
        collections: which of :data:`COLLECTIONS` to read.
        workers: processes for parsing (music21's ABC parse is ~0.1 s a tune).
        limit_files / limit_tunes_per_file: take only the first files / tunes (for tests and quick looks).
        force: overwrite an existing file.
        progress: called as ``progress(done_files, total_files)``.

    Raises:
        OutputExistsError: ``out`` exists and ``force`` is false.
        UsageError: an unknown collection name, or nothing could be converted.
    """
    from musicgen._files import atomic_write_bytes, check_writable

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    check_writable(out, force)
    root = music21_corpus_root()
    tasks = []
    for c in collections:
        if c not in COLLECTIONS:
            raise UsageError(f"unknown collection {c!r}; choose from {', '.join(COLLECTIONS)}")
        files = sorted((root / c).glob("*.abc"))
        if limit_files is not None:
            files = files[:limit_files]
        tasks += [(str(f), c, limit_tunes_per_file) for f in files]
    results: list = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as ex:
            for i, r in enumerate(ex.map(_convert_file, tasks, chunksize=4)):
                results += r
                if progress:
                    progress(i + 1, len(tasks))
    else:
        for i, t in enumerate(tasks):
            results += _convert_file(t)
            if progress:
                progress(i + 1, len(tasks))

    skipped: Counter = Counter()
    seen: set[str] = set()
    pieces: list[Piece] = []
    metas: list[TuneMeta] = []
    for _src, piece, meta in results:
        if piece is None:
            skipped[str(meta)] += 1
            continue
        h = content_hash(piece)
        if h in seen:
            skipped["duplicate of a kept tune"] += 1
            continue
        seen.add(h)
        pieces.append(piece)
        metas.append(meta)
    if not pieces:
        raise UsageError("no tune could be converted")
    data = _pack(pieces, metas)
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **data)
    atomic_write_bytes(out, buf.getvalue(), force=force)
    return BuildReport(
        kept=len(pieces),
        skipped=skipped,
        path=out,
        by_collection=Counter(m.collection for m in metas),
        by_split=Counter(m.split for m in metas),
    )


def _pack(pieces: list[Piece], metas: list[TuneMeta]) -> dict[str, np.ndarray]:
    notes = np.concatenate([p.notes for p in pieces])
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype(np.int64)
    spec = GridSpec()
    tpstep = DEFAULT_RESOLUTION // spec.steps_per_quarter
    steps = np.stack(
        [
            np.rint(notes["onset_tick"] / tpstep),
            np.maximum(
                np.rint((notes["onset_tick"] + notes["duration_tick"]) / tpstep)
                - np.rint(notes["onset_tick"] / tpstep),
                1,
            ),
            notes["pitch"],
        ],
        axis=1,
    ).astype(np.int32)
    extra = [
        {
            "time_signatures": p.time_signatures.tolist(),
            "chords": p.chords.tolist(),
            "key_signature": None if p.key is None else [p.key.tonic, p.key.mode],
            "pickup_padding_qn": p.meta.get("pickup_padding_qn", 0.0),
        }
        for p in pieces
    ]
    meta_json = json.dumps({"version": FORMAT_VERSION, "tunes": [m.__dict__ for m in metas], "extra": extra})
    return {"notes": notes, "grid_steps": steps, "offsets": offsets, "meta_json": np.array(meta_json)}


# --------------------------------------------------------------------------------------- load
class Corpus:
    """The built fiddle corpus: metadata per tune, Pieces and grids on demand.

    Attributes:
        tunes: list of :class:`TuneMeta`, one per tune, in build order.
        path: the npz file it was loaded from.
    """

    def __init__(
        self,
        notes: np.ndarray,
        grid_steps: np.ndarray,
        offsets: np.ndarray,
        tunes: list[TuneMeta],
        extra: list[dict],
        path: Path | None = None,
    ):
        self._notes = notes
        self._steps = grid_steps
        self._offsets = offsets
        self.tunes = tunes
        self._extra = extra
        self.path = path

    @classmethod
    def load(cls, path: str | Path | None = None) -> Corpus:
        """Load a corpus built by :func:`build_corpus` (default: :func:`musicgen.paths.default_corpus_path`).

        Raises:
            InputError: the file is missing (the message says how to build it) or not a corpus file.
        """
        from musicgen.paths import default_corpus_path

        p = Path(path) if path is not None else default_corpus_path()
        if not p.is_file():
            raise InputError(
                p, "no corpus here; build it with `musicgen data build` (takes a few minutes)", reason="missing"
            )
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta_json"]))
                return cls(
                    z["notes"], z["grid_steps"], z["offsets"], [TuneMeta(**t) for t in meta["tunes"]], meta["extra"], p
                )
        except (KeyError, ValueError, OSError) as exc:
            raise InputError(p, f"not a musicgen corpus file ({exc})", reason="corrupt") from None

    def __len__(self) -> int:
        return len(self.tunes)

    def indices(self, split: str | None = None, meters: Iterable[str] | None = None) -> np.ndarray:
        """Indices of the tunes in ``split`` ("train"/"valid"/"test", or all) whose meter is in ``meters``."""
        ms = set(meters) if meters is not None else None
        return np.asarray(
            [
                i
                for i, t in enumerate(self.tunes)
                if (split is None or t.split == split) and (ms is None or t.meter in ms)
            ],
            dtype=np.int64,
        )

    def piece(self, i: int) -> Piece:
        """Tune ``i`` as a :class:`Piece` (exact ticks, one violin track)."""
        t, x = self.tunes[i], self._extra[i]
        pad = float(x.get("pickup_padding_qn", x.get("pickup_qn", 0.0)))  # files of format 1 before the rename
        num, den = x["time_signatures"][0][1:]
        t_bar = num * 4.0 / den
        notes = self._notes[self._offsets[i] : self._offsets[i + 1]].copy()
        key = Key(int(x["key_signature"][0]), x["key_signature"][1]) if x["key_signature"] else None
        return Piece(
            notes=notes,
            resolution=DEFAULT_RESOLUTION,
            tracks=[Track("Violin")],
            time_signatures=np.asarray(x["time_signatures"], dtype=np.int64).reshape(-1, 3),
            tempos=np.array([[0.0, t.tempo_qpm]]),
            key=key,
            chords=np.asarray(x["chords"], dtype=float).reshape(-1, 3),
            title=t.title,
            source=t.source,
            meta={
                "tune_type": t.tune_type,
                "collection": t.collection,
                "pickup_padding_qn": pad,
                "pickup_qn": (t_bar - pad) if pad > 0 else 0.0,
                "emotion": t.emotion,
                "valence": t.valence,
                "arousal": t.arousal,
            },
        )

    def grid_steps(self, i: int) -> np.ndarray:
        """Tune ``i`` on the default 12-steps-per-quarter grid in sparse form: int array (n, 3) of
        (onset step, duration in steps, MIDI pitch)."""
        return self._steps[self._offsets[i] : self._offsets[i + 1]]

    def grid(self, i: int, spec: GridSpec | None = None) -> tuple[Grid, QuantisationReport]:  # noqa: F821
        """Tune ``i`` on a dense bar grid of ``spec`` (default 12 steps per quarter), with its report."""
        return piece_to_grid(self.piece(i), spec)


def corpus_counts(corpus: Corpus) -> dict:
    """Counts per collection, split, meter, mode, tune type and emotion, for reports."""
    out = {}
    for k in ("collection", "split", "meter", "mode", "tune_type", "emotion"):
        out[k] = dict(Counter(getattr(t, k) for t in corpus.tunes).most_common())
    return out
