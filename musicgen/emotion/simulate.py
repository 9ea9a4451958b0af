"""SYNTHETIC physiological and facial-expression recordings for the 8 emotions (training data, demos, tests).

Everything this module makes is simulated, not measured, and is labelled so wherever it goes
(recordings carry ``synthetic=True``, CSV files start with a ``# SYNTHETIC`` comment, reports
say "synthetic"). It exists because no redistributable dataset pairs physiology and facial
expressions with these 8 labels (DEAP, AffectNet and the like forbid redistribution).

How a recording is made
-----------------------
Signals come from NeuroKit2's simulators (Makowski et al. 2021, "NeuroKit2: A Python toolbox for
neurophysiological signal processing", Behav. Res. Methods 53:1689):

- ECG: ``nk.ecg_simulate(method="ecgsyn")`` (McSharry et al. 2003's dynamical model) at the
  recording's mean heart rate and heart-rate variability (``heart_rate_std``);
- PPG: ``nk.ppg_simulate`` at the same heart rate, its inter-beat randomness scaled with the HRV;
- heart-rate channel (a wearable's 1 Hz bpm): the mean rate plus an AR(1) fluctuation;
- EDA: a tonic level plus skin-conductance responses of the canonical shape ``nk.eda_simulate``
  produces (Bach et al. 2010's SCR model), placed at Poisson-distributed times;
- respiration: ``nk.rsp_simulate(method="breathmetrics")`` at the recording's breathing rate,
  time-warped by a slow random rate modulation for breath-to-breath variability;
- finger temperature: a level plus a linear trend and sensor noise (NeuroKit2 has no simulator);
- face: per-frame (10 Hz) probabilities of the 8 expressions, a softmax of the person's analyser
  bias, a neutral logit, an expressivity-scaled bump on the felt emotion, a smaller bump on the
  expression face analysers typically confuse it with, and AR(1) noise (see :data:`FACE_CONFUSION`).
  Expressivity scales how far a felt emotion moves the face from neutral: a face that shows nothing
  (at rest, in neutral, or an inexpressive person's) reads neutral, and a shown emotion lowers the
  neutral logit (:data:`FACE_NEUTRAL_LOGIT`).

Each simulated person (:class:`SubjectProfile`) has resting values drawn from normal adult
ranges — heart rate 58–88 bpm; ``heart_rate_std`` 1.5–5 bpm, giving RMSSD ≈ 20–60 ms (Shaffer &
Ginsberg 2017, "An overview of heart rate variability metrics and norms", Front. Public Health
5:258); skin-conductance level 1–20 µS and 0.5–3 non-specific SCRs per minute at rest (Boucsein
2012, "Electrodermal Activity", 2nd ed., Springer); 11–18 breaths/min; finger temperature
29–34 °C — and an individual response gain and facial expressivity.

Emotion-specific changes (:data:`RESPONSES`)
--------------------------------------------
The *directions* of the changes from rest follow our reading of the modal response patterns
summarised in the review by Kreibig, S. D. (2010), "Autonomic nervous system activity in emotion:
A review", Biological Psychology 84(3):394–421 (doi:10.1016/j.biopsycho.2010.03.010) — check the
review's tables before relying on any single entry: anger, fear/anxiety, happiness and
contamination-disgust raise heart rate, skin conductance and breathing rate; non-crying sadness
lowers heart rate and skin conductance; fear lowers and anger raises finger temperature (Ekman,
Levenson & Friesen 1983, "Autonomic nervous system activity distinguishes among emotions", Science
221:1208–1210; Levenson 1992, Psychol. Sci. 3:23–27); fear and anxiety make breathing faster,
shallower and less regular (Boiten, Frijda & Wientjes 1994, "Emotions and respiratory patterns:
review and critical analysis", Int. J. Psychophysiol. 17:103–128). Surprise is modelled as an
orienting response (electrodermal responses, little heart-rate change), and contempt — absent
from Kreibig's review — as a weak, mildly activating state: **both are this toolkit's assumptions**.
The *magnitudes* are this toolkit's choices, of the order of the few-bpm / fraction-of-a-µS
changes those studies report; they are not fitted to any dataset. A model trained on this data
learns these assumptions, nothing more: its accuracy on held-out synthetic data measures how well
it decodes them, not how well it reads real people.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen._files import atomic_write_text
from musicgen.conditions import EMOTIONS, canonical_label
from musicgen.emotion.contract import FACE_CHANNELS
from musicgen.errors import UsageError

#: Bumped whenever simulated signals change (cached simulations carry it in their names). 2: a face
#: that shows nothing reads neutral whatever the person's expressivity (see :data:`FACE_NEUTRAL_LOGIT`).
SIMULATOR_VERSION = 2

#: The face analyser's neutral logit for a face that shows nothing (at rest, or in neutral), before
#: the person's bias and the noise. A displayed emotion lowers it, to half at full display. Version 1
#: scaled the neutral face by expressivity like any expression, so an inexpressive person at rest read
#: less neutral than an expressive one (and a resting segment least neutral of all), which is backwards.
#: 3.0 is what version 1 gave the average person in neutral.
FACE_NEUTRAL_LOGIT = 3.0

#: Sampling rates of simulated channels (Hz).
SIM_RATES: dict[str, float] = {
    "ecg": 250.0,
    "ppg": 100.0,
    "hr": 1.0,
    "eda": 50.0,
    "rsp": 50.0,
    "temp": 4.0,
    "face": 10.0,
}


@dataclass(frozen=True)
class EmotionResponse:
    """Change from rest during one emotion, at response gain 1 (see the module docstring for sources).

    Attributes:
        hr_bpm: mean heart rate change (bpm).
        hrv_scale: multiplier on heart-rate variability (< 1: less vagal variability).
        scl_us: skin-conductance level change (µS).
        scr_per_min: change in the rate of skin-conductance responses (per minute).
        scr_amp_scale: multiplier on SCR amplitude.
        rsp_rate: breathing-rate change (breaths/min).
        rsp_var_scale: multiplier on breath-to-breath rate variability.
        rsp_depth_scale: multiplier on breath depth.
        temp_slope: finger-temperature trend (°C/min).
    """

    hr_bpm: float = 0.0
    hrv_scale: float = 1.0
    scl_us: float = 0.0
    scr_per_min: float = 0.0
    scr_amp_scale: float = 1.0
    rsp_rate: float = 0.0
    rsp_var_scale: float = 1.0
    rsp_depth_scale: float = 1.0
    temp_slope: float = 0.0


#: Per-emotion responses. Directions: Kreibig 2010 (and Ekman et al. 1983 for temperature, Boiten et
#: al. 1994 for breathing); magnitudes: this toolkit's choice; surprise and contempt: assumptions.
RESPONSES: dict[str, EmotionResponse] = {
    "neutral": EmotionResponse(),
    "happy": EmotionResponse(
        hr_bpm=4.0,
        hrv_scale=0.9,
        scl_us=0.5,
        scr_per_min=1.5,
        scr_amp_scale=1.2,
        rsp_rate=2.0,
        rsp_var_scale=1.2,
        temp_slope=0.03,
    ),
    "anger": EmotionResponse(
        hr_bpm=8.0,
        hrv_scale=0.75,
        scl_us=1.0,
        scr_per_min=3.0,
        scr_amp_scale=1.4,
        rsp_rate=3.0,
        rsp_var_scale=1.2,
        rsp_depth_scale=1.15,
        temp_slope=0.12,
    ),
    "sadness": EmotionResponse(
        hr_bpm=-3.0,
        hrv_scale=1.0,
        scl_us=-0.4,
        scr_per_min=-0.5,
        scr_amp_scale=0.9,
        rsp_rate=1.0,
        rsp_var_scale=1.3,
        rsp_depth_scale=0.9,
        temp_slope=-0.04,
    ),
    "fear": EmotionResponse(
        hr_bpm=7.0,
        hrv_scale=0.7,
        scl_us=1.2,
        scr_per_min=4.0,
        scr_amp_scale=1.5,
        rsp_rate=4.0,
        rsp_var_scale=1.5,
        rsp_depth_scale=0.8,
        temp_slope=-0.15,
    ),
    "surprise": EmotionResponse(
        hr_bpm=1.0,
        hrv_scale=1.0,
        scl_us=0.8,
        scr_per_min=4.0,
        scr_amp_scale=1.6,
        rsp_rate=-1.0,
        rsp_var_scale=1.7,
        rsp_depth_scale=1.1,
        temp_slope=-0.05,
    ),
    "disgust": EmotionResponse(
        hr_bpm=1.5,
        hrv_scale=1.0,
        scl_us=0.6,
        scr_per_min=2.0,
        scr_amp_scale=1.2,
        rsp_rate=1.0,
        rsp_var_scale=1.2,
        temp_slope=-0.05,
    ),
    "contempt": EmotionResponse(
        hr_bpm=2.0, hrv_scale=0.95, scl_us=0.3, scr_per_min=1.0, scr_amp_scale=1.0, rsp_rate=0.5, temp_slope=0.0
    ),
}

#: The expression a face analyser most often mistakes each one for — the usual off-diagonal mass in
#: published facial-expression confusion matrices (e.g. AffectNet's baselines: Mollahosseini, Hasani &
#: Mahoor 2017, "AffectNet", IEEE Trans. Affective Computing 10(1):18–31): fear/surprise,
#: anger/disgust, contempt/happy-neutral, sadness/neutral. A neutral face shows nothing, so its entry adds nothing.
FACE_CONFUSION: dict[str, str] = {
    "neutral": "sadness",
    "happy": "contempt",
    "anger": "disgust",
    "sadness": "neutral",
    "fear": "surprise",
    "surprise": "fear",
    "disgust": "anger",
    "contempt": "neutral",
}


@dataclass(frozen=True)
class SubjectProfile:
    """A simulated person's resting physiology and response style (all SYNTHETIC).

    Attributes:
        subject_id: an integer id.
        hr0: resting heart rate (bpm). hrv0: ecgsyn ``heart_rate_std`` at rest (bpm).
        scl0: resting skin-conductance level (µS). nscr0: resting SCRs per minute. scr_amp0: typical SCR amplitude (µS).
        rr0: resting breaths per minute. rsp_var0: breath-rate variability (relative SD). rsp_depth0: breath depth (a.u.).
        temp0: resting finger temperature (°C).
        gain: response gain (multiplies every :data:`RESPONSES` change).
        expressivity: how strongly the face shows the felt emotion (0..1).
        face_bias: (8,) resting logit offsets of the face analyser for this face.
    """

    subject_id: int
    hr0: float
    hrv0: float
    scl0: float
    nscr0: float
    scr_amp0: float
    rr0: float
    rsp_var0: float
    rsp_depth0: float
    temp0: float
    gain: float
    expressivity: float
    face_bias: tuple[float, ...] = field(default=(0.0,) * 8)

    @classmethod
    def random(cls, subject_id: int, seed: int) -> SubjectProfile:
        """Draw a profile from the resting ranges in the module docstring (deterministic in ``seed``)."""
        rng = np.random.default_rng([seed, subject_id, 7])
        return cls(
            subject_id=subject_id,
            hr0=float(rng.uniform(58, 88)),
            hrv0=float(rng.uniform(1.5, 5.0)),
            scl0=float(np.exp(rng.uniform(np.log(1.0), np.log(20.0)))),
            nscr0=float(rng.uniform(0.5, 3.0)),
            scr_amp0=float(np.exp(rng.normal(np.log(0.15), 0.4))),
            rr0=float(rng.uniform(11, 18)),
            rsp_var0=float(rng.uniform(0.04, 0.12)),
            rsp_depth0=float(rng.uniform(0.5, 2.0)),
            temp0=float(rng.uniform(29, 34)),
            gain=float(np.exp(rng.normal(0.0, 0.3))),
            expressivity=float(rng.uniform(0.15, 1.0)),
            face_bias=tuple(float(x) for x in rng.normal(0.0, 0.35, size=len(EMOTIONS))),
        )


@dataclass
class Recording:
    """A SYNTHETIC multichannel recording.

    Attributes:
        signals: channel (``ecg``, ``ppg``, ``hr``, ``eda``, ``rsp``, ``temp``, ``face_*``) →
            (times s, values) in the units of the file contract.
        segments: ``(start s, end s, emotion)`` of each part.
        subject: the simulated person.
        synthetic: always True (kept explicit so every consumer can say so).
        seed: the seed it was made from.
    """

    signals: dict[str, tuple[np.ndarray, np.ndarray]]
    segments: list[tuple[float, float, str]]
    subject: SubjectProfile
    seed: int
    synthetic: bool = True

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.segments[-1][1] if self.segments else 0.0


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """An AR(1) series with stationary SD ``sd``."""
    from scipy.signal import lfilter

    e = rng.normal(0.0, sd * math.sqrt(1 - phi * phi), size=n)
    e[0] = rng.normal(0.0, sd)  # start in the stationary distribution
    return lfilter([1.0], [1.0, -phi], e)


def _scr_shape(fs: float, seed: int) -> np.ndarray:
    """One canonical SCR of unit amplitude from NeuroKit2's EDA simulator (Bach et al. 2010's model)."""
    import neurokit2 as nk

    one = nk.eda_simulate(duration=15, sampling_rate=int(fs), scr_number=1, noise=0, drift=0, random_state=seed) - 1.0
    one = np.asarray(one, dtype=float)
    return one / one.max()


def simulate_recording(
    emotion: str,
    duration_s: float,
    subject: SubjectProfile,
    seed: int,
    *,
    intensity: float = 1.0,
    cardiac: str = "ecg",
    channels: Iterable[str] = ("eda", "rsp", "temp", "face"),
) -> Recording:
    """SYNTHETIC signals of one person in one emotion for ``duration_s`` seconds.

    Args:
        emotion: one of :data:`EMOTIONS` (or an alias).
        duration_s: length (s), at least 10.
        subject: the simulated person.
        seed: random seed (same seed, same signals).
        intensity: scales the emotion's changes (1 = :data:`RESPONSES` × the subject's gain).
        cardiac: ``"ecg"``, ``"ppg"``, ``"hr"`` or ``"none"``.
        channels: the other modalities to simulate (``eda``, ``rsp``, ``temp``, ``face``).

    Raises:
        UsageError: unknown emotion or cardiac kind, or a duration under 10 s.
    """
    import neurokit2 as nk

    emo = canonical_label(emotion)
    if duration_s < 10:
        raise UsageError(f"a simulated recording needs at least 10 s, got {duration_s}")
    if cardiac not in ("ecg", "ppg", "hr", "none"):
        raise UsageError(f"cardiac must be ecg, ppg, hr or none, got {cardiac!r}")
    channels = set(channels)
    rng = np.random.default_rng([seed, subject.subject_id, EMOTIONS.index(emo), 11])
    nk_seed = int(rng.integers(0, 2**31 - 1))
    r = RESPONSES[emo]
    g = subject.gain * intensity
    signals: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    dur = float(duration_s)

    def grid(name: str) -> np.ndarray:
        return np.arange(int(round(dur * SIM_RATES[name]))) / SIM_RATES[name]

    # session-to-session drift: a neutral recording is not an exact copy of the baseline
    hr = float(np.clip(subject.hr0 + g * r.hr_bpm + rng.normal(0, 1.5), 42, 160))
    hrv = float(max(0.5, subject.hrv0 * (1 + g * (r.hrv_scale - 1)) * math.exp(rng.normal(0, 0.1))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if cardiac == "ecg":
            fs = SIM_RATES["ecg"]
            ecg = nk.ecg_simulate(
                duration=int(math.ceil(dur)),
                sampling_rate=int(fs),
                heart_rate=hr,
                heart_rate_std=hrv,
                method="ecgsyn",
                noise=float(rng.uniform(0.005, 0.03)),
                random_state=nk_seed,
            )
            t = grid("ecg")
            signals["ecg"] = (t, np.asarray(ecg, dtype=float)[: t.size])
        elif cardiac == "ppg":
            fs = SIM_RATES["ppg"]
            ppg = nk.ppg_simulate(
                duration=int(math.ceil(dur)),
                sampling_rate=int(fs),
                heart_rate=hr,
                ibi_randomness=float(np.clip(hrv / 30.0, 0.02, 0.3)),
                frequency_modulation=0.2,
                drift=0.0,
                motion_amplitude=0.05,
                powerline_amplitude=0.0,
                random_state=nk_seed,
            )
            t = grid("ppg")
            signals["ppg"] = (t, np.asarray(ppg, dtype=float)[: t.size])
        elif cardiac == "hr":
            t = grid("hr")
            signals["hr"] = (t, hr + _ar1(rng, t.size, 0.8, hrv))

        if "eda" in channels:
            fs = SIM_RATES["eda"]
            t = grid("eda")
            level = max(0.2, subject.scl0 * math.exp(rng.normal(0, 0.05)) + g * r.scl_us)
            tonic = level + rng.normal(0, 0.003) * t  # slow drift, µS/s
            rate = max(0.1, subject.nscr0 + g * r.scr_per_min) / 60.0
            shape = _scr_shape(fs, nk_seed)
            n_scr = rng.poisson(rate * (dur + 10.0))
            phasic = np.zeros(t.size + shape.size)
            amp_mean = subject.scr_amp0 * (1 + g * (r.scr_amp_scale - 1))
            for onset in rng.uniform(-10.0, dur, size=n_scr):
                a = float(amp_mean * math.exp(rng.normal(0, 0.4)))
                i0 = int(round(onset * fs))
                s0 = max(0, -i0)
                i0 = max(0, i0)
                seg = shape[s0:]
                phasic[i0 : i0 + seg.size] += a * seg
            eda = tonic + phasic[: t.size] + rng.normal(0, 0.004, size=t.size)
            signals["eda"] = (t, np.maximum(eda, 0.05))

        if "rsp" in channels:
            fs = SIM_RATES["rsp"]
            t = grid("rsp")
            rr = float(np.clip(subject.rr0 + g * r.rsp_rate + rng.normal(0, 0.7), 5, 40))
            raw = np.asarray(
                nk.rsp_simulate(
                    duration=int(math.ceil(dur * 1.6)) + 2,
                    sampling_rate=int(fs),
                    respiratory_rate=rr,
                    method="breathmetrics",
                    noise=0.02,
                    random_state=nk_seed,
                ),
                dtype=float,
            )
            var = subject.rsp_var0 * (1 + g * (r.rsp_var_scale - 1))
            # slow random modulation of the breathing pace: the warped clock runs at (1 + m(t)) × real time
            n_knots = int(dur / 4) + 2
            knots = rng.normal(0, var, size=n_knots)
            mod = np.interp(t, np.linspace(0, dur, n_knots), knots)
            warped = np.cumsum(np.clip(1 + mod, 0.5, 1.5)) / fs
            x = np.interp(warped, np.arange(raw.size) / fs, raw)
            depth = subject.rsp_depth0 * (1 + g * (r.rsp_depth_scale - 1))
            signals["rsp"] = (t, depth * (x - x.mean()))

        if "temp" in channels:
            t = grid("temp")
            temp = subject.temp0 + rng.normal(0, 0.2) + (g * r.temp_slope + rng.normal(0, 0.01)) * t / 60.0
            signals["temp"] = (t, np.round(temp + rng.normal(0, 0.01, size=t.size), 2))

    if "face" in channels:
        t = grid("face")
        k = len(EMOTIONS)
        # how far the felt emotion moves the face away from neutral: nothing at rest or in neutral
        shown = 0.0
        if emo != "neutral":
            shown = float(np.clip(subject.expressivity * rng.uniform(0.6, 1.2) * min(1.5, intensity), 0.0, 1.2))
        logits = np.tile(np.asarray(subject.face_bias), (t.size, 1))
        logits[:, EMOTIONS.index("neutral")] += FACE_NEUTRAL_LOGIT - 0.5 * FACE_NEUTRAL_LOGIT * min(1.0, shown)
        logits[:, EMOTIONS.index(emo)] += 3.0 * shown
        logits[:, EMOTIONS.index(FACE_CONFUSION[emo])] += 1.2 * shown
        for j in range(k):
            logits[:, j] += _ar1(rng, t.size, 0.9, 0.8)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        # the face is not found in some frames (turned away, occluded): bursts of missing frames
        keep = np.ones(t.size, dtype=bool)
        for start in rng.uniform(0, dur, size=rng.poisson(dur / 20.0)):
            keep[(t >= start) & (t < start + rng.uniform(0.3, 2.0))] = False
        for j, ch in enumerate(FACE_CHANNELS):
            signals[ch] = (t[keep], np.round(p[keep, j], 4))

    return Recording(signals, [(0.0, dur, emo)], subject, seed)


def simulate_session(
    segments: Sequence[tuple[str, float] | tuple[str, float, float]],
    *,
    seed: int = 0,
    subject: SubjectProfile | None = None,
    cardiac: str = "ecg",
    channels: Iterable[str] = ("eda", "rsp", "temp", "face"),
) -> Recording:
    """A SYNTHETIC session: consecutive segments ``[(emotion, seconds[, intensity]), ...]`` of one simulated person.

    Segments are simulated one by one and joined in time (a signal may jump at a junction, as
    sensors do when a person shifts). No resting start is needed: the estimator keeps its own
    running reference of the session.

    Args:
        segments: emotion (or alias), length (s, at least 10) and optionally intensity (default 1;
            0 gives the person's resting values).
        seed: random seed of the signals (and of the person, when ``subject`` is None).
        subject: the simulated person (default: ``SubjectProfile.random(0, seed)``).
        cardiac / channels: as for :func:`simulate_recording`.

    Raises:
        UsageError: no segments, an unknown emotion, or a segment under 10 s.
    """
    if not segments:
        raise UsageError("a session needs at least one (emotion, seconds) segment")
    subject = subject or SubjectProfile.random(0, seed)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    spans = []
    t0 = 0.0
    for i, seg in enumerate(segments):
        emo, secs = seg[0], float(seg[1])
        intensity = float(seg[2]) if len(seg) > 2 else 1.0
        rec = simulate_recording(
            emo, secs, subject, seed * 1000 + i, intensity=intensity, cardiac=cardiac, channels=channels
        )
        for ch, (t, v) in rec.signals.items():
            parts.setdefault(ch, []).append((t + t0, v))
        spans.append((t0, t0 + secs, rec.segments[0][2]))
        t0 += secs
    signals = {ch: (np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps])) for ch, ps in parts.items()}
    return Recording(signals, spans, subject, seed)


def parse_segments(text: str) -> list[tuple[str, float]]:
    """Parse ``"neutral:30,happy:30"`` into ``[("neutral", 30.0), ("happy", 30.0)]``.

    Raises:
        UsageError: a part is not ``emotion:seconds`` or names an unknown emotion.
    """
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, secs = part.partition(":")
        try:
            s = float(secs) if sep else float("nan")
        except ValueError:
            s = float("nan")
        if not math.isfinite(s) or s <= 0:
            raise UsageError(f"segment {part.strip()!r}: expected emotion:seconds, e.g. neutral:30")
        out.append((canonical_label(name), s))
    if not out:
        raise UsageError("no segments given; expected e.g. neutral:30,happy:30")
    return out


def recording_csv(recording: Recording) -> str:
    """The recording as a contract CSV (``time`` + channels; empty fields where a channel has no sample).

    The first line is a ``# SYNTHETIC`` comment naming the segments and seed (the readers skip it).
    """
    chans = [c for c in ("ecg", "ppg", "hr", "eda", "rsp", "temp") + FACE_CHANNELS if c in recording.signals]
    keys = {c: np.round(recording.signals[c][0] * 1e6).astype(np.int64) for c in chans}
    all_t = np.unique(np.concatenate(list(keys.values())))
    cols = []
    for c in chans:
        col = np.full(all_t.size, "", dtype=object)
        idx = np.searchsorted(all_t, keys[c])
        v = recording.signals[c][1]
        col[idx] = [f"{x:.6g}" for x in v]
        cols.append(col)
    times = [f"{x / 1e6:.6f}".rstrip("0").rstrip(".") if x else "0" for x in all_t]
    segs = "; ".join(f"{a:g}-{b:g} s {e}" for a, b, e in recording.segments)
    lines = [
        f"# SYNTHETIC data simulated by musicgen.emotion.simulate (NeuroKit2 simulators), seed {recording.seed}: {segs}",
        ",".join(["time"] + chans),
    ]
    body = np.column_stack([np.asarray(times, dtype=object)] + cols)
    lines += [",".join(row) for row in body]
    return "\n".join(lines) + "\n"


def write_recording_csv(recording: Recording, path: str | Path, force: bool = False) -> Path:
    """Write :func:`recording_csv` atomically.

    Raises:
        OutputExistsError: the file exists and ``force`` is false.
        UsageError: the folder is missing or not writable.
    """
    return atomic_write_text(path, recording_csv(recording), force=force)


__all__ = [
    "EmotionResponse",
    "FACE_CONFUSION",
    "FACE_NEUTRAL_LOGIT",
    "RESPONSES",
    "Recording",
    "SIMULATOR_VERSION",
    "SIM_RATES",
    "SubjectProfile",
    "parse_segments",
    "recording_csv",
    "simulate_recording",
    "simulate_session",
    "write_recording_csv",
]
