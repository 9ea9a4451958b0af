"""Speed of ``musicgen evaluate`` against MusPy, whole process against whole process, and PCE agreement.

Usage:  python benchmarks/bench_evaluate.py [--repeats 3] [--n-mono 4000] [--transpositions 11]
                                            [--mono DIR] [--poly DIR] [--only mono|poly]

Two folders (built once, cached under ``<musicgen cache>/bench_evaluate/``):

* **mono**: ``n-mono`` fiddle tunes of the built corpus (``musicgen data build`` first), one track
  each, written with :func:`musicgen.io.write_midi`.
* **poly**: music21's Bach chorales (350; four voices, one track per part): each written once by
  music21's own MIDI writer, plus ``transpositions - 1`` transposed copies (-5..+5 semitones, written
  with :func:`musicgen.io.write_midi`) so that the folder holds thousands of files, as a real
  collection does, and start-up does not decide the ratio.

For each folder, each side runs as its own process, start-up and imports included:
``musicgen evaluate DIR --json OUT`` (every metric, themes included, the report written) against a
small Python script doing only ``muspy.read_midi`` + ``muspy.pitch_class_entropy`` for every file
(:data:`MUSPY_SCRIPT`). Both run with ``OMP_NUM_THREADS=1`` and compiled bytecode kept (as installed
packages have theirs), interleaved, after one warm-up run each;
the figures are the medians of ``repeats`` runs (wall-clock time, and the CPU time of the child
process). Files/s = files in the folder / seconds. The PCE of every file in musicgen's report is then
compared with MusPy's (it differs only where the two MIDI parsers pair a file's note-on and note-off
events differently, e.g. repeated note-offs of one pitch, and so read different notes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from musicgen.paths import cache_dir  # noqa: E402

#: The MusPy side: read every .mid file of a folder and compute its pitch-class entropy; write
#: {file name: PCE} as JSON (null where MusPy cannot read the file).
MUSPY_SCRIPT = r"""
import json, math, os, sys
import muspy
folder, out = sys.argv[1], sys.argv[2]
pce = {}
for name in sorted(os.listdir(folder)):
    if name.endswith(".mid"):
        try:
            v = muspy.pitch_class_entropy(muspy.read_midi(os.path.join(folder, name)))
            pce[name] = None if math.isnan(v) else v
        except Exception:
            pce[name] = None
with open(out, "w") as fh:
    json.dump(pce, fh)
"""

TRANSPOSE_RANGE = 5  # the poly folder's copies: -5..+5 semitones


# ---------------------------------------------------------------------------------------- folders


def _finish(tmp: Path, folder: Path, what: str) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    print(f"built {folder}: {what}")


def build_mono(folder: Path, n: int) -> Path:
    """Write ``n`` tunes of the built corpus as MIDI into ``folder`` (kept when it already holds n)."""
    if folder.is_dir() and len(list(folder.glob("*.mid"))) == n:
        return folder
    from rich.progress import Progress

    from musicgen.corpus import Corpus
    from musicgen.io import write_midi

    corpus = Corpus.load()
    if len(corpus) < n:
        raise SystemExit(f"the corpus has {len(corpus)} tunes; ask for at most that many (--n-mono)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".mono.", dir=folder.parent))
    with Progress() as bar:
        task = bar.add_task(f"writing {n} corpus tunes as MIDI", total=n)
        for i in range(n):
            write_midi(corpus.piece(i), tmp / f"{i:05d}.mid")
            bar.advance(task)
    _finish(tmp, folder, f"{n} MIDI files (fiddle tunes of the built corpus)")
    return folder


def build_poly(folder: Path, transpositions: int) -> Path:
    """Write music21's Bach chorales as MIDI into ``folder``: music21's own file of each, and
    ``transpositions - 1`` transposed copies (kept when the folder is already complete)."""
    shifts = [0] + [s for k in range(1, TRANSPOSE_RANGE + 1) for s in (k, -k)]
    if not 1 <= transpositions <= len(shifts):
        raise SystemExit(f"--transpositions must lie in 1..{len(shifts)}")
    shifts = shifts[:transpositions]
    from music21 import corpus, midi
    from rich.progress import Progress

    from musicgen.io import piece_from_stream, write_midi

    done = folder / ".complete"  # written last: the folder holds every chorale music21 could write
    if done.is_file() and len(list(folder.glob("*.mid"))) == int(done.read_text()):
        return folder
    names = sorted(set(corpus.chorales.Iterator(returnType="filename")))  # the iterator repeats some
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".poly.", dir=folder.parent))
    skipped = 0
    with Progress() as bar:
        task = bar.add_task(f"writing {len(names)} chorales x {len(shifts)} keys as MIDI", total=len(names))
        for name in names:
            stem = name.replace("/", "_").replace(".", "_")
            try:
                score = corpus.parse(name)
                mf = midi.translate.streamToMidiFile(score)
                (tmp / f"{stem}.mid").write_bytes(mf.writestr())
                piece = piece_from_stream(score, name)
                for s in shifts[1:]:
                    write_midi(piece.transpose(s), tmp / f"{stem}_t{s:+d}.mid")
            except Exception:  # a chorale music21 cannot parse or write: skip it
                skipped += 1
            bar.advance(task)
    n = len(list(tmp.glob("*.mid")))
    (tmp / ".complete").write_text(str(n))
    _finish(tmp, folder, f"{n} MIDI files ({len(names) - skipped} chorales x {len(shifts)} keys; {skipped} skipped)")
    return folder


# ---------------------------------------------------------------------------------------- timing


def _musicgen_command() -> list[str]:
    exe = Path(sys.executable).with_name("musicgen")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from musicgen.cli import main; main()"]


def _env() -> dict:
    """The children's environment: one thread, this repository's musicgen first on the path, and
    compiled bytecode kept as in ordinary use (the warm-up run writes it; installed packages, MusPy's
    included, ship theirs), whatever PYTHONDONTWRITEBYTECODE says here."""
    path = os.pathsep.join([str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=path)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """Run ``cmd`` to completion; (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):  # musicgen evaluate exits 1 when no file could be evaluated
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(label: str, folder: Path, repeats: int, work: Path) -> float:
    """Time both sides on ``folder`` and check the PCE agreement; returns the wall-clock ratio."""
    n = len(list(folder.glob("*.mid")))
    env = _env()
    mg_json, mp_json = work / f"{label}_musicgen.json", work / f"{label}_muspy.json"
    mg_cmd = [*_musicgen_command(), "evaluate", str(folder), "--json", str(mg_json), "--force"]
    mp_cmd = [sys.executable, "-c", MUSPY_SCRIPT, str(folder), str(mp_json)]
    _timed(mg_cmd, env), _timed(mp_cmd, env)  # warm-up: file cache, compiled bytecode
    mg, mp = [], []
    for _ in range(repeats):
        mg.append(_timed(mg_cmd, env))
        mp.append(_timed(mp_cmd, env))
    mg_w, mg_c = statistics.median(w for w, _ in mg), statistics.median(c for _, c in mg)
    mp_w, mp_c = statistics.median(w for w, _ in mp), statistics.median(c for _, c in mp)
    report = json.loads(mg_json.read_text())
    ok = sum(f["error"] is None for f in report["files"])
    print(f"\n{label}: {folder} ({n} MIDI files, {ok} evaluated, {n - ok} failed)")
    print(
        f"  musicgen evaluate --json (all {len(report['summary'])} metrics): median {mg_w:6.2f} s wall = {n / mg_w:8.1f} files/s; CPU {mg_c:6.2f} s = {n / mg_c:8.1f} files/s"
    )
    print(
        f"  MusPy read_midi + pitch_class_entropy:     median {mp_w:6.2f} s wall = {n / mp_w:8.1f} files/s; CPU {mp_c:6.2f} s = {n / mp_c:8.1f} files/s"
    )
    runs = f"musicgen {', '.join(f'{w:.2f}' for w, _ in mg)} s; MusPy {', '.join(f'{w:.2f}' for w, _ in mp)} s"
    print(f"  ratio musicgen / MusPy, whole process: {mp_w / mg_w:.2f}x wall, {mp_c / mg_c:.2f}x CPU (runs: {runs})")
    ref = json.loads(mp_json.read_text())
    ours = {Path(f["path"]).name: f["pce"] for f in report["files"]}
    both = [k for k in ref if ref[k] is not None and ours.get(k) is not None]
    diffs = [abs(ours[k] - ref[k]) for k in both]
    undefined = sum(1 for k in ref if ref[k] is None and ours.get(k) is None)
    only_one = len(ref) - len(both) - undefined
    differ = sum(d > 0 for d in diffs)
    print(
        f"  PCE agreement with MusPy: max |diff| = {max(diffs, default=math.nan):.3e} over {len(both)} files, {differ} not identical"
        f" ({undefined} undefined in both, {only_one} defined in one only)"
    )
    return mp_w / mg_w


def startup(work: Path) -> None:
    """Each side on an empty folder: what start-up and imports cost."""
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    env = _env()
    mg_cmd = [*_musicgen_command(), "evaluate", str(empty)]
    mp_cmd = [sys.executable, "-c", MUSPY_SCRIPT, str(empty), str(work / "empty.json")]
    mg = statistics.median(_timed(mg_cmd, env)[0] for _ in range(3))
    mp = statistics.median(_timed(mp_cmd, env)[0] for _ in range(3))
    print(f"\nstart-up alone (an empty folder, median of 3): musicgen evaluate {mg:.2f} s; MusPy script {mp:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each side per folder (median)")
    ap.add_argument("--n-mono", type=int, default=4000, help="corpus tunes in the mono folder")
    ap.add_argument("--transpositions", type=int, default=11, help="keys of each chorale in the poly folder (1..11)")
    ap.add_argument("--mono", type=Path, default=None, help="use this folder of .mid files instead of the mono folder")
    ap.add_argument("--poly", type=Path, default=None, help="use this folder of .mid files instead of the poly folder")
    ap.add_argument("--only", choices=("mono", "poly"), default=None, help="time one folder only")
    args = ap.parse_args()
    base = cache_dir() / "bench_evaluate"
    folders = {}
    if args.only in (None, "mono"):
        folders["mono"] = args.mono or build_mono(base / f"mono_{args.n_mono}", args.n_mono)
    if args.only in (None, "poly"):
        folders["poly"] = args.poly or build_poly(base / f"poly_{args.transpositions}", args.transpositions)
    where = subprocess.run(
        [sys.executable, "-c", "import musicgen; print(musicgen.__file__)"], env=_env(), capture_output=True, text=True
    ).stdout.strip()
    print(
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; OMP_NUM_THREADS=1 for both sides; musicgen from {Path(where).parent}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ratios = {label: compare(label, folder, args.repeats, work) for label, folder in folders.items()}
        startup(work)
    print("\nsummary: " + "; ".join(f"{k} {v:.1f}x MusPy" for k, v in ratios.items()) + " (whole process, wall clock)")


if __name__ == "__main__":
    main()
