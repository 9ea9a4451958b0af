"""The estimator: shipped weights, input maps, baseline, hysteresis, streaming estimates, training, save/load."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from musicgen.emotion.network import DEFAULT_WEIGHTS, Estimator, Normalisation, build_maps, load_estimator
from musicgen.emotion.streaming import BaselineTracker, HysteresisSmoother, SmoothingConfig, estimate_stream, latest_estimate
from musicgen.emotion.training import EstimatorTrainConfig, fit_estimator
from musicgen.emotion.features import FEATURES, MODALITY_GROUPS, FeatureDataset, WindowConfig
from musicgen.emotion.labels import EMOTION_VA, EMOTIONS
from musicgen.emotion.simulate import simulate_session, write_recording_csv
from musicgen.emotion.contract import Diagnostics
from musicgen.errors import InputError, OutputExistsError, UsageError

NF = len(FEATURES)


@pytest.fixture(scope="module")
def session_csv(tmp_path_factory):
    """A SYNTHETIC 70-s session: 30 s neutral (the resting baseline), then 40 s happy."""
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
    p, va = est.predict(np.zeros((2, 3, est.n_windows, NF), dtype=np.float32))
    assert p.shape == (2, 8) and np.allclose(p.sum(1), 1) and np.all(np.abs(va) <= 1)


def test_build_maps_channels():
    norm = Normalisation(np.full(NF, 2.0), np.full(NF, 4.0), np.full(NF, 0.5))
    values = np.full((1, 2, NF), np.nan)
    values[0, :, 0] = [6.0, 7.0]
    mask = np.isfinite(values)
    base = np.full((1, NF), np.nan)
    base[0, 0] = 5.0
    m = build_maps(values, mask, base, norm)
    assert m.shape == (1, 3, 2, NF) and m.dtype == np.float32
    assert m[0, 0, :, 0].tolist() == [1.0, 1.25]  # (x - 2) / 4
    assert m[0, 1, :, 0].tolist() == [2.0, 4.0]  # (x - 5) / 0.5
    assert m[0, 2, :, 0].tolist() == [1.0, 1.0] and m[0, :, :, 1:].sum() == 0  # missing → 0, mask 0
    values[0, 1, 0] = 1e6  # an absurd value is clipped, not propagated
    assert build_maps(values, mask, base, norm)[0, :2, 1, 0].tolist() == [8.0, 8.0]


def test_baseline_is_the_median_of_the_first_n_measured_values():
    b = BaselineTracker(3, n_features=2)
    for v, m in [([1, 10], [True, False]), ([5, 20], [True, True]), ([3, 30], [True, True]), ([100, 40], [True, True])]:
        b.update(np.array(v, float), np.array(m))
    assert b.baseline().tolist() == [3.0, 30.0]  # feature 0: 1,5,3 (100 ignored); feature 1: 20,30,40


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
    assert switched_at is not None and 22 <= switched_at <= 24  # the lead must last dwell_s = 3 s (it began at 19 or 20)


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
    assert list(d["probabilities"]) == list(EMOTIONS) and math.isclose(sum(d["probabilities"].values()), 1, abs_tol=1e-5)
    assert d["modalities"] == ["ecg", "eda", "rsp", "temp", "face"]
    # clean simulated data: the only warnings are the first windows' respiration (10 s hold < 2 full breaths)
    assert set(diag.counts) <= {"processing failure"} and diag.counts["processing failure"] <= 3
    assert "rsp in the window ending at 10.00 s" in diag.examples.get("processing failure", "rsp in the window ending at 10.00 s")
    # the latest-estimate shortcut agrees with the stream's last estimate
    le = latest_estimate(session_csv)
    assert le.time == es[-1].time and le.label == es[-1].label
    assert np.allclose(le.condition.probabilities, es[-1].condition.probabilities, atol=0.02)


def test_garbage_in_the_stream_is_counted_and_estimates_go_on(session_csv, tmp_path):
    lines = session_csv.read_text().splitlines()
    bad = lines[:500] + ["garbage!", "1e9,not,enough", lines[400], "nan" + lines[600][lines[600].index(","):]] + lines[500:]
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(bad) + "\n")
    diag = Diagnostics()
    es = list(estimate_stream(p, diagnostics=diag))
    assert len(es) == 61 and es[-1].label == "happy"
    assert diag.counts["garbage line"] == 2 and diag.counts["unsorted timestamp"] == 1 and diag.counts["non-finite time"] == 1


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


def _toy_dataset(n_per_class=24, T=4, seed=0):
    """Separable fake features: class k raises face_<k> and shifts the heart rate by k bpm (not physiology)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(8), n_per_class)
    values = rng.normal(0, 0.3, size=(labels.size, T, NF)).astype(np.float32)
    face = list(MODALITY_GROUPS["face"])
    values[:, :, face] = 0.05
    values[np.arange(labels.size), :, np.array(face)[labels]] = 0.65
    values[:, :, 0] += 70 + 3 * labels[:, None]
    mask = np.ones_like(values, dtype=bool)
    base = np.full((labels.size, NF), np.nan, dtype=np.float32)
    base[:, 0] = 70
    return FeatureDataset(values, mask, base, np.eye(8, dtype=np.float32)[labels],
                          np.array([EMOTION_VA[EMOTIONS[k]] for k in labels], np.float32), labels, labels % 3, "toy")


def test_training_learns_and_save_load_round_trips(tmp_path):
    data = _toy_dataset()
    cfg = EstimatorTrainConfig(epochs=30, batch_size=32, n_windows=4, channels=8, hidden=32, drop_prob=(), va_weight=2.0)
    est = fit_estimator(data, cfg, WindowConfig())
    p, va = est.predict_dataset(data)
    assert (p.argmax(1) == data.labels).mean() > 0.95
    trivial = np.abs(data.va - data.va.mean(0)).mean()  # always predicting the mean point
    assert np.abs(va - data.va).mean() < 0.5 * trivial
    paths = est.save(tmp_path / "toy.pt")
    again = Estimator.load(paths[0])
    np.testing.assert_allclose(again.predict_dataset(data)[0], p, atol=1e-6)
    with pytest.raises(OutputExistsError):
        est.save(tmp_path / "toy.pt")
    (tmp_path / "bad.pt").write_bytes(b"not torch")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError):
        Estimator.load(tmp_path / "bad.pt")
