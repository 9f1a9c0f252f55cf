from __future__ import annotations

import csv
import pickle
import sys
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import DamerauLevenshtein

from model.lead import LeadingWords
from model.text import (
    _EMOJI_RE,
    _INVISIBLE_RE,
    _URL_HINT_RE,
    BREAK_TOKEN,
    EMOJI_MOODS,
    HASHTAG_TOKEN,
    JOINED_SHORT_MIN_COUNT,
    MENTION_TOKEN,
    TYPO_MIN_COUNT,
    TYPO_MIN_LENGTH,
    VOWELLESS_DOMINANCE,
    WORD_CACHE_SIZE,
    BoundedWordCache,
    EitherSet,
    TextNormaliser,
    TypoFixer,
    _may_hold_url,
    dictionary_words,
    formal_word,
    load_emoji_moods,
    normalise_clauses,
    normalise_text,
    split_clauses,
    split_joined,
)

_FITTED = TextNormaliser().fit(["sampah menumpuk di jalan", "mati lampu", "banjirrr lagi"])
_FITTED_PLAIN = TextNormaliser(use_lexicon=False, split_hashtags=False).fit(["sampah"])


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
        ("@pemkotbengkulu tolong", "_mention_ tolong pemkotbengkulu"),
        ("banjir 😡😡", "banjir _emojimarah_"),
        # a run of emoji: each mood once, in order; emoji of no listed mood read as "_emoji_"
        ("makasih 🙏🏻👍 pak", "terima kasih _emojidoa_ _emojisuka_ bapak"),
        ("PLN 🙃🙃😡 mati lagi", "pln _emojisindir_ _emojimarah_ mati lagi"),
        ("rumah 🏠 banjir", "rumah _emoji_ banjir"),
        ("🏠😭", "_emojisedih_"),
        ("anak2 sekolah", "anak anak sekolah"),
        ("kel. Sawah Lebar kec. Ratu Agung", "kelurahan sawah lebar kecamatan ratu agung"),
        ("Jl. Merapi RT.05", "jalan merapi rt _angka_"),
        ("#jalanrusak", "jalan rusak"),
        # "TPS" is both the garbage point and the polling station: left as written
        ("nyoblos di TPS 07", "mencoblos di tps _angka_"),
        ("TPS penuh sampah", "tps penuh sampah"),
        ("ｓａｍｐａｈ", "sampah"),  # full-width letters, NFKC
        ("zero\u200bwidth\u202ebidi", "zero width bidi"),
        ("baris\\npertama", "baris pertama"),
        # lexicon phrases stop at commas and sentence marks: no "mati lampu" (power cut) here
        ("kampung mati, lampu jalan dak ado", "kampung mati lampu jalan tidak ada"),
        ("mati lampu lagi!", "listrik padam lagi"),
        # an idiom is one word: tears are not water ("air" stays the water of "air PDAM")
        ("air mata netes liat video ini", "airmata menetes lihat video ini"),
        ("aek mato ambo tumpah", "airmata saya tumpah"),
        ("air PDAM netes", "air pdam menetes"),
        # Javanese, Sundanese and Rejang words of residents from around the city
        ("banyune mambu, dalane rusak kabeh", "airnya bau jalannya rusak semua"),
        ("lampu teh pareum, poek pisan", "lampu teh mati gelap sekali"),
        ("uku coa dapat bantuan", "saya tidak dapat bantuan"),
        # "di"/"ke" written onto the place word that follows
        ("antri dipuskesmas, lalu kekelurahan", "antre di puskesmas lalu ke kelurahan"),
        ("banjir diwilayah kami", "banjir di wilayah kami"),
        # a lone "g" is "gak", except after a number (grams); "dalem" is "dalam"
        ("sampah g diangkut, lubangnya dalem", "sampah tidak diangkut lubangnya dalam"),
        ("beras 5 g, 2g garam", "beras _angka_ gram _angka_ gram garam"),
        ("Perum Griya Blok G nomor 4", "perumahan griya blok g nomor _angka_"),
        # "!!1!" is shouting with a slipping shift key, not a number; "1!" stays a number
        ("TOLONG!!1! sampah!!!11", "tolong sampah"),
        ("nomor 1! ayo", "nomor _angka_ ayo"),
        # programmes renamed in 2025 read as the names the corpus knows; their abbreviations
        # as the words
        ("SPMB jalur domisili, DTSEN desil 6", "ppdb jalur domisili dtks desil _angka_"),
        ("mbg basi, daftar CKG", "makan bergizi gratis basi daftar cek kesehatan gratis"),
        # Bengkulu Malay -nyo and final -o, "ko" (this)
        ("aeknyo keruh", "airnya keruh"),
        ("namonyo lurahnyo", "namanya lurahnya"),
        ("mato perih", "mata perih"),
        ("bulan ko", "bulan ini"),
        # its ta- is Indonesian ter-
        ("rumah kami tagenang, siring tasumbat", "rumah kami tergenang selokan tersumbat"),
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
        # Bengkulu "dak galak" is "does not want"; "galak" alone is the Indonesian "fierce"
        ("anak2 dak galak makan", "anak anak tidak mau makan"),
        ("petugas tu galak nian", "petugas itu galak sangat"),
        ("dulu baru galak datang", "dulu baru mau datang"),
        # "la" after "tolong" is the particle -lah, not "sudah" (already): no "sudah diganti"
        ("tolong la diganti, tlg la", "tolong diganti tolong"),
        ("dak katek lampu", "tidak ada lampu"),
        # "pk"/"pkl" before a number is "pukul" (o'clock), not "bapak" or street vendors
        ("padam pk. 10, nyala pkl 14.00", "padam pukul _angka_ nyala pukul _angka_"),
        ("PKL di trotoar, pk RT", "pedagang kaki lima di trotoar bapak rt"),
        # "liat" is "lihat" (look), but "tanah liat" is clay
        ("jalan tanah liat, liat tu", "jalan tanah liat lihat itu"),
        # English mixed in: the service words read as the Indonesian the corpus uses, phrases
        # before words ("street light", "pls fix"); English words that mean something else in
        # Indonesian slang stay ("fix" is "surely", "dump" a photo set), and so does "road to"
        ("garbage numpuk, drains clogged", "sampah menumpuk saluran air tersumbat"),
        ("street lights mati, traffic jam parah", "lampu jalan mati macet parah"),
        ("the road is destroyed pls fix it", "the jalan is hancur tolong perbaiki it"),
        ("fix banget photo dump", "fix banget photo dump"),
        ("road to halal", "road to halal"),
        # traps left alone: formal words, acronyms and names that only look colloquial
        ("semakin parah", "semakin parah"),
        ("catin login", "catin login"),
        ("jalan ngagel", "jalan ngagel"),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


def test_lexicon_file_is_well_formed() -> None:
    """At least 500 real forms, each once (a repeated form would silently replace the first),
    lower-case and trimmed as tokens are; a form maps to itself only as a `keep` entry, which
    guards a phrase from a shorter entry ("blok g" is not "blok tidak")."""
    text = resources.files("model").joinpath("resources/lexicon.tsv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines(), delimiter="\t"))
    assert len(rows) >= 500
    forms = [row["form"] for row in rows]
    assert len(set(forms)) == len(forms)
    kinds = {"slang", "abbrev", "dialect", "typo", "keep", "renamed", "english", "idiom"}
    assert {row["kind"] for row in rows} <= kinds
    for row in rows:
        assert row["form"] == " ".join(row["form"].lower().split()), row
        assert row["replacement"].strip(), row
        assert (row["form"] == row["replacement"]) == (row["kind"] == "keep"), row


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


def test_split_joined_keeps_known_words_and_refuses_fragments() -> None:
    known = frozenset({"banjir", "ban", "jir", "sar", "kas", "kk", "baru", "air", "mati", "lagi"})
    assert split_joined("banjir", known) == ["banjir"]
    assert split_joined("sarkas", known) == ["sarkas"]  # "sar kas": short rare roots only
    assert split_joined("kkbaru", known) == ["kk", "baru"]
    assert split_joined("airmatilagi", known) == ["air", "mati", "lagi"]
    step = TextNormaliser().fit(["antri lama di puskesmas"])
    assert list(step.transform(["#banjir #puskesmas #sarkas"])) == ["banjir puskesmas sarkas"]


def test_transformer_learns_words_for_hashtags() -> None:
    step = TextNormaliser().fit(["sampah menumpuk di mana-mana"])
    assert list(step.transform(["#sampahmenumpuk lagi"])) == ["sampah menumpuk lagi"]
    # without fitting on "menumpuk" (not a root word) the hashtag stays whole
    assert normalise_text("#sampahmenumpuk") == "sampahmenumpuk"


def test_transformer_pickles_without_its_cache() -> None:
    step = TextNormaliser().fit(["sampah"])
    step.transform(["halo"])
    assert "_vocabulary_cache" in step.__dict__
    clone = pickle.loads(pickle.dumps(step))
    assert "_vocabulary_cache" not in clone.__dict__
    assert list(clone.transform(["dak ado"])) == ["tidak ada"]


def test_typos_are_corrected_towards_training_words_without_hashtag_splitting() -> None:
    docs = ["lampu jalan mati"] * 4
    split = TextNormaliser().fit(docs)
    plain = TextNormaliser(split_hashtags=False).fit(docs)
    assert split.normalise_one("lampi") == plain.normalise_one("lampi") == "lampu"
    # "lampau", one edit from "lampu", is a dictionary root either way: no typo
    assert plain.normalise_one("lampau") == split.normalise_one("lampau") == "lampau"


def test_emoji_moods_are_recorded_when_fitted_and_can_be_switched_off() -> None:
    assert list(TextNormaliser(emoji_moods=False).fit([]).transform(["banjir 😡"])) == [
        "banjir _emoji_"
    ]
    step = TextNormaliser().fit([])
    assert step.emoji_moods_ == load_emoji_moods()
    # a normaliser fitted before emoji had moods (an older artifact) reads them as it did
    del step.emoji_moods_
    assert list(pickle.loads(pickle.dumps(step)).transform(["banjir 😡"])) == ["banjir _emoji_"]


def test_emoji_table_covers_every_mood_with_emoji_the_pattern_finds() -> None:
    moods = load_emoji_moods()
    assert {token for token in moods.values()} == {f"_emoji{m}_" for m in EMOJI_MOODS}
    # an emoji the pattern does not match would never reach the table
    assert [e for e in moods if not _EMOJI_RE.fullmatch(e)] == []


def test_unfitted_transform_raises() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TextNormaliser().transform(["x"])


# -- the fitted normaliser's shortcuts (skipped steps, one-pass tokens, per-word cache) ------


def test_skipped_steps_cannot_have_matched() -> None:
    """A printable text holds no invisible character and an ASCII one no emoji, so the
    normaliser skips those patterns there."""
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    invisible = "".join(_INVISIBLE_RE.findall(every_character))
    emoji = "".join(_EMOJI_RE.findall(every_character))
    assert invisible and emoji
    assert [c for c in invisible if c.isprintable()] == []
    assert [c for c in emoji if c.isascii()] == []


_piece = st.sampled_from(
    [
        "sampah", "jalan", "dak", "ado", "mati", "lampu", "cak", "mano", "kasih", "matur", "nuwun",
        "ngumpulin", "namonyo", "banjirrrr", "aaa", "Rusak", "x", "_", "_url_", "_batas_",
        "_angka_", "anak2", "2", "12.30", "1,5", "rp50.000", "٣", "Ｓ", "ß", "İ", ",", ";", "!?",
        ".", ":", "/", "#", "#sampahmenumpuk", "#Jalan_Rusak", "@", "@dinas", "😡", "\u200b",
        "\x00", "\t", "\n", "\\n", "www.", ".com", "http://", "a.co", " ", " ", " ",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.lists(_piece, max_size=30).map("".join), st.text(max_size=80)))
def test_fitted_normaliser_equals_the_plain_steps(text: str) -> None:
    """Skipped steps, numbers and boundaries cut in the tokenizing pass, cached words: the
    fitted step gives `normalise_text`'s own result, with and without a lexicon."""
    for step in (_FITTED, _FITTED_PLAIN):
        plain = normalise_text(text, step.lexicon_, step._known())
        assert step.normalise_one(text) == plain
        assert step.normalise_one(text) == plain  # from the cache


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.lists(_piece, max_size=30).map("".join), st.text(max_size=80)))
def test_fitted_clauses_equal_the_plain_steps(text: str) -> None:
    """The area resolver's text from the fitted step's caches is `normalise_clauses`'s own."""
    for step in (_FITTED, _FITTED_PLAIN):
        plain = normalise_clauses(text, lexicon=step.lexicon_, known_words=step._known())
        assert step.normalise_clauses_one(text) == plain
        assert f"{BREAK_TOKEN} {BREAK_TOKEN}" not in plain  # empty clauses are left out


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.lists(_piece, max_size=20).map("".join), st.text(max_size=60)))
def test_url_shortcut_never_skips_a_hint(text: str) -> None:
    if _URL_HINT_RE.search(text):
        assert _may_hold_url(text)


def test_word_cache_is_bounded() -> None:
    step = TextNormaliser().fit(["sampah"])
    step.normalise_one(" ".join(f"kata{i}x" for i in range(WORD_CACHE_SIZE + 50)))
    info = step._words().entry.cache_info()  # type: ignore[attr-defined]
    assert info.maxsize == WORD_CACHE_SIZE
    assert info.currsize <= WORD_CACHE_SIZE


def test_bounded_word_cache_keeps_two_generations() -> None:
    calls: list[str] = []

    def compute(word: str) -> str:
        calls.append(word)
        return word.upper()

    cache = BoundedWordCache(compute, 4)  # two generations of two words
    assert cache.many(["a", "b", "a"]) == ["A", "B", "A"]
    assert calls == ["a", "b"]
    assert cache("c") == "C"  # the recent generation was full: a, b become the older one
    assert cache("a") == "A" and calls == ["a", "b", "c"]  # taken back from the older one
    assert cache.many(["d", "e", "b"]) == ["D", "E", "B"]
    assert cache.cache_info().currsize <= 4
    assert cache("b") == "B"
    assert cache.many(["x"] * 3 + ["a"]) == ["X", "X", "X", "A"]
    assert calls.count("x") == 1
    assert cache.cache_info() == (4, cache.cache_info().currsize)


def test_known_words_are_the_roots_and_the_training_words_without_a_union() -> None:
    """Hashtag splitting and squeezing ask both sets; no third set holding both is built."""
    known = _FITTED._known()
    assert isinstance(known, EitherSet)
    assert _FITTED.known_words_
    for word in _FITTED.known_words_:
        assert word in known and word not in dictionary_words()
    assert "sampah" in dictionary_words() and "sampah" in known
    assert "qzxv" not in known
    assert not any(w in _FITTED_PLAIN._known() for w in ("sampah", "qzxv"))
    assert split_joined("sampahmenumpuk", known) == split_joined(
        "sampahmenumpuk", dictionary_words() | _FITTED.known_words_
    )


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("banjir lagi. Penurunan hujan 2 jam", ["banjir lagi", " Penurunan hujan 2 jam"]),
        ("Saya tinggal di Berkas. Saya mau lapor", ["Saya tinggal di Berkas", " Saya mau lapor"]),
        # periods of abbreviations, numbers and addresses do not end a clause
        ("Kel. Sawah Lebar, Jl. Pd. Jati No. 12", ["Kel. Sawah Lebar", " Jl. Pd. Jati No. 12"]),
        ("jemb. kecil gelap", ["jemb. kecil gelap"]),
        ("harga naik 1,5 juta? mahal!", ["harga naik 1,5 juta", " mahal", ""]),
        ("satu\nDua\\nTiga", ["satu", "Dua", "Tiga"]),
        ("aman", ["aman"]),
    ],
)
def test_split_clauses(text: str, clauses: list[str]) -> None:
    assert split_clauses(text) == clauses


def test_clauses_are_normalised_alone_and_joined_by_a_break() -> None:
    text = "lampu mati dari lebaran. Jembatan Kecil gelap,,  jalan rusak!!"
    expected = " ".join(
        ["lampu mati dari lebaran", BREAK_TOKEN, "jembatan kecil gelap", BREAK_TOKEN, "jalan rusak"]
    )
    assert normalise_clauses(text) == expected
    assert _FITTED.normalise_clauses_one(text) == " ".join(
        [
            _FITTED.normalise_one("lampu mati dari lebaran"),
            BREAK_TOKEN,
            _FITTED.normalise_one(" Jembatan Kecil gelap"),
            BREAK_TOKEN,
            _FITTED.normalise_one("  jalan rusak"),
        ]
    )
    assert normalise_clauses("") == "" and normalise_clauses("?!") == ""


def test_the_area_resolver_reads_words_as_written_not_made_formal() -> None:
    """A mistyped place name that looks like a colloquial verb ("nangkah" as "nolak" is
    "menolak") stays as written for the area resolver; the model reads the formal form."""
    text = "jalan di padang nangkah, namonyo rusak"
    assert normalise_text(text) == "jalan di padang menangkah namanya rusak"
    assert normalise_clauses(text) == f"jalan di padang nangkah {BREAK_TOKEN} namonyo rusak"
    assert _FITTED.normalise_clauses_one(text) == normalise_clauses(
        text, lexicon=_FITTED.lexicon_, known_words=_FITTED._known()
    )
    assert "menangkah" in _FITTED.normalise_one(text)


def test_hashtags_are_marked_for_the_area_resolver_only() -> None:
    text = "banjir lagi #lingkarbarat"
    assert normalise_clauses(text) == f"banjir lagi {HASHTAG_TOKEN} lingkar barat"
    assert _FITTED.normalise_clauses_one(text) == f"banjir lagi {HASHTAG_TOKEN} lingkar barat"
    assert HASHTAG_TOKEN not in normalise_text(text)
    assert HASHTAG_TOKEN not in _FITTED.normalise_one(text)


def test_mentions_keep_the_words_of_their_handle_for_the_features_only() -> None:
    """The account a post tags names the office it is about ("@dlhkotabengkulu"): its words,
    split as hashtags are, follow the post, whose own words (the opening ones too) stay in place
    around the mention's token. The area resolver reads the token alone, and a step fitted
    before this existed reads mentions as it was fitted to."""
    step = TextNormaliser().fit(["sampah menumpuk", "lampu jalan mati"])
    assert step.normalise_one("@DLH_Kota.Bengkulu88 sampah") == (
        f"{MENTION_TOKEN} sampah dinas lingkungan hidup kota bengkulu"  # the lexicon's "dlh"
    )
    assert step.normalise_one("mati @lampujalan @PLN") == (
        f"mati {MENTION_TOKEN} {MENTION_TOKEN} lampu jalan pln"
    )
    assert step.normalise_one("@2024 mati") == f"{MENTION_TOKEN} mati"
    # no lexicon phrase spans the post's end and the handle's words
    assert normalise_text("cak mano") == "bagaimana"
    assert normalise_text("@mano cak") == f"{MENTION_TOKEN} seperti mana"
    assert normalise_text("tolong @jalanrusak") == f"tolong {MENTION_TOKEN} jalan rusak"
    assert LeadingWords().fit([]).lead_text(step.normalise_one("@pemkot terima kasih")) == (
        "awal_terima awal_kasih"
    )
    # what the repeat search compares: the post's own words, the mention's token in place
    assert step.normalise_content_one("@DLH_Kota.Bengkulu88 sampah") == f"{MENTION_TOKEN} sampah"
    assert step.normalise_content_one("sampah lagi") == step.normalise_one("sampah lagi")
    assert step.normalise_clauses_one("@dlh_kota sampah") == f"{MENTION_TOKEN} sampah"
    assert normalise_clauses("@dlh_kota sampah") == f"{MENTION_TOKEN} sampah"
    assert TextNormaliser(mention_words=False).fit(["sampah"]).normalise_one("@dlh x") == (
        f"{MENTION_TOKEN} x"
    )
    older = TextNormaliser().fit(["sampah"])
    del older.mention_words  # as saved before mention words existed
    loaded = pickle.loads(pickle.dumps(older))
    assert loaded.normalise_one("@dlh_kota sampah") == f"{MENTION_TOKEN} sampah"
    assert loaded.normalise_content_one("@dlh_kota sampah") == f"{MENTION_TOKEN} sampah"
    assert loaded.get_params()["mention_words"] is False


def test_the_neighbour_index_finds_exactly_the_words_one_edit_away() -> None:
    """Against a brute-force search: every word training wrote at least TYPO_MIN_COUNT times
    whose Damerau-Levenshtein distance to the query is one (a letter dropped, added, changed,
    or two neighbours swapped), and nothing else."""
    words = ["jalan", "jalanan", "lampu", "lama", "mati", "lapor", "lubang", "bolong", "jln"]
    counts = {w: TYPO_MIN_COUNT for w in words} | {"rusak": TYPO_MIN_COUNT - 1}
    fixer = TypoFixer(counts, frozenset(), 10)
    queries = ["jaln", "jlaan", "jalam", "jalann", "ajlan", "jalana", "lamp", "lampi", "rusal"]
    queries += ["lubamg", "bolonk", "xyz", "jalan", "jl", "lmapu", "mait", "jalananx"]
    for query in queries:
        expected = sorted(
            w
            for w, n in counts.items()
            if n >= TYPO_MIN_COUNT and w != query and DamerauLevenshtein.distance(query, w) == 1
        )
        assert fixer.neighbours(query) == expected, query
    assert fixer.neighbours("jaln") == ["jalan", "jln"]
    assert fixer.neighbours("rusal") == []  # "rusak" is in too few posts


def _typo_normaliser(**params: bool) -> TextNormaliser:
    docs = ["lampu jalan mati"] * 4 + ["kota bengkulu"] * 5 + ["kotak sampah"] * 3
    docs += ["tanah longsor"] * 5 + ["anak bermain bola"] * 4 + ["dusun kami"] * 4
    docs += ["jalan licin"] * 2 + ["masa lampau"] * 3
    return TextNormaliser(**params).fit(docs)


def test_a_word_training_never_wrote_is_read_as_its_most_frequent_neighbour() -> None:
    normaliser = _typo_normaliser()
    assert normaliser.word_counts_["lampu"] == 4 and normaliser.word_counts_["jalan"] == 6
    assert normaliser.normalise_one("lampi di jlaan") == "lampu di jalan"  # changed, swapped
    assert normaliser.transform(["lampi"])[0] == "lampu"
    # "lampa" is one edit from "lampu" (4 posts) and from "lampau" (3): the more frequent wins
    assert normaliser.normalise_one("lampa") == "lampu"
    # "kotas" is one edit from "kotak" (3 posts) and "kota" (5, too short to be read as)
    assert normaliser.normalise_one("kotas") == "kotak"
    assert normaliser.normalise_one("lmpu") == "lampu"  # four letters: "lampu" missing one
    left = [
        "tanam",  # a dictionary word, one edit from "tanah" (5 posts)
        "permain",  # an affixed form of a root ("main"), one edit from "bermain"
        "licix",  # its neighbour "licin" is in 2 posts, fewer than TYPO_MIN_COUNT
        "mait",  # one edit from "mati" (4 posts), a word shorter than TYPO_MIN_LENGTH
        "lmp",  # too short to be a word of TYPO_MIN_LENGTH letters missing one
        "rusun",  # "dusun" (4 posts) starts with another letter
        "qzxvw",  # no neighbour at all
    ]
    assert TYPO_MIN_COUNT == 3 and TYPO_MIN_LENGTH == 5
    for word in left:
        assert normaliser.normalise_one(word) == word, word
    assert normaliser.normalise_one("lampi 12 😡") == "lampu _angka_ _emojimarah_"


def test_two_words_written_together_are_read_apart() -> None:
    short = JOINED_SHORT_MIN_COUNT
    counts = {"lampu": 4, "mati": 3, "rusunawa": 3, "tanah": 5, "abang": 3, "tana": 4}
    counts |= {"habang": 6, "di": short, "air": short, "ya": 10 * short, "sus": short - 1}
    counts |= {"anti": 8, "sudah": short, "lama": 3, "nabi": 5, "jalan": 9}
    fixer = TypoFixer(counts, frozenset(), 10, True, {"sdh": "sudah", "la": "sudah"})
    assert fixer.split("lampumati") == "lampu mati"
    assert fixer.split("dirusunawa") == "di rusunawa"  # a frequent short word first
    assert fixer.split("airmati") == "air mati"
    assert fixer.split("sdhlama") == "sudah lama"  # a piece read in its lexicon form
    # of two splits, the one whose rarer piece is the more frequent ("habang" 6, "tana" 4)
    assert fixer.split("tanahabang") == "tana habang"
    left = [
        "susanti",  # "sus" is a word of three letters training wrote fewer than 100 times
        "jalanya",  # "ya" is as often a suffix: a piece of two letters only comes first
        "nabila",  # a two-letter lexicon key is not read as its word ("la")
        "lampumatii",  # "matii" is not a word training wrote
        "lampu",  # nothing to split
    ]
    for word in left:
        assert fixer.split(word) == word, word
    counts["di"] = short - 1
    assert TypoFixer(counts, frozenset(), 10, True).split("dirusunawa") == "dirusunawa"


def test_a_word_written_without_its_vowels_is_read_as_the_word_it_spells() -> None:
    counts = {"jembatan": 5, "pelayanan": 6, "menumpuk": 3, "semakin": 40, "kelurahan": 3}
    counts |= {"perbaiki": 6, "pembayaran": 2, "ditempati": 9, "sekolah": 12}
    fixer = TypoFixer(counts, frozenset(), 10, vowels=True)
    assert fixer.text("jmbtn plyann mnmpk") == "jembatan pelayanan menumpuk"
    assert fixer.text("klrhn klurhan") == "kelurahan kelurahan"  # some vowels kept
    assert fixer.text("skolah") == "sekolah"  # one vowel missing: the typo step's
    left = [
        "smkn",  # an acronym of four letters, though "semakin" spells that way
        "sklh",  # four letters, too
        "ditempat",  # one vowel fewer than "ditempati": a word of its own ("di tempat")
        "pmbyrn",  # "pembayaran" is written in 2 posts, fewer than TYPO_MIN_COUNT
        "pribk",  # an "i" where "perbaiki" has none: not it with vowels left out
        "jmbtnn",  # a letter "jembatan" does not have
        "qzxvw",  # nothing spells that way
    ]
    for word in left:
        assert fixer.text(word) == word, word
    # two words spell that way: the more frequent only if it is VOWELLESS_DOMINANCE times as
    # frequent as the other ("pelayanan" 6 against "pulayanan" 3), else neither
    assert VOWELLESS_DOMINANCE == 3
    rival = TypoFixer(counts | {"pulayanan": 3}, frozenset(), 10, vowels=True)
    assert rival.text("plynn") == "plynn"
    rival = TypoFixer(counts | {"pulayanan": 3, "pelayanan": 9}, frozenset(), 10, vowels=True)
    assert rival.text("plynn") == "pelayanan"
    assert TypoFixer(counts, frozenset(), 10).text("jmbtn") == "jmbtn"  # fitted without


def test_vowels_are_restored_for_the_features_only_and_only_where_fitted_to() -> None:
    normaliser = _typo_normaliser()
    assert normaliser.word_counts_["bengkulu"] == 5
    assert normaliser.normalise_one("kota bngkl") == "kota bengkulu"
    assert normaliser.normalise_clauses_one("kota bngkl") == "kota bngkl"  # areas: as written
    assert _typo_normaliser(restore_vowels=False).normalise_one("kota bngkl") == "kota bngkl"
    older = _typo_normaliser()
    del older.restore_vowels  # as saved before the step existed
    loaded = pickle.loads(pickle.dumps(older))
    assert loaded.get_params()["restore_vowels"] is False
    assert loaded.normalise_one("kota bngkl") == "kota bngkl"
    assert loaded.normalise_one("lampi") == "lampu"  # its typo correction as before


def test_joined_words_are_split_for_the_features_unless_they_are_words() -> None:
    normaliser = _typo_normaliser()
    assert normaliser.normalise_one("lampumati") == "lampu mati"
    assert normaliser.normalise_one("tanahlongsor di jalan") == "tanah longsor di jalan"
    assert normaliser.normalise_clauses_one("lampumati") == "lampumati"  # areas: as written
    assert normaliser.normalise_one("kotakota") == "kota kota"
    # an affixed form of a root is a word, though it splits into two ("ber" + "jalan")
    fixer = TypoFixer({"ber": JOINED_SHORT_MIN_COUNT, "jalan": 5}, frozenset(), 10, True)
    assert fixer.split("berjalan") == "ber jalan"
    assert fixer.text("sudah berjalan") == "sudah berjalan"
    # where it was fitted without (`split_joined=False`, or saved before it existed)
    assert _typo_normaliser(split_joined=False).normalise_one("lampumati") == "lampumati"
    older = _typo_normaliser()
    del older.split_joined
    loaded = pickle.loads(pickle.dumps(older))
    assert loaded.normalise_one("lampumati") == "lampumati"
    assert loaded.normalise_one("lampi") == "lampu"  # its typo correction as before


def test_typos_are_corrected_for_the_features_only_and_only_where_fitted_to() -> None:
    normaliser = _typo_normaliser()
    # the area resolver reads words as written: another city's places are words never seen
    assert normaliser.normalise_clauses_one("lampi di jlaan") == "lampi di jlaan"
    assert _typo_normaliser(correct_typos=False).normalise_one("lampi") == "lampi"
    older = _typo_normaliser()
    del older.correct_typos, older.word_counts_  # as saved before correction existed
    loaded = pickle.loads(pickle.dumps(older))
    assert loaded.normalise_one("lampi") == "lampi"
    assert loaded.get_params()["correct_typos"] is False  # and it still has its parameters
    normaliser.normalise_one("lampi")
    state = normaliser.__getstate__()
    assert "_typos_cache" not in state and "_words_cache" not in state
    assert pickle.loads(pickle.dumps(normaliser)).normalise_one("lampi") == "lampu"
    # a refit counts its own words: what the first fit knew is not corrected towards any more
    normaliser.fit(["lampu"] * 5)
    assert normaliser.word_counts_ == {"lampu": 5}
    assert normaliser.normalise_one("jlaan") == "jlaan"
    assert normaliser.normalise_one("lampi") == "lampu"
