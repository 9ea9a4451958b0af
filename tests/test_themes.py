"""Theme finder and theme_count on constructed pieces of known structure, calibration, MIREX export."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from random_melodies import random_diatonic_phrase as phrase

from musicgen.errors import OutputExistsError
from musicgen.metrics import (
    NoteBatch,
    ThemeParams,
    batch_theme_counts,
    find_themes,
    mirex_patterns,
    pitch_class_entropy,
    theme_count,
    theme_counts,
    themes_to_mirex,
    write_mirex,
)
from musicgen.piece import Piece, Track

RES = 480


def build(sections, bar_qn=4.0, meter=(4, 4), track=0, **kw) -> Piece:
    """Concatenate (rows, transposition, bars) sections into a Piece."""
    out, off = [], 0.0
    for rows, tr, nb in sections:
        out += [(off + o, d, p + tr) for o, d, p in rows]
        off += nb * bar_qn
    a = np.array(out)
    return Piece.from_arrays(
        np.rint(a[:, 0] * RES),
        np.rint(a[:, 1] * RES),
        a[:, 2].astype(int),
        track=np.full(len(a), track),
        resolution=RES,
        time_signatures=np.array([[0, *meter]]),
        **kw,
    )


def aaba(seed, transpose_b=None, bar_qn=4.0, meter=(4, 4), durations=(0.25, 0.5, 0.5, 1.0)):
    rng = np.random.default_rng(seed)
    A = phrase(rng, 4, durations, bar_qn)
    B = A if transpose_b is not None else phrase(rng, 4, durations, bar_qn)
    tb = transpose_b or 0
    return build([(A, 0, 4), (A, 0, 4), (B, tb, 4), (A, 0, 4)], bar_qn, meter)


def shuffled(p: Piece, rng) -> Piece:
    q = p.copy()
    q.notes["pitch"] = q.notes["pitch"][rng.permutation(len(q))]
    return q


def test_aaba_of_four_bar_phrases_has_two_themes():
    for seed in range(20):
        p = aaba(seed)
        assert theme_count(p) == 2, seed
        an = find_themes(p)
        rep = [t for t in an.themes if t.repeated]
        sec = [t for t in an.themes if not t.repeated]
        assert len(rep) == 1 and len(sec) == 1
        assert (rep[0].start_bar, rep[0].n_bars) == (0, 4)
        assert [o for o, _ in rep[0].occurrences] == [0, 4, 12]
        assert (sec[0].start_bar, sec[0].n_bars) == (8, 4)
        assert an.n_repeated == 1


def test_windows_report_the_first_bars():
    p = aaba(3)
    assert theme_counts(p) == {4: 0, 8: 1, 16: 2, 32: None}
    assert theme_count(p, bars=8) == 1
    assert theme_count(p, bars=64) is None


@pytest.mark.parametrize("t", [5, -7, 12, 2])
def test_b_that_is_a_transposed_counts_as_a(t):
    for seed in range(5):
        p = aaba(seed, transpose_b=t)
        assert theme_count(p) == 1
        th = find_themes(p).themes[0]
        assert th.occurrences == [(0, 0), (4, 0), (8, t), (12, 0)]


def test_small_variations_still_match():
    rng = np.random.default_rng(11)
    A = phrase(rng, 4, (0.5, 1.0))
    B = phrase(rng, 4)
    # a split note (a quarter becomes two eighths) in the second A, a merged pair in the last one
    i = next(k for k, r in enumerate(A) if r[1] == 1.0)
    A_split = A[:i] + [(A[i][0], 0.5, A[i][2]), (A[i][0] + 0.5, 0.5, A[i][2])] + A[i + 1 :]
    j = next(
        k for k in range(len(A) - 1) if A[k][1] == 0.5 and A[k + 1][1] == 0.5 and int(A[k][0]) == int(A[k + 1][0] - 0.5)
    )
    A_merged = A[:j] + [(A[j][0], 1.0, A[j][2])] + A[j + 2 :]
    p = build([(A, 0, 4), (A_split, 0, 4), (B, 0, 4), (A_merged, 0, 4)])
    assert theme_count(p) == 2
    # timing jitter of up to 20 ticks (1/24 quarter note) on every note
    q = p.copy()
    jit = rng.integers(-20, 21, len(q))
    q.notes["onset_tick"] = np.maximum(0, q.notes["onset_tick"] + jit)
    q.notes["onset"] = q.notes["onset_tick"] / RES
    q.sort()
    assert theme_count(q) == 2


def test_no_repetition_gives_zero():
    rng = np.random.default_rng(5)
    for _ in range(10):
        p = build([(phrase(rng, 16), 0, 16)])
        assert theme_count(p) == 0
        assert find_themes(p).themes == []


def test_random_and_pitch_shuffled_melodies_give_zero_themes():
    rng = np.random.default_rng(2024)
    n = 200
    random = [build([(phrase(rng, 32), 0, 32)]) for _ in range(n)]
    eighths = [build([(phrase(rng, 32, (0.5,)), 0, 32)]) for _ in range(n)]
    shuffled_aaba = [shuffled(aaba(1000 + s), rng) for s in range(n)]
    shuffled_iso = [shuffled(aaba(5000 + s, durations=(0.5,)), rng) for s in range(n)]
    for name, ps in (
        ("random", random),
        ("random eighths", eighths),
        ("shuffled AABA", shuffled_aaba),
        ("shuffled eighth AABA", shuffled_iso),
    ):
        c = batch_theme_counts(NoteBatch.from_pieces(ps), [None])[None]
        assert np.mean(c == 0) >= 0.95, name
    # and the unshuffled pieces are found
    c = batch_theme_counts(NoteBatch.from_pieces([aaba(1000 + s) for s in range(n)]), [None])[None]
    assert np.mean(c == 2) >= 0.95


def test_six_eight_and_accompaniment():
    p = aaba(8, bar_qn=3.0, meter=(6, 8), durations=(0.5, 0.5, 1.0, 1.5))
    assert theme_count(p) == 2
    # a low accompaniment track under the melody: the skyline keeps the melody
    rng = np.random.default_rng(1)
    mel = aaba(9)
    acc_rows = [(float(b), 1.0, 36 + int(rng.integers(0, 12))) for b in range(16 * 4)]
    acc = build([(acc_rows, 0, 16)], track=1)
    both = Piece.from_arrays(
        np.r_[mel.notes["onset_tick"], acc.notes["onset_tick"]],
        np.r_[mel.notes["duration_tick"], acc.notes["duration_tick"]],
        np.r_[mel.notes["pitch"], acc.notes["pitch"]],
        track=np.r_[mel.notes["track"], acc.notes["track"]],
        resolution=RES,
        tracks=[Track("melody"), Track("bass")],
    )
    assert theme_count(both) == 2


def test_empty_and_invalid():
    assert theme_count(Piece.empty()) is None
    assert find_themes(Piece.empty()).themes == []
    with pytest.raises(ValueError):
        ThemeParams(theta=0)
    with pytest.raises(ValueError):
        ThemeParams(melody="bass")
    with pytest.raises(ValueError):
        find_themes(aaba(0), bars=0)


FORMS = ["AABA", "ABAB", "AABB", "ABCD", "ABAC", "AAAA", "ABBA"]


@settings(max_examples=30, deadline=None)
@given(form=st.sampled_from(FORMS), seed=st.integers(0, 10_000), shift=st.integers(-12, 12))
def test_transposition_changes_neither_theme_count_nor_pce(form, seed, shift):
    rng = np.random.default_rng(seed)
    phrases = {c: phrase(rng) for c in sorted(set(form))}
    p = build([(phrases[c], 0, 4) for c in form])
    q = p.transpose(shift)
    assert theme_count(q) == theme_count(p)
    assert theme_counts(q) == theme_counts(p)
    assert pitch_class_entropy(q) == pytest.approx(pitch_class_entropy(p), abs=1e-12)


def test_known_forms():
    rng = np.random.default_rng(77)
    A, B, C = phrase(rng), phrase(rng), phrase(rng)
    assert theme_count(build([(A, 0, 4), (A, 0, 4), (B, 0, 4), (B, 0, 4)])) == 2  # AABB
    assert theme_count(build([(A, 0, 4), (B, 0, 4), (A, 0, 4), (C, 0, 4)])) == 3  # ABAC: A recurs, B and C contrast
    assert theme_count(build([(A, 0, 4), (B, 0, 4), (C, 0, 4)])) == 0  # ABC


def test_mirex_export_roundtrip_and_score(tmp_path):
    mir_eval = pytest.importorskip("mir_eval")
    p = aaba(4)
    an = find_themes(p)
    pats = mirex_patterns(an)
    assert len(pats) == 1 and len(pats[0]) == 3
    path = write_mirex(an, tmp_path / "est.txt")
    loaded = mir_eval.io.load_patterns(str(path))
    assert [[sorted(o) for o in pat] for pat in loaded] == [[sorted(o) for o in pat] for pat in pats]
    with pytest.raises(OutputExistsError):
        write_mirex(an, path)  # exists, no force
    # ground truth: A at bars 0, 4 and 12, i.e. crotchets 0-16, 16-32 and 48-64
    notes = list(zip(p.notes["onset"].tolist(), p.notes["pitch"].astype(float).tolist()))
    ref = [[[n for n in notes if 16 * k <= n[0] < 16 * (k + 1)] for k in (0, 1, 3)]]
    assert mir_eval.pattern.establishment_FPR(ref, loaded)[0] == pytest.approx(1.0)
    assert mir_eval.pattern.occurrence_FPR(ref, loaded, thres=0.75)[0] == pytest.approx(1.0)
    assert themes_to_mirex(find_themes(build([(phrase(np.random.default_rng(0), 8), 0, 8)]))) == ""


def test_jku_fugue_subject_is_found(shared_data):
    """On the JKU-PDD Bach fugue (monophonic), the finder's patterns establish the annotated ones."""
    mir_eval = pytest.importorskip("mir_eval")
    ref = mir_eval.io.load_patterns(str(shared_data / "patterns" / "bach_bwv889_fugue_monophonic.txt"))
    pts = sorted({(float(o), int(round(q))) for pat in ref for occ in pat for o, q in occ})
    on = np.array([o for o, _ in pts])
    p = Piece.from_arrays(np.rint(on * RES), np.full(len(pts), RES // 4), [q for _, q in pts], resolution=RES)
    est = mirex_patterns(find_themes(p))
    assert len(est) >= 2
    assert mir_eval.pattern.establishment_FPR(ref, est)[0] > 0.8


# ---------------------------------------------------------------------------------------- fast paths


def _varied_pieces() -> list[Piece]:
    """Pieces exercising the finder: forms, a transposed B, 6/8, chords and overlaps, one bar, gaps."""
    rng = np.random.default_rng(5)
    ps = [aaba(s) for s in range(3)] + [
        aaba(10, transpose_b=5),
        aaba(11, bar_qn=3.0, meter=(6, 8), durations=(0.5, 0.5, 1.0)),
    ]
    A, B = phrase(rng), phrase(rng)
    ps.append(
        build([(A, 0, 4), (B, 0, 4), (A, 2, 4), (B, 0, 4), (A, 0, 4), (B, -3, 4), (A, 0, 4), (B, 0, 4), (A, 0, 4)])
    )  # 36 bars
    # polyphonic: random chords and overlapping notes, with an empty stretch
    on = np.sort(rng.integers(0, 48, 150)) * (RES // 2)
    on = np.where(on > 20 * RES, on + 8 * RES, on)
    ps.append(
        Piece.from_arrays(on, rng.integers(RES // 4, 3 * RES, on.size), rng.integers(50, 80, on.size), resolution=RES)
    )
    ps.append(build([(phrase(rng, 1), 0, 1)]))  # one bar
    ps.append(Piece.empty())
    return ps


def _brute_similar(mel, prm: ThemeParams) -> set[tuple[int, int, int, int]]:
    """Similar bar pairs by the module docstring's definition, with Python loops."""
    out = set()
    for pc in range(mel.n_bars.size):
        sel = mel.piece == pc
        bars = [
            list(zip(mel.slot[sel][mel.bar[sel] == k].tolist(), mel.pitch[sel][mel.bar[sel] == k].tolist()))
            for k in range(int(mel.n_bars[pc]))
        ]
        for i, bi in enumerate(bars):
            for j in range(i + 1, len(bars)):
                bj = bars[j]
                if not bi or not bj:
                    continue
                for t in range(-prm.max_transposition, prm.max_transposition + 1):
                    matches = sum(
                        1 for si, pi in bi for sj, pj in bj if abs(si - sj) <= prm.delta_steps and pj == pi + t
                    )
                    if min(matches, len(bi), len(bj)) >= prm.theta * max(len(bi), len(bj)) - 1e-9:
                        out.add((pc, i, j - i, t))
    return out


PARAMS = [
    ThemeParams(),
    ThemeParams(melody="all"),
    ThemeParams(theta=0.6, delta_steps=2, max_transposition=5, min_gain=4),
    ThemeParams(theta=1.0, delta_steps=0, min_notes=2, min_gain=1, min_section_bars=1),
]


@pytest.mark.parametrize("prm", PARAMS)
def test_similar_bars_follow_the_definition(prm):
    from musicgen.metrics import theme_similarity as sim

    ps = _varied_pieces()
    mel = sim.melody_on_bars(NoteBatch.from_pieces(ps), prm.steps_per_quarter, prm.delta_steps, prm.melody)
    got = set(zip(*[x.tolist() for x in sim.similar_bar_pairs(mel, prm.theta, prm.delta_steps, prm.max_transposition)]))
    assert len(got) > 20
    assert got == _brute_similar(mel, prm)


def _everything(ps, prm):
    b = NoteBatch.from_pieces(ps)
    counts = batch_theme_counts(b, (None, 4, 8, 16, 32), prm)
    found = []
    for p in ps:
        for bars in (None, 8):
            an = find_themes(p, bars, prm)
            found.append([(t.start_bar, t.n_bars, t.occurrences, t.repeated) for t in an.themes])
    return {w: [None if np.isnan(x) else x for x in c.tolist()] for w, c in counts.items()}, found


@pytest.mark.parametrize("prm", PARAMS)
def test_fast_paths_give_the_fallbacks_results(prm, monkeypatch):
    """scipy's kernels called directly (vs its public product) and packed sort keys (vs np.lexsort)."""
    from musicgen.metrics import theme_selection as sel
    from musicgen.metrics import theme_similarity as sim

    ps = _varied_pieces()
    fast = _everything(ps, prm)
    assert sum(x for x in fast[0][None] if x is not None) > 0
    with monkeypatch.context() as m:
        m.setattr(sim, "_kernels", lambda: None)
        assert _everything(ps, prm) == fast
    with monkeypatch.context() as m:
        m.setattr(sim, "_DIRECT_MAX", 0)
        m.setattr(sel, "_KEY_BITS", 0)
        assert _everything(ps, prm) == fast


def test_batch_counts_do_not_depend_on_the_batch():
    ps = _varied_pieces()
    wins = (None, 4, 8, 16, 32)
    together = batch_theme_counts(NoteBatch.from_pieces(ps), wins)
    backwards = batch_theme_counts(NoteBatch.from_pieces(ps[::-1]), wins)
    for i, p in enumerate(ps):
        alone = batch_theme_counts(NoteBatch.from_pieces([p]), wins)
        for w in wins:
            a, b, c = alone[w][0], together[w][i], backwards[w][len(ps) - 1 - i]
            assert (a == b == c) or (np.isnan(a) and np.isnan(b) and np.isnan(c)), (i, w)
