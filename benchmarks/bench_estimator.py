"""The live emotion estimator: accuracy on unseen simulated people, and latency per window vs NeuroKit2's pipeline.

Accuracy (SYNTHETIC): :func:`musicgen.emotion.evaluation.evaluate_unseen_sessions` — each seed a new
simulated person through all 8 emotions in random order, 30 s each, estimated exactly as
``musicgen emotion estimate`` does; windows at least 12 s into a segment are scored. Printed per
variant (all channels / no face / cardiac only): mean and worst over the seeds; then the README
demo (``musicgen emotion simulate`` defaults, seed 0) and short demo-like sessions of other simulated
people (:func:`musicgen.emotion.evaluation.evaluate_short_sessions`: 5 orders × seeds 1–10, and 20
fresh random orders from seeds 3000 on).

Latency:

A new window arrives every hop (1 s); its estimate should be ready in about 15 ms on 2 cores so that
`interact` stays well under 100 ms end to end with the generator. This script simulates a SYNTHETIC
recording (ECG 250 Hz, EDA 50 Hz, respiration 50 Hz, temperature 4 Hz, face 10 Hz), then times,
per window:

- ``features``: :func:`musicgen.emotion.features.window_features` on the buffered signals;
- ``model``: building the (3 × T × F) map and one forward pass of the shipped estimator;
- ``total``: both, through :class:`~musicgen.emotion.streaming.EstimatorSession` (what
  ``estimate_stream`` does per window);
- the named peer: NeuroKit2's ``nk.bio_process`` (ECG + RSP + EDA, all at 250 Hz) on the same
  10-s window — the usual one-call way to process these signals (``nk.bio_analyze`` on top of it
  raises on 10-s windows: its complexity indices need longer signals, so it is left out).

It also times a whole file replay (``estimate_stream``: parsing + features + model) per window.

Usage: python benchmarks/bench_estimator.py [--seeds 20] [--first-seed 2000] [--seconds 90] [--threads N] [--no-accuracy]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _stats(xs: list[float]) -> str:
    a = np.asarray(xs) * 1000
    return f"median {np.median(a):6.2f} ms   p95 {np.percentile(a, 95):6.2f} ms   max {a.max():6.2f} ms   (n={a.size})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=90.0, help="length of the simulated recording (s)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--peer-windows", type=int, default=15, help="windows to time the NeuroKit2 peer on")
    ap.add_argument("--seeds", type=int, default=20, help="unseen simulated people for the accuracy table")
    ap.add_argument("--first-seed", type=int, default=None, help="first evaluation seed (default 2000)")
    ap.add_argument("--no-accuracy", action="store_true", help="only the latency figures")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    import neurokit2 as nk

    from musicgen.emotion.features import window_features
    from musicgen.emotion.network import encode_features, encode_rows, load_estimator
    from musicgen.emotion.simulate import simulate_session, write_recording_csv
    from musicgen.emotion.streaming import EstimatorSession, estimate_stream

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    print(
        f"machine: {cores} usable cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"NeuroKit2 {nk.__version__}, Python {sys.version.split()[0]}"
    )
    rec = simulate_session([("neutral", 30.0), ("anger", max(10.0, args.seconds - 30.0))], seed=5)
    print(
        f"\nlatency data: SYNTHETIC recording, {rec.duration:.0f} s (neutral then anger), channels {', '.join(rec.signals)}"
    )
    est = load_estimator()
    cfg = est.config
    print(f"estimator: {est.meta.get('parameters', '?')} parameters, trained on {est.meta.get('trained_on', '?')}")
    if not args.no_accuracy:
        from musicgen.emotion.evaluation import (
            DEFAULT_FIRST_SEED,
            FRESH_SHORT_SEEDS,
            evaluate_short_sessions,
            evaluate_unseen_sessions,
            random_short_sessions,
            readme_demo_accuracy,
        )

        first = DEFAULT_FIRST_SEED if args.first_seed is None else args.first_seed
        t0 = time.perf_counter()
        ev = evaluate_unseen_sessions(est, list(range(first, first + args.seeds)))
        print()
        for line in ev.table_lines():
            print(line)
        for v, acc in ev.accuracy.items():
            print(f"  per seed, {v}: " + " ".join(f"{100 * a:.0f}" for a in acc))
        correct, total, seen = readme_demo_accuracy(est)
        print(
            f"README demo (neutral, happy, sadness, 30 s each, seed 0): {correct}/{total} windows past the lag right "
            f"({100 * correct / total:.1f} %) — SYNTHETIC"
        )
        for emo, labs in seen.items():
            print(
                f"  {emo}: "
                + ", ".join(f"{lab} {labs.count(lab)}" for lab in sorted(set(labs), key=lambda x: -labs.count(x)))
            )
        for line in evaluate_short_sessions(est).table_lines():
            print(line)
        fresh = evaluate_short_sessions(est, sessions=random_short_sessions(FRESH_SHORT_SEEDS))
        print("fresh short sessions, random orders (seeds never looked at while choosing the recipe):")
        for line in fresh.table_lines():
            print(line)
        print(f"[accuracy part: {time.perf_counter() - t0:.0f} s]")
    ends = np.arange(cfg.length_s, rec.duration + 1e-9, cfg.hop_s)

    # warm up imports and caches
    window_features(rec.signals, float(ends[0]), cfg, stream_start=0.0)
    session = EstimatorSession(est)
    t_feat, t_model, t_total = [], [], []
    for e in ends:
        t0 = time.perf_counter()
        wf = window_features(rec.signals, float(e), cfg, stream_start=0.0, seen=set(rec.signals))
        t1 = time.perf_counter()
        session.update(wf)
        t2 = time.perf_counter()
        t_feat.append(t1 - t0)
        t_total.append(t2 - t0)
    # the model alone (row encoding + map + forward), on the session's last window
    med, spread, mat = session.reference.current()
    for _ in range(len(ends)):
        t0 = time.perf_counter()
        enc = encode_features(wf.values)
        row = encode_rows(enc[None], wf.mask[None], med[None], spread[None], np.array([mat]), est.norm)[0]
        rows = list(session.rows)[1:] + [row]
        est.predict(np.stack(rows, axis=1)[None])
        t_model.append(time.perf_counter() - t0)

    print("\nper window (10-s window, new every 1 s):")
    print(f"  features (NeuroKit2 steps)   {_stats(t_feat)}")
    print(f"  model (encode, map, forward) {_stats(t_model)}")
    print(f"  features + model             {_stats(t_total)}")

    # the named peer: NeuroKit2's one-call pipeline on the same windows
    fs = 250
    t_peer, failed = [], 0
    for e in ends[-args.peer_windows :] if args.peer_windows > 0 else []:
        a, b = int((e - cfg.length_s) * fs), int(e * fs)
        ecg = rec.signals["ecg"][1][a:b]
        tt = np.arange(a, b) / fs
        eda = np.interp(tt, *rec.signals["eda"])
        rsp = np.interp(tt, *rec.signals["rsp"])
        t0 = time.perf_counter()
        try:
            nk.bio_process(ecg=ecg, rsp=rsp, eda=eda, sampling_rate=fs)
        except Exception:  # noqa: BLE001 - count, do not crash the benchmark
            failed += 1
            continue
        t_peer.append(time.perf_counter() - t0)
    if t_peer:
        print(
            f"  peer: nk.bio_process (ECG + RSP + EDA at 250 Hz, no analysis step)  {_stats(t_peer)}"
            + (f"  [{failed} windows raised]" if failed else "")
        )
        print(f"  ratio peer / ours (features + model, medians): {np.median(t_peer) / np.median(t_total):.1f}x")
    elif failed:
        print(f"  peer: nk.bio_process raised on all {failed} windows")

    # whole replay through estimate_stream (parse + features + model)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "rec.csv"
        write_recording_csv(rec, path)
        t0 = time.perf_counter()
        n = sum(1 for _ in estimate_stream(path, estimator=est))
        dt = time.perf_counter() - t0
    print(
        f"\nfile replay via estimate_stream ({path.name}, {rec.duration:.0f} s of signal, {n} estimates): "
        f"{dt:.2f} s total, {1000 * dt / max(n, 1):.2f} ms per estimate (includes CSV parsing)"
    )
    tot = np.asarray(t_total) * 1000
    verdict = "meets" if np.median(tot) <= 15 else "MISSES"
    print(
        f"\ntarget: a new window's estimate in about 15 ms or less -> median {np.median(tot):.2f} ms, p95 {np.percentile(tot, 95):.2f} ms: "
        f"{verdict} it"
    )


if __name__ == "__main__":
    main()
