"""RecoveryMarker: one token for every post that says a service works again."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from model.negation import NegationMarker
from model.recovery import STARTS, STATES, TOKEN, RecoveryMarker
from model.stem import SastrawiStemmer


def test_a_state_word_after_a_word_of_time_marks_the_post() -> None:
    step = RecoveryMarker().fit([])
    got = step.transform(["lampu jalan sudah nyala", "air kini lancar", "jalan rusak", ""])
    assert list(got) == [
        f"lampu jalan sudah nyala {TOKEN}",
        f"air kini lancar {TOKEN}",
        "jalan rusak",
        "",
    ]
    # within three words of it: "sudah di tambal semua" yes, the fourth word no
    assert step.mark_text("sudah di tambal semua") == f"sudah di tambal semua {TOKEN}"
    assert step.mark_text("sudah lama sekali rusak nyala") == "sudah lama sekali rusak nyala"
    # the state word alone, or before the word of time, is no such post
    assert step.mark_text("nyala sebentar lalu mati sudah") == "nyala sebentar lalu mati sudah"
    assert step.mark_text("akhir  jalan\tmulus") == f"akhir jalan mulus {TOKEN}"


def test_a_negation_right_after_the_word_of_time_is_a_fault() -> None:
    step = RecoveryMarker().fit([])
    assert step.mark_text("sudah tidak nyala") == "sudah tidak nyala"
    assert step.mark_text("kini belum normal") == "kini belum normal"
    # another word of time later in the post may still say it
    assert step.mark_text("sudah tidak nyala tapi kini nyala") == (
        f"sudah tidak nyala tapi kini nyala {TOKEN}"
    )
    assert step.recovered(["sudah", "tidak", "nyala"]) is False


def test_it_reads_what_the_stemmer_and_the_negation_marker_leave() -> None:
    """In the word branch it runs after both: stems ("diperbaiki" -> "baik") and marked words
    ("tidak neg_nyala" is no state word); its lists hold the words as written too."""
    stem, negate = SastrawiStemmer(), NegationMarker().fit([])
    step = RecoveryMarker().fit([])
    text = "jalan sudah diperbaiki lampu sudah tidak menyala"
    stems = stem.stem_text(text)
    assert "baik" in stems.split()
    assert step.mark_text(negate.mark_text(stems)).endswith(TOKEN)
    assert step.mark_text(negate.mark_text(stem.stem_text("lampu sudah tidak menyala"))) == (
        "lampu sudah tidak neg_nyala"
    )
    assert step.mark_text("jalan sudah diperbaiki").endswith(TOKEN)  # without the stemmer
    assert {"sudah", "kini"} <= set(STARTS) and {"nyala", "baik", "diperbaiki"} <= set(STATES)


def test_the_word_lists_token_and_window_are_parameters() -> None:
    step = RecoveryMarker(starts=("la",), states=("idup",), turns=(), token="_ok_", window=1)
    step.fit([])
    assert step.mark_text("lampu la idup") == "lampu la idup _ok_"
    assert step.mark_text("lampu la dak idup") == "lampu la dak idup"  # two words on
    assert step.mark_text("lampu sudah nyala") == "lampu sudah nyala"


@pytest.mark.parametrize(
    "params",
    [
        {"token": ""},
        {"token": "a b"},
        {"window": 0},
        {"window": 1.5},
        {"starts": "sudah"},
        {"states": ("",)},
        {"turns": ("a b",)},
    ],
)
def test_bad_parameters_are_refused_on_fit(params: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RecoveryMarker(**params).fit([])  # type: ignore[arg-type]


def test_follows_the_estimator_rules() -> None:
    step = RecoveryMarker(window=2)
    assert clone(step).get_params() == {
        "starts": None,
        "states": None,
        "turns": None,
        "token": TOKEN,
        "window": 2,
    }
    with pytest.raises(NotFittedError):
        step.transform(["a"])
    fitted = step.fit(np.array(["a b"], dtype=object))
    assert pickle.loads(pickle.dumps(fitted)).transform(["air sudah jernih"]).tolist() == [
        f"air sudah jernih {TOKEN}"
    ]
