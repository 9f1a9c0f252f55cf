from __future__ import annotations

import pickle

import pytest

from model.text import TextNormaliser, formal_word, normalise_text, split_joined


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
        # lexicon phrases stop at commas and sentence marks: no "mati lampu" (power cut) here
        ("kampung mati, lampu jalan dak ado", "kampung mati lampu jalan tidak ada"),
        ("mati lampu lagi!", "listrik padam lagi"),
        # Bengkulu Malay -nyo and final -o, "ko" (this)
        ("aeknyo keruh", "airnya keruh"),
        ("namonyo lurahnyo", "namanya lurahnya"),
        ("mato perih", "mata perih"),
        ("bulan ko", "bulan ini"),
        # Jakartan -in and nasal verbs
        ("sampah dikumpulin di pinggir jalan", "sampah dikumpulkan di pinggir jalan"),
        ("ngumpulin berkas", "mengumpulkan berkas"),
        ("akarnya udh ngangkat aspal", "akarnya sudah mengangkat aspal"),
        ("nyerang warga", "menyerang warga"),
        ("nolak laporan", "menolak laporan"),
        ("ngecek meteran", "mengecek meteran"),
        ("nyicil", "mencicil"),
        ("cobain", "cobakan"),
        ("matur nuwun nggih", "terima kasih ya"),
        # traps left alone: formal words, acronyms and names that only look colloquial
        ("semakin parah", "semakin parah"),
        ("catin login", "catin login"),
        ("jalan ngagel", "jalan ngagel"),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("ngajar", "mengajar"),  # ng + vowel-initial root
        ("ngumpul", "mengumpul"),  # ng + root without its k
        ("ngelem", "mengelem"),  # nge + one-syllable root
        ("nyentuh", "menyentuh"),  # ny + root without its s
        ("nyicil", "mencicil"),  # ny + root without its c
        ("nolak", "menolak"),  # n + root without its t
        ("dijanjiin", "dijanjikan"),
        ("didatengin", "didatangkan"),  # root through the lexicon
        ("rumahnyo", "rumahnya"),
        ("lamo", "lama"),
        ("ngagel", "ngagel"),  # no root behind it
        ("semakin", "semakin"),  # se- + root, not root + -in
        ("cat", "cat"),  # short words are left alone
    ],
)
def test_formal_word(token: str, expected: str) -> None:
    roots = frozenset(
        {"ajar", "kumpul", "lem", "sentuh", "cicil", "tolak", "janji", "datang", "rumah", "lama"}
        | {"makin", "semak", "cat"}
    )
    assert formal_word(token, {"dateng": "datang"}, roots) == expected


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
