"""Repeated complaints: a new post that says the same as a recent open post about the same place.

Similarity is the cosine of the model's own TF-IDF features (word and character branches, not
the opening words, which tell the kind of post rather than its subject) of
the normalised text with the place words taken out: both posts name the same area by
construction, so its name says nothing about whether they describe the same problem, and left
in it makes every pair from one kelurahan look alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from model.areas import MARKERS, Gazetteer
from model.text import PLACEHOLDERS, formal_word, load_lexicon

_NOISE = frozenset({"rt", "rw", "gang", "jalan"}) | MARKERS | PLACEHOLDERS


def place_words(gazetteer: Gazetteer) -> frozenset[str]:
    """Every token of every area name and alias, as written and made formal, plus markers such
    as "kelurahan": the area resolver reads names as written, the model's text holds them made
    formal ("Sido Mulyo" is "sida mulyo" there)."""
    words = {token for area in gazetteer.areas for form in area.forms for token in form}
    lexicon = load_lexicon()
    formal = {formal_word(token, lexicon) for token in words}
    return frozenset(words | formal) | _NOISE


def without_places(normalised: str, places: frozenset[str]) -> str:
    """Normalised text minus place words, the text repeat similarity is computed on."""
    return " ".join(t for t in normalised.split() if t not in places)


@dataclass(frozen=True)
class RepeatMatch:
    post_id: str
    similarity: float


def unit_rows(m: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
    """`m` as a float64 CSR matrix with every non-zero row scaled to length 1 (zero rows stay
    zero), so that the cosine of two rows is their dot product."""
    m = sp.csr_matrix(m, dtype=np.float64)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ m)


def cosine_rows(a: sp.spmatrix | np.ndarray, b: sp.spmatrix | np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b` (zero rows give 0)."""
    return np.asarray((unit_rows(a) @ unit_rows(b).T).todense())


def best_of(
    similarities: np.ndarray, post_ids: Sequence[str], threshold: float
) -> RepeatMatch | None:
    """The post with the highest similarity (the first, newest, among equals) when it reaches
    `threshold`; None without candidates."""
    if not len(post_ids):
        return None
    best = int(np.argmax(similarities))
    if similarities[best] < threshold:
        return None
    return RepeatMatch(post_ids[best], float(similarities[best]))
