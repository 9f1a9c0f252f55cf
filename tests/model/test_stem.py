from __future__ import annotations

import pickle

import pytest
from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from model.stem import SastrawiStemmer, _sastrawi, stem_fixes, stemmer_words
from model.text import dictionary_words


def test_stems_words_and_keeps_placeholders() -> None:
    step = SastrawiStemmer().fit([])
    assert list(step.transform(["menumpuk _angka_ sampah diangkut"])) == [
        "tumpuk _angka_ sampah angkut"
    ]


def test_cache_is_bounded() -> None:
    step = SastrawiStemmer(cache_size=10).fit([])
    step.transform([" ".join(f"kata{i}an" for i in range(50)) + " perbaikan"])
    info = step.cache_info()
    assert info.maxsize == 10  # type: ignore[attr-defined]
    assert info.currsize <= 10  # type: ignore[attr-defined]


def test_fit_warms_cache_and_pickle_drops_it() -> None:
    step = SastrawiStemmer().fit(["perbaikan jalan berlubang"])
    assert step.cache_info().currsize >= 2  # type: ignore[attr-defined]
    data = pickle.dumps(step)
    assert b"lru_cache" not in data
    clone = pickle.loads(data)
    assert "_cached" not in clone.__dict__
    assert list(clone.transform(["perbaikan"])) == ["baik"]


def test_the_stemmer_dictionary_is_sastrawis_list_over_the_normalisers_strings() -> None:
    """Exactly the words Sastrawi's own factory reads (as its `ArrayDictionary` keeps them),
    held as the very strings of the normaliser's root-word set, not a second copy."""
    listed = ArrayDictionary(StemmerFactory().get_words()).words
    words = stemmer_words()
    assert words == set(listed)
    roots = {id(w) for w in dictionary_words()}
    assert all(id(w) in roots for w in words)
    dictionary = _sastrawi().dictionary
    assert dictionary.count() == len(listed)
    assert all(dictionary.contains(w) for w in listed)
    assert not dictionary.contains("qzxv") and not dictionary.contains("")
    with pytest.raises(TypeError):
        dictionary.add("qzxv")


def test_stemmer_words_keep_lines_the_normaliser_leaves_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A one-letter line or one with spaces round it is in Sastrawi's dictionary as read (not
    in the normaliser's set); the words both hold are still the normaliser's strings."""
    some = sorted(dictionary_words())[:50]
    lines = [*some, "x", "kata ", "", "  "]
    monkeypatch.setattr(StemmerFactory, "get_words", lambda self, isDev=False: list(lines))
    words = stemmer_words()
    assert words == {*some, "x", "kata "}
    roots = {id(w) for w in dictionary_words()}
    assert all(id(w) in roots for w in words if w in dictionary_words())


def test_conjunctions_of_time_are_not_stripped_to_other_words() -> None:
    """Sastrawi reads "sebelum" (before) as "belum" (not yet) and "setelah" (after) as "telah"
    (already); the step leaves them as written and stems the rest."""
    assert _sastrawi().stem_word("sebelum") == "belum"  # what the step guards against
    step = SastrawiStemmer().fit([])
    assert list(step.transform(["sebelumnya sudah dilaporkan setelah hujan sebelum diangkut"])) == [
        "sebelumnya sudah lapor setelah hujan sebelum angkut"
    ]


def test_the_words_kept_whole_are_a_parameter() -> None:
    step = SastrawiStemmer(keep=("perbaikan",)).fit([])
    assert list(step.transform(["perbaikan sebelum"])) == ["perbaikan belum"]
    assert list(SastrawiStemmer(keep=()).fit([]).transform(["sebelum"])) == ["belum"]
    with pytest.raises(ValueError, match="single words"):
        SastrawiStemmer(keep=("dua kata",)).fit([])
    with pytest.raises(ValueError, match="single words"):
        SastrawiStemmer(keep="sebelum").fit([])  # type: ignore[arg-type]


def _fitted_before(*attributes: str) -> SastrawiStemmer:
    """A fitted step as unpickled from an artifact made before `attributes` existed."""
    state = SastrawiStemmer().fit([]).__getstate__()
    for name in attributes:
        state.pop(name)
    old = SastrawiStemmer.__new__(SastrawiStemmer)
    old.__setstate__(state)
    return old


def test_a_step_fitted_before_keep_existed_stems_as_it_was_trained() -> None:
    """An artifact's stemmer pickled without `keep` reads every word through Sastrawi."""
    old = _fitted_before("keep", "keep_")
    assert old.get_params()["keep"] is None
    assert list(old.transform(["sebelum hujan"])) == ["belum hujan"]


def test_every_fixed_root_corrects_a_reading_of_sastrawi() -> None:
    """The table holds only words Sastrawi reads as another root, each with a root of the
    dictionary: an entry that agrees with Sastrawi, or a root no word could have, is a slip."""
    fixes = stem_fixes()
    assert len(fixes) >= 50
    for form, root in fixes.items():
        assert _sastrawi().stem_word(form) != root, form
        assert root in stemmer_words(), (form, root)
        assert form.isalpha() and form == form.lower(), form


def test_the_step_gives_the_fixed_roots_with_or_without_a_particle() -> None:
    step = SastrawiStemmer().fit([])
    text = "pemadaman listrik lagi, sampah berserakan, bersihkanlah perawatannya dikurangi"
    assert list(step.transform([text.replace(",", "")])) == [
        "padam listrik lagi sampah serak bersih rawat kurang"
    ]
    # Sastrawi's own readings, which the table corrects
    assert list(SastrawiStemmer(fix_roots=False).fit([]).transform(["pemadaman berserakan"])) == [
        "madam sera"
    ]


def test_a_step_fitted_before_the_fixed_roots_stems_as_it_was_trained() -> None:
    old = _fitted_before("fix_roots", "fixes_")
    assert old.get_params()["fix_roots"] is False
    assert list(old.transform(["pemadaman"])) == ["madam"]
