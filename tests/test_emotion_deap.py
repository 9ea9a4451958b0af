"""DEAP loader on small files in DEAP's preprocessed Python format, written by the test."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from musicgen.conditions import EMOTIONS
from musicgen.emotion.deap import CHANNEL_MAP, DEAP_RATE, deap_files, deap_sessions, load_deap_subject
from musicgen.emotion.features import FEATURES
from musicgen.errors import InputError

N = 8064  # 63 s at 128 Hz, as in DEAP


def _write_subject(path, ratings, seed):
    """A DEAP-format pickle: 'data' trials x 40 x 8064 (float32), 'labels' trials x 4, protocol 2 like DEAP's."""
    import neurokit2 as nk

    rng = np.random.default_rng(seed)
    trials = len(ratings)
    data = rng.normal(0, 5, size=(trials, 40, N)).astype(np.float32)  # EEG/EOG/EMG: noise
    t = np.arange(N) / DEAP_RATE
    for k in range(trials):
        eda_us = 4.0 + 0.5 * k + 0.02 * np.sin(t / 7)
        data[k, 36] = 1e6 / eda_us  # GSR in Ohm
        data[k, 37] = nk.rsp_simulate(
            duration=63, sampling_rate=128, respiratory_rate=14 + 2 * k, random_state=seed + k
        )[:N]
        data[k, 38] = nk.ppg_simulate(duration=63, sampling_rate=128, heart_rate=65 + 10 * k, random_state=seed + k)[:N]
        data[k, 39] = 31.0 + 0.01 * t
    with open(path, "wb") as fh:
        pickle.dump({"data": data, "labels": np.asarray(ratings, dtype=np.float64)}, fh, protocol=2)
    return data


def test_load_subject_and_convert_channels(tmp_path):
    data = _write_subject(tmp_path / "s01.dat", [[8.0, 7.5, 5, 6], [2.0, 2.5, 4, 3]], seed=1)
    subj = load_deap_subject(tmp_path / "s01.dat")
    assert subj.subject == 1 and subj.n_trials == 2 and subj.data.shape == (2, 40, N)
    assert subj.valence_arousal().tolist() == [[0.75, 0.625], [-0.75, -0.625]]
    sig = subj.trial_signals(1)
    assert set(sig) == set(CHANNEL_MAP.values())
    t, eda = sig["eda"]
    assert t[1] == pytest.approx(1 / 128) and t[-1] == pytest.approx((N - 1) / 128)
    assert eda.mean() == pytest.approx(4.5, abs=0.01)  # Ohm → µS
    assert np.allclose(sig["ppg"][1], data[1, 38])


def test_sessions_from_a_deap_folder(tmp_path):
    _write_subject(tmp_path / "s01.dat", [[8.0, 7.5, 5, 6], [2.0, 2.5, 4, 3]], seed=1)
    _write_subject(tmp_path / "s02.dat", [[5.0, 5.0, 5, 5]], seed=2)
    assert [f.name for f in deap_files(tmp_path)] == ["s01.dat", "s02.dat"]
    ds = deap_sessions(tmp_path)
    per_trial = 54  # windows ending at 10, 11, ..., 63 s of each 63-s trial
    assert len(ds) == 3 * per_trial and ds.values.shape == (3 * per_trial, len(FEATURES))
    assert "DEAP" in ds.source and "derived" in ds.source
    assert len(ds.session_slices()) == 2 and (ds.session[: 2 * per_trial] == ds.session[0]).all()
    # the trials of one participant follow each other in time, as one stream
    assert ds.ends[per_trial - 1] == pytest.approx(63.0) and ds.ends[per_trial] == pytest.approx(63.0 + 10.0)
    assert np.all(np.diff(ds.ends[: 2 * per_trial]) > 0)
    # high valence + high arousal → happy; low/low → sadness; the middle → neutral
    assert [EMOTIONS[k] for k in ds.labels[[0, per_trial, 2 * per_trial]]] == ["happy", "sadness", "neutral"]
    assert np.allclose(ds.targets.sum(1), 1) and ds.lag[0] == pytest.approx(10 - 3.0)
    f = {n: i for i, n in enumerate(FEATURES)}
    m = np.isfinite(ds.values)
    assert m[:, f["hr_mean"]].all() and m[:, f["eda_tonic"]].all() and m[:, f["temp_mean"]].all()
    hr = ds.values[:, f["hr_mean"]]
    assert (
        abs(hr[per_trial - 1] - 65) < 5 and abs(hr[2 * per_trial - 1] - 75) < 5
    )  # PPG-derived heart rate of each trial


def test_bad_files_are_clear_errors_and_pickles_cannot_run_code(tmp_path):
    with open(tmp_path / "s03.dat", "wb") as fh:
        pickle.dump({"data": np.zeros((2, 32, 100)), "labels": np.ones((2, 4))}, fh, protocol=2)
    with pytest.raises(InputError, match="40 channels"):
        load_deap_subject(tmp_path / "s03.dat")
    with open(tmp_path / "s04.dat", "wb") as fh:
        pickle.dump({"data": np.zeros((2, 40, 100)), "labels": np.full((2, 4), 12.0)}, fh, protocol=2)
    with pytest.raises(InputError, match="1–9"):
        load_deap_subject(tmp_path / "s04.dat")
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(tmp_path / "s05.dat", "wb") as fh:
        pickle.dump({"data": Evil(), "labels": np.ones((1, 4))}, fh, protocol=2)
    with pytest.raises(InputError, match="refusing"):
        load_deap_subject(tmp_path / "s05.dat")
    assert not marker.exists()
    with pytest.raises(InputError):
        deap_files(tmp_path / "nowhere")
