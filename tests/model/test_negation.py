"""NegationMarker: the word after a negation, marked as a word of its own."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from model.negation import NEGATORS, NegationMarker


def test_marks_the_word_after_a_negation() -> None:
    step = NegationMarker().fit([])
    got = step.transform(["tugas tidak ramah", "bantu kurang tepat sasar", "tugas ramah", ""])
    assert list(got) == ["tugas tidak neg_ramah", "bantu kurang neg_tepat sasar", "tugas ramah", ""]


def test_negations_in_a_row_placeholders_and_the_last_word() -> None:
    step = NegationMarker().fit([])
    # the second negation is not marked, the word after it is
    assert step.mark_text("tidak belum cair") == "tidak belum neg_cair"
    # a placeholder is never marked; the negation does not reach past it
    assert step.mark_text("tidak _angka_ hari") == "tidak _angka_ hari"
    # a negation at the end marks nothing; spacing comes out single
    assert step.mark_text("air  mati\ttidak") == "air mati tidak"
    assert step.marks(["belum", "angkut", "tidak"]) == [1]


def test_default_negators_are_what_the_normaliser_leaves() -> None:
    assert {"tidak", "belum", "kurang"} <= set(NEGATORS)
    step = NegationMarker(negators=("ndak",), prefix="x_").fit([])
    assert step.mark_text("ndak ado tidak ado") == "ndak x_ado tidak ado"


@pytest.mark.parametrize(
    "params", [{"prefix": ""}, {"prefix": "a b"}, {"negators": "tidak"}, {"negators": ("a b",)}]
)
def test_bad_parameters_are_refused_on_fit(params: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        NegationMarker(**params).fit([])  # type: ignore[arg-type]


def test_follows_the_estimator_rules() -> None:
    step = NegationMarker(prefix="n_")
    assert clone(step).get_params() == {"negators": None, "prefix": "n_"}
    with pytest.raises(NotFittedError):
        step.transform(["a"])
    fitted = step.fit(np.array(["a b"], dtype=object))
    assert pickle.loads(pickle.dumps(fitted)).transform(["jalan belum aspal"]).tolist() == [
        "jalan belum n_aspal"
    ]
