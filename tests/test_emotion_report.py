"""Reports: confusion matrix, macro-F1, the paper's eq. 11, PNG — each labelled with its data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.emotion.report import classification_report, confusion_matrix, confusion_png, eq11_accuracy, report_text
from musicgen.errors import OutputExistsError, UsageError


def test_hand_computed_example():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 0, 1, 1, 2, 2, 2, 0]
    r = classification_report(y_true, y_pred, "hand example", labels=("a", "b", "c"))
    assert r.confusion.tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    assert r.top1 == pytest.approx(5 / 8)
    # per class: a P=2/3 R=2/3; b P=1/2 R=1/2; c P=2/3 R=2/3
    assert r.f1.tolist() == pytest.approx([2 / 3, 1 / 2, 2 / 3])
    assert r.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    # eq. 11: one-vs-rest accuracies a 6/8, b 6/8, c 6/8
    assert r.eq11 == pytest.approx(0.75)
    text = report_text(r)
    assert "hand example" in text and "62.50 %" in text


def test_classes_absent_from_truth_and_predictions_do_not_dilute_macro_f1():
    r = classification_report([0, 1, 0, 1], [0, 1, 0, 1], "two of eight classes")
    assert r.macro_f1 == pytest.approx(1.0)
    assert r.top1 == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=200))
def test_eq11_equals_the_closed_form_of_design_note(pairs):
    t, p = zip(*pairs)
    c = confusion_matrix(t, p)
    top1 = np.trace(c) / c.sum()
    assert eq11_accuracy(c) == pytest.approx(1 - 2 * (1 - top1) / 8)


def test_errors_and_png(tmp_path):
    with pytest.raises(UsageError):
        classification_report([0], [0], "  ")
    with pytest.raises(UsageError):
        confusion_matrix([0, 1], [0])
    with pytest.raises(UsageError):
        confusion_matrix([0, 9], [0, 1])
    r = classification_report([0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 7, 6], "png test")
    out = tmp_path / "cm.png"
    confusion_png(r, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(OutputExistsError):
        confusion_png(r, out)
    confusion_png(r, out, force=True)
    assert r.summary()["data"] == "png test"
