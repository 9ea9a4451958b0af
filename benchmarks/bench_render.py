"""Time to hear and see a generated piece: audio (FluidSynth + SoundFont) and the piano-roll PNG.

    python benchmarks/bench_render.py [--bars 16] [--emotion sad] [--repeats 7] [--soundfont PATH]

Prints:
* the synthesiser (FluidSynth version) and the SoundFont used;
* the piece: bars, notes, seconds of music (the performance from the shipped model, seed 0);
* ``render_audio`` after start-up (the first call loads the library and the SoundFont and is not
  counted): median and max over ``--repeats`` runs, and the real-time factor (seconds of music per
  second of rendering);
* the WAV facts: length, tail after the last note-off, peak and RMS in dBFS;
* ``plot_piece`` (the piano roll with the rules engine's marks), median over 3 runs;
* the whole command ``musicgen render piece.mid -o piece.wav`` including Python start-up, median of 3.

Target (issue 12): a 16-bar piece rendered to audio in at most 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--emotion", default="sad")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--soundfont", default=None)
    args = ap.parse_args()

    import musicgen
    from musicgen import audio
    from musicgen.io import write_midi

    sf = audio.find_soundfont(args.soundfont)
    print(f"synthesiser: {audio.synthesizer_version()} (libfluidsynth through ctypes)")
    print(f"SoundFont:   {sf} ({os.path.getsize(sf) / 1e6:.1f} MB)")

    res = musicgen.generate(args.emotion, bars=args.bars, seed=0)
    piece = res.performance
    perf = audio.performance_seconds(piece)
    print(
        f"piece:       {args.emotion}, {args.bars} bars, {len(piece)} notes, {piece.tempo:.0f} bpm, {perf:.2f} s of music"
    )

    t0 = time.perf_counter()
    a = audio.render_audio(piece, sf)
    first = time.perf_counter() - t0
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        b = audio.render_audio(piece, sf)
        times.append(time.perf_counter() - t0)
        assert np.array_equal(a, b), "rendering is not deterministic"
    med = statistics.median(times)
    print(
        f"render_audio: first call {first:.3f} s (loads FluidSynth and the SoundFont); then median {med:.3f} s, "
        f"max {max(times):.3f} s over {args.repeats} runs; real-time factor {perf / med:.0f}x  "
        f"[target <= 2 s: {'met' if med <= 2.0 else 'NOT met'}]"
    )
    seconds = a.shape[0] / audio.SAMPLE_RATE
    peak = float(np.abs(a).max())
    rms = float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))
    print(
        f"audio:       {seconds:.2f} s = {perf:.2f} s + {seconds - perf:.2f} s tail, {audio.SAMPLE_RATE} Hz, "
        f"{a.shape[1]} channels, peak {20 * np.log10(peak):.2f} dBFS, RMS {20 * np.log10(rms):.1f} dBFS"
    )

    with tempfile.TemporaryDirectory() as td:
        ptimes = []
        for i in range(3):
            t0 = time.perf_counter()
            musicgen.plot_piece(res.composition, os.path.join(td, f"p{i}.png"), emotion=res.report["emotion"])
            ptimes.append(time.perf_counter() - t0)
        print(f"plot_piece:  median {statistics.median(ptimes):.3f} s over 3 runs (first {ptimes[0]:.3f} s)")

        mid = os.path.join(td, "piece.mid")
        write_midi(piece, mid)
        cmd = [
            sys.executable,
            "-c",
            "from musicgen.cli import main; main()",
            "render",
            mid,
            "-o",
            os.path.join(td, "out.wav"),
            "--force",
            "--soundfont",
            str(sf),
        ]
        ctimes = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True)
            ctimes.append(time.perf_counter() - t0)
            if r.returncode != 0:
                sys.exit(f"musicgen render failed: {r.stderr.strip()}")
        print(
            f"musicgen render piece.mid -o piece.wav (whole command, Python start-up included): median {statistics.median(ctimes):.2f} s over 3 runs"
        )


if __name__ == "__main__":
    main()
