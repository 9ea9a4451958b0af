"""Window features: heart rate from a simulated ECG, real NeuroKit2 recordings, dropouts, clipping, streaming = batch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from musicgen.emotion.contract import CHANNELS, Chunk, Diagnostics
from musicgen.emotion.features import (
    FEATURES,
    MODALITY_GROUPS,
    StreamingFeatures,
    WindowConfig,
    features_for_signals,
    window_features,
)
from musicgen.emotion.files import FileSource
from musicgen.emotion.sources import read_all

F = {n: i for i, n in enumerate(FEATURES)}


def _nk():
    import neurokit2 as nk

    warnings.simplefilter("ignore")
    return nk


@pytest.mark.parametrize("rate", [58.0, 95.0])
def test_heart_rate_of_a_simulated_ecg_is_within_2_bpm(rate):
    nk = _nk()
    fs = 250
    ecg = nk.ecg_simulate(
        duration=12, sampling_rate=fs, heart_rate=rate, heart_rate_std=1.0, method="ecgsyn", random_state=7
    )
    t = np.arange(ecg.size) / fs
    wf = window_features({"ecg": (t, ecg)}, end=12.0)
    assert wf.modalities == ("ecg",)
    assert abs(wf.values[F["hr_mean"]] - rate) <= 2.0
    assert 0 < wf.values[F["hrv_rmssd"]] < 200 and 0 < wf.values[F["hrv_sdnn"]] < 200
    # everything else is missing, and the mask says so
    assert wf.mask.tolist() == [i in MODALITY_GROUPS["cardiac"] for i in range(len(FEATURES))]


def test_real_recording_features_agree_with_neurokit(shared_data):
    """bio_eventrelated_100hz.csv (real ECG/EDA/RSP at 100 Hz, no time column): read through the file contract."""
    nk = _nk()
    path = shared_data / "physio" / "bio_eventrelated_100hz.csv"
    src = FileSource(path, sampling_rate=100)
    t, data = read_all(src)
    assert src.diagnostics.counts == {"unknown column": 1}  # the Photosensor column
    sig = {c: (t, data[:, CHANNELS.index(c)]) for c in ("ecg", "eda", "rsp")}
    cfg = WindowConfig()
    ends = np.array([30.0, 60.0, 90.0])
    vals, mask = features_for_signals(sig, ends, cfg)
    assert mask[:, :10].all() and not mask[:, 10:].any()
    for e, v in zip(ends, vals):
        a, b = int((e - 10) * 100), int(e * 100)
        # NeuroKit2's own heart rate over the same 10 s
        _, info = nk.ecg_peaks(nk.ecg_clean(sig["ecg"][1][a:b], sampling_rate=100), sampling_rate=100)
        rr = np.diff(info["ECG_R_Peaks"]) / 100
        assert abs(v[F["hr_mean"]] - 60 / rr.mean()) < 3.0
        assert 40 < v[F["hr_mean"]] < 110
        # tonic level close to the raw conductance level
        assert abs(v[F["eda_tonic"]] - sig["eda"][1][a:b].mean()) < 0.5
        assert v[F["eda_scr_rate"]] >= 0 and v[F["eda_scr_amp"]] >= 0
        # breathing rate vs NeuroKit2's rate over the same respiration window (cfg.rsp_length_s)
        r0 = int((e - cfg.rsp_length_s) * 100)
        cl = nk.rsp_clean(sig["rsp"][1][r0:b], sampling_rate=100)
        _, rinfo = nk.rsp_peaks(cl, sampling_rate=100)
        nk_rate = 60 / np.mean(np.diff(rinfo["RSP_Peaks"]) / 100)
        assert abs(v[F["rsp_rate"]] - nk_rate) < 3.0


def test_ppg_and_ecg_of_the_same_real_heart_agree(shared_data):
    path = shared_data / "physio" / "bio_resting_5min_100hz.csv"
    t, data = read_all(FileSource(path, sampling_rate=100))
    ecg = {"ecg": (t, data[:, CHANNELS.index("ecg")])}
    ppg = {"ppg": (t, data[:, CHANNELS.index("ppg")])}
    for end in (40.0, 150.0):
        a = window_features(ecg, end)
        b = window_features(ppg, end)
        assert a.modalities == ("ecg",) and b.modalities == ("ppg",)
        assert abs(a.values[F["hr_mean"]] - b.values[F["hr_mean"]]) < 3.0


def _ecg(seconds=12, fs=250, rate=70):
    nk = _nk()
    ecg = nk.ecg_simulate(duration=seconds, sampling_rate=fs, heart_rate=rate, method="ecgsyn", random_state=3)
    return np.arange(ecg.size) / fs, np.asarray(ecg)


def test_dropout_clipping_and_low_rate_are_counted_and_masked():
    t, v = _ecg()
    diag = Diagnostics()
    gap = (t < 4) | (t > 8)  # 4 s missing from the window
    wf = window_features({"ecg": (t[gap], v[gap])}, 12.0, diagnostics=diag, seen={"ecg"})
    assert not wf.mask[F["hr_mean"]] and diag.counts["dropout"] == 1
    clipped = np.clip(v, None, np.percentile(v, 80))
    wf = window_features({"ecg": (t, clipped)}, 12.0, diagnostics=diag)
    assert not wf.mask.any() and diag.counts["clipped signal"] == 1
    flat = np.zeros_like(v)
    window_features({"ecg": (t, flat)}, 12.0, diagnostics=diag)
    assert diag.counts["clipped signal"] == 2
    slow = np.arange(0, 12, 1 / 20.0)
    window_features({"ecg": (slow, np.interp(slow, t, v))}, 12.0, diagnostics=diag)
    assert diag.counts["low sampling rate"] == 1
    assert window_features({}, 12.0).mask.sum() == 0


def test_heart_rate_channel_temperature_and_face_summaries():
    t = np.arange(0, 10.0, 1.0)
    hr = 70 + np.array([0, 2, -2, 1, -1, 0, 2, -2, 1, -1.0])
    tt = np.arange(0, 10.0, 0.25)
    temp = 32.0 + 0.6 * tt / 60.0  # +0.6 °C per minute
    ft = np.arange(0, 10.0, 0.1)
    face = {c: (ft, np.full(ft.size, 0.05)) for c in CHANNELS if c.startswith("face_")}
    face["face_happy"] = (ft, np.full(ft.size, 0.45))  # sums to 0.8: renormalised
    wf = window_features({"hr": (t, hr), "temp": (tt, temp), **face}, 10.0)
    assert wf.modalities == ("hr", "temp", "face")
    assert wf.values[F["hr_mean"]] == pytest.approx(70.0) and wf.values[F["hr_std"]] == pytest.approx(hr.std())
    assert not wf.mask[F["hrv_rmssd"]] and not wf.mask[F["hrv_sdnn"]]  # no beats in a bpm channel
    assert wf.values[F["temp_mean"]] == pytest.approx(temp.mean())
    assert wf.values[F["temp_slope"]] == pytest.approx(0.6)
    assert wf.values[F["face_happy"]] == pytest.approx(0.45 / 0.8)
    assert np.nansum(wf.values[list(MODALITY_GROUPS["face"])]) == pytest.approx(1.0)


def test_streaming_equals_batch_and_skips_gaps():
    t, v = _ecg(seconds=30)
    eda_t = np.arange(0, 30, 1 / 50)
    eda = 5 + 0.01 * eda_t
    cfg = WindowConfig()
    # stream in uneven chunks, plus a long silence and a restart at 200 s
    times = np.unique(np.concatenate([t, eda_t]))
    data = np.full((times.size, len(CHANNELS)), np.nan)
    data[np.searchsorted(times, t), CHANNELS.index("ecg")] = v
    data[np.searchsorted(times, eda_t), CHANNELS.index("eda")] = eda
    diag = Diagnostics()
    sf = StreamingFeatures(cfg, diag)
    out = []
    for a, b in [(0, 100), (100, 3000), (3000, times.size)]:
        out += sf.push(Chunk(times[a:b], data[a:b]))
    tail_t = 200 + np.arange(0, 12, 1 / 250)
    tail = np.full((tail_t.size, len(CHANNELS)), np.nan)
    tail[:, CHANNELS.index("ecg")] = np.interp(tail_t - 200, t, v)
    out += sf.push(Chunk(tail_t, tail))
    out += sf.flush()
    ends = [w.end for w in out]
    # windows up to 32 s still have >= 80 % coverage; then nothing until the restart at 200 s
    assert ends[:23] == pytest.approx(np.arange(10.0, 33.0))
    assert ends[23:] == pytest.approx(np.arange(208.0, 213.0))
    assert out[-1].modalities == ("ecg",)
    assert diag.counts["window without signal"] >= 150
    batch, _ = features_for_signals({"ecg": (t, v), "eda": (eda_t, eda)}, np.arange(10.0, 30.0), cfg)
    stream = np.array([w.values for w in out[:20]])
    np.testing.assert_allclose(stream, batch, equal_nan=True)
