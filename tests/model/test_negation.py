"""NegationMarker: the word after a negation, marked as a word of its own."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from model.negation import NEGATORS, PASSES, NegationMarker


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


def test_a_word_between_the_negation_and_what_it_turns_around_passes_it_on() -> None:
    step = NegationMarker().fit([])
    # "never goes off", "no longer floods": the word after "pernah", "lagi" is turned around too
    assert step.mark_text("air tidak pernah mati") == "air tidak neg_pernah neg_mati"
    assert step.mark_text("gang tidak lagi banjir") == "gang tidak neg_lagi neg_banjir"
    assert step.marks(["kurang", "begitu", "jelas", "info"]) == [1, 2]
    # only right after a negation, and not onto a negation or a placeholder
    assert step.mark_text("pernah mati lagi banjir") == "pernah mati lagi banjir"
    assert step.mark_text("tidak pernah tidak datang") == "tidak neg_pernah tidak neg_datang"
    assert step.mark_text("tidak pernah _angka_ kali") == "tidak neg_pernah _angka_ kali"
    # at the end of the text the pass word alone is marked
    assert step.mark_text("tidak pernah") == "tidak neg_pernah"


def test_pass_words_are_a_parameter_and_a_negation_is_never_one() -> None:
    assert {"pernah", "lagi"} <= set(PASSES)
    step = NegationMarker(passes=("nian",)).fit([])
    assert step.mark_text("tidak nian ramah tidak pernah mati") == (
        "tidak neg_nian neg_ramah tidak neg_pernah mati"
    )
    assert NegationMarker(passes=("tidak", "pernah")).fit([]).passes_ == frozenset({"pernah"})
    assert NegationMarker(passes=()).fit([]).mark_text("tidak pernah mati") == (
        "tidak neg_pernah mati"
    )


def test_a_step_fitted_before_pass_words_marks_as_it_was_trained() -> None:
    step = NegationMarker().fit([])
    # as unpickled from an artifact made before the parameter existed
    del step.passes, step.passes_
    assert step.mark_text("air tidak pernah mati") == "air tidak neg_pernah mati"
    assert step.get_params()["passes"] is None
    assert "NegationMarker" in repr(step)
    assert clone(step).fit([]).mark_text("tidak pernah mati") == "tidak neg_pernah neg_mati"


def test_default_negators_are_what_the_normaliser_leaves() -> None:
    assert {"tidak", "belum", "kurang"} <= set(NEGATORS)
    step = NegationMarker(negators=("ndak",), prefix="x_").fit([])
    assert step.mark_text("ndak ado tidak ado") == "ndak x_ado tidak ado"


@pytest.mark.parametrize(
    "params",
    [
        {"prefix": ""},
        {"prefix": "a b"},
        {"negators": "tidak"},
        {"negators": ("a b",)},
        {"passes": "pernah"},
        {"passes": ("",)},
    ],
)
def test_bad_parameters_are_refused_on_fit(params: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        NegationMarker(**params).fit([])  # type: ignore[arg-type]


def test_follows_the_estimator_rules() -> None:
    step = NegationMarker(prefix="n_")
    assert clone(step).get_params() == {"negators": None, "prefix": "n_", "passes": None}
    with pytest.raises(NotFittedError):
        step.transform(["a"])
    fitted = step.fit(np.array(["a b"], dtype=object))
    assert pickle.loads(pickle.dumps(fitted)).transform(["jalan belum aspal"]).tolist() == [
        "jalan belum n_aspal"
    ]
