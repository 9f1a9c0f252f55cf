from __future__ import annotations

import pickle

import pytest

from model.text import TextNormaliser, normalise_text, split_joined


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SAMPAH Menumpuk", "sampah menumpuk"),
        ("parahhh bgt", "parah banget"),
        ("maaaaf pak", "maaf bapak"),
        ("dak ado yg ngangkut", "tidak ada yang mengangkut"),
        ("cak mano ni", "bagaimana ini"),
        ("kami ni la lamo nunggu", "kami ini sudah lama menunggu"),
        ("tlg udh 3 hari", "tolong sudah _angka_ hari"),
        ("lihat https://t.co/abc ya", "lihat _url_ ya"),
        ("@pemkotbengkulu tolong", "_mention_ tolong"),
        ("banjir 😡😡", "banjir _emoji_"),
        ("anak2 sekolah", "anak anak sekolah"),
        ("kel. Sawah Lebar kec. Ratu Agung", "kelurahan sawah lebar kecamatan ratu agung"),
        ("Jl. Merapi RT.05", "jalan merapi rt _angka_"),
        ("#jalanrusak", "jalan rusak"),
        ("ｓａｍｐａｈ", "sampah"),  # full-width letters, NFKC
        ("zero\u200bwidth\u202ebidi", "zero width bidi"),
        ("baris\\npertama", "baris pertama"),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_split_joined_prefers_fewest_known_pieces() -> None:
    known = frozenset({"sampah", "menumpuk", "sam", "pah", "jalan", "rusak"})
    assert split_joined("sampahmenumpuk", known) == ["sampah", "menumpuk"]
    assert split_joined("jalanrusak", known) == ["jalan", "rusak"]
    assert split_joined("xyzabc", known) == ["xyzabc"]


def test_transformer_learns_words_for_hashtags() -> None:
    step = TextNormaliser().fit(["sampah menumpuk di mana-mana"])
    assert list(step.transform(["#sampahmenumpuk lagi"])) == ["sampah menumpuk lagi"]
    # without fitting on "menumpuk" (not a root word) the hashtag stays whole
    assert normalise_text("#sampahmenumpuk") == "sampahmenumpuk"


def test_transformer_pickles_without_its_cache() -> None:
    step = TextNormaliser().fit(["sampah"])
    step.transform(["halo"])
    assert "_known_cache" in step.__dict__
    clone = pickle.loads(pickle.dumps(step))
    assert "_known_cache" not in clone.__dict__
    assert list(clone.transform(["dak ado"])) == ["tidak ada"]


def test_unfitted_transform_raises() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TextNormaliser().transform(["x"])
