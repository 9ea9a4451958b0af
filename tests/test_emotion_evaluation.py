"""Evaluation of the estimator: scoring rule, unseen-people sessions, modality variants, training-session plans, the real events."""

from __future__ import annotations

import numpy as np
import pytest

from musicgen.conditions import EMOTIONS
from musicgen.emotion.evaluation import (
    NEUROKIT_EVENT_CONDITIONS,
    SHORT_ORDERS,
    VARIANTS,
    evaluate_short_sessions,
    evaluate_unseen_sessions,
    evaluation_segments,
    physio_event_valences,
    random_short_sessions,
    readme_demo_accuracy,
    score_windows,
    stream_windows,
    without_modalities,
)
from musicgen.emotion.features import FEATURES, MODALITY_GROUPS, WindowConfig
from musicgen.emotion.sessions import labelled_windows, training_session_plan
from musicgen.emotion.simulate import recording_csv, simulate_session
from musicgen.emotion.streaming import EstimatorSession, estimate_stream
from musicgen.emotion.training import EstimatorTrainConfig, fit_estimator
from musicgen.errors import InputError, UsageError


@pytest.fixture(scope="module")
def tiny_estimator():
    """An estimator trained for a moment on 2 simulated sessions: the pipeline checks below do not need a good one."""
    from musicgen.emotion.sessions import SessionWindows

    parts = []
    for i in range(2):
        subject, cardiac, segments = training_session_plan(i, 7)
        rec = simulate_session([(e, 12.0, x) for e, _, x in segments[:3]], seed=700 + i, subject=subject, cardiac="ecg")
        parts.append(labelled_windows(rec.signals, rec.segments, WindowConfig(), session=i))
    cfg = EstimatorTrainConfig(epochs=1, n_windows=4, channels=4, hidden=8)
    return fit_estimator(SessionWindows.concat(parts), cfg)


def test_scoring_counts_windows_past_the_lag_inside_their_segment():
    segs = [(0.0, 30.0, "neutral"), (30.0, 60.0, "happy")]
    times = np.arange(10.0, 61.0)
    labels = ["neutral"] * 20 + ["happy"] * 20 + ["anger"] * 11  # times 10..29, 30..49, 50..60
    true, pred = score_windows(times, labels, segs, lag_s=12.0)
    assert true.size == 18 + 18  # ends 12..29 and 42..59: the window ending at a segment's end is not counted twice
    assert (true == pred).sum() == 18 + 8  # happy is right for 42..49, anger from 50
    assert set(true.tolist()) == {EMOTIONS.index("neutral"), EMOTIONS.index("happy")}


def test_evaluation_sessions_cover_all_emotions_in_a_seeded_order():
    a, b = evaluation_segments(2000), evaluation_segments(2001)
    assert sorted(e for e, _ in a) == sorted(EMOTIONS) and all(s == 30.0 for _, s in a)
    assert a == evaluation_segments(2000) and a != b


def test_training_sessions_never_simulate_an_evaluated_person():
    for i in range(6):
        subject, cardiac, segments = training_session_plan(i, 0)
        assert subject.subject_id == i + 1  # evaluation, the demo and the tests simulate person 0
        assert cardiac in ("ecg", "ppg", "hr")
        emotions = [e for e, _, x in segments if x > 0]
        assert set(emotions) == set(EMOTIONS) and all(20 <= s <= 45 for _, s, x in segments if x > 0)
    assert training_session_plan(3, 0) == training_session_plan(3, 0)
    # across plans, some sessions start at rest and some do not
    starts = {training_session_plan(i, 0)[2][0][2] == 0.0 for i in range(12)}
    assert starts == {True, False}


def test_windows_are_labelled_by_the_segment_their_end_falls_in():
    rec = simulate_session([("anger", 12.0), ("sadness", 12.0)], seed=3, channels=("eda", "temp"), cardiac="hr")
    w = labelled_windows(rec.signals, rec.segments, WindowConfig())
    assert w.ends.tolist() == list(np.arange(10.0, 25.0))
    assert [EMOTIONS[k] for k in w.labels] == ["anger"] * 3 + ["sadness"] * 12  # the window ending at 12 s is anger's
    assert w.lag.tolist()[:4] == [10.0, 11.0, 12.0, 1.0]
    assert w.values.shape == (15, len(FEATURES)) and np.isfinite(w.values[:, MODALITY_GROUPS["temp"][0]]).all()


def test_a_variant_gives_what_a_file_without_those_columns_gives(tiny_estimator, tmp_path):
    """The evaluation masks removed modalities; estimating a file without their columns must give the same estimates."""
    rec = simulate_session([("fear", 15.0), ("happy", 15.0)], seed=11)
    text = recording_csv(rec)
    full = tmp_path / "full.csv"
    full.write_text(text)
    lines = text.splitlines()
    header = lines[1].split(",")
    keep = [i for i, c in enumerate(header) if not c.startswith("face_")]
    rows = [ln.split(",") for ln in lines[2:]]
    kept = [",".join(r[i] for i in keep) for r in rows if any(r[i] for i in keep[1:])]
    noface = tmp_path / "noface.csv"
    noface.write_text("\n".join([lines[0], ",".join(header[i] for i in keep)] + kept) + "\n")
    windows = stream_windows(full, tiny_estimator.config)
    session = EstimatorSession(tiny_estimator)
    masked = [session.update(w) for w in (without_modalities(w, VARIANTS["no face"]) for w in windows) if w is not None]
    direct = list(estimate_stream(noface, estimator=tiny_estimator))
    assert [e.time for e in masked] == [e.time for e in direct] and len(direct) == 21
    assert [e.modalities for e in masked] == [e.modalities for e in direct]
    assert all("face" not in e.modalities for e in direct) and direct[-1].modalities == ("ecg", "eda", "rsp", "temp")
    np.testing.assert_allclose(
        [e.condition.probabilities for e in masked], [e.condition.probabilities for e in direct], atol=1e-6
    )
    # and the all-channel variant is estimate_stream itself
    same = list(estimate_stream(full, estimator=tiny_estimator))
    session = EstimatorSession(tiny_estimator)
    np.testing.assert_allclose(
        [session.update(w).condition.valence for w in windows], [e.condition.valence for e in same]
    )


def test_unseen_session_evaluation_table(tiny_estimator):
    ev = evaluate_unseen_sessions(tiny_estimator, [5000], segment_s=14.0, lag_s=12.0)
    assert list(ev.accuracy) == list(VARIANTS)
    for v in VARIANTS:
        assert 0.0 <= ev.mean(v) <= 1.0 and ev.worst(v) == ev.mean(v)  # one seed
        assert ev.confusion[v].sum() == 8 * 2  # windows ending 12 and 13 s into each of the 8 segments
    s = ev.summary()
    assert s["seeds"] == [5000] and "SYNTHETIC" in s["data"] and set(s["variants"]) == set(VARIANTS)
    lines = ev.table_lines()
    assert "SYNTHETIC" in lines[0] and len(lines) == 2 + len(VARIANTS)
    assert sorted(ev.orders[5000]) == sorted(EMOTIONS)
    with pytest.raises(UsageError):
        evaluate_unseen_sessions(tiny_estimator, [5000], segment_s=10.0, lag_s=12.0)


def test_short_sessions_are_scored_per_order_and_seed(tiny_estimator):
    ev = evaluate_short_sessions(
        tiny_estimator, seeds=[5001, 5002], orders=[("fear", "neutral")], segment_s=14.0, lag_s=12.0
    )
    assert ev.orders == [("fear", "neutral")] and ev.seeds == [5001, 5002]
    assert ev.scored.tolist() == [[4, 4]]  # windows ending 12 and 13 s into each of the 2 segments
    counts = ev.by_segment[("fear", "neutral")]
    assert [sum(c.values()) for c in counts] == [4, 4]
    assert ev.correct.sum() == counts[0].get("fear", 0) + counts[1].get("neutral", 0)
    assert 0.0 <= ev.worst() <= ev.accuracy() <= 1.0
    lines = ev.table_lines()
    assert "SYNTHETIC" in lines[0] and lines[1].lstrip().startswith("fear,neutral") and len(lines) == 3
    # fresh sessions: different emotions, an order fixed by the seed
    pairs = random_short_sessions([1, 2, 3])
    assert [s for s, _ in pairs] == [1, 2, 3] and all(len(set(o)) == 3 and set(o) <= set(EMOTIONS) for _, o in pairs)
    assert pairs == random_short_sessions([1, 2, 3]) and len({o for _, o in pairs}) > 1
    one = evaluate_short_sessions(tiny_estimator, sessions=[(5001, ("fear", "neutral"))], segment_s=14.0, lag_s=12.0)
    assert one.correct.tolist() == [[ev.correct[0, 0]]] and one.orders == [("random orders",)]
    assert SHORT_ORDERS[0] == ("neutral", "happy", "sadness")  # the README demo's order is among the defaults
    with pytest.raises(UsageError):
        evaluate_short_sessions(tiny_estimator, seeds=[5001], segment_s=10.0, lag_s=12.0)
    with pytest.raises(UsageError):
        random_short_sessions([1], n_segments=9)


def test_the_readme_demo_is_scored_like_the_issue_counted_it():
    """`musicgen emotion simulate session.csv` (neutral, happy, sadness, seed 0) then `estimate`: windows ≥ 12 s into a segment."""
    correct, total, seen = readme_demo_accuracy()
    assert total == 54 and list(seen) == ["neutral", "happy", "sadness"] and all(len(v) == 18 for v in seen.values())
    assert 0 <= correct <= total and all(lab in EMOTIONS for v in seen.values() for lab in v)
    assert correct == sum(lab == emo for emo, v in seen.items() for lab in v)
    # what a newcomer sees: the rest and the sadness are read right in most windows. The demo's person
    # has one of the flattest faces of the simulation, so happiness shows only in the body and is read
    # late (about half its scored windows); the estimator is judged on the demo's design across people,
    # below, not on this one person
    assert correct >= 36, seen
    for emo in ("neutral", "sadness"):
        assert seen[emo].count(emo) > len(seen[emo]) / 2, seen


def test_the_demo_design_is_read_right_across_fresh_people():
    """The README demo's design (neutral, happy, sadness, 30 s each) for 5 simulated people that training
    never saw: the shipped estimator reads at least 80 % of the windows past the lag right (the issue's
    target), and no person below 60 %."""
    result = evaluate_short_sessions(seeds=range(3000, 3005), orders=[("neutral", "happy", "sadness")])
    assert result.accuracy() >= 0.80, result.table_lines()
    assert result.worst() >= 0.60, result.table_lines()


def test_real_event_related_recording(shared_data):
    events = physio_event_valences(shared_data / "physio" / "bio_eventrelated_100hz.csv")
    assert [e.condition for e in events] == list(NEUROKIT_EVENT_CONDITIONS)
    assert np.allclose(
        [e.onset_s for e in events], [10.24, 49.58, 92.24, 129.84], atol=0.02
    )  # samples 1024, 4958, 9224, 12984
    for e in events:
        assert -1 <= e.valence <= 1 and -1 <= e.arousal <= 1 and e.label in EMOTIONS
    assert np.isfinite([e.valence_before for e in events]).all()


def test_event_file_problems_are_clear(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        physio_event_valences(tmp_path / "none.csv")
    p = tmp_path / "no_photo.csv"
    p.write_text("ECG,EDA\n" + "\n".join("0.1,5.0" for _ in range(50)) + "\n")
    with pytest.raises(InputError, match="Photosensor"):
        physio_event_valences(p)
