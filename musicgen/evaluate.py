"""Evaluate folders of music files: every metric of :mod:`musicgen.metrics` per file, and a summary.

    >>> from musicgen.evaluate import evaluate_paths
    >>> report = evaluate_paths(["generated/"], workers=1)
    >>> report["summary"]["pce"]["mean"], report["files"][0]["theme_count"]

The report follows the JSON contract of ``musicgen evaluate --json``::

    {"files": [{"path": str, "pce": float|null, "theme_count": int|null, ...other metrics...,
                "error": null|str, "error_detail": null|str}],
     "summary": {"<metric>": {"mean": float|null, "std": float|null, "min": ..., "max": ..., "n": int}}}

``error`` is the reason a file could not be evaluated — ``"corrupt"``, ``"empty"``, ``"no notes"``,
``"unsupported"`` or ``"missing"`` — and ``error_detail`` says what exactly; a failed file has null
metrics. ``std`` is the population standard deviation (ddof 0). Files are listed in sorted path order
whatever the number of workers.

Speed: MIDI is read with symusic (:func:`musicgen.io.midi.parse_midi`; the notes of a batch are
assembled together, :func:`musicgen.io.midi.assemble_parsed`, and become Pieces only when rule
scores need them), and files are scored in batches: the notes of up to ``batch_size`` pieces are
concatenated and every metric is a few numpy calls over the whole batch (see
:class:`musicgen.metrics.NoteBatch`), so the per-file cost is mostly the read. MusicXML and ABC
files go through music21 and are much slower.
"""

from __future__ import annotations

import math
import operator
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from musicgen.errors import InputError, MusicgenError, UsageError
from musicgen.piece import Piece

if TYPE_CHECKING:
    from musicgen.metrics import NoteBatch

__all__ = [
    "METRICS",
    "discover_files",
    "evaluate_paths",
    "evaluate_pieces",
    "metric_summary",
    "report_to_json",
    "report_to_csv",
    "metric_columns",
]

#: Report columns computed for every file: key -> (unit, meaning). Order = report order.
METRICS: dict[str, tuple[str, str]] = {
    "n_notes": ("notes", "pitched (non-drum) notes"),
    "n_bars": ("bars", "bars of the first meter up to the end of the last note"),
    "pce": ("bits", "pitch-class entropy of the whole piece (MusPy's pitch_class_entropy)"),
    "pce_1bar": ("bits", "pitch-class entropy, mean over sliding 1-bar windows (MusDr's H1)"),
    "pce_4bar": ("bits", "pitch-class entropy, mean over sliding 4-bar windows (MusDr's H4)"),
    "scale_consistency": ("0-1", "share of notes in the best-fitting major/minor scale (MusPy)"),
    "polyphony": ("pitches", "mean pitches sounding while any sounds (MusPy)"),
    "pitch_range": ("semitones", "highest minus lowest pitch (MusPy)"),
    "empty_beat_rate": ("0-1", "rest ratio: share of beats without a sounding note (MusPy's empty_beat_rate)"),
    "note_density": ("notes/beat", "notes per quarter note, first onset to last note end"),
    "notes_per_second": ("notes/s", "notes per second at the file's tempo"),
    "groove_consistency": ("0-1", "onset-pattern similarity of neighbouring bars (MusPy)"),
    "theme_count": ("themes", "themes in the whole piece (musicgen.metrics.themes)"),
    "themes_4bars": ("themes", "themes in the first 4 bars"),
    "themes_8bars": ("themes", "themes in the first 8 bars"),
    "themes_16bars": ("themes", "themes in the first 16 bars"),
    "themes_32bars": ("themes", "themes in the first 32 bars"),
}

_INT_COLUMNS = {"n_notes", "n_bars", "theme_count", "themes_4bars", "themes_8bars", "themes_16bars", "themes_32bars"}

ProgressFn = Callable[[int, int], None]


# ---------------------------------------------------------------------------------------- discovery


def _supported_suffixes() -> tuple[str, ...]:
    from musicgen.io import SUPPORTED_SUFFIXES

    return tuple(SUPPORTED_SUFFIXES)


def discover_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The files to evaluate (see :func:`_discover`), as Paths.

    Raises:
        UsageError: no path given, or a path that does not exist.
    """
    return [Path(f) for f in _discover(paths)]


def _discover(paths: Sequence[str | os.PathLike]) -> list[str]:
    """The files to evaluate: each file given, and every music file under each folder (recursive).

    In folders, files with a supported suffix (.mid .midi .xml .musicxml .mxl .abc) are taken and
    hidden files skipped; a file named explicitly is taken whatever its suffix (it then fails as
    "unsupported"). Duplicates are dropped; the result is sorted by path.

    Raises:
        UsageError: no path given, or a path that does not exist.
    """
    if not paths:
        raise UsageError("give at least one file or folder to evaluate")
    suffixes = _supported_suffixes()
    cwd = os.getcwd()
    found: dict[str, str] = {}  # absolute normalised path -> path as the user spelled it
    for raw in paths:
        p = os.fspath(raw)
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                # join(x, name) == join(x, "") + name for a plain file name
                base = os.path.join(os.path.normpath(os.path.join(cwd, root)), "")
                spelled = os.path.join(root, "")
                for name in files:
                    if name[:1] == "." or not name.lower().endswith(suffixes):
                        continue
                    found.setdefault(base + name, spelled + name)
        elif os.path.exists(p):
            found.setdefault(os.path.normpath(os.path.join(cwd, p)), p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return sorted(found.values())


# ---------------------------------------------------------------------------------------- scoring


def metric_columns(rule_names: Iterable[str] = ()) -> list[str]:
    """The metric columns of a report, rule scores (``rule_<name>``, ``r_f``) last when given."""
    cols = list(METRICS)
    names = list(rule_names)
    if names:
        cols += [f"rule_{n}" for n in names] + ["r_f"]
    return cols


def _clean(values: np.ndarray, as_int: bool) -> list:
    """numpy column -> list of Python numbers with nan as None."""
    nan = np.isnan(values)
    if not nan.any():
        return values.astype(np.int64).tolist() if as_int else values.astype(float).tolist()
    out = values.tolist()
    if as_int:
        return [None if v != v else int(v) for v in out]
    return [None if v != v else float(v) for v in out]


def _metric_lists(b: NoteBatch) -> list[list]:
    """One list per :data:`METRICS` column (in order) with a value per piece of ``b``; None where undefined."""
    from musicgen.metrics import basic, themes

    length = basic._length_ticks(b)
    n_bars = np.where(length > 0, -(-length // b.bar_ticks), 0).astype(float)
    wpce = basic.windowed_pce(b, (1, 4))
    cols: dict[str, np.ndarray] = {
        "n_notes": basic.n_pitched_notes(b),
        "n_bars": n_bars,
        "pce": basic.pitch_class_entropy(b),
        "pce_1bar": wpce[1],
        "pce_4bar": wpce[4],
        "scale_consistency": basic.scale_consistency(b),
        "polyphony": basic.polyphony(b),
        "pitch_range": basic.pitch_range(b),
        "empty_beat_rate": basic.empty_beat_rate(b),
        "note_density": basic.note_density(b),
        "notes_per_second": basic.notes_per_second(b),
        "groove_consistency": basic.groove_consistency(b),
    }
    tc = themes.batch_theme_counts(b, (None,) + themes.WINDOWS)
    cols["theme_count"] = tc[None]
    for w in themes.WINDOWS:
        cols[f"themes_{w}bars"] = tc[w]
    return [_clean(cols[k], k in _INT_COLUMNS) for k in METRICS]


def evaluate_pieces(pieces: Sequence[Piece]) -> list[dict[str, Any]]:
    """Every metric of :data:`METRICS` for each piece, as one dict per piece (None where undefined).

    Pieces are scored as one batch (see :class:`musicgen.metrics.NoteBatch`).
    """
    if not pieces:
        return []
    from musicgen.metrics import NoteBatch

    keys = list(METRICS)
    return [dict(zip(keys, row)) for row in zip(*_metric_lists(NoteBatch.from_pieces(pieces)))]


@dataclass
class _Failure:
    reason: str
    detail: str


def _readers() -> tuple[Callable, Callable, tuple[str, ...]]:
    """(read_piece, parse_midi, MIDI suffixes), imported once per chunk rather than once per file."""
    from musicgen.io import read_piece
    from musicgen.io.midi import MIDI_SUFFIXES, parse_midi

    return read_piece, parse_midi, MIDI_SUFFIXES


def _read(path: str, readers: tuple[Callable, Callable, tuple[str, ...]] | None = None):
    """Read one file: a :class:`Piece`, or for a MIDI file its :class:`~musicgen.io.midi.ParsedMidi`
    (the chunk's MIDI files become Pieces together, see :func:`~musicgen.io.midi.pieces_from_parsed`);
    a file that cannot be evaluated becomes a :class:`_Failure` with its reason."""
    read_piece, parse_midi, midi_suffixes = readers or _readers()
    try:
        if path.lower().endswith(midi_suffixes):
            return parse_midi(path)
        piece = read_piece(path)
    except InputError as exc:
        return _Failure(exc.reason, exc.detail)
    except MusicgenError as exc:
        return _Failure("corrupt", str(exc))
    except (
        OSError,
        ValueError,
        RuntimeError,
        KeyError,
        IndexError,
        TypeError,
        AttributeError,
        ZeroDivisionError,
    ) as exc:
        # third-party parsers raise a variety of errors on damaged files
        return _Failure("corrupt", f"cannot read the file ({type(exc).__name__}: {str(exc)[:160]})")
    return piece


_RULESETS: dict[str, Any] = {}


def _ruleset(spec: str):
    """Load (once per process) the rule set named or stored at ``spec``."""
    if spec not in _RULESETS:
        from musicgen.rules import RuleSet

        _RULESETS[spec] = RuleSet.load(spec)
    return _RULESETS[spec]


def _empty_row(path: str, cols: list[str], reason: str, detail: str) -> dict[str, Any]:
    row: dict[str, Any] = {"path": path}
    row.update(dict.fromkeys(cols))
    row["error"] = reason
    row["error_detail"] = detail
    return row


def _batch(items: list[Any], pieces_needed: bool) -> NoteBatch:
    """The NoteBatch of a chunk's files (Pieces, and ParsedMidi of MIDI files); the MIDI files become
    Pieces in ``items`` (assembled together, see :func:`~musicgen.io.midi.pieces_from_parsed`) when
    ``pieces_needed`` or when the chunk holds other files, else the batch is made of their notes
    directly (:meth:`~musicgen.metrics.NoteBatch.from_midi`: the same batch, without a Piece per file)."""
    from musicgen.io.midi import assemble_parsed, pieces_from_parsed
    from musicgen.metrics import NoteBatch

    parsed = [k for k, got in enumerate(items) if not isinstance(got, Piece)]
    if len(parsed) == len(items) and not pieces_needed:
        return NoteBatch.from_midi(assemble_parsed(items))
    if parsed:
        for k, piece in zip(parsed, pieces_from_parsed([items[k] for k in parsed])):
            items[k] = piece
    return NoteBatch.from_pieces(items)


def _evaluate_chunk(
    paths: list[str], rules: str | None = None, progress: ProgressFn | None = None, done0: int = 0, total: int = 0
) -> list[dict[str, Any]]:
    """Read and score one chunk of files (runs in the main process or in a worker)."""
    rs = _ruleset(rules) if rules else None
    rule_names = [r.name for r in rs.rules] if rs is not None else []
    cols = metric_columns(rule_names)
    pieces: list[Any] = []  # Pieces, and ParsedMidi of MIDI files (see _batch)
    where: list[int] = []
    rows: list[dict[str, Any] | None] = [None] * len(paths)
    last = time.monotonic()
    readers = _readers()
    for i, p in enumerate(paths):
        got = _read(p, readers)
        if isinstance(got, _Failure):
            rows[i] = _empty_row(p, cols, got.reason, got.detail)
        else:
            pieces.append(got)
            where.append(i)
        if progress is not None and time.monotonic() - last > 0.2:
            progress(done0 + i + 1, total)
            last = time.monotonic()
    values = zip(*_metric_lists(_batch(pieces, pieces_needed=rs is not None))) if pieces else iter(())
    keys = ["path", *METRICS, "error", "error_detail"]
    i_notes = 1 + list(METRICS).index("n_notes")
    for i, vals, piece in zip(where, values, pieces):
        row = dict(zip(keys, (paths[i], *vals, None, None)))
        if not row[keys[i_notes]]:
            rows[i] = _empty_row(paths[i], cols, "no notes", "the file holds no pitched (non-drum) notes")
            continue
        if rs is not None:
            try:
                res = rs.score_piece(piece)
                for n in rule_names:
                    v = res.rules.get(n)
                    row[f"rule_{n}"] = None if v is None or v != v else float(v)
                row["r_f"] = float(res.r_f)
            except MusicgenError as exc:
                row.update({f"rule_{n}": None for n in rule_names})
                row["r_f"] = None
                row["rules_error"] = str(exc)
            # keep the error columns last
            row["error"] = row.pop("error")
            row["error_detail"] = row.pop("error_detail")
        rows[i] = row
    return rows  # type: ignore[return-value]


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def evaluate_paths(
    paths: Sequence[str | os.PathLike],
    workers: int = 1,
    rules: str | os.PathLike | None = None,
    progress: ProgressFn | None = None,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Evaluate every music file in ``paths`` (files and folders, recursive) with every metric.

    Args:
        paths: files and folders.
        workers: processes to use (1: this process). Results come in sorted path order either way.
        rules: a rule set name ("violin") or rule-file path: adds ``rule_<name>`` and ``r_f`` columns
            (see :mod:`musicgen.rules`).
        progress: called as ``progress(files_done, files_total)`` now and then.
        batch_size: files scored together (memory grows with it; speed saturates around 100-300).

    Returns:
        the report dict (see the module docstring): ``{"files": [...], "summary": {...}}``.

    Raises:
        UsageError: no path, a missing path, ``workers`` < 1, an unknown rule set name.
        InputError: a rule file that cannot be read.
    """
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    files = _discover(paths)
    rules_spec = os.fspath(rules) if rules is not None else None
    rule_names: list[str] = []
    if rules_spec is not None:
        rule_names = [r.name for r in _ruleset(rules_spec).rules]
    total = len(files)
    rows: list[dict[str, Any]] = []
    if progress is not None:
        progress(0, total)
    if workers == 1 or total <= batch_size:
        done = 0
        for chunk in _chunks(files, batch_size):
            rows.extend(_evaluate_chunk(chunk, rules_spec, progress, done, total))
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        size = max(1, min(batch_size, math.ceil(total / (workers * 4))))
        chunks = _chunks(files, size)
        results: list[list[dict[str, Any]] | None] = [None] * len(chunks)
        done = 0
        import multiprocessing

        # not fork: this process may run threads (the progress display, torch's pools), and a forked
        # child of a multi-threaded process can deadlock (Python 3.12+ warns about it)
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as ex:
            futs = {ex.submit(_evaluate_chunk, c, rules_spec): i for i, c in enumerate(chunks)}
            for fut in as_completed(futs):
                i = futs[fut]
                results[i] = fut.result()
                done += len(chunks[i])
                if progress is not None:
                    progress(done, total)
        for r in results:
            rows.extend(r or [])
    cols = metric_columns(rule_names)
    return {"files": rows, "summary": metric_summary(rows, cols)}


# ---------------------------------------------------------------------------------------- reports


def metric_summary(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Mean, population std, min, max and count of each metric over the rows where it is defined."""
    cols = list(columns) if columns is not None else metric_columns()
    out: dict[str, dict[str, Any]] = {}
    try:  # one float matrix (None -> nan) instead of a list per column
        try:
            get = operator.itemgetter(*cols)
            cells = [get(r) for r in rows]
        except KeyError:  # rows without some columns: those are null
            cells = [[r.get(c) for c in cols] for r in rows]
        table = np.array(cells, dtype=float).reshape(len(rows), len(cols))
    except (TypeError, ValueError):
        table = None
    for j, c in enumerate(cols):
        if table is not None:
            vals = table[:, j]
        else:
            vals = np.array([r[c] for r in rows if r.get(c) is not None], dtype=float)
        vals = vals[np.isfinite(vals)]
        if vals.size:
            out[c] = {
                "mean": float(vals.mean()),
                "std": float(vals.std()),
                "min": float(vals.min()),
                "max": float(vals.max()),
                "n": int(vals.size),
            }
        else:
            out[c] = {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return out


def report_to_json(report: dict[str, Any]) -> str:
    """The report as JSON text (null for undefined values, never NaN), indented by one space.

    The text is exactly ``json.dumps(report, indent=1, allow_nan=False) + "\\n"``; reports of the usual
    shape (``files``: a list of flat rows, ``summary``: flat statistics per column) are written by a
    faster path, since Python's json module encodes indented output in Python.

    Raises:
        ValueError: a value is NaN or infinite.
        TypeError: a value is not JSON-serialisable.
    """
    try:
        return _report_json_text(report)
    except _NotFlat:
        import json

        return json.dumps(report, indent=1, allow_nan=False) + "\n"


class _NotFlat(Exception):
    """A report value that the fast JSON writer does not handle (it then leaves it to ``json``)."""


def _json_float(v: float) -> str:
    if v - v == 0.0:  # finite: NaN and ±inf give NaN here
        return float.__repr__(v)
    raise ValueError(f"Out of range float values are not JSON compliant: {float.__repr__(v)}")


def _json_scalar_writers() -> dict[type, Callable[[Any], str]]:
    from json.encoder import encode_basestring_ascii

    return {
        str: encode_basestring_ascii,
        float: _json_float,
        int: int.__repr__,
        bool: lambda v: "true" if v else "false",
        type(None): lambda v: "null",
    }


def _json_flat_object(d: dict, indent: str, writers: dict) -> str:
    """A dict of str keys and scalar values as indented JSON (``indent``: the dict's own indent)."""
    if type(d) is not dict:
        raise _NotFlat
    if not d:
        return "{}"
    inner = indent + " "
    key = writers[str]
    try:
        items = [f"{inner}{key(k)}: {writers[type(v)](v)}" for k, v in d.items()]
    except (KeyError, TypeError):  # a nested value, or a key that is not a string
        raise _NotFlat from None
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


def _json_row_template(names: tuple, writers: dict, specs: Sequence[str] | None = None) -> str:
    """The indented JSON text (at depth 2) of a row with keys ``names``, with a ``%`` conversion for
    each value (``specs``, default ``%s`` for all: values given as JSON text)."""
    if any(type(k) is not str for k in names):
        raise _NotFlat
    key = writers[str]
    fields = (f"   {key(k).replace('%', '%%')}: {spec}" for k, spec in zip(names, specs or ["%s"] * len(names)))
    return "  {\n" + ",\n".join(fields) + "\n  }"


def _json_column(values: tuple, writers: dict) -> tuple[str, Sequence]:
    """How one column of rows goes into the rows' template: (``%`` conversion, values for it).

    Finite floats go in as they are under ``%r`` (``float.__repr__``, as json writes them) and ints
    under ``%d``; other columns as JSON text under ``%s``, encoded with one ``map`` when the column
    holds one type (reports hold thousands of rows).

    Raises:
        ValueError: a NaN or infinite float.
        _NotFlat: a value that is not a JSON scalar.
    """
    types = set(map(type, values))
    if types == {float}:
        if not all(map(math.isfinite, values)):
            _json_float(next(v for v in values if not math.isfinite(v)))  # raises
        return "%r", values
    if types == {int}:
        return "%d", values
    if len(types) == 1:
        writer = writers.get(types.pop())
        if writer is not None:
            return "%s", list(map(writer, values))
    try:
        return "%s", [writers[type(v)](v) for v in values]
    except KeyError:  # a nested value
        raise _NotFlat from None


def _json_rows(rows: list, writers: dict) -> list[str]:
    """Each row as an indented JSON object (at depth 2).

    Rows with the same keys in the same order (all of a report, usually) are written column by column
    into one template (see :func:`_json_column`); other rows one by one.
    """
    names = tuple(rows[0]) if rows and type(rows[0]) is dict else ()
    if names and all(type(r) is dict for r in rows) and all(map(names.__eq__, map(tuple, rows))):
        get = operator.itemgetter(*names) if len(names) > 1 else (lambda r: (r[names[0]],))
        specs, columns = zip(*[_json_column(col, writers) for col in zip(*map(get, rows))])
        return list(map(_json_row_template(names, writers, specs).__mod__, zip(*columns)))
    out = []
    templates: dict[tuple, str] = {}
    for row in rows:
        if type(row) is not dict or not row:
            out.append("  " + _json_flat_object(row, "  ", writers))
            continue
        names = tuple(row)
        template = templates.get(names)
        if template is None:
            template = templates[names] = _json_row_template(names, writers)
        try:
            out.append(template % tuple([writers[type(v)](v) for v in row.values()]))
        except KeyError:  # a nested value
            raise _NotFlat from None
    return out


def _report_json_text(report: dict[str, Any]) -> str:
    """``json.dumps(report, indent=1) + "\\n"`` for a report of flat rows and flat statistics."""
    if (
        type(report) is not dict
        or list(report) != ["files", "summary"]
        or type(report["files"]) is not list
        or type(report["summary"]) is not dict
    ):
        raise _NotFlat
    writers = _json_scalar_writers()
    files = report["files"]
    files_text = ["[\n", ",\n".join(_json_rows(files, writers)), "\n ]"] if files else ["[]"]
    summary = report["summary"]
    if any(type(col) is not str for col in summary):
        raise _NotFlat
    key = writers[str]
    stats = [f"  {key(col)}: {_json_flat_object(st, '  ', writers)}" for col, st in summary.items()]
    summary_text = "{\n" + ",\n".join(stats) + "\n }" if stats else "{}"
    # one join: the text runs to megabytes, and each + would copy it again
    return "".join(['{\n "files": ', *files_text, ',\n "summary": ', summary_text, "\n}\n"])


def report_to_csv(report: dict[str, Any]) -> str:
    """The per-file rows as CSV text: path, every metric, error, error_detail (empty cell = null)."""
    import csv
    import io

    rows = report["files"]
    cols: list[str] = ["path"]
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    # keep error columns last
    for k in ("rules_error", "error", "error_detail"):
        if k in cols:
            cols.remove(k)
            cols.append(k)
    if len(cols) == 1:
        cols = ["path"] + metric_columns() + ["error", "error_detail"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(k) is None else (repr(r[k]) if isinstance(r[k], float) else r[k]) for k in cols])
    return buf.getvalue()
