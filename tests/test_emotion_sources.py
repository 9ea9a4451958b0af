"""Signal sources: the file contract, garbage handling with counted warnings, stdin, --follow, realtime, LSL."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.emotion.contract import CHANNELS, Diagnostics, au_to_face_probabilities
from musicgen.emotion.files import FileSource
from musicgen.emotion.lsl import LSLSource, lsl_available
from musicgen.emotion.sources import open_source, read_all
from musicgen.errors import InputError, UsageError

GARBAGE_CSV = """\
# a comment line is skipped silently
time,ECG,GSR,hr,temp,face_happy,mystery
0.00,0.10,5.0,70,33.0,0.2,1
0.01,0.20,5.1,,,,1
this line is garbage
0.02,0.30
0.03,nan,5.2,,,,1
0.02,0.40,5.3,,,,1
0.03,0.50,5.4,,,,1
0.04,0.60,-3.0,300,33.1,1.5,1
0.05,abc,5.5,,,,1
inf,0.7,5.6,,,,1
0.06,0.80,5.7,71,,0.3,1
"""


def _csv_source(tmp_path, text, name="s.csv", **kw):
    p = tmp_path / name
    p.write_text(text)
    return FileSource(p, **kw)


def test_garbage_lines_are_counted_and_skipped_never_raised(tmp_path):
    src = _csv_source(tmp_path, GARBAGE_CSV)
    t, data = read_all(src)
    d = src.diagnostics.counts
    assert d["garbage line"] == 2  # "this line is garbage" (1 field) and "0.02,0.30" (2 fields)
    assert d["duplicate timestamp"] == 1  # the second 0.03
    assert d["unsorted timestamp"] == 1  # 0.02 after 0.03
    assert d["non-finite time"] == 1  # inf
    assert d["NaN value"] == 1
    assert d["bad value"] == 1  # "abc"
    assert d["out-of-range value"] == 3  # eda -3 µS, hr 300 bpm, face 1.5
    assert d["unknown column"] == 1  # mystery
    assert "s.csv:5" in src.diagnostics.examples["garbage line"]
    assert t.tolist() == [0.0, 0.01, 0.03, 0.04, 0.05, 0.06]
    ecg = data[:, CHANNELS.index("ecg")]
    assert np.isnan(ecg[2]) and ecg[0] == 0.10 and ecg[-1] == 0.80 and np.isnan(ecg[4])
    eda = data[:, CHANNELS.index("eda")]  # GSR is an alias of eda
    assert eda.tolist()[:2] == [5.0, 5.1] and np.isnan(eda[3])
    hr = data[:, CHANNELS.index("hr")]
    assert hr[0] == 70 and np.isnan(hr[3]) and hr[-1] == 71
    assert np.isnan(data[3, CHANNELS.index("face_happy")])


def test_jsonl_and_stdin_stream_with_garbage():
    lines = [
        json.dumps({"time": 0.0, "ecg": 0.1, "eda": 2.0}),
        "{not json",
        json.dumps([1, 2, 3]),
        json.dumps({"ecg": 0.3}),
        json.dumps({"time": 0.1, "ecg": None, "eda": "2.5", "face_happiness": 0.4, "Temperature": 32.5}),
        json.dumps({"time": 0.1, "ecg": 0.5}),
        json.dumps({"time": "x", "ecg": 0.5}),
        json.dumps({"time": 0.2, "ecg": "high", "foo": 1}),
    ]
    src = FileSource("-", stream=io.StringIO("\n".join(lines) + "\n"))
    t, data = read_all(src)
    d = src.diagnostics.counts
    assert t.tolist() == [0.0, 0.1, 0.2]
    assert d["garbage line"] == 4 and d["duplicate timestamp"] == 1 and d["bad value"] == 1 and d["unknown column"] == 1
    row = data[1]
    assert np.isnan(row[CHANNELS.index("ecg")]) and row[CHANNELS.index("eda")] == 2.5
    assert row[CHANNELS.index("face_happy")] == 0.4 and row[CHANNELS.index("temp")] == 32.5


def test_header_problems_are_input_errors_naming_the_line(tmp_path):
    with pytest.raises(InputError, match=r"s.csv:2: no 'time' column"):
        read_all(_csv_source(tmp_path, "\n ECG,EDA\n0.1,2\n"))
    with pytest.raises(InputError, match="no known signal column"):
        read_all(_csv_source(tmp_path, "time,foo\n0,1\n", name="f.csv"))
    with pytest.raises(InputError, match="empty"):
        read_all(_csv_source(tmp_path, "\n\n", name="e.csv"))
    with pytest.raises(InputError, match="no such file"):
        FileSource(tmp_path / "missing.csv")
    with pytest.raises(UsageError):
        open_source("-", follow=True)
    # no time column but a sampling rate: evenly spaced rows
    t, data = read_all(_csv_source(tmp_path, "ECG,RSP\n0.1,1\n0.2,2\n0.3,3\n", name="r.csv", sampling_rate=100))
    assert t.tolist() == pytest.approx([0.0, 0.01, 0.02])
    assert data[:, CHANNELS.index("rsp")].tolist() == [1, 2, 3]


def test_follow_reads_a_growing_file_including_a_line_written_in_two_parts(tmp_path):
    p = tmp_path / "grow.csv"
    p.write_text("time,hr\n0,60\n")

    def writer():
        with open(p, "a") as fh:
            for i in range(1, 6):
                time.sleep(0.05)
                fh.write(f"{i},{60 + i}\n")
                fh.flush()
            fh.write("6,6")
            fh.flush()
            time.sleep(0.15)
            fh.write("6\n")
            fh.flush()

    th = threading.Thread(target=writer)
    th.start()
    t, data = read_all(FileSource(p, follow=True, idle_timeout=0.6, poll_s=0.02))
    th.join()
    assert t.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert data[:, CHANNELS.index("hr")].tolist() == [60, 61, 62, 63, 64, 65, 66]


def test_realtime_replay_follows_the_timestamps(tmp_path):
    rows = "\n".join(f"{i / 50:.2f},{70 + i % 3}" for i in range(41))  # 0.8 s of data
    src = _csv_source(tmp_path, "time,hr\n" + rows + "\n", realtime=True)
    t0 = time.monotonic()
    t, _ = read_all(src)
    elapsed = time.monotonic() - t0
    assert len(t) == 41
    assert 0.7 <= elapsed < 3.0
    fast = _csv_source(tmp_path, "time,hr\n" + rows + "\n", name="fast.csv")
    t0 = time.monotonic()
    read_all(fast)
    assert time.monotonic() - t0 < 0.5


def test_openface_action_units_become_face_probabilities(tmp_path):
    au = np.zeros((3, 16))
    from musicgen.emotion.contract import AU_NUMBERS

    au[0, AU_NUMBERS.index(6)] = au[0, AU_NUMBERS.index(12)] = 4.5  # smile
    for a in (1, 4, 15):
        au[1, AU_NUMBERS.index(a)] = 4.0  # sadness prototype
    p = au_to_face_probabilities(au)
    assert p.shape == (3, 8) and np.allclose(p.sum(1), 1)
    assert p[0].argmax() == 1 and p[1].argmax() == 3 and p[2].argmax() == 0  # happy, sadness, neutral
    text = "frame, timestamp, confidence, AU06_r, AU12_r\n1, 0.0, 0.98, 4.5, 4.5\n2, 0.033, 0.97, 0.0, 0.0\n"
    t, data = read_all(_csv_source(tmp_path, text, name="openface.csv"))
    assert t.tolist() == [0.0, 0.033]
    face = data[:, [CHANNELS.index(c) for c in CHANNELS if c.startswith("face_")]]
    assert face[0].argmax() == 1 and face[1].argmax() == 0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), max_size=40),
            st.tuples(
                st.one_of(st.floats(-5, 100), st.sampled_from([float("nan"), float("inf")])),
                st.floats(allow_nan=True, allow_infinity=True),
            ).map(lambda r: f"{r[0]},{r[1]}"),
        ),
        max_size=40,
    )
)
def test_arbitrary_lines_never_crash_and_kept_times_increase(lines):
    src = FileSource("x.csv", stream=io.StringIO("time,ecg\n" + "\n".join(lines) + "\n"), diagnostics=Diagnostics())
    t, data = read_all(src)
    assert np.all(np.diff(t) > 0) and np.all(np.isfinite(t))
    ecg = data[:, CHANNELS.index("ecg")]
    assert np.all(np.isnan(ecg) | ((ecg >= -20) & (ecg <= 20)))


def test_lsl_outlet_to_inlet_loopback():
    ok, why = lsl_available()
    if not ok:
        pytest.skip(f"liblsl cannot load here: {why}")
    import pylsl

    name = f"musicgen-test-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "Physio", 3, 100, "float32", name)
    chans = info.desc().append_child("channels")
    for label in ("ECG", "EDA", "Unrelated"):
        chans.append_child("channel").append_child_value("label", label)
    outlet = pylsl.StreamOutlet(info)
    src = LSLSource(f"lsl:{name}", resolve_timeout=5.0, idle_timeout=1.0)
    src.open()  # resolve + subscribe before pushing (LSL delivers samples pushed after subscription)
    n = 500
    base = pylsl.local_clock()

    def push():
        time.sleep(0.2)
        for i in range(n):
            outlet.push_sample([i / 100.0, 2.0 + i / 1000.0, -1.0], base + i / 100.0)

    th = threading.Thread(target=push)
    th.start()
    t, data = read_all(src)
    th.join()
    assert len(t) == n
    assert np.allclose(np.diff(t), 0.01, atol=1e-6)
    assert np.allclose(data[:, CHANNELS.index("ecg")], np.arange(n) / 100.0, atol=1e-6)
    assert np.allclose(data[:, CHANNELS.index("eda")], 2.0 + np.arange(n) / 1000.0, atol=1e-6)
    assert src.diagnostics.counts["unknown column"] == 1
    with pytest.raises(UsageError, match="no LSL stream"):
        LSLSource("lsl:no-such-stream-" + uuid.uuid4().hex[:6], resolve_timeout=0.3).open()
