"""Note-statistics metrics: equal to MusPy's on real and random MIDI files, and hand-checked values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.io import read_piece, write_midi
from musicgen.metrics import (
    NoteBatch,
    empty_beat_rate,
    groove_consistency,
    note_density,
    notes_per_second,
    pitch_class_entropy,
    pitch_class_entropy_windowed,
    pitch_range,
    polyphony,
    scale_consistency,
)
from musicgen.piece import Piece, Track

muspy = pytest.importorskip("muspy")

TUNES = [
    "ryansMammoth/AcaciaReel.abc",
    "ryansMammoth/BannocksOBarleyMealJig.abc",
    "ryansMammoth/BarneyBrallagansJig.abc",
    "ryansMammoth/BirdOnTheWingJig.abc",
]


def _same(a: float, b: float, tol: float = 1e-9) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


def _muspy_values(path, bar_ticks: int) -> dict[str, float]:
    m = muspy.read_midi(str(path))
    return {
        "pce": muspy.pitch_class_entropy(m),
        "scale": muspy.scale_consistency(m),
        "poly": muspy.polyphony(m),
        "range": float(muspy.pitch_range(m)),
        "empty": muspy.empty_beat_rate(m),
        "groove": muspy.groove_consistency(m, bar_ticks),
    }


def _ours(piece: Piece) -> dict[str, float]:
    return {
        "pce": pitch_class_entropy(piece),
        "scale": scale_consistency(piece),
        "poly": polyphony(piece),
        "range": pitch_range(piece),
        "empty": empty_beat_rate(piece),
        "groove": groove_consistency(piece),
    }


@pytest.fixture(scope="module")
def corpus_midi(tmp_path_factory):
    """A few music21 corpus fiddle tunes (reels, 6/8 and 9/8 jigs, a 2/4 tune) written as MIDI."""
    from music21 import corpus

    from musicgen.io import piece_from_stream

    out = tmp_path_factory.mktemp("corpus_midi")
    paths = []
    for name in TUNES:
        p = piece_from_stream(corpus.parse(name), name)
        path = out / (name.split("/")[-1].replace(".abc", ".mid"))
        write_midi(p, path)
        paths.append(path)
    return paths


def test_metrics_equal_muspy_on_corpus_tunes(corpus_midi):
    for path in corpus_midi:
        piece = read_piece(path)
        ref = _muspy_values(path, round(piece.bar_length * piece.resolution))
        ours = _ours(piece)
        for k, v in ref.items():
            assert _same(ours[k], v), (path.name, k, ours[k], v)
        assert 1.0 < ours["pce"] < math.log2(12)


def _random_midi(path, rng) -> None:
    """A type-1 file with 1-3 tracks (one maybe drums), overlapping notes, odd resolution and a tempo change."""
    import symusic

    res = int(rng.choice([96, 220, 480, 960]))
    score = symusic.Score(res)
    score.time_signatures.append(symusic.TimeSignature(0, int(rng.choice([2, 3, 4, 6])), int(rng.choice([4, 8]))))
    score.tempos.append(symusic.Tempo(0, float(rng.uniform(60, 180))))
    score.tempos.append(symusic.Tempo(int(res * 8), float(rng.uniform(60, 180))))
    for t in range(int(rng.integers(1, 4))):
        drum = bool(t == 2 and rng.random() < 0.7)
        tr = symusic.Track(f"t{t}", 0 if drum else 40, drum)
        n = int(rng.integers(5, 80))
        on = np.sort(rng.integers(0, res * 40, n))
        for o in on:
            tr.notes.append(
                symusic.Note(
                    int(o), int(rng.integers(1, res * 3)), int(rng.integers(30, 100)), int(rng.integers(1, 128))
                )
            )
        score.tracks.append(tr)
    path.write_bytes(bytes(score.dumps_midi()))


def test_metrics_equal_muspy_on_random_multitrack_files(tmp_path):
    rng = np.random.default_rng(7)
    pieces = []
    for i in range(12):
        path = tmp_path / f"r{i}.mid"
        _random_midi(path, rng)
        piece = read_piece(path)
        pieces.append(piece)
        ref = _muspy_values(path, round(piece.bar_length * piece.resolution))
        ours = _ours(piece)
        for k, v in ref.items():
            assert _same(ours[k], v), (i, k, ours[k], v)
    # the batch form gives the same values as one piece at a time
    b = NoteBatch.from_pieces(pieces + [Piece.empty()])
    for fn in (
        pitch_class_entropy,
        scale_consistency,
        polyphony,
        pitch_range,
        empty_beat_rate,
        groove_consistency,
        note_density,
    ):
        got = fn(b)
        assert got.shape == (len(pieces) + 1,)
        assert math.isnan(got[-1])
        for i, p in enumerate(pieces):
            assert _same(float(got[i]), fn(p), 1e-12)


def _melody(pitches, step=480, **kw) -> Piece:
    n = len(pitches)
    return Piece.from_arrays(np.arange(n) * step, [step] * n, pitches, **kw)


def test_pitch_class_entropy_values():
    assert pitch_class_entropy(_melody([60, 72, 48])) == 0.0  # one pitch class
    assert pitch_class_entropy(_melody(list(range(60, 72)))) == pytest.approx(math.log2(12), abs=1e-12)
    assert pitch_class_entropy(_melody([60, 62])) == pytest.approx(1.0, abs=1e-12)
    assert math.isnan(pitch_class_entropy(Piece.empty()))
    # drums carry no pitch class
    p = Piece.from_arrays([0, 0], [480, 480], [60, 61], track=[0, 1], tracks=[Track("v"), Track("d", 0, True)])
    assert pitch_class_entropy(p) == 0.0


def test_windowed_pce_is_musdr_style():
    # bar 1: C C C C; bar 2: C D C D (4/4, quarter notes)
    p = _melody([60] * 4 + [60, 62, 60, 62])
    assert pitch_class_entropy_windowed(p, 1) == pytest.approx((0.0 + 1.0) / 2)
    # a window longer than the piece is the whole piece
    whole = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert pitch_class_entropy_windowed(p, 4) == pytest.approx(whole)
    assert pitch_class_entropy(p) == pytest.approx(whole)
    # windows without notes are skipped: C bar, empty bar, D bar
    q = Piece.from_arrays([0, 2 * 1920], [1920, 1920], [60, 62])
    assert pitch_class_entropy_windowed(q, 1) == 0.0
    assert pitch_class_entropy_windowed(q, 2) == 0.0


def test_scale_consistency_and_range_values():
    c_major = _melody([60, 62, 64, 65, 67, 69, 71, 72])
    assert scale_consistency(c_major) == 1.0
    assert pitch_range(c_major) == 12.0
    chromatic = _melody(list(range(60, 72)))
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)
    assert math.isnan(scale_consistency(Piece.empty())) and math.isnan(pitch_range(Piece.empty()))


def test_polyphony_and_rests_values():
    # a held C over two quarter notes E, G: 2 pitches sound at every tick
    p = Piece.from_arrays([0, 0, 480], [960, 480, 480], [60, 64, 67])
    assert polyphony(p) == 2.0
    # one quarter note, a rest of two beats, one quarter note: beats 0..3 (+1: MusPy counts the end beat)
    q = Piece.from_arrays([0, 3 * 480], [240, 240], [60, 62])
    # beats touched: 0 (first note), 3 (second note) of n_beats = 1710 // 480 + 1 = 4
    assert empty_beat_rate(q) == pytest.approx(1 - 2 / 4)


def test_note_density_and_notes_per_second():
    # 8 eighth notes from beat 1 (a pickup of one beat padded in front) at 120 then 60 qpm
    p = Piece.from_arrays(
        480 + np.arange(8) * 240, [240] * 8, [60] * 8, tempos=np.array([[0.0, 120.0], [480.0 + 960, 60.0]])
    )
    assert note_density(p) == pytest.approx(8 / 4.0)  # 8 notes over 4 beats
    # 2 beats at 120 qpm (1 s) then 2 beats at 60 qpm (2 s)
    assert notes_per_second(p) == pytest.approx(8 / 3.0)


def test_groove_consistency_values():
    # identical onset patterns in 4 bars of 4 quarters; the piece ends exactly on the barline, so
    # MusPy counts a fifth, empty, bar: only the last pair of bars differs, in 4 onset cells
    p = _melody([60] * 16)
    R = 1920
    assert groove_consistency(p) == pytest.approx(1 - 4 / (R * 4))
    # two bars (the last note ends inside bar 2), one onset moved in bar 2: 2 cells differ
    q = Piece.from_arrays([0, 480, 960, 1440, 1920, 2400 + 120, 2880, 3360], [100] * 8, [60] * 8)
    assert groove_consistency(q) == pytest.approx(1 - 2 / R)
    assert math.isnan(groove_consistency(Piece.from_arrays([0], [100], [60])))


@settings(max_examples=25, deadline=None)
@given(
    pitches=st.lists(st.integers(40, 90), min_size=1, max_size=40),
    shift=st.integers(-12, 12),
)
def test_transposition_leaves_pce_and_consistency_unchanged(pitches, shift):
    p = _melody(pitches, step=240)
    q = p.transpose(shift)
    assert pitch_class_entropy(q) == pytest.approx(pitch_class_entropy(p), abs=1e-12)
    assert scale_consistency(q) == pytest.approx(scale_consistency(p), abs=1e-12)
    assert pitch_range(q) == pitch_range(p)


# ---------------------------------------------------------------------------------------- batch internals


def test_entropy_lookup_equals_the_direct_formula(monkeypatch):
    """The p log2 p table gives _entropy_rows' values bit for bit (and falls back past its size)."""
    from musicgen.metrics import basic

    rng = np.random.default_rng(3)
    counts = rng.integers(0, 9, (500, 12)) * (rng.random((500, 12)) < 0.4)
    counts[::7] = 0  # empty rows: nan
    direct = basic._entropy_rows(counts.astype(float))
    assert np.isnan(direct[::7]).all() and not np.isnan(direct[1::7]).any()
    assert np.array_equal(basic._entropy_counts(counts), direct, equal_nan=True)
    assert np.array_equal(basic._entropy_counts(counts, counts.sum(axis=1)), direct, equal_nan=True)
    monkeypatch.setattr(basic, "_PLOGP_TABLE_MAX", 4)
    assert np.array_equal(basic._entropy_counts(counts), direct, equal_nan=True)


def test_batch_from_strided_and_converted_note_arrays():
    rng = np.random.default_rng(4)
    a = Piece.from_arrays(np.sort(rng.integers(0, 9600, 60)), rng.integers(1, 900, 60), rng.integers(40, 90, 60))
    b = Piece.from_arrays(
        np.sort(rng.integers(0, 9600, 40)), rng.integers(1, 900, 40), rng.integers(40, 90, 40), resolution=96
    )
    strided = a.copy(notes=np.repeat(a.notes, 2)[::2])  # a view with a stride of two rows
    assert not strided.notes.flags.c_contiguous
    ref = NoteBatch.from_pieces([a, b, Piece.empty()])
    for pieces in (
        [strided, b, Piece.empty()],
        [a, b.copy(notes=b.notes.astype(b.notes.dtype.newbyteorder())), Piece.empty()],
    ):
        got = NoteBatch.from_pieces(pieces)
        for k in (
            "piece",
            "onset",
            "end",
            "pitch",
            "drum",
            "resolution",
            "bar_ticks",
            "tempo_piece",
            "tempo_tick",
            "tempo_qpm",
        ):
            assert np.array_equal(getattr(got, k), getattr(ref, k)), k
    assert ref.bar_ticks.tolist() == [1920, 384, 1920]


def test_windowed_and_rate_metrics_in_a_batch_equal_one_piece_at_a_time():
    from musicgen.metrics.basic import n_pitched_notes, windowed_pce

    rng = np.random.default_rng(9)
    pieces = []
    for i in range(8):
        n = int(rng.integers(1, 60))
        res = int(rng.choice([96, 480]))
        pieces.append(
            Piece.from_arrays(
                np.sort(rng.integers(0, res * 30, n)),
                rng.integers(1, res * 2, n),
                rng.integers(40, 90, n),
                track=rng.integers(0, 2, n),
                tracks=[Track("v"), Track("d", 0, bool(i % 3 == 0))],
                resolution=res,
                time_signatures=np.array([[0, int(rng.choice([2, 3, 6])), int(rng.choice([4, 8]))]]),
            )
        )
    pieces.append(Piece.empty())
    b = NoteBatch.from_pieces(pieces)
    win = windowed_pce(b, (1, 2, 4, 64))
    for fn in (note_density, notes_per_second, n_pitched_notes, groove_consistency, polyphony):
        got = fn(b)
        assert [_same(float(g), fn(p), 1e-12) for g, p in zip(got, pieces)] == [True] * len(pieces), fn.__name__
    for w, vals in win.items():
        assert [_same(float(v), pitch_class_entropy_windowed(p, w), 1e-12) for v, p in zip(vals, pieces)] == [
            True
        ] * len(pieces), w
    # the whole piece is one window when the window is longer
    assert _same(float(win[64][1]), pitch_class_entropy(pieces[1]), 1e-12)
