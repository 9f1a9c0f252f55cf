"""LeadingWords: a post's opening words as marked tokens for a feature branch of their own."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from model.lead import LeadingWords


def test_marks_the_first_words() -> None:
    step = LeadingWords().fit([])
    got = step.transform(["terima kasih dinas lingkungan hidup", "tolong", ""])
    assert list(got) == ["awal_terima awal_kasih", "awal_tolong", ""]


def test_mentions_links_and_emoji_are_passed_over() -> None:
    step = LeadingWords(n_words=3).fit([])
    text = "_mention_ _emoji_ _url_ mau tanya _mention_ jadwal sampah"
    assert step.lead_text(text) == "awal_mau awal_tanya awal_jadwal"
    # numbers are words: "3 hari lampu mati" opens with a count
    assert step.lead_text("_angka_ hari lampu mati") == "awal__angka_ awal_hari awal_lampu"


@pytest.mark.parametrize("position", range(5))
@pytest.mark.parametrize("skipped", ["_mention_", "_url_", "_emoji_"])
def test_a_skipped_token_anywhere_gives_the_words_around_it(skipped: str, position: int) -> None:
    """The first words are read without splitting the whole post only when none is skipped."""
    words = ["lampu", "jalan", "mati", "sudah", "lama"]
    text = " ".join([*words[:position], skipped, *words[position:]])
    assert LeadingWords().fit([]).lead_text(text) == "awal_lampu awal_jalan"
    assert LeadingWords(n_words=4).fit([]).lead_text(f" {text}\n") == (
        "awal_lampu awal_jalan awal_mati awal_sudah"
    )


def test_words_and_marker_are_parameters() -> None:
    step = LeadingWords(n_words=1, marker="mula").fit([])
    assert step.lead_text("info  besok\tpemadaman") == "mulainfo"


@pytest.mark.parametrize(
    "params", [{"n_words": 0}, {"n_words": 1.5}, {"marker": ""}, {"marker": "a b"}]
)
def test_bad_parameters_are_refused_on_fit(params: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LeadingWords(**params).fit([])  # type: ignore[arg-type]


def test_follows_the_estimator_rules() -> None:
    step = LeadingWords(n_words=3, marker="x_")
    assert clone(step).get_params() == {"n_words": 3, "marker": "x_"}
    with pytest.raises(NotFittedError):
        step.transform(["a"])
    fitted = step.fit(np.array(["a b"], dtype=object))
    assert pickle.loads(pickle.dumps(fitted)).transform(["satu dua tiga empat"]).tolist() == [
        "x_satu x_dua x_tiga"
    ]
