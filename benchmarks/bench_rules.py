"""Rules-engine throughput: 16-bar candidates scored per second, batched and one at a time, against a
straightforward music21 implementation of the same four rules (written here as the reference).

    python benchmarks/bench_rules.py [--n 8192] [--n-single 300] [--n-ref 20] [--seed 0]

Candidates are seeded random violin-like lines in C major (random-walk melodies of sixteenths, eighths
and quarters with some rests, some double and triple stops and some notes that stray out of range). They are
scored on the model's grid (4 steps per quarter, 4/4) and on the default 12-steps grid (the same
candidates, each step made three). The key is given (C major) to the engine and the reference alike so
that both judge the same thing; the reference's scores are compared with the engine's (agreement line).

Targets (issue 3): >= 10,000 candidates/s batched on 2 cores and >= 100x the music21 reference.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from musicgen.grid import GridSpec, grid_notes
from musicgen.piece import Key
from musicgen.rules import RuleSet

try:  # the model's grid, if the model package is there
    from musicgen.model.data import MODEL_SPEC
except Exception:  # pragma: no cover
    MODEL_SPEC = GridSpec(steps_per_quarter=4, lowest_pitch=48, n_pitches=60)

BARS = 16
KEY = Key(0, "major")
C_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def make_candidates(n: int, spec: GridSpec, seed: int) -> np.ndarray:
    """n random violin-like 16-bar candidates on ``spec`` (int8 (n, 16, steps, pitches))."""
    rng = np.random.default_rng(seed)
    spb = spec.steps_per_bar
    total = BARS * spb
    unit = spec.steps_per_quarter // 4  # a sixteenth
    data = np.zeros((n, total, spec.n_pitches), dtype=np.int8)
    # scale-degree random walk around A4, in C major
    n_ev = total // unit
    lengths = rng.choice([1, 2, 2, 4], size=(n, n_ev)) * unit
    starts = np.cumsum(lengths, axis=1) - lengths
    walk = np.cumsum(rng.integers(-2, 3, size=(n, n_ev)), axis=1) + 5 * 7 + 5 - 30  # starts at A4
    t = walk % 60  # reflect into scale degrees 30..60 (E3..F7: a few notes stray out of G3..E7)
    degree = 30 + np.where(t <= 30, t, 60 - t)
    octave, idx = np.divmod(degree, 7)
    pitch = 12 * octave + C_MAJOR[idx]
    pitch = pitch + rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], size=pitch.shape)  # a few chromatic notes
    rest = rng.random((n, n_ev)) < 0.08
    double = rng.random((n, n_ev)) < 0.05
    triple = double & (rng.random((n, n_ev)) < 0.3)
    ok = (starts < total) & ~rest
    for extra, mask in ((0, ok), (-5, ok & double), (-9, ok & triple)):  # double / triple stops below
        cand, ev = np.nonzero(mask)
        p = np.clip(pitch[cand, ev] + extra - spec.lowest_pitch, 0, spec.n_pitches - 1)
        s = starts[cand, ev]
        ln = np.minimum(lengths[cand, ev], total - s)
        for h in range(1, int(ln.max())):
            sel = h < ln
            data[cand[sel], s[sel] + h, p[sel]] = 2
        data[cand, s, p] = 1
    return data.reshape(n, BARS, spb, spec.n_pitches)


def upsample(data: np.ndarray, spec: GridSpec, target: GridSpec) -> np.ndarray:
    """The same candidates on a finer grid with a (wider) pitch window."""
    k = target.steps_per_quarter // spec.steps_per_quarter
    n, bars, steps, pitches = data.shape
    out = np.zeros((n, bars, steps * k, target.n_pitches), dtype=np.int8)
    off = spec.lowest_pitch - target.lowest_pitch
    fine = np.repeat(data, k, axis=2)
    onset_copy = (fine == 1) & (np.arange(steps * k) % k != 0)[None, None, :, None]
    fine[onset_copy] = 2
    out[..., off : off + pitches] = fine
    return out


# ------------------------------------------------------------------------------------------- reference
def music21_reference(grid: np.ndarray, spec: GridSpec, rs: RuleSet, key: Key) -> dict[str, float]:
    """The four rules of ``rs`` computed the straightforward way with music21 objects (one candidate).

    The grid becomes a music21 Part of Notes and Chords, chordified (``chordify()``) into the spans in
    which the sounding pitches stay the same, then: range over every note's pitches; polyphony over the
    chordified spans (duration-weighted, in grid steps); rests as the Rest objects music21 fills into
    each measure of the chordified part (``makeMeasures`` + ``makeRests``) against the note onsets in
    that measure; chord tones by, per measure, the
    diatonic triad (music21 RomanNumerals of the key) whose pitch classes sound longest, checked at the
    strong beats via the chordified sounding pitches.
    """
    from music21 import chord, note, roman, stream
    from music21 import key as m21key

    on, dur, pitch = grid_notes(grid, spec)
    spq = spec.steps_per_quarter
    part = stream.Part()
    ts_str = f"{spec.numerator}/{spec.denominator}"
    from music21 import meter

    part.insert(0, meter.TimeSignature(ts_str))
    # simultaneous notes with the same length become a chord, others separate voices of notes
    groups: dict[tuple[int, int], list[int]] = {}
    for o, d, p in zip(on.tolist(), dur.tolist(), pitch.tolist()):
        groups.setdefault((o, d), []).append(p)
    for (o, d), ps in groups.items():
        el = note.Note(ps[0]) if len(ps) == 1 else chord.Chord(ps)
        el.quarterLength = d / spq
        part.insert(o / spq, el)
    total_ql = grid.shape[0] * spec.bar_quarters
    part.insert(total_ql, note.Rest(quarterLength=0))  # keep trailing empty bars
    chordified = part.chordify()  # one chord per span in which the sounding pitches do not change
    measured = chordified.makeMeasures()
    measured.makeTies(inPlace=True)  # split spans at bar lines
    measured.makeRests(fillGaps=True, inPlace=True, timeRangeFromBarDuration=True)
    bar_ql = spec.bar_quarters
    scores = {}
    rules = {r.kind: r for r in rs.rules}

    def aggregate(rule, sat, events):
        f = sat / max(events, 1)  # nothing to judge: the penalty
        return rule.reward * f + rule.penalty * (1 - f)

    # range
    r = rules["pitch_range"]
    heads = [p.midi for n in part.recurse().notes for p in n.pitches]
    scores["pitch_range"] = aggregate(r, sum(r.lowest <= m <= r.highest for m in heads), len(heads))
    # polyphony
    r = rules["polyphony"]
    sat = ev = 0
    for c in chordify_elements(chordified):
        steps = round(c.quarterLength * spq)
        if isinstance(c, chord.Chord) and len(c.pitches):
            ev += steps
            sat += steps if len(c.pitches) <= r.max_notes else 0
    scores["polyphony"] = aggregate(r, sat, ev)
    # rests
    r = rules["rests"]
    measures = list(measured.getElementsByClass(stream.Measure))[: grid.shape[0]]
    ok = 0
    for m in measures:
        rests = [x for x in m.recurse().getElementsByClass(note.Rest) if x.quarterLength > 0]
        # adjacent rests (music21 may split a gap) count once
        merged = 0
        last_end = None
        for x in sorted(rests, key=lambda x: x.offset):
            if last_end is None or abs(x.offset - last_end) > 1e-9:
                merged += 1
            last_end = x.offset + x.quarterLength
        window = part.getElementsByOffset(m.offset, m.offset + bar_ql, includeEndBoundary=False, mustBeginInSpan=True)
        notes = sum(len(n.pitches) for n in window.notes)
        ok += merged <= r.max_ratio * notes + 1e-9
    scores["rests"] = aggregate(r, ok, len(measures))
    # strong-beat chord tones
    r = rules["strong_beat_chord_tones"]
    k = m21key.Key("C" if key.tonic == 0 else key.tonic, key.mode)
    figures = (
        ["I", "V", "IV", "vi", "ii", "iii", "viio"]
        if key.mode == "major"
        else ["i", "V", "iv", "VI", "III", "VII", "v", "iio"]
    )
    triads = [set(roman.RomanNumeral(fig, k).pitchClasses) for fig in figures]
    beats = r.beat_table.get(ts_str, (1,))
    sat = ev = 0
    elements = chordify_elements(chordified)
    for b in range(grid.shape[0]):
        lo, hi = b * bar_ql, (b + 1) * bar_ql
        hist = np.zeros(12)
        for c in elements:
            a, z = max(c.offset, lo), min(c.offset + c.quarterLength, hi)
            if z > a and isinstance(c, chord.Chord):
                for p in c.pitches:
                    hist[p.pitchClass] += z - a
        best = max(range(len(triads)), key=lambda i: (sum(hist[pc] for pc in triads[i]), -i))
        for beat in beats:
            t = lo + (beat - 1) * 4.0 / spec.denominator
            sounding = [
                c for c in elements if c.offset <= t < c.offset + c.quarterLength and isinstance(c, chord.Chord)
            ]
            for c in sounding:
                for p in c.pitches:
                    ev += 1
                    sat += p.pitchClass in triads[best]
    scores["strong_beat_chord_tones"] = aggregate(r, sat, ev)
    r_f = sum(rules[kd].alpha * s for kd, s in scores.items())
    return {"r_f": r_f, **scores}


def chordify_elements(chordified):
    """The chords and rests of a chordified stream, flat, with absolute offsets."""
    from music21 import chord

    return [c for c in chordified.flatten().notesAndRests if isinstance(c, chord.Chord) or c.isRest]


# ------------------------------------------------------------------------------------------- timing
def best_time(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_spec(name: str, data: np.ndarray, spec: GridSpec, rs: RuleSet, n_single: int, n_ref: int) -> None:
    n = data.shape[0]
    rs.score_grids(data[:64], spec, key=KEY)  # warm up
    t_batch = best_time(lambda: rs.score_grids(data, spec, key=KEY))
    batched = n / t_batch
    rs_none = best_time(lambda: rs.score_grids(data, spec))
    t_single = best_time(lambda: [rs.score_grids(data[i : i + 1], spec, key=KEY) for i in range(n_single)], 2)
    single = n_single / t_single
    print(
        f"\n[{name}] {spec.steps_per_quarter} steps/quarter, pitches {spec.lowest_pitch}..{spec.highest_pitch}, 4/4, {BARS} bars, {n} candidates"
    )
    print(f"  batched           : {batched:12,.0f} candidates/s   ({t_batch * 1e3:.1f} ms for {n})")
    print(f"  batched, key est. : {n / rs_none:12,.0f} candidates/s   (key estimated per candidate)")
    print(f"  one at a time     : {single:12,.0f} candidates/s   ({n_single} calls)")
    print(f"  batched / one-at-a-time = {batched / single:.1f}x")
    s = rs.score_grids(data, spec, key=KEY)
    print(
        "  mean scores       : "
        + ", ".join(f"{k} {v.mean():+.3f}" for k, v in s.rules.items())
        + f"; R_F {s.r_f.mean():+.3f}"
    )
    try:
        import torch

        m = min(n, 1024)
        on = torch.from_numpy(data[:m] == 1).float()
        so = torch.from_numpy(data[:m] != 0).float()
        rs.soft_score(on[:8], so[:8], spec, key=KEY)
        threads = torch.get_num_threads()
        for th in sorted({threads, 1}, reverse=True):
            torch.set_num_threads(th)
            t_soft = best_time(lambda: rs.soft_score(on, so, spec, key=KEY))
            print(
                f"  soft form (torch float32, CPU, {th} thread{'s' if th > 1 else ''}): {m / t_soft:10,.0f} candidates/s (forward, {m} at once)"
            )
        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover
        pass
    if n_ref:
        t0 = time.perf_counter()
        ref = [music21_reference(data[i], spec, rs, KEY) for i in range(n_ref)]
        t_ref = time.perf_counter() - t0
        reference = n_ref / t_ref
        ours = rs.score_grids(data[:n_ref], spec, key=KEY)
        diffs = np.array([abs(ref[i]["r_f"] - ours.r_f[i]) for i in range(n_ref)])
        per_rule = {r.name: max(abs(ref[i][r.kind] - ours.rules[r.name][i]) for i in range(n_ref)) for r in rs.rules}
        print(f"  music21 reference : {reference:12,.2f} candidates/s   ({n_ref} candidates, {t_ref:.1f} s)")
        print(
            f"  batched / music21 = {batched / reference:,.0f}x;  one-at-a-time / music21 = {single / reference:,.0f}x"
        )
        print(
            f"  agreement with the reference: max |ΔR_F| = {diffs.max():.2e} over {n_ref} candidates; "
            + ", ".join(f"{k} {v:.1e}" for k, v in per_rule.items())
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8192, help="candidates for the batched timing")
    ap.add_argument("--n-single", type=int, default=300, help="candidates scored one at a time")
    ap.add_argument("--n-ref", type=int, default=20, help="candidates scored by the music21 reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rules", default="violin")
    args = ap.parse_args()
    rs = RuleSet.load(args.rules)
    print(
        f"rules engine benchmark: rule set {rs.name!r}, {os.cpu_count()} CPUs visible, {platform.processor() or platform.machine()}, numpy {np.__version__}"
    )
    model = make_candidates(args.n, MODEL_SPEC, args.seed)
    bench_spec("model grid", model, MODEL_SPEC, rs, args.n_single, args.n_ref)
    default = GridSpec()
    fine = upsample(model, MODEL_SPEC, default)
    del model
    bench_spec("default grid", fine, default, rs, args.n_single, args.n_ref)
    print("\ntargets: >= 10,000 candidates/s batched on 2 cores; >= 100x the music21 reference")


if __name__ == "__main__":
    main()
