"""Property tests: no text, however broken, makes the text pipeline fail or give an unsound result.

Posts come from the open internet, so the strategies reach past ordinary Unicode: lone
surrogates, NUL and other control characters, zero-width and bidi controls, emoji sequences,
one letter thousands of times, and the punctuation the normaliser's patterns look for.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from model.areas import AreaMatch, Gazetteer
from model.artifact import ModelArtifact
from model.routing import Directory, TagPolicy
from model.text import TextNormaliser, normalise_text
from model.triage import Triage
from tests.conftest import DATA_DIR, TINY_CORPUS

TOKEN = re.compile(r"_[a-z]+_|[a-z0-9]+")
INVISIBLE = "\u0000\u0007\u001f\u007f\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
EMOJI = ["😡", "🗑️", "👍🏽", "👨\u200d👩\u200d👧", "🇮🇩", "❤️", "\u2764", "🙏"]
TRAPS = ["#", "@", ".", "-", "_", "/", ":", "2", "\\n", "http://", "www.", ".com", ".id", "kel."]
WORDS = ["sampah", "jalan", "banjir", "dak", "Sawah", "Lebar", "kelurahan", "Penurunan", "RT"]

any_character = st.characters(exclude_categories=())  # every code point, lone surrogates too
hostile_piece = st.one_of(
    st.sampled_from(list(INVISIBLE + BIDI)),
    st.sampled_from(EMOJI),
    st.sampled_from(TRAPS),
    st.sampled_from(WORDS),
    st.sampled_from([" ", "\n", "\t", "\u3000", "\u00a0"]),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.characters(codec="utf-8", categories=["L", "M", "N"]),
)
hostile_text = st.one_of(
    st.text(any_character, max_size=200),
    st.lists(hostile_piece, max_size=60).map("".join),
    st.tuples(st.sampled_from("aA😡#.\u200b"), st.integers(1, 5000)).map(lambda t: t[0] * t[1]),
)

EXAMPLES = [
    "",
    "\ud800",
    "sampah \udfff menumpuk di Sawah Lebar",
    "\x00" * 10,
    "jalan\x00rusak",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u202esampah\u202c di \u2066Sawah Lebar\u2069",
    "😡😡😡🗑️",
    "👨\u200d👩\u200d👧",
    "a" * 5000,
    "#" + "a" * 4999,
    "a." * 2500,
    "@" * 5000,
]


def _with_examples(test):  # type: ignore[no-untyped-def]
    for text in EXAMPLES:
        test = example(text)(test)
    return test


@pytest.fixture(scope="module")
def normaliser() -> TextNormaliser:
    return TextNormaliser().fit([t for t, _ in TINY_CORPUS])


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_csv(DATA_DIR / "areas.csv")


@pytest.fixture(scope="module")
def triage(tiny_model: ModelArtifact) -> Triage:
    return Triage(tiny_model, Directory.from_dir(DATA_DIR), TagPolicy())


def _is_normalised(out: str) -> bool:
    """Lower-case ASCII tokens and placeholders, single-spaced, nothing else."""
    return out == " ".join(out.split()) and all(TOKEN.fullmatch(t) for t in out.split())


@settings(max_examples=300, deadline=None)
@_with_examples
@given(text=hostile_text)
def test_normalise_text_gives_clean_tokens(text: str) -> None:
    out = normalise_text(text)
    assert _is_normalised(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@_with_examples
@given(texts=st.lists(hostile_text, min_size=1, max_size=4))
def test_fitted_normaliser_transforms_any_text(
    normaliser: TextNormaliser, texts: list[str]
) -> None:
    out = normaliser.transform(texts)
    assert out.shape == (len(texts),)
    assert all(isinstance(o, str) and _is_normalised(o) for o in out)


@settings(max_examples=300, deadline=None)
@_with_examples
@given(text=hostile_text)
def test_area_resolver_is_sound_on_any_text(gazetteer: Gazetteer, text: str) -> None:
    kecamatan = set(gazetteer.kecamatan_names)
    for normalised in (normalise_text(text), text):  # the resolver must survive raw text too
        match = gazetteer.resolve(normalised)
        assert isinstance(match, AreaMatch)
        assert 0.0 <= match.confidence <= 1.0
        if match.kecamatan is None:
            assert match.kelurahan is None
        else:
            assert match.kecamatan in kecamatan
        if match.kelurahan is not None:
            assert gazetteer.kelurahan_of[match.kelurahan] == match.kecamatan


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@_with_examples
@given(text=hostile_text)
def test_classify_is_sound_on_any_text(triage: Triage, text: str) -> None:
    [result] = triage.classify([text], received_at=datetime(2026, 1, 1, tzinfo=UTC))
    labels = set(triage.labels)
    assert result.topic.label in labels
    assert {a.label for a in result.alternatives} <= labels
    _, proba = triage.predict_proba([text])
    assert proba.shape == (1, len(labels))
    assert np.all((proba >= 0) & (proba <= 1))
    assert math.isclose(float(proba.sum()), 1.0, abs_tol=1e-9)
    assert math.isclose(result.topic.confidence, float(proba.max()), abs_tol=1e-12)
    assert all(a.confidence <= result.topic.confidence for a in result.alternatives)
    assert result.respond_by == datetime(2026, 1, 2, tzinfo=UTC)


def test_batch_of_hostile_texts_equals_one_by_one(triage: Triage) -> None:
    batch = triage.classify(EXAMPLES)
    for text, result in zip(EXAMPLES, batch, strict=True):
        [single] = triage.classify([text])
        assert single.topic == result.topic
        assert single.area == result.area
