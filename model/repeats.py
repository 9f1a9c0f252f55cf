"""Repeated complaints: a new post that says the same as a recent open post about the same place.

Similarity is the cosine of the model's own TF-IDF features (word and character branches) of
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
from model.text import PLACEHOLDERS

_NOISE = frozenset({"rt", "rw", "gang", "jalan"}) | MARKERS | PLACEHOLDERS


def place_words(gazetteer: Gazetteer) -> frozenset[str]:
    """Every token of every area name and alias, plus markers such as "kelurahan"."""
    words = {token for area in gazetteer.areas for form in area.forms for token in form}
    return frozenset(words) | _NOISE


def without_places(normalised: str, places: frozenset[str]) -> str:
    """Normalised text minus place words, the text repeat similarity is computed on."""
    return " ".join(t for t in normalised.split() if t not in places)


@dataclass(frozen=True)
class RepeatCandidate:
    post_id: str
    text: str


@dataclass(frozen=True)
class RepeatMatch:
    post_id: str
    similarity: float


def cosine_rows(a: sp.spmatrix | np.ndarray, b: sp.spmatrix | np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b` (zero rows give 0)."""
    a = sp.csr_matrix(a, dtype=np.float64)
    b = sp.csr_matrix(b, dtype=np.float64)
    na = np.sqrt(np.asarray(a.multiply(a).sum(axis=1)).ravel())
    nb = np.sqrt(np.asarray(b.multiply(b).sum(axis=1)).ravel())
    dots = np.asarray((a @ b.T).todense())
    denom = np.outer(na, nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), 0.0)
    return np.asarray(sims)


def best_repeat(
    new_features: sp.spmatrix | np.ndarray,
    candidates: Sequence[RepeatCandidate],
    candidate_features: sp.spmatrix | np.ndarray,
    threshold: float,
) -> RepeatMatch | None:
    """The most similar candidate at or above `threshold`, or None."""
    if not candidates:
        return None
    sims = cosine_rows(new_features, candidate_features)[0]
    best = int(np.argmax(sims))
    if sims[best] < threshold:
        return None
    return RepeatMatch(candidates[best].post_id, float(sims[best]))
