from __future__ import annotations

import pickle

from model.stem import SastrawiStemmer


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
