"""Latency of `musicgen generate` with the shipped model, and what best-of-N buys in R_F.

    python benchmarks/bench_generate.py [--bars 16] [--candidates 32] [--repeats 10] [--seeds 20]

Prints:
* the time to load the model (once per process);
* after loading, the time for one ``generate`` call (bars x candidates), median and p90 over repeats,
  split into sampling, rule scoring, discriminator and render+report;
* the whole command including process start (``musicgen generate ... -o x.mid``), median of 3;
* the real-time factor: seconds of music per second of generation (after load);
* best-of-N against single samples: mean R_F of the chosen candidate minus the mean R_F of all
  candidates (a single sample's expectation), over ``--seeds`` seeds and all 8 emotions.
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
    ap.add_argument("--candidates", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()

    import torch

    import musicgen
    from musicgen.emotion import EMOTIONS, from_label
    from musicgen.generation import inference_threads
    from musicgen.model.api import load_model
    from musicgen.rules import RuleSet

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    t = time.perf_counter()
    model = load_model()
    print(f"model load: {time.perf_counter() - t:.3f} s  ({model.path})")
    rs = RuleSet.load("violin")
    musicgen.generate("happy", bars=args.bars, candidates=args.candidates, seed=0, model=model)  # warm-up

    totals, parts = [], {"sample": [], "rules": [], "disc": [], "render+report": []}
    for r in range(args.repeats):
        emo = EMOTIONS[r % len(EMOTIONS)]
        t0 = time.perf_counter()
        res = musicgen.generate(emo, bars=args.bars, candidates=args.candidates, seed=r, model=model)
        totals.append(time.perf_counter() - t0)
        # the same work, step by step, to see where the time goes
        conds = np.repeat(from_label(emo).vector()[None], args.candidates, 0)
        with inference_threads(1):  # as generate() runs them
            t1 = time.perf_counter()
            s = model.sample(conds, args.bars, seed=r)
            t2 = time.perf_counter()
            rs.score_grids(s.grids, model.spec)
            t3 = time.perf_counter()
            model.discriminator_score(s, conds)
            t4 = time.perf_counter()
        parts["sample"].append(t2 - t1)
        parts["rules"].append(t3 - t2)
        parts["disc"].append(t4 - t3)
        parts["render+report"].append(max(totals[-1] - (t4 - t1), 0.0))
    med = statistics.median(totals)
    p90 = float(np.percentile(totals, 90))
    print(
        f"generate {args.bars} bars x {args.candidates} candidates after load: median {med * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms over {args.repeats} runs"
    )
    print("  " + ", ".join(f"{k} {statistics.median(v) * 1000:.1f} ms" for k, v in parts.items()))
    music_s = args.bars * 4 * 60.0 / res.report["tempo_bpm"]
    print(
        f"real-time factor: {music_s / med:.1f}x ({music_s:.1f} s of music at {res.report['tempo_bpm']:.0f} bpm in {med:.3f} s)"
    )

    with tempfile.TemporaryDirectory() as d:
        cmd = [
            sys.executable,
            "-c",
            "from musicgen.cli import main; main()",
            "generate",
            "--emotion",
            "happy",
            "--bars",
            str(args.bars),
            "--candidates",
            str(args.candidates),
            "-o",
            os.path.join(d, "x.mid"),
            "--force",
        ]
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            runs.append(time.perf_counter() - t0)
        print(f"whole command incl. process start and model load: median {statistics.median(runs):.2f} s (3 runs)")

    gains, chosen, single = [], [], []
    for seed in range(args.seeds):
        for emo in EMOTIONS:
            res = musicgen.generate(emo, bars=args.bars, candidates=args.candidates, seed=1000 + seed, model=model)
            r = res.candidate_scores["r_f"]
            chosen.append(res.report["candidate_r_f"])
            single.append(float(r.mean()))
            gains.append(res.report["candidate_r_f"] - float(r.mean()))
    print(
        f"best-of-{args.candidates} vs single samples over {len(gains)} runs: R_F chosen {np.mean(chosen):.3f}, "
        f"single-sample mean {np.mean(single):.3f}, mean gain {np.mean(gains):+.3f} (min {np.min(gains):+.3f}, max {np.max(gains):+.3f})"
    )


if __name__ == "__main__":
    main()
