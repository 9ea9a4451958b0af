"""Speed of ``musicgen evaluate`` against MusPy, and agreement of the pitch-class entropy.

Usage:  python benchmarks/bench_evaluate.py [-n 320] [--repeats 3] [--folder DIR]

1. Builds (once; cached under ``<musicgen cache>/bench_midi``) a folder of ``n`` >= 300 MIDI files
   from music21's Ryan's Mammoth fiddle tunes (music21 ABC -> ``piece_from_stream`` -> ``write_midi``),
   with a progress bar.
2. Times, in this one process, ``musicgen.evaluate.evaluate_paths(folder)`` (every metric, themes
   included; discovery, reading and report building included) and MusPy doing only
   ``muspy.read_midi`` + ``muspy.pitch_class_entropy`` per file; prints files/s of each and the ratio
   (best of ``repeats`` runs each, interleaved, after one warm-up run each that pays the imports;
   wall-clock and CPU time of this process).
3. Checks that musicgen's PCE equals MusPy's on every file (max absolute difference).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from musicgen.paths import cache_dir  # noqa: E402


def build_folder(folder: Path, n: int) -> list[Path]:
    """Write ``n`` Ryan's Mammoth tunes as MIDI into ``folder`` (kept when it already holds >= n)."""
    have = sorted(folder.glob("*.mid")) if folder.is_dir() else []
    if len(have) >= n:
        return have[:n]
    from music21 import corpus
    from rich.progress import Progress

    from musicgen.io import piece_from_stream, write_midi

    entries = sorted(corpus.corpora.CoreCorpus().search("ryansMammoth"), key=lambda e: (str(e.sourcePath), str(e.number)))
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bench_midi.", dir=folder.parent))
    written = 0
    skipped = 0
    with Progress() as bar:
        task = bar.add_task(f"writing {n} fiddle tunes as MIDI", total=n)
        for e in entries:
            if written >= n:
                break
            try:
                s = corpus.parse(str(e.sourcePath), number=e.number) if e.number else corpus.parse(str(e.sourcePath))
                piece = piece_from_stream(s, source=str(e.sourcePath))
            except Exception:  # a tune music21 cannot parse: skip it
                skipped += 1
                continue
            write_midi(piece, tmp / f"{written:04d}_{Path(str(e.sourcePath)).stem[:40]}.mid")
            written += 1
            bar.advance(task)
    if written < n:
        raise SystemExit(f"only {written} tunes could be written (wanted {n})")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    print(f"built {folder}: {written} MIDI files ({skipped} tunes skipped)")
    return sorted(folder.glob("*.mid"))[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=320, help="MIDI files in the folder (>= 300)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--folder", type=Path, default=None, help="default: <musicgen cache>/bench_midi")
    args = ap.parse_args()
    if args.n < 300:
        raise SystemExit("-n must be at least 300")
    folder = args.folder or cache_dir() / "bench_midi"
    files = build_folder(folder, args.n)
    if len(sorted(folder.glob("*.mid"))) != len(files):
        # evaluate the whole folder: keep exactly n files in it
        for extra in sorted(folder.glob("*.mid"))[args.n :]:
            extra.unlink()

    import muspy

    from musicgen.evaluate import evaluate_paths
    from musicgen.io import read_piece

    def run_musicgen():
        return evaluate_paths([str(folder)], workers=1)

    def run_muspy():
        return [muspy.pitch_class_entropy(muspy.read_midi(str(f))) for f in files]

    def timed(fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        return time.perf_counter() - w, time.process_time() - c, out

    report = run_musicgen()  # warm-up (imports)
    ref = run_muspy()
    mg_w, mg_c, mp_w, mp_c = [], [], [], []
    for _ in range(args.repeats):
        w, c, report = timed(run_musicgen)
        mg_w.append(w), mg_c.append(c)
        w, c, ref = timed(run_muspy)
        mp_w.append(w), mp_c.append(c)
    n = len(files)
    assert len(report["files"]) == n
    ok = [f for f in report["files"] if f["error"] is None]
    print(f"folder: {folder} ({n} MIDI files, {len(ok)} evaluated, {n - len(ok)} failed)")
    print(f"musicgen evaluate (all {len(report['summary'])} metrics, 1 process): {n / min(mg_w):8.1f} files/s wall, {n / min(mg_c):8.1f} files/s CPU")
    print(f"MusPy read_midi + pitch_class_entropy:        {n / min(mp_w):8.1f} files/s wall, {n / min(mp_c):8.1f} files/s CPU")
    print(f"ratio musicgen / MusPy: {min(mp_w) / min(mg_w):.2f}x wall, {min(mp_c) / min(mg_c):.2f}x CPU")

    # where musicgen's time goes: reading alone
    c = time.process_time()
    for f in files:
        read_piece(f)
    read_c = time.process_time() - c
    print(f"  of which musicgen.io.read_piece: {read_c / n * 1e6:.1f} us/file CPU; everything else: {(min(mg_c) - read_c) / n * 1e6:.1f} us/file CPU")

    by_path = {Path(f["path"]).name: f["pce"] for f in report["files"]}
    diffs = [abs(by_path[f.name] - r) for f, r in zip(files, ref) if by_path.get(f.name) is not None and not math.isnan(r)]
    both_nan = sum(1 for f, r in zip(files, ref) if by_path.get(f.name) is None and math.isnan(r))
    print(f"PCE agreement with MusPy: max |diff| = {max(diffs):.3e} over {len(diffs)} files ({both_nan} undefined in both)")
    s = report["summary"]
    print("summary: " + ", ".join(f"{k} {s[k]['mean']:.3f}" for k in ("pce", "theme_count", "themes_16bars", "scale_consistency", "empty_beat_rate") if s[k]["mean"] is not None))


if __name__ == "__main__":
    main()
