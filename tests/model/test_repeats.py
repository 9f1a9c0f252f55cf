from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from model.areas import Gazetteer
from model.repeats import best_of, cosine_rows, place_words, without_places
from model.text import normalise_text
from tests.conftest import DATA_DIR


def test_cosine_rows_handles_zero_rows() -> None:
    a = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]]))
    b = sp.csr_matrix(np.array([[2.0, 0.0], [1.0, 1.0]]))
    sims = cosine_rows(a, b)
    np.testing.assert_allclose(sims, [[1.0, 1 / np.sqrt(2)], [0.0, 0.0]])


def test_best_of_respects_threshold() -> None:
    ids = ["a", "b"]
    feats = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]]))
    new = sp.csr_matrix(np.array([[0.5, 0.9, 0.0]]))
    sims = cosine_rows(new, feats)[0]
    match = best_of(sims, ids, threshold=0.9)
    assert match is not None and match.post_id == "b"
    assert best_of(sims, ids, threshold=0.999) is None
    assert best_of(cosine_rows(new, sp.csr_matrix((0, 3)))[0], [], threshold=0.1) is None


def test_place_words_hold_names_as_written_and_made_formal() -> None:
    """The repeat search takes place names out of the model's text, where a name's word may be
    made formal ("sido" -> "sida"), while the resolver reads it as written."""
    gazetteer = Gazetteer.from_csv(DATA_DIR / "areas.csv")
    places = place_words(gazetteer)
    assert {"sido", "sida", "mulyo", "kelurahan", "nangka"} <= places
    normalised = normalise_text("got mampet di sido mulyo, sampah numpuk")
    assert "sida" in normalised.split()
    assert without_places(normalised, places) == "selokan tersumbat di sampah menumpuk"
