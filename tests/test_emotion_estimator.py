"""The estimator: shipped weights, input maps, the session reference, hysteresis, streaming estimates, training, save/load."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from musicgen.conditions import EMOTION_VA, EMOTIONS
from musicgen.emotion.contract import Diagnostics
from musicgen.emotion.features import FEATURES, MODALITY_GROUPS, WindowConfig
from musicgen.emotion.network import (
    DEFAULT_WEIGHTS,
    MAP_CHANNELS,
    Estimator,
    Normalisation,
    ReferenceConfig,
    encode_features,
    encode_rows,
    load_estimator,
)
from musicgen.emotion.sessions import SessionWindows
from musicgen.emotion.simulate import simulate_session, write_recording_csv
from musicgen.emotion.streaming import (
    HysteresisSmoother,
    SessionReference,
    SmoothingConfig,
    estimate_stream,
    latest_estimate,
    session_references,
)
from musicgen.emotion.training import EstimatorTrainConfig, encode_sessions, fit_estimator
from musicgen.errors import InputError, OutputExistsError, UsageError

NF = len(FEATURES)


@pytest.fixture(scope="module")
def session_csv(tmp_path_factory):
    """A SYNTHETIC 70-s session: 30 s neutral, then 40 s happy."""
    path = tmp_path_factory.mktemp("emo") / "session.csv"
    write_recording_csv(simulate_session([("neutral", 30), ("happy", 40)], seed=0), path)
    return path


def test_shipped_weights_are_small_labelled_synthetic_and_load():
    assert DEFAULT_WEIGHTS.exists(), "the package must ship musicgen/weights/estimator.pt"
    assert DEFAULT_WEIGHTS.stat().st_size < 2_000_000
    meta = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert meta["synthetic"] is True and "synthetic" in meta["trained_on"]
    assert meta["features"] == list(FEATURES) and meta["classes"] == list(EMOTIONS)
    est = load_estimator()
    from musicgen.model.attention import SpatialChannelAttention

    assert isinstance(est.model.attention, SpatialChannelAttention)
    assert (
        est.meta["train_sessions"] >= 100 and est.meta["evaluation_at_training"]["variants"]["all channels"]["mean"] > 0
    )
    p, va = est.predict(np.zeros((2, len(MAP_CHANNELS), est.n_windows, NF), dtype=np.float32))
    assert p.shape == (2, 8) and np.allclose(p.sum(1), 1) and np.all(np.abs(va) <= 1)


def test_map_rows_channels():
    norm = Normalisation(np.full(NF, 2.0), np.full(NF, 4.0), np.full(NF, 0.5))
    values = np.full((2, NF), np.nan)
    values[:, 0] = [6.0, 7.0]
    mask = np.isfinite(values)
    ref = np.full((2, NF), np.nan)
    ref[:, 0] = 5.0
    spread = np.full((2, NF), np.nan)
    spread[:, 0] = [2.0, 0.1]  # the second is below the floor 0.5 * delta_sd = 0.25
    rows = encode_rows(values, mask, ref, spread, np.array([0.25, 1.0]), norm)
    assert rows.shape == (2, len(MAP_CHANNELS), NF) and rows.dtype == np.float32
    ch = {c: i for i, c in enumerate(MAP_CHANNELS)}
    assert rows[:, ch["level"], 0].tolist() == [1.0, 1.25]  # (x - 2) / 4
    assert rows[:, ch["change"], 0].tolist() == [2.0, 4.0]  # (x - 5) / 0.5
    assert rows[:, ch["within"], 0].tolist() == [0.5, 8.0]  # (x - 5) / max(spread, 0.25), clipped at 8
    assert rows[:, ch["mask"], 0].tolist() == [1.0, 1.0] and rows[:, ch["maturity"], 0].tolist() == [0.25, 1.0]
    assert rows[:, :, 1:].sum() == 0  # missing → 0 in every channel, maturity included
    values[1, 0] = 1e6  # an absurd value is clipped, not propagated
    assert encode_rows(values, mask, ref, spread, np.ones(2), norm)[1, :3, 0].tolist() == [8.0, 8.0, 8.0]


def test_face_is_encoded_as_centred_log_ratios():
    v = np.full(NF, np.nan)
    face = list(MODALITY_GROUPS["face"])
    v[face] = [0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.0, 0.02]
    e = encode_features(v)
    assert np.isnan(e[0]) and abs(e[face].sum()) < 1e-9
    assert e[face[0]] - e[face[1]] == pytest.approx(np.log(0.5 / 0.2))
    assert e[face[6]] - e[face[0]] == pytest.approx(np.log(1e-3 / 0.5))  # a zero probability is floored
    # a person's bias on one expression is a constant offset: it cancels against the person's own reference
    biased = v.copy()
    biased[face] = biased[face] * np.where(np.arange(8) == 7, 3.0, 1.0)
    biased[face] /= biased[face].sum()
    d = encode_features(biased)[face] - e[face]
    assert np.allclose(d[:6], d[0]) and d[7] > d[0] + 1.0  # (the floored zero at 6 is the exception)


def test_session_reference_is_a_running_median_on_a_stride():
    cfg = ReferenceConfig(stride_s=2.0, delay_s=0.0, horizon_s=6.0, mature_s=4.0)
    ref = SessionReference(cfg, hop_s=1.0, n_features=2)
    seen = []
    for k, x in enumerate([1.0, 100.0, 3.0, 100.0, 5.0, 100.0, 7.0, 100.0, 9.0]):
        ref.update(10.0 + k, np.array([x, -x]), np.array([True, k != 0]))
        seen.append(ref.current())
    assert seen[0][0][0] == 1.0 and np.isnan(seen[0][0][1]) and seen[0][2] == 0.5  # the first window always enters
    assert seen[2][0][0] == 2.0 and seen[2][2] == 1.0  # median of 1 and 3 (odd windows are off the stride)
    assert seen[8][0].tolist() == [7.0, -7.0]  # horizon 6 s at a 2-s stride: 5, 7, 9 only
    assert seen[8][1][0] == pytest.approx(1.4826 * 2.0)  # 1.4826 × median |x − 7|
    # the one-call form used by training gives the same states
    ends = 10.0 + np.arange(9.0)
    vals = np.stack([[x, -x] for x in [1.0, 100.0, 3.0, 100.0, 5.0, 100.0, 7.0, 100.0, 9.0]])
    mask = np.ones_like(vals, dtype=bool)
    mask[0, 1] = False
    med, spread, mat = session_references(ends, vals, mask, cfg, 1.0)
    assert np.allclose(med[8], seen[8][0]) and mat.tolist() == [s[2] for s in seen]
    # with a delay, a window enters only that long after its end: the present is compared with the past
    late = SessionReference(
        ReferenceConfig(stride_s=1.0, delay_s=3.0, horizon_s=100.0, mature_s=10.0), hop_s=1.0, n_features=1
    )
    states = []
    for k, x in enumerate([1.0, 2.0, 3.0, 50.0, 60.0]):
        late.update(10.0 + k, np.array([x]), np.array([True]))
        states.append(late.current()[0][0])
    assert np.isnan(states[:3]).all() and states[3] == 1.0 and states[4] == 1.5  # 50 and 60 are not in yet


def test_hysteresis_does_not_flicker_and_switches_after_dwell():
    sm = HysteresisSmoother(SmoothingConfig(tau_s=2.0, margin=0.1, dwell_s=3.0))
    a, b = np.eye(8)[1] * 0.6 + 0.05, np.eye(8)[2] * 0.6 + 0.05
    va = np.zeros(2)
    labels = []
    for t in range(20):  # alternating evidence: never a sustained lead
        p, _ = sm.update(float(t), a if t % 2 else b, va)
        labels.append(int(np.argmax(p)))
    assert len(set(labels[1:])) == 1
    start = labels[-1]
    other = b if start == 1 else a
    switched_at = None
    for t in range(20, 40):
        p, _ = sm.update(float(t), other, va)
        if int(np.argmax(p)) != start and switched_at is None:
            switched_at = t
    assert (
        switched_at is not None and 22 <= switched_at <= 24
    )  # the lead must last dwell_s = 3 s (it began at 19 or 20)


def test_stream_estimates_follow_a_simulated_change(session_csv):
    diag = Diagnostics()
    es = list(estimate_stream(session_csv, diagnostics=diag))
    assert [e.time for e in es] == pytest.approx(np.arange(10.0, 71.0))
    assert es[-1].label == "happy"
    v_first = np.mean([e.condition.valence for e in es[:15]])
    v_last = np.mean([e.condition.valence for e in es[-10:]])
    assert v_last > v_first + 0.3
    d = es[-1].as_dict()
    assert set(d) == {"time", "probabilities", "valence", "arousal", "label", "modalities"}
    assert list(d["probabilities"]) == list(EMOTIONS) and math.isclose(
        sum(d["probabilities"].values()), 1, abs_tol=1e-5
    )
    assert d["modalities"] == ["ecg", "eda", "rsp", "temp", "face"]
    # clean simulated data: the only warnings are the first windows' respiration (10 s hold < 2 full breaths)
    assert set(diag.counts) <= {"processing failure"} and diag.counts["processing failure"] <= 3
    assert "rsp in the window ending at 10.00 s" in diag.examples.get(
        "processing failure", "rsp in the window ending at 10.00 s"
    )
    # the latest-estimate shortcut agrees with the stream's last estimate
    le = latest_estimate(session_csv)
    assert le.time == es[-1].time and le.label == es[-1].label
    assert np.allclose(le.condition.probabilities, es[-1].condition.probabilities, atol=0.02)


def test_garbage_in_the_stream_is_counted_and_estimates_go_on(session_csv, tmp_path):
    lines = session_csv.read_text().splitlines()
    bad = (
        lines[:500]
        + ["garbage!", "1e9,not,enough", lines[400], "nan" + lines[600][lines[600].index(",") :]]
        + lines[500:]
    )
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(bad) + "\n")
    diag = Diagnostics()
    es = list(estimate_stream(p, diagnostics=diag))
    assert len(es) == 61 and es[-1].label == "happy"
    assert (
        diag.counts["garbage line"] == 2
        and diag.counts["unsorted timestamp"] == 1
        and diag.counts["non-finite time"] == 1
    )


def test_missing_modalities_are_reported(tmp_path):
    rec = simulate_session([("neutral", 20)], seed=4, cardiac="hr", channels=("face",))
    p = tmp_path / "hr_face.csv"
    write_recording_csv(rec, p)
    es = list(estimate_stream(p, smoothing=None))
    assert es and all(e.modalities == ("hr", "face") for e in es)
    with pytest.raises(UsageError):
        latest_estimate("-")
    short = tmp_path / "short.csv"
    short.write_text("time,hr\n0,70\n1,71\n2,72\n")
    with pytest.raises(InputError, match="less than one"):
        latest_estimate(short)


def _toy_sessions(n_sessions=12, seconds=40, seed=0):
    """Separable fake sessions: class k raises face_<k> and the heart rate by 3k bpm from the session's own level (not physiology)."""
    rng = np.random.default_rng(seed)
    parts = []
    face = list(MODALITY_GROUPS["face"])
    for s in range(n_sessions):
        order = rng.permutation(8)
        base_hr = rng.uniform(60, 85)
        vals, labels, lags = [], [], []
        for k in order:
            v = rng.normal(0, 0.3, size=(seconds, NF))
            v[:, face] = 0.05
            v[:, face[k]] = 0.65
            v[:, 0] += base_hr + 3 * k
            vals.append(v)
            labels += [k] * seconds
            lags += list(range(seconds))
        labels = np.array(labels)
        parts.append(
            SessionWindows(
                np.concatenate(vals).astype(np.float32),
                np.arange(labels.size, dtype=float) + 10,
                np.full(labels.size, s),
                np.eye(8, dtype=np.float32)[labels],
                np.array([EMOTION_VA[EMOTIONS[k]] for k in labels], np.float32),
                labels,
                np.array(lags, np.float32),
                "toy",
            )
        )
    return SessionWindows.concat(parts, "toy")


def test_training_learns_and_save_load_round_trips(tmp_path):
    data = _toy_sessions()
    cfg = EstimatorTrainConfig(epochs=6, batch_size=64, n_windows=4, channels=8, hidden=32, drop_prob=(), va_weight=2.0)
    est = fit_estimator(data, cfg, WindowConfig())
    enc = encode_sessions(data, est.reference, 1.0, est.norm)
    p, va = est.predict(enc.maps(np.arange(len(data)), est.n_windows))
    settled = data.lag >= 4
    assert (p.argmax(1) == data.labels)[settled].mean() > 0.9
    trivial = np.abs(data.va - data.va.mean(0)).mean()  # always predicting the mean point
    assert np.abs(va - data.va)[settled].mean() < 0.5 * trivial
    assert est.meta["train_config"]["n_windows"] == 4 and est.meta["arch"]["in_channels"] == len(MAP_CHANNELS)
    paths = est.save(tmp_path / "toy.pt")
    again = Estimator.load(paths[0])
    assert again.reference == est.reference and again.n_windows == 4
    np.testing.assert_allclose(again.predict(enc.maps(np.arange(50), 4))[0], p[:50], atol=1e-6)
    with pytest.raises(OutputExistsError):
        est.save(tmp_path / "toy.pt")
    (tmp_path / "bad.pt").write_bytes(b"not torch")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError):
        Estimator.load(tmp_path / "bad.pt")
    with pytest.raises(UsageError):
        fit_estimator(
            SessionWindows(
                np.zeros((0, NF), np.float32),
                np.zeros(0),
                np.zeros(0, int),
                np.zeros((0, 8), np.float32),
                np.zeros((0, 2), np.float32),
                np.zeros(0, int),
                np.zeros(0, np.float32),
                "empty",
            ),
            cfg,
        )


def test_session_views_start_streams_at_other_segments():
    from musicgen.emotion.training import session_views

    data = _toy_sessions(n_sessions=20, seconds=5)
    rng = np.random.default_rng(0)
    views = session_views(data, rest_keep=0.0, late_starts=1, rng=rng)
    firsts = [views.lag[sl][0] for sl in views.session_slices()]
    assert len(firsts) == 40 and all(f == 0 for f in firsts)  # every view starts at a segment boundary
    for sl in views.session_slices()[::2]:  # the original views: a neutral first segment is never kept at rest_keep 0
        assert views.labels[sl][0] != EMOTIONS.index("neutral")
    kept = session_views(data, rest_keep=1.0, late_starts=0, rng=rng)
    assert len(kept) == len(data) and np.array_equal(kept.labels, data.labels)


def test_short_views_are_short_sessions_that_begin_like_a_stream():
    from musicgen.emotion.training import session_views

    data = _toy_sessions(n_sessions=10, seconds=12)  # 8 segments of 12 windows each, lags 0..11
    views = session_views(
        data,
        rest_keep=1.0,
        late_starts=1,
        rng=np.random.default_rng(1),
        short_views=3,
        short_segments=(2, 3),
        offset_s=5.0,
    )
    slices = views.session_slices()
    assert len(slices) == 10 * (1 + 1 + 3)
    for k, sl in enumerate(slices):
        lag = views.lag[sl]
        n_segments = 1 + int((np.diff(lag) < 0).sum())
        if k % 5 == 0:  # the whole session, as simulated
            assert len(lag) == 8 * 12 and lag[0] == 0
            continue
        # a view that starts later begins at the first window 5 s into its segment (or at the session's start)
        assert lag[0] == 5 or (lag[0] == 0 and sl.stop - sl.start in (2 * 12, 3 * 12, 8 * 12))
        if k % 5 >= 2:  # short views: 2 or 3 segments, fewer only where the session ended
            assert 1 <= n_segments <= 3 and (n_segments >= 2 or lag[0] == 5)
    short_lengths = [sl.stop - sl.start for k, sl in enumerate(slices) if k % 5 >= 2]
    assert max(short_lengths) <= 3 * 12 and np.mean(short_lengths) < 0.4 * 8 * 12
