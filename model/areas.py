"""Finding the kecamatan and kelurahan a post is about.

Runs on normalised text (before stemming: Sastrawi turns "Penurunan" into "turun"), each clause
normalised alone and the clauses joined by a break token (`model.text.normalise_clauses`), so
that a clause's start and end count as a post's do and the words of the next sentence are not
the words after a name ("di Berkas. Saya ..."). Names are
matched exactly as token sequences (official spelling, aliases, joined forms such as
"sawahlebar", and joined after "kel"/"kec" as hashtags write them: "#kelbentiring"), then
names of several words with one word shortened as people shorten it, its other words in full
("kbn tebeng", "pgr dewa", "jemb kecil", "pdk besi"), then with a small edit distance for
longer names. Names that are also ordinary
words or other cities count only with evidence, as the areas file says per name
(`needs_context`):

- `city` ("Surabaya", a city in Java): a marker such as "kelurahan"/"kec" before it, an RT/RW
  number before it ("RT 03 Semarang") or an RT/RW or a kecamatan word after it, or its
  kecamatan (or one of its kelurahan) in the same post;
- `word` ("Penurunan", a decrease; "Kandang", a pen): any of those, or a place word before it
  ("di", "warga", "daerah", "puskesmas", "lokasi", "SD"...) or a hashtag of it ("#penurunan"),
  or, for names of two words or more, the start or the end of the post or a clause or an emoji
  before it ("📍 Lingkar Timur");
- empty: `city` (the strict kind) for a one-word name that is an Indonesian dictionary word, so
  another city's "Genteng" (roof tile) or "Ujung" (end) is safe without editing the file;
  otherwise none. `no` forces none.
- whatever the kind, a name whose word before or after is one the file lists as making it an
  ordinary phrase ("kandang ayam", "penurunan harga", "toko Sumber Jaya", "tergantung pada
  harapan") counts only after a marker ("kel.") or before an RT/RW or a kecamatan word.

An alias that normalising rewrites is matched only as written, never through a typo or a
shortened word: "Pd. Jati" reads "pada jati" (the lexicon's "pd"), and "pada mati" is one edit
from it. So is an alias with a word of two letters: "pos bengkulu" (the post office)
is one edit from "ps bengkulu". Such a name or alias written as one word ("pdjati",
"banyuurip") is matched as written too. A name every word of which the lexicon translates into
an ordinary word is gone from the text it normalises: Surabaya's "Banyu Urip" (Javanese) reads
"air hidup", the water coming back on. It counts only after a marker, a place or street word, an
RT/RW number or a hashtag, or beside its kecamatan ("di Banyu Urip", "kel. Banyu Urip"), and
never at a clause's edge alone.

A name right after "jalan"/"gang" is a street named after the area and gets a confidence below
the tagging threshold; so does one after "jalan raya" (or "raya" opening a clause or after "di":
Surabaya's "Raya Darmo"), and one after "rumah sakit", a hospital named after a place or a
person ("RS dr Soetomo" is not the kelurahan Dr. Soetomo), and one followed by a word that
names a housing estate or a street after it ("Bumi Ayu Permai", "Kertajaya Indah"), unless a
marker stands before it. A name that is both a kecamatan's and one of its kelurahan's is the
kecamatan after "kecamatan", "camat" or an office that serves a whole kecamatan ("kec. Pakal",
"Polsek Gubeng", "KUA Sukomanunggal"), and beside another of its kelurahan.

Typos are matched only for names of eight letters or more, with one edit (a letter typed for
another only when the two keys touch or the letters are spelt alike: "sukadami" is Sukarami,
"simomulyo" is another city's name) or two neighbouring letters swapped, neither of them a
word's first ("pagar dwea" is Pagar Dewa, "tambak asri" is not Tambaksari), and never when the
word as written is itself an Indonesian word ("meninggal" is not a typo of "Menanggal"). A name
that needs context is another city's after "kota" or "pemkot" ("warga kota Surabaya kecamatan
...").
A name typed with vowels left out, in every word or some ("kmpung bli", "tnjung agng", "pdang
harpan", "btungan"), is read when each word keeps its first letter and every consonant in order
(and may end in its last letter typed twice, "jitraa"), none is a word of its own, and a name of
one word has five letters or more written, two vowels at most left out, and neither is nor
spells without vowels an Indonesian word ("lempung", clay, is not Lempuing, nor "anggt", a
member, Anggut); it counts as a typo does.
A name written onto the word before it ("diKebun Geran", "kejalan gedang", "wargapagar dewa",
"KelKebun Beler", "dikelurahanPondok Besi") is read as if written apart, when what is written
onto "di", "ke", "dari", "warga", "daerah" or a marker is a name of one word that is no ordinary
word, or a name's first word followed by the rest of the name ("dikandang" is in the pen, and
"dikebun" before anything but a kebun's name a garden). So is a name with the next word
written onto it ("Lempuingke", "SAWAH LEBARMATI", "kebun tebengtu"), when that word is no word
of its own, but at a confidence below the tagging threshold: another city makes names that way
("Jl. Mojopahit" is no street of Mojo), so a person checks the place.
A name with a place outside the city right after it ("Sukarami, Palembang", "Muaradua OKU
Selatan") or right before it ("Palembang Sukarami") is that place's: the city's
`elsewhere.csv` lists those places (provinces, regencies, cities). A post that names none of
the city's places but one of those as where the problem is (not a street, "Jl. Riau"; not
where the writer comes from or goes to, "pindah dari Curup"; not beside "di sini") says so in
`AreaMatch.outside`, and `model.routing.decide_tags` asks a person to check that the complaint
is the city's to answer.
A name matched exactly is not swallowed by a typo of a longer name that begins or ends with it
when the words around it are ordinary words: "sawah lebar bau" is Sawah Lebar, "sawah lebar
brau" is Sawah Lebar Baru.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from model.datafiles import DataFileError, read_rows
from model.stem import is_indonesian_word
from model.text import (
    BREAK_TOKEN,
    EMOJI_TOKENS,
    HASHTAG_TOKEN,
    NUMBER_TOKEN,
    BoundedWordCache,
    dictionary_words,
    load_lexicon,
    normalise_text,
    skeleton,
    spells_without_vowels,
)

LEVELS = ("kecamatan", "kelurahan")
CONTEXT_KINDS = ("", "no", "word", "city")
# "sekelurahan Semarang gelap": the whole kelurahan, a marker as well
MARKERS = frozenset(
    {"kelurahan", "kecamatan", "desa", "lurah", "camat", "sekelurahan", "sekecamatan"}
)
# Between a marker and the name, whose it is: "kelurahan kami Semarang" (after the lexicon,
# "kelurahan ambo" and "kelurahan kito" read the same way).
OWNERS = frozenset({"kami", "saya", "kita", "aku"})
# After a name these make it a place: "Penurunan RT 05", "Surabaya kecamatan Sungai Serut".
PLACE_AFTER = frozenset({"rt", "rw", "gang", "blok", "kecamatan", "kelurahan"})
# Public facilities named after the area they serve: right before a name these make it a place
# even where the word after it would make it an ordinary phrase ("puskesmas Jembatan Kecil dari
# jam 7", while "jembatan kecil dari kayu" is a bridge); not another city's name.
FACILITY_BEFORE = frozenset(
    {"puskesmas", "pustu", "posyandu", "sd", "smp", "sma", "smk", "sdn", "smpn", "sman", "smkn"}
)
# Before a `word` name these (and the facilities) make it a place, unless the file's blockers
# say otherwise.
PLACE_BEFORE = FACILITY_BEFORE | frozenset(
    {
        "di",
        "ke",
        "dari",
        "warga",
        "daerah",
        "wilayah",
        "kawasan",
        "seputaran",
        "sekitaran",
        "sekitar",
        "lingkungan",
        "area",
        "perumahan",
        "simpang",
        "perempatan",
        "pertigaan",
        "pasar",
        "trotoar",
        "komplek",
        "kompleks",
        "perum",
        "perumnas",
        "pantai",
        "lapangan",
        "lokasi",
        "alamat",
        "kantor",
        "masjid",
        "sekolah",
        "tpu",
        "tps",
        "pos",
        "minimarket",
        "indomaret",
        "alfamart",
        "terminal",
        "dekat",
        # behind, in front of, beside, across from ("lorong belakang Pasar Baru")
        "belakang",
        "depan",
        "samping",
        "sebelah",
        "seberang",
        "lewat",
        "arah",
        "jalur",
        # a bus or angkot route named after where it goes ("angkot jurusan Panorama")
        "jurusan",
        "ruko",
        # the offices that serve an area are named after it ("polsek Selebar"), and so is its
        # coast ("pesisir Sumber Jaya")
        "polsek",
        "koramil",
        "pesisir",
        # Javanese "neng" (at), kept as written since it is also a way to call a girl ("nang"
        # is "di" after the lexicon)
        "neng",
        # English, as residents mix it in ("the puskesmas in Sumber Jaya", "near Pagar Dewa")
        "in",
        "at",
        "near",
        "around",
    }
)
# Before whose it is, these make the name after it a place ("rumah saya Jembatan Kecil").
OWNED_PLACES = PLACE_BEFORE | {"rumah", "kampung", "gang", "lorong", "dusun"}
# A name right after these is a street named after the area, which may lie elsewhere.
STREET_BEFORE = frozenset({"jalan", "gang", "lorong"})
# ...and so is one after "raya" that opens a street's name ("jalan raya Darmo", "di raya
# Kalijudan"), not one that ends it ("Jl. Kapuas Raya Padang Harapan"); and after "rumah sakit",
# a hospital named after a place or a person ("RS dr Soetomo").
MAIN_ROAD = "raya"
NAMED_AFTER_BEFORE = frozenset({"sakit"})
# Right before a name that is a kecamatan's and a kelurahan's (24 of Surabaya's 31 kecamatan
# share their name with one of their kelurahan), these say it is the kecamatan: its marker, its
# head, and the offices that serve a whole kecamatan ("Polsek Gubeng", "KUA Sukomanunggal").
KECAMATAN_BEFORE = frozenset({"kecamatan", "camat", "polsek", "koramil", "kua"})
# ...and these, the kelurahan ("kelurahan Wonokromo kecamatan Wonokromo").
KELURAHAN_BEFORE = frozenset({"kelurahan", "lurah", "desa"})
# A name followed by one of these names a housing estate or a street after the area ("Perumahan
# Bumi Ayu Permai", "Kertajaya Indah Timur", "Ngagel Jaya Selatan"), which may lie elsewhere;
# the longest name of the file is matched first, so a kelurahan called so ("Timur Indah") is not.
ESTATE_AFTER = frozenset({"indah", "permai", "asri", "jaya", "sentosa", "regency", "residence"})
# A place outside the city after these is where the writer comes from or goes to ("pindah
# datang dari Curup", "dirujuk ke Palembang"), not where the problem is...
OUTSIDE_NOT_AFTER = STREET_BEFORE | {"dari", "ke", "asal", "menuju", "arah"}
# ...except after "ke" with these just before: the road to a regency ("jalan lintas ke Kepahiang")
ROAD_WORDS = frozenset({"jalan", "jalur", "lintas", "jembatan"})
# A post with these says the problem is here ("saudara di Palembang ..., di sini ...").
HERE_WORDS = frozenset({"sini", "disini", "kesini"})
# One of these up to three words before "di" and a place outside the city: where a relative or a
# friend lives ("sodara di Palembang nanyain"), not where the problem is.
KIN_WORDS = frozenset(
    {
        "saudara", "sodara", "keluarga", "kakak", "abang", "adik", "adek", "ponakan",
        "keponakan", "sepupu", "ortu", "mertua", "anak", "ibu", "bapak", "ayah", "emak",
        "paman", "bibi", "tante", "om", "nenek", "kakek", "teman", "temen", "kawan",
    }
)  # fmt: skip
STREET_SCORE = 0.6
# A name that needs context (`needs_context`: another city's, or an ordinary word) right after
# these is a city or a regency ("Kota Surabaya", "Pemkot Surabaya"), never one of this city's
# areas, whatever follows it ("warga kota Surabaya kecamatan Gayungan").
CITY_BEFORE = frozenset(
    {"kota", "kab", "kabupaten", "prov", "provinsi", "walikota", "pemkot", "pemkab", "pemprov"}
)
# Words that never start or end a fuzzy window.
_GLUE = frozenset({"di", "ke", "dari", "dan", "yang", "sampai", "dekat", "depan", "jalan", "rt"})
MAX_NAME_TOKENS = 4
FUZZY_MIN_LEN = 8
# Right after "kelurahan", "kecamatan" or "desa" a shorter name may be mistyped too ("kel.
# jitrah", "kel padang nangkah"): the marker says a name follows.
MARKED_FUZZY_MIN_LEN = 5
FUZZY_MARKERS = frozenset({"kelurahan", "kecamatan", "desa"})
FUZZY_CACHE_SIZE = 30_000  # distinct words (and joined word pairs) remembered
FUZZY_LONG_LEN = 18
# A form is matched through a typo only if each of its words is longer than this (and so is
# that form written as one word).
SHORTEST_FUZZY_WORD = 2
# One word of a name of several words shortened the way people shorten it: its vowels dropped
# ("kbn tebeng", "pgr dewa", "rawa mkmr") or cut short ("jemb kecil", "ps baru", "pdk besi").
# The short form starts with the word's first letter, keeps two to five of its letters in
# order, is no word of its own, and the name's other words are written in full; such a hit
# scores this.
ABBREVIATED_MIN_LEN = 2
ABBREVIATED_MAX_LEN = 5
ABBREVIATED_SCORE = 0.8
# A name whose words are written with vowels left out, each word or only some ("kmpung bli",
# "tnjung agng", "pdang harpan", "btungan"): every consonant of each word kept, in order, and its
# first letter; a word may end in its last letter typed twice ("jitraa"). Such a hit scores this,
# and reads as a typo (a name that is an ordinary word needs a marker). A name of one word is
# read so only from VOWELLESS_NAME_MIN_LEN letters written, with at most VOWELLESS_NAME_MAX_DROPPED
# vowels left out ("lmpng" is Lampung as well as Lempuing), and not from a word of the language
# or one that spells a word of the language without vowels ("anggt" is "anggota" too).
VOWELLESS_SCORE = 0.8
VOWELLESS_NAME_MIN_LEN = 5
VOWELLESS_NAME_MAX_DROPPED = 2
# A name written onto the word before it ("diKebun Geran", "kejalan gedang", "KelKebun Beler",
# "wargapagar dewa", "dikelurahanPondok Besi"): such a word is read as the two (or three) it
# joins, the first as written here, when what follows one of these is a name's first word.
JOINED_BEFORE = {
    "di": "di",
    "ke": "ke",
    "dari": "dari",
    "dr": "dari",
    "warga": "warga",
    "daerah": "daerah",
    "kel": "kelurahan",
    "kelurahan": "kelurahan",
    "kec": "kecamatan",
    "kecamatan": "kecamatan",
}
_JOINED_MARKERS = tuple(k for k, word in JOINED_BEFORE.items() if word in MARKERS)
_JOINED_WORDS = frozenset(JOINED_BEFORE.values())
# A name with the next word written onto it ("Lempuingke Bekasi", "SAWAH LEBARMATI", "kebun
# tebengtu"): a word that is no word of its own, made of a name's last word and a word of the
# language or the lexicon of at least this many letters. Such a reading scores at most
# GLUED_SCORE, below the tagging threshold, since another city makes names so ("Jl. Mojopahit"
# is no street of Mojo): a person checks the place it names.
SPLIT_AFTER_MIN_LEN = 2
GLUED_SCORE = 0.65
# A name written as one word with one word shortened ("sawahlbr") has at least this many letters.
JOINED_SHORT_MIN_LEN = 5
VOWELS = frozenset("aiueo")
# An area's joined name after these is a tag of it ("#kelbentiring", "#kecselebar").
JOINED_PREFIXES = {"kelurahan": ("kel", "kelurahan"), "kecamatan": ("kec", "kecamatan")}
# "RT 03 Semarang": a name right after an RT or RW number is an address here.
ADDRESS_WORDS = frozenset({"rt", "rw"})
# Where the writer lives rather than where the problem is: "saya tinggal di Sawah Lebar, tapi
# ... di Kebun Kenanga". Words right before a name (a pronoun and "di" may come between).
HOME_WORDS = frozenset(
    {"tinggal", "rumah", "ngontrak", "ngekos", "kos", "kost", "domisili", "asal", "orang"}
)
_HOME_GAP = frozenset({"di", "saya", "aku", "kami", "kita", "gue", "ortu", "kakak", "adik"})
HOME_FACTOR = 0.9


@dataclass(frozen=True)
class Area:
    name: str
    level: str
    kecamatan: str  # its own name for a kecamatan
    forms: tuple[tuple[str, ...], ...]
    needs_context: str = ""  # "", "word" or "city"
    # forms matched as written only (no typos, no shortened word): aliases the lexicon
    # rewrote, whose expansion is an ordinary word ("Pd. Jati" reads "pada jati")
    exact_forms: frozenset[tuple[str, ...]] = frozenset()
    not_preceded_by: frozenset[str] = frozenset()
    not_followed_by: frozenset[str] = frozenset()
    # forms whose every word the lexicon translated into an ordinary one ("Banyu Urip" reads
    # "air hidup", the water coming back on), and those written as one word: a place only with
    # evidence
    plain_forms: frozenset[tuple[str, ...]] = frozenset()


@dataclass(frozen=True)
class AreaMatch:
    kecamatan: str | None = None
    kelurahan: str | None = None
    confidence: float = 0.0
    evidence: str | None = None
    ambiguous: bool = False
    # no area of the city, but a place outside it is named (as elsewhere.csv writes it): the
    # complaint may be another government's to answer
    outside: str | None = None

    @property
    def found(self) -> bool:
        return self.kecamatan is not None


NO_AREA = AreaMatch()


@dataclass
class _Hit:
    area: Area
    start: int
    end: int
    score: float
    marker: bool = False
    evidence: str = ""
    context_ok: bool = field(default=True)
    fuzzy: bool = False
    home: bool = False  # after words of where the writer lives (HOME_WORDS)
    vouched: bool = False  # read as a name only because its kecamatan or a kelurahan of it is named
    # the word right before the name, or the marker before whose it is ("kecamatan kami
    # Gubeng"): KECAMATAN_BEFORE or KELURAHAN_BEFORE say which level a shared name is
    word_before: str = ""


# A letter typed for another is a typo when the two keys touch on a QWERTY keyboard or the two
# letters are spelt for one another (vowels; i/y, j/y and dj, f/p/v, k/c/q/g, b/p, d/t, s/z, u/w):
# "sawah lebsr", "kebun kenango", "sukarami" as "sukadami". Other letters make another word or
# another city's name ("simomulyo", "sumberdaya"), not a typo of this one.
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_AT = {
    key: (row, col + (0.0, 0.25, 0.75)[row])
    for row, keys in enumerate(_KEY_ROWS)
    for col, key in enumerate(keys)
}
_SPELT_ALIKE = ("aiueo", "iy", "jy", "fpv", "kcqg", "bp", "dt", "sz", "uw")


def _slip(written: str, meant: str) -> bool:
    """Whether `written` typed in place of `meant` is a plausible typo."""
    if any(written in group and meant in group for group in _SPELT_ALIKE):
        return True
    a, b = _KEY_AT.get(written), _KEY_AT.get(meant)
    if a is None or b is None:
        return False
    rows, cols = abs(a[0] - b[0]), abs(a[1] - b[1])
    return (rows == 0 and cols == 1) or (rows == 1 and cols <= 0.75)


def _swapped(written: str, meant: str, *word_starts: Container[int]) -> bool:
    """Whether `written` is `meant` with two neighbouring letters swapped and nothing else
    ("sawahlebarbrau"): one slip of the fingers, though two letters differ. Not where one of
    them is the first letter of a word (`word_starts`: of each, where its words start): "tambak
    asri" is Tambak Asri, another place than Tambaksari, "penjaringan asri" than Penjaringan
    Sari."""
    if len(written) != len(meant):
        return False
    differ = [i for i, (a, b) in enumerate(zip(written, meant, strict=True)) if a != b]
    if len(differ) != 2:
        return False
    i, j = differ
    return (
        j == i + 1
        and written[i] == meant[j]
        and written[j] == meant[i]
        and not any(i in starts or j in starts for starts in word_starts)
    )


def _word_starts(words: Sequence[str]) -> frozenset[int]:
    """Where each of `words` starts in the words joined: (0, 6, 11) for "sawah lebar baru"."""
    return frozenset(itertools.accumulate((len(w) for w in words[:-1]), initial=0))


_BONE = operator.itemgetter(0)
_JOINS = operator.itemgetter(1)
_ODD = operator.itemgetter(2)


def _neighbour_bones(token: str, split: tuple[str, ...]) -> set[str]:
    """The skeletons the word beside a split one may give the name: its own, and where it is
    split too ("diKampung Kelawitidak"), that of the name's word in it."""
    bones = {skeleton(_tail_squeezed(token))}
    if split:
        bones.add(skeleton(split[-1] if split[0] in _JOINED_WORDS else split[0]))
    return bones


def _tail_squeezed(token: str) -> str:
    """`token` without the second of two equal last letters ("jitraa", "belerr"): a key held a
    moment too long."""
    return token[:-1] if len(token) > 3 and token[-1] == token[-2] else token


def _abbreviates(short: str, word: str) -> bool:
    """`short` has the letters of `word` shortened: its first letter, then two to five of its
    letters in all, in order (whether `short` is a word of its own is the caller's check)."""
    if not ABBREVIATED_MIN_LEN <= len(short) <= ABBREVIATED_MAX_LEN:
        return False
    if len(short) >= len(word) or short[0] != word[0]:
        return False
    if len(short) == 2 and any(letter in VOWELS for letter in short):
        return False  # "ps", "kb" shorten; "an", "ka" are a suffix or a particle ("jawab an")
    rest = iter(word[1:])
    return all(letter in rest for letter in short[1:])


# The letters of a name or alias as written, to tell whether normalising rewrote it.
_WRITTEN_RE = re.compile(r"[a-z0-9]+")


def _owned_after(tokens: list[str], start: int, words: frozenset[str]) -> bool:
    """Whether the name at `start` follows whose it is, right after one of `words`
    ("kelurahan kami Semarang", "rumah saya Jembatan Kecil")."""
    return start > 1 and tokens[start - 1] in OWNERS and tokens[start - 2] in words


def _overlaps_in_part(hit: _Hit, others: Sequence[_Hit]) -> bool:
    """Whether `hit` shares some tokens with one of `others` without either holding the other."""
    return any(
        o.start < hit.end
        and hit.start < o.end
        and not (hit.start <= o.start and o.end <= hit.end)
        and not (o.start <= hit.start and hit.end <= o.end)
        for o in others
    )


def _form_tokens(text: str) -> tuple[str, ...]:
    return tuple(normalise_text(text, known_words=frozenset(), formal_words=False).split())


def _read_areas(path: Path) -> list[Area]:
    """The areas of an areas CSV, checked."""
    areas: list[Area] = []
    seen: set[tuple[str, str]] = set()
    kecamatan: set[str] = set()
    pending: list[tuple[int, dict[str, str]]] = []
    for number, row in read_rows(path, ("level", "name", "kecamatan")):
        level, name = row["level"], row["name"]
        if level not in LEVELS:
            raise DataFileError(path, number, f"level must be one of {LEVELS}, got {level!r}")
        if not name:
            raise DataFileError(path, number, "empty name")
        if (level, name.lower()) in seen:
            raise DataFileError(path, number, f"duplicate {level} {name!r}")
        seen.add((level, name.lower()))
        if level == "kecamatan":
            kecamatan.add(name)
        pending.append((number, row))
    for number, row in pending:
        level, name = row["level"], row["name"]
        parent = name if level == "kecamatan" else row["kecamatan"]
        if level == "kelurahan" and parent not in kecamatan:
            raise DataFileError(path, number, f"unknown kecamatan {parent!r} for {name!r}")
        aliases = [a.strip() for a in row.get("aliases", "").split("|") if a.strip()]
        forms: list[tuple[str, ...]] = []
        exact: set[tuple[str, ...]] = set()
        plain: set[tuple[str, ...]] = set()
        for text in [name, *aliases]:
            tokens = _form_tokens(text)
            if not tokens:
                raise DataFileError(path, number, f"name or alias {text!r} has no letters")
            words = _WRITTEN_RE.findall(text.lower())
            written = "".join(words)
            rewritten = "".join(tokens) != written
            # every word of it translated into an ordinary word: the name is gone ("Banyu
            # Urip" reads "air hidup"); "Pd. Jati" keeps a word of its own
            ordinary = (
                len(tokens) > 1
                and all(_form_tokens(w) != (w,) for w in words)
                and all(t in dictionary_words() for t in tokens)
            )
            for form in (tokens, ("".join(tokens),)):
                if form not in forms:
                    forms.append(form)
                    if rewritten:
                        exact.add(form)
                    if ordinary:
                        plain.add(form)
            # ...and the name as written in one word, which the lexicon leaves alone
            # ("banyuurip", where "banyu urip" reads "air hidup"), matched as written too
            one_word = _form_tokens(written) if rewritten else ()
            if len(one_word) == 1 and one_word not in forms:
                forms.append(one_word)
                exact.add(one_word)
        needs = row.get("needs_context", "").lower()
        if needs not in CONTEXT_KINDS:
            raise DataFileError(
                path,
                number,
                f"needs_context must be empty, 'no', 'word' or 'city', got {needs!r}",
            )
        if not needs and len(forms[0]) == 1 and forms[0][0] in dictionary_words():
            needs = "city"
        if needs == "no":
            needs = ""
        not_preceded_by, not_followed_by = (
            frozenset(_form_tokens(w)[-1] for w in row.get(col, "").split("|") if w.strip())
            for col in ("not_preceded_by", "not_followed_by")
        )
        areas.append(
            Area(
                name,
                level,
                parent,
                tuple(forms),
                needs,
                frozenset(exact),
                not_preceded_by,
                not_followed_by,
                frozenset(plain),
            )
        )
    if not kecamatan:
        raise DataFileError(path, None, "no kecamatan rows")
    return areas


def _read_elsewhere(path: Path, areas: Sequence[Area]) -> dict[tuple[str, ...], str]:
    """The names of a file of places outside the city, as word sequences (to the name as the
    file writes it). A name may not begin
    or end one of the city's own names ("Padang" beside "Padang Harapan"): a list of the city's
    places ("Kebun Beler, Padang Harapan") would read as one place qualified by another."""
    own = [form for area in areas for form in area.forms]
    names: dict[tuple[str, ...], str] = {}
    for number, row in read_rows(path, ("name",)):
        tokens = _form_tokens(row["name"])
        if not tokens:
            raise DataFileError(path, number, f"name {row['name']!r} has no letters")
        clash = next(
            (f for f in own if f[: len(tokens)] == tokens or f[-len(tokens) :] == tokens), None
        )
        if clash is not None:
            raise DataFileError(
                path,
                number,
                f"{row['name']!r} begins or ends this city's own name {' '.join(clash)!r} "
                "(areas.csv); leave it out",
            )
        names.setdefault(tokens, row["name"])
    return names


def _elsewhere_only_in_passing(tokens: Sequence[str], i: int) -> bool:
    """Whether the place outside the city at `tokens[i]` is where the writer comes from or goes
    to, or where a relative lives, rather than where the problem is (OUTSIDE_NOT_AFTER)."""
    before = i
    while before and tokens[before - 1] in CITY_BEFORE:  # "dari kab. Seluma"
        before -= 1
    if before and tokens[before - 1] in OUTSIDE_NOT_AFTER:
        # but the road to another regency is that road ("jalan lintas ke Kepahiang longsor")
        return not (
            tokens[before - 1] == "ke"
            and not ROAD_WORDS.isdisjoint(tokens[max(0, before - 3) : before - 1])
        )
    return (
        before > 1
        and tokens[before - 1] == "di"
        and not KIN_WORDS.isdisjoint(tokens[max(0, before - 4) : before - 1])
    )


def _after_address_number(tokens: Sequence[str], start: int, before: str) -> bool:
    """Whether the name at `start` follows an RT/RW number ("RT 03 Semarang")."""
    return before == NUMBER_TOKEN and start > 1 and tokens[start - 2] in ADDRESS_WORDS


def _names_a_street(tokens: Sequence[str], start: int) -> bool:
    """The name at `tokens[start]` is part of a street's or a building's name."""
    before = tokens[start - 1] if start > 0 else ""
    if before in STREET_BEFORE or before in NAMED_AFTER_BEFORE:
        return True
    if before != MAIN_ROAD:
        return False
    opener = tokens[start - 2] if start > 1 else ""
    return opener in STREET_BEFORE or opener in PLACE_BEFORE or not opener


class Gazetteer:
    """The areas of one city, read from an areas CSV (level, name, kecamatan, aliases,
    needs_context)."""

    def __init__(
        self, areas: Iterable[Area], elsewhere: Mapping[tuple[str, ...], str] | None = None
    ) -> None:
        self.areas = list(areas)
        # places outside the city (normalised word sequences, to their written names): they
        # qualify a name beside them, and a post naming one and none of the city's is flagged
        self._elsewhere = dict(elsewhere or {})
        self._elsewhere_lengths = sorted({len(e) for e in self._elsewhere})
        # by first word, the lengths of the names it begins, longest first
        self._elsewhere_by_first: dict[str, list[int]] = {}
        for tokens in self._elsewhere:
            self._elsewhere_by_first.setdefault(tokens[0], []).append(len(tokens))
        for sizes in self._elsewhere_by_first.values():
            sizes.sort(reverse=True)
        self._exact: dict[tuple[str, ...], list[Area]] = {}
        self._joined: dict[str, Area] = {}
        # where each word of a joined name starts: a swap of letters may not touch a first one
        self._word_starts: dict[str, frozenset[int]] = {}
        # a form with a word of two letters ("ps bengkulu"), and that form written as one word,
        # is matched as written only: one edit to the short word makes another word ("pos
        # bengkulu", the post office)
        abbreviated = {
            "".join(form)
            for area in self.areas
            for form in area.forms
            if min(map(len, form)) <= SHORTEST_FUZZY_WORD
        }
        for area in self.areas:
            for form in area.forms:
                bucket = self._exact.setdefault(form, [])
                if area not in bucket:
                    bucket.append(area)
                joined = "".join(form)
                if (
                    len(joined) >= MARKED_FUZZY_MIN_LEN
                    and form not in area.exact_forms
                    and joined not in abbreviated
                ):
                    self._joined.setdefault(joined, area)
                    self._word_starts.setdefault(joined, _word_starts(form))
        # typo candidates by first letter, shortest first (as listed within a length): a window
        # is compared with them in one C-level scan, which drops a name whose length is more
        # than two away before comparing it
        self._fuzzy_names: dict[str, list[str]] = {}
        # first letter -> the lengths a query may have to be compared with a name (+-2): of
        # the names any window may be a typo of, and of all, for a window after a marker
        self._near_lengths: dict[str, set[int]] = {}
        self._near_lengths_marked: dict[str, set[int]] = {}
        # the beginnings of those names by first letter: a window is within two edits of a name
        # only if its first word is within two edits of one of them (the edits on that word's
        # letters are some of the window's), so a word that is not (most words) starts none
        self._name_starts: dict[str, list[str]] = {}
        for key in sorted(self._joined, key=len):
            self._fuzzy_names.setdefault(key[0], []).append(key)
            self._name_starts.setdefault(key[0], []).extend(key[:k] for k in range(1, len(key) + 1))
            near = range(len(key) - 2, len(key) + 3)
            self._near_lengths_marked.setdefault(key[0], set()).update(near)
            if len(key) >= FUZZY_MIN_LEN:
                self._near_lengths.setdefault(key[0], set()).update(near)
        self._name_starts = {c: list(dict.fromkeys(v)) for c, v in self._name_starts.items()}
        # "#kelbentiring": the joined name after a marker, read as the marker and the name
        self._marked: set[tuple[str, ...]] = set()
        for area in self.areas:
            joined = "".join(area.forms[0])
            for prefix in JOINED_PREFIXES.get(area.level, ()):
                form = (prefix + joined,)
                if form not in self._exact:
                    self._exact[form] = [area]
                    self._marked.add(form)
        # names of several words by each word left out: the words with "" in its place -> the
        # areas and the word left out, for a name with one word shortened ("kbn tebeng")
        # words written in full: the dictionary's roots, the words the slang lexicon writes
        # ("ke", "di", "nya", "ya": no roots), the glue words; none shortens a name's word
        self._words = (
            dictionary_words()
            | frozenset(w for form in load_lexicon().values() for w in form.split())
            | _GLUE
        )
        self._partial: dict[tuple[str, ...], list[tuple[Area, str]]] = {}
        for area in self.areas:
            for form in area.forms:
                if len(form) < 2 or form in area.exact_forms:
                    continue
                for k, word in enumerate(form):
                    partial = (*form[:k], "", *form[k + 1 :])
                    self._partial.setdefault(partial, []).append((area, word))
        self._name_words = sorted({w for partial in self._partial for w in partial if w})
        # the same names written as one word ("sawahlbr", "kbntebeng"): the words before the
        # shortened one, joined ("" when it is the first) -> the areas, the word shortened and
        # the words after it, joined
        self._joined_partial: dict[str, list[tuple[Area, str, str]]] = {}
        for partial, entries in self._partial.items():
            k = partial.index("")
            head, tail = "".join(partial[:k]), "".join(partial[k + 1 :])
            for area, word in entries:
                self._joined_partial.setdefault(head, []).append((area, word, tail))
        # the names by the skeletons of their words (`skeleton`: the first letter and the
        # consonants), for names written with vowels left out
        self._skeletons: dict[tuple[str, ...], list[tuple[Area, tuple[str, ...]]]] = {}
        for area in self.areas:
            for form in area.forms:
                if form in area.exact_forms or min(map(len, form)) <= SHORTEST_FUZZY_WORD:
                    continue
                named = self._skeletons.setdefault(tuple(map(skeleton, form)), [])
                if (area, form) not in named:
                    named.append((area, form))
        # a name's first word's skeleton -> the numbers of words of the names it begins
        self._skeleton_sizes: dict[str, list[int]] = {}
        for bones in self._skeletons:
            counts = self._skeleton_sizes.setdefault(bones[0], [])
            if len(bones) not in counts:
                counts.append(len(bones))
        self._skeleton_words = frozenset(bone for bones in self._skeletons for bone in bones)
        self._joined_short = BoundedWordCache(self._joined_short_areas, FUZZY_CACHE_SIZE)
        # whether a written word shortens any word of a name: computed once per word
        self._shortens = BoundedWordCache(self._shortens_a_name_word, FUZZY_CACHE_SIZE)
        self._first_tokens = frozenset(form[0] for form in self._exact)
        # the words a word of `JOINED_BEFORE` may be written onto: a name of one word that is no
        # ordinary word ("dikandang" is in the pen, the kelurahan only as "di Kandang" is), or
        # the first word of a name of several words, when a skeleton of one of the words that
        # follow it in a name follows it in the post (`skeleton`: "dikebun tbng" too)
        self._joinable = frozenset(
            form[0]
            for area in self.areas
            for form in area.forms
            if len(form) == 1 and not area.needs_context
        )
        self._next_bones: dict[str, set[str]] = {}
        # ...and a word written onto the name after it (`SPLIT_AFTER_MIN_LEN`): a name of one
        # word so, or a name's last word after a skeleton of the word before it in the name
        # ("sawah LEBARMATI")
        self._previous_bones: dict[str, set[str]] = {}
        for form in self._exact:
            if len(form) > 1:
                self._next_bones.setdefault(form[0], set()).add(skeleton(form[1]))
                self._previous_bones.setdefault(form[-1], set()).add(skeleton(form[-2]))
        self._name_ends = self._joinable | frozenset(self._previous_bones)
        self._slang = frozenset(w for w in load_lexicon() if " " not in w)
        # a written word's skeleton ("" where it is no name word's, as for most words) and the
        # words it joins (`_unjoin`; () for most words): computed once per word
        self._word_parts = BoundedWordCache(self._parts_of, FUZZY_CACHE_SIZE)
        self.kecamatan_names = [a.name for a in self.areas if a.level == "kecamatan"]
        self.kelurahan_of = {a.name: a.kecamatan for a in self.areas if a.level == "kelurahan"}
        # the names a written word is a typo of depend on the word alone: computed once per word
        self._typos_of = BoundedWordCache(self._typo_keys, FUZZY_CACHE_SIZE)
        self._may_start_name = BoundedWordCache(self._starts_a_name, FUZZY_CACHE_SIZE)

    @classmethod
    def from_csv(cls, path: Path, elsewhere_path: Path | None = None) -> Gazetteer:
        """The areas of `path`; with `elsewhere_path` (a CSV with a `name` column), the places
        outside the city whose name beside one of its names makes that name theirs."""
        areas = _read_areas(path)
        if elsewhere_path is None:
            return cls(areas)
        return cls(areas, _read_elsewhere(elsewhere_path, areas))

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Gazetteer:
        """A city's `areas.csv`, with `elsewhere.csv` beside it if there is one."""
        elsewhere = data_dir / "elsewhere.csv"
        return cls.from_csv(data_dir / "areas.csv", elsewhere if elsewhere.is_file() else None)

    # -- matching --------------------------------------------------------------------------

    def _exact_hits(self, tokens: list[str]) -> list[_Hit]:
        hits: list[_Hit] = []
        for i in range(len(tokens)):
            if tokens[i] not in self._first_tokens:
                continue
            for size in range(min(MAX_NAME_TOKENS, len(tokens) - i), 0, -1):
                for area in self._exact.get(tuple(tokens[i : i + size]), ()):
                    hits.append(_Hit(area, i, i + size, 0.9))
        return hits

    def _shortens_a_name_word(self, token: str) -> bool:
        """A written word that may be a name's word shortened: no placeholder, no word of its
        own, and the letters of one."""
        if token[0] == "_" or token in self._words:
            return False
        return any(_abbreviates(token, word) for word in self._name_words)

    def _shortened_hits(self, tokens: list[str], exact: set[tuple[int, int]]) -> list[_Hit]:
        """Names of several words with one word shortened ("kbn tebeng", "jemb kecil"): a
        window whose other words are the name's own, and whose one word `_abbreviates` it."""
        hits: list[_Hit] = []
        n = len(tokens)
        # the length check first keeps the bounded cache for words that could be short forms
        short = [
            ABBREVIATED_MIN_LEN <= len(t) <= ABBREVIATED_MAX_LEN and self._shortens(t)
            for t in tokens
        ]
        for j in (j for j in range(n) if short[j]):
            for size in range(2, min(MAX_NAME_TOKENS, n) + 1):
                for i in range(max(0, j - size + 1), min(j, n - size) + 1):
                    if (i, i + size) in exact:
                        continue
                    k = j - i
                    window = tokens[i : i + size]
                    for area, word in self._partial.get((*window[:k], "", *window[k + 1 :]), ()):
                        if _abbreviates(window[k], word):
                            hits.append(_Hit(area, i, i + size, ABBREVIATED_SCORE))
        return hits

    def _initial_hits(self, tokens: list[str], exact: set[tuple[int, int]]) -> list[_Hit]:
        """Right after "kelurahan"/"kecamatan"/"desa", a name of several words whose first word
        is cut to its initial and the others are written in full ("kel. P. Harapan", "kec.
        S. Pati"), when only one area reads so. Without the marker a lone letter says too
        little ("p" is "pak" as often as "Padang")."""
        hits: list[_Hit] = []
        n = len(tokens)
        for i in range(1, n - 1):
            initial = tokens[i]
            if len(initial) != 1 or not initial.isalpha() or tokens[i - 1] not in FUZZY_MARKERS:
                continue
            for size in range(min(MAX_NAME_TOKENS, n - i), 1, -1):
                if (i, i + size) in exact:
                    break
                entries = self._partial.get(("", *tokens[i + 1 : i + size]), ())
                areas = {area for area, word in entries if word[0] == initial}
                if len(areas) == 1:
                    hits.append(_Hit(areas.pop(), i, i + size, ABBREVIATED_SCORE))
                    break
        return hits

    def _joined_short_areas(self, token: str) -> tuple[Area, ...]:
        """The names of several words `token` writes as one word with one of them shortened
        ("sawahlbr": Sawah Lebar, "pgrdewa": Pagar Dewa): the others in full, around a short
        form that `_abbreviates` the word. Not for a word ("ratusan", hundreds, is no "ratu
        samban"), nor for a word with one letter dropped, added or changed ("kmbali" is
        "kembali", not Kampung Bali), nor for a token with digits or a placeholder ("_url_").
        The caller has left out the words of `self._words` already."""
        if len(token) < JOINED_SHORT_MIN_LEN or not token.isalpha():
            return ()
        found: list[Area] = []
        for cut in range(len(token) - ABBREVIATED_MIN_LEN + 1):
            for area, word, tail in self._joined_partial.get(token[:cut], ()):
                end = len(token) - len(tail)
                if (
                    area not in found
                    and token.endswith(tail)
                    and end > cut
                    and _abbreviates(token[cut:end], word)
                ):
                    found.append(area)
        if found and (is_indonesian_word(token) or self._near_a_word(token)):
            return ()
        return tuple(found)

    @staticmethod
    def _near_a_word(token: str) -> bool:
        """Whether a dictionary word is one edit from `token` (a typo of it, not a name)."""
        return (
            process.extractOne(
                token, dictionary_words(), scorer=Levenshtein.distance, score_cutoff=1
            )
            is not None
        )

    def _joined_shortened_hits(self, tokens: list[str], spans: set[tuple[int, int]]) -> list[_Hit]:
        """One-token names written joined with a word shortened (`_joined_short_areas`)."""
        hits: list[_Hit] = []
        # most tokens are words: one set difference leaves the few that may be such a name
        for token in set(tokens).difference(self._words):
            areas = self._joined_short(token)
            if not areas:
                continue
            for i in (i for i, t in enumerate(tokens) if t == token and (i, i + 1) not in spans):
                hits.extend(_Hit(area, i, i + 1, ABBREVIATED_SCORE) for area in areas)
        hits.sort(key=lambda h: h.start)  # in the order of the text, as the other hits
        return hits

    def _vowelless_hits(
        self, tokens: list[str], bones: list[str], spans: set[tuple[int, int]]
    ) -> list[_Hit]:
        """Names whose words are written with vowels left out (VOWELLESS_SCORE, above): a
        window whose words have the skeletons (`bones`, by `_parts_of`) of a name's words, each
        its word or that word `spells_without_vowels`, one at least not as the name writes it."""
        hits: list[_Hit] = []
        sizes_of = self._skeleton_sizes
        n = len(tokens)
        for i in [i for i, bone in enumerate(bones) if bone in sizes_of]:
            for size in sizes_of[bones[i]]:
                if i + size > n or (i, i + size) in spans:
                    continue
                for area, form in self._skeletons.get(tuple(bones[i : i + size]), ()):
                    written = tokens[i : i + size]
                    if self._spells_name([_tail_squeezed(t) for t in written], written, form):
                        hits.append(_Hit(area, i, i + size, VOWELLESS_SCORE, fuzzy=True))
        return hits

    @functools.cached_property
    def _words_by_skeleton(self) -> dict[str, list[str]]:
        """The dictionary's words by skeleton, for the skeletons of one-word names only ("anggt"
        is "anggota", a member, as well as Anggut): built when a post first needs it."""
        single = {bones[0] for bones in self._skeletons if len(bones) == 1}
        found: dict[str, list[str]] = {}
        for word in dictionary_words():
            bone = skeleton(word)
            if bone in single:
                found.setdefault(bone, []).append(word)
        return found

    def _parts_of(self, token: str) -> tuple[str, tuple[str, ...], bool]:
        """The skeleton of `token` with a doubled last letter squeezed ("" when that is no
        skeleton of a name's word), the words `_unjoin` reads it as (() for itself), and
        whether it may be a name's word with vowels left out (a skeleton of one, and no word of
        its own): a post with none such has no name so written."""
        if not token.isalpha():
            return "", (), False
        bone = skeleton(_tail_squeezed(token))
        if bone not in self._skeleton_words:
            bone = ""
        return bone, self._unjoin(token), bool(bone) and token not in self._words

    def _spells_name(self, window: list[str], tokens: list[str], form: tuple[str, ...]) -> bool:
        """Whether the words of `window` (`tokens` with a doubled last letter squeezed) write
        the name `form` with vowels left out: each word as the name writes it or spelling it
        without some vowels, and no word of the language (`self._words`); a name of one word is
        held to VOWELLESS_NAME_MIN_LEN and VOWELLESS_NAME_MAX_DROPPED, and read so only from a
        word that neither is an Indonesian word nor spells one without vowels."""
        if tuple(tokens) == form:
            return False  # written exactly: an exact hit's, or none where the data says so
        for word, token, name_word in zip(window, tokens, form, strict=True):
            if word == name_word and token == word:
                continue
            if token in self._words or not (
                word == name_word or spells_without_vowels(word, name_word)
            ):
                return False
        if len(form) == 1:
            word = window[0]
            return (
                len(word) >= VOWELLESS_NAME_MIN_LEN
                and len(form[0]) - len(word) <= VOWELLESS_NAME_MAX_DROPPED
                and not is_indonesian_word(tokens[0])
                and not any(
                    spells_without_vowels(word, other)
                    for other in self._words_by_skeleton.get(skeleton(word), ())
                )
            )
        return True

    def _fuzzy_hits(self, tokens: list[str], exact: set[tuple[int, int]]) -> list[_Hit]:
        """Windows of one to three tokens whose joined form is one or two edits from a name
        (of `FUZZY_MIN_LEN` letters or more, or of `MARKED_FUZZY_MIN_LEN` right after a marker).

        A window never holds a marker or a placeholder token nor starts or ends with a glue
        word, and is only compared when a name of its first letter has a length near its own and
        the window's first word is near the beginning of such a name (`_starts_a_name`).
        """
        hits: list[_Hit] = []
        n = len(tokens)
        bad = [t in MARKERS or t.startswith("_") for t in tokens]
        glue = [t in _GLUE for t in tokens]
        # most words begin no name: one C-level pass over the cache finds the few that may
        starts = self._may_start_name.many(tokens)
        for i in itertools.compress(range(n), starts):
            if bad[i] or glue[i]:
                continue
            marked = i > 0 and tokens[i - 1] in FUZZY_MARKERS
            near = self._near_lengths_marked if marked else self._near_lengths
            lengths = near.get(tokens[i][0])
            if lengths is None:
                continue
            shortest = MARKED_FUZZY_MIN_LEN - 1 if marked else FUZZY_MIN_LEN
            total = 0
            for j in range(i, min(i + 3, n)):
                if bad[j]:
                    break  # so is every longer window from i
                total += len(tokens[j])
                if glue[j] or total < shortest or (i, j + 1) in exact:
                    continue
                if total not in lengths:
                    continue
                keys = self._typos_of(" ".join(tokens[i : j + 1]))
                if keys and not marked:
                    keys = tuple(k for k in keys if len(k) >= FUZZY_MIN_LEN)
                if not keys or (j == i and self._ordinary(tokens[i], marked)):
                    continue
                for key in keys:
                    hits.append(_Hit(self._joined[key], i, j + 1, 0.75, fuzzy=True))
        return hits

    def _ordinary(self, token: str, marked: bool) -> bool:
        """Whether a word is an ordinary one rather than a mistyped name: a word of the
        language, or right after a marker only a word written in full (a root, a slang word,
        a glue word), since a derived form there ("semaran" as se- + "maran") is the name."""
        return token in self._words if marked else is_indonesian_word(token)

    @staticmethod
    def _swallows_exact(fuzzy: _Hit, exact: list[_Hit], tokens: list[str]) -> bool:
        """Whether a typo hit covers an exact name and is the weaker reading of its window.

        It is when it names the same area ("lidah kulon i": the name and a stray token), or when
        its name begins (ends) with the words of the exact name and the words the window adds
        are all ordinary words: "sawah lebar bau" is Sawah Lebar and "bau", not a typo of Sawah
        Lebar Baru, while "sawah lebar brau" is one. A name that lies inside a word of the longer
        name ("roma kalisari" for Romokalisari, holding Kalisari) keeps the typo hit.
        """
        # Root words only: Sastrawi reads "permi" (Rawa Makmur Permai) as per- + "mi".
        words = dictionary_words()
        for e in exact:
            if not (fuzzy.start <= e.start and e.end <= fuzzy.end):
                continue
            if e.area is fuzzy.area:
                return True
            if e.area.level == "kecamatan" and fuzzy.area.kecamatan == e.area.name:
                # the typo names a kelurahan of the kecamatan written exactly ("anggut bawa" for
                # Anggut Bawah, "anggut" being Ratu Samban's): it narrows the place, never moves it
                continue
            written = "".join(tokens[e.start : e.end])
            # the name cut between two of its words, as (head, tail) spelled without spaces
            cuts = [
                ("".join(f[:k]), "".join(f[k:])) for f in fuzzy.area.forms for k in range(1, len(f))
            ]
            if e.start == fuzzy.start:
                added = tokens[e.end : fuzzy.end]
                rests = {tail for head, tail in cuts if head == written}
            elif e.end == fuzzy.end:
                added = tokens[fuzzy.start : e.start]
                rests = {head for head, tail in cuts if tail == written}
            else:
                continue
            # the added words are the rest of the name, only spaced otherwise: no typo at all
            if rests and "".join(added) not in rests and all(t in words for t in added):
                return True
        return False

    def _starts_a_name(self, word: str) -> bool:
        """Whether `word` is within two edits of the beginning of a name of its first letter
        (a window it starts may then be a typo of that name)."""
        starts = self._name_starts.get(word[0], ())
        found = process.extractOne(word, starts, scorer=Levenshtein.distance, score_cutoff=2)
        return found is not None

    def _typo_keys(self, window: str) -> tuple[str, ...]:
        """The joined names the words of `window`, joined, are within the allowed edit distance
        of, or a swap of two letters from (`_swapped`, not at a word's first letter in either)."""
        words = window.split()
        query = "".join(words)
        query_starts: frozenset[int] | None = None
        keys = []
        names = self._fuzzy_names.get(query[0], ())
        # a swap of two letters is two edits: a name further away than that is neither
        near = process.extract(
            query, names, scorer=Levenshtein.distance, score_cutoff=2, limit=None
        )
        # in the order of `names` (by length, then as listed), not by distance
        for key, d, _ in sorted(near, key=lambda found: found[2]):
            if query_starts is None:
                query_starts = _word_starts(words)
            limit = 2 if len(key) >= FUZZY_LONG_LEN else 1
            if _swapped(query, key, query_starts, self._word_starts[key]) or (
                d <= limit
                and all(
                    _slip(query[op.src_pos], key[op.dest_pos])
                    for op in Levenshtein.editops(query, key)
                    if op.tag == "replace"
                )
            ):
                keys.append(key)
        return tuple(keys)

    def area_problem(self, kecamatan: str, kelurahan: str) -> str | None:
        """What is wrong with a labeled (kecamatan, kelurahan) pair ("" where none is named) for
        this city's areas, or None: a kecamatan it does not hold, or a kelurahan that is not in
        the kecamatan named."""
        if kecamatan and kecamatan not in self.kecamatan_names:
            return f"unknown kecamatan {kecamatan!r}"
        if kelurahan and self.kelurahan_of.get(kelurahan) != kecamatan:
            return f"kelurahan {kelurahan!r} is not in kecamatan {kecamatan!r}"
        return None

    def resolve(self, normalised: str) -> AreaMatch:
        """The area a post names, with the evidence span and a confidence; NO_AREA if none."""
        tokens = normalised.split()
        if not tokens:
            return NO_AREA
        parts = self._word_parts.many(tokens)
        glued: set[int] = set()
        if any(map(_JOINS, parts)):
            tokens, glued = self._unjoined_tokens(tokens, list(map(_JOINS, parts)))
            parts = self._word_parts.many(tokens)
        bones = list(map(_BONE, parts)) if any(map(_ODD, parts)) else None
        found = self._resolve(tokens, bones, glued)
        if found is not NO_AREA or not self._elsewhere:
            return found
        outside = self._outside(tokens)
        return NO_AREA if outside is None else AreaMatch(outside=outside)

    def _unjoined_tokens(
        self, tokens: list[str], parts: list[tuple[str, ...]]
    ) -> tuple[list[str], set[int]]:
        """`tokens` with each word `_unjoin` splits written apart where the name it holds is a
        name of one word, or a name's first word that the rest of the name follows, or its last
        word after the rest; and where, in the words returned, a name a word was written onto
        ends (`GLUED_SCORE`)."""
        out: list[str] = []
        glued: set[int] = set()
        for i, split in enumerate(parts):
            if not split:
                out.append(tokens[i])
                continue
            before = split[0] in _JOINED_WORDS  # a word written onto the name, which is last
            if before:
                name, beside, near = split[-1], i + 1, self._next_bones.get(split[-1])
            else:  # the name, first, with a word written onto it
                name, beside, near = split[0], i - 1, self._previous_bones.get(split[0])
            if name in self._joinable or (
                near is not None
                and 0 <= beside < len(tokens)
                and not near.isdisjoint(_neighbour_bones(tokens[beside], parts[beside]))
            ):
                if not before:
                    glued.add(len(out))
                out.extend(split)
            else:
                out.append(tokens[i])
        return out, glued

    def _unjoin(self, token: str) -> tuple[str, ...]:
        """`token` as the words it joins when a word of `JOINED_BEFORE` is written onto a
        name of one word or a name's first word ("dikebun" before "geran"), or onto a marker
        so written ("dikelurahanpondok"), or when a word is written onto a name of one word or a
        name's last word ("lebarmati" after "sawah"); else () (`_unjoined_tokens` decides)."""
        if token in self._first_tokens:
            return ()
        for prefix, word in JOINED_BEFORE.items():
            if not token.startswith(prefix) or len(token) - len(prefix) < 3:
                continue
            rest = token[len(prefix) :]
            if rest in self._joinable or rest in self._next_bones:
                return (word, rest)
            for marker in _JOINED_MARKERS:
                tail = rest[len(marker) :]
                if (
                    rest.startswith(marker)
                    and len(tail) >= 3
                    and (tail in self._joinable or tail in self._next_bones)
                ):
                    return (word, JOINED_BEFORE[marker], tail)
        if token in self._words or token in self._slang:
            return ()
        for cut in range(len(token) - SPLIT_AFTER_MIN_LEN, 2, -1):
            name, after = token[:cut], token[cut:]
            if name in self._name_ends and (after in self._words or after in self._slang):
                return () if is_indonesian_word(token) else (name, after)
        return ()

    def _outside(self, tokens: list[str]) -> str | None:
        """The first place outside the city the words name as where the problem is, as
        elsewhere.csv writes it: not a street named after one ("Jl. Riau"), not where the
        writer comes from or goes to ("dari Curup", "ke Palembang") or a relative lives
        ("kakak saya di Curup"), and none in a post that says the problem is here ("di
        sini")."""
        by_first = self._elsewhere_by_first
        # most posts: one pass in C
        if by_first.keys().isdisjoint(tokens) or not HERE_WORDS.isdisjoint(tokens):
            return None
        for i, token in enumerate(tokens):
            sizes = by_first.get(token)
            if sizes is None or _elsewhere_only_in_passing(tokens, i):
                continue
            for size in sizes:
                name = self._elsewhere.get(tuple(tokens[i : i + size]))
                if name is not None:
                    return name
        return None

    def _resolve(self, tokens: list[str], bones: list[str] | None, glued: set[int]) -> AreaMatch:
        hits = self._exact_hits(tokens)
        exact = list(hits)
        spans = {(h.start, h.end) for h in hits}
        hits += self._shortened_hits(tokens, spans)
        hits += self._initial_hits(tokens, spans)
        hits += self._joined_shortened_hits(tokens, spans)
        if bones is not None:  # a word may be a name's with vowels left out
            hits += self._vowelless_hits(tokens, bones, {(h.start, h.end) for h in hits})
        fuzzy = self._fuzzy_hits(tokens, {(h.start, h.end) for h in hits})
        if fuzzy and hits:
            fuzzy = [f for f in fuzzy if not self._swallows_exact(f, hits, tokens)]
        if fuzzy and exact:
            # a typo read across part of a name written exactly is no name: "gang tengah padang
            # mati" is Tengah Padang, not "padang mati" one letter from Padang Jati
            fuzzy = [f for f in fuzzy if not _overlaps_in_part(f, exact)]
        hits += fuzzy
        # A name inside a longer name ("kandang" in "kandang limun") is not a hit of its own.
        hits = [
            h
            for h in hits
            if not any(
                o is not h
                and o.start <= h.start
                and h.end <= o.end
                and (o.end - o.start) > (h.end - h.start)
                for o in hits
            )
        ]
        if not hits:
            return NO_AREA
        for h in hits:
            before = tokens[h.start - 1] if h.start > 0 else ""
            after = tokens[h.end] if h.end < len(tokens) else ""
            marked_before = before in MARKERS
            # "kelurahan kami Semarang": a marker, then whose it is
            owned = _owned_after(tokens, h.start, MARKERS)
            h.marker = (
                marked_before
                or owned
                or (h.end - h.start == 1 and (tokens[h.start],) in self._marked)
            )
            start = h.start - 2 if owned else h.start - 1 if marked_before else h.start
            h.evidence = " ".join(tokens[start : h.end])
            if h.marker:
                h.score = min(0.98, h.score + 0.07)
            h.context_ok = self._has_context(h, tokens, before, after)
            h.home = self._after_home_words(tokens, start)
            h.word_before = tokens[h.start - 2] if owned else before
            # "kelurahan Padang Jati indah nian": after a marker the name is the area's
            if _names_a_street(tokens, h.start) or (after in ESTATE_AFTER and not h.marker):
                h.score = min(h.score, STREET_SCORE)
            if h.end - 1 in glued:
                h.score = min(h.score, GLUED_SCORE)
        # Another place's name beside it: the name is that place's, whatever the context.
        hits = [h for h in hits if not self._beside_elsewhere(tokens, h.start, h.end)]
        # Co-mention: a kelurahan and its kecamatan vouch for each other.
        strong = [h for h in hits if h.context_ok]
        for h in hits:
            if h.context_ok:
                continue
            if any(
                o.area.kecamatan == h.area.kecamatan and o.area.name != h.area.name for o in strong
            ):
                h.context_ok = True
                h.vouched = True
                h.score = min(h.score, 0.85)
        hits = [h for h in hits if h.context_ok]
        if not hits:
            return NO_AREA
        return self._combine(hits)

    def _beside_elsewhere(self, tokens: list[str], start: int, end: int) -> bool:
        """Whether a place outside the city qualifies the name: right after it, a comma between
        them or not, "kota"/"kabupaten"/"provinsi" before it or not ("Sukarami, Palembang",
        "Muaradua OKU Selatan", "Pagar Dewa, Kab. Tulang Bawang Barat"), or right before it
        with nothing between ("Palembang Sukarami"; after a comma or a full stop the name may
        well be this city's again: "baru pulang dari Palembang. Sukarami banjir")."""
        if not self._elsewhere:
            return False
        n = len(tokens)
        after = end + 1 if end < n and tokens[end] == BREAK_TOKEN else end
        while after < n and tokens[after] in CITY_BEFORE:
            after += 1
        for size in self._elsewhere_lengths:
            if tuple(tokens[after : after + size]) in self._elsewhere:
                return True
            if start >= size and tuple(tokens[start - size : start]) in self._elsewhere:
                return True
        return False

    @staticmethod
    def _has_context(hit: _Hit, tokens: list[str], before: str, after: str) -> bool:
        area = hit.area
        if area.needs_context and before in CITY_BEFORE:
            return False  # "kota Surabaya"; a name of its own stays ("taman kota Padang Harapan")
        # "Penurunan, RT 3": an address word after the clause's end counts too
        if after == BREAK_TOKEN and hit.end + 1 < len(tokens):
            address = tokens[hit.end + 1] in ADDRESS_WORDS
        else:
            address = False
        if hit.marker or after in PLACE_AFTER or address:
            return True
        # "puskesmas Jembatan Kecil dari jam 7": the word after it does not make it a bridge
        facility = (
            before in FACILITY_BEFORE and area.needs_context != "city"  # "SMP Surabaya"
        )
        if before in area.not_preceded_by or (after in area.not_followed_by and not facility):
            return False
        if tuple(tokens[hit.start : hit.end]) in area.plain_forms:
            # "air hidup" is the water back on unless a place word, a street's or an address
            # says otherwise ("di Banyu Urip", "jalan Banyu Urip", "RT 3 Banyu Urip"); a marker
            # or the kecamatan already did
            if before == HASHTAG_TOKEN or before in PLACE_BEFORE or before in STREET_BEFORE:
                hit.score = min(hit.score, 0.8)
                return True
            return _after_address_number(tokens, hit.start, before)
        if not area.needs_context:
            return True
        if _after_address_number(tokens, hit.start, before):
            return True  # "RT 03 Semarang"
        matched = tokens[hit.start : hit.end]
        name_tokens = area.forms[0]
        if len(matched) == 1 and len(name_tokens) > 1:
            return True  # a joined name ("pasarbaru") is no ordinary word
        if area.needs_context == "city" or hit.fuzzy:
            return False
        if before == HASHTAG_TOKEN:  # "#lingkarbarat", "#penurunan"
            hit.score = min(hit.score, 0.8)
            return True
        if before in PLACE_BEFORE:
            hit.score = min(hit.score, 0.8)
            return True
        # "komplek kami Lingkar Barat", "rumah saya Jembatan Kecil"; not a one-word name, which
        # is an ordinary word there too ("pagar rumah saya selebar 3 meter")
        if _owned_after(tokens, hit.start, OWNED_PLACES) and len(area.forms[0]) > 1:
            hit.score = min(hit.score, 0.8)
            return True
        # a name that is a clause by itself after a clause of three words or more, as terse
        # reports give the place ("air selokan meluap ke rumah, Penurunan. tolong ..."); not the
        # first clause ("Berkas, KTP, KK ..."), an item of a list ("bawa KTP, KK, berkas, akta")
        # or a name beside a word that makes it an ordinary one ("sudah bawa KTP, berkas")
        if (
            before == BREAK_TOKEN
            and (hit.end == len(tokens) or after == BREAK_TOKEN)
            and hit.start >= 4
            and BREAK_TOKEN not in tokens[hit.start - 4 : hit.start - 1]
            and tokens[hit.start - 2] not in area.not_followed_by
            and tokens[hit.start - 2] not in area.not_preceded_by
        ):
            hit.score = min(hit.score, 0.8)
            return True
        # a name of several words that opens the post or a clause, ends one, or follows an
        # emoji ("... gelap gulita, jln gedang", "Jl. Salak, Lingkar Timur, sudah", "📍 Lingkar
        # Timur")
        if len(name_tokens) > 1 and (
            hit.start == 0
            or hit.end == len(tokens)
            or before in EMOJI_TOKENS
            or before == BREAK_TOKEN
            or after == BREAK_TOKEN
        ):
            hit.score = min(hit.score, 0.8)
            return True
        return False

    @staticmethod
    def _after_home_words(tokens: list[str], start: int) -> bool:
        """Whether the words before `start` say where the writer lives ("tinggal di", "rumah
        saya di", "orang")."""
        k = start - 1
        gap = 0
        while k >= 0 and tokens[k] in _HOME_GAP and gap < 2:
            k -= 1
            gap += 1
        return k >= 0 and tokens[k] in HOME_WORDS

    @staticmethod
    def _best(hits: list[_Hit]) -> _Hit:
        return max(hits, key=lambda h: (h.score, -h.start))

    def _combine(self, hits: list[_Hit]) -> AreaMatch:
        kel = [h for h in hits if h.area.level == "kelurahan"]
        kec = [h for h in hits if h.area.level == "kecamatan"]
        # A name that is a kecamatan's and a kelurahan's, beside another kelurahan, is the
        # kecamatan ("kel. Gunungsari kec. Dukuh Pakis", where Dukuh Pakis is both).
        kec_spans = {(h.start, h.end) for h in kec}
        # (not after the kelurahan's own marker: "kelurahan Wonokromo kecamatan Wonokromo")
        kel = [
            h for h in kel if (h.start, h.end) not in kec_spans or h.word_before in KELURAHAN_BEFORE
        ] or kel
        # ...and so is one right after the kecamatan's word or one of its offices ("kec.
        # Pakal", "Polsek Gubeng"), where the kelurahan of that name would be a guess
        kel = [
            h
            for h in kel
            if (h.start, h.end) not in kec_spans or h.word_before not in KECAMATAN_BEFORE
        ]
        # A word read as a kelurahan only because its kecamatan is named gives way to a
        # kelurahan named with context of its own ("capil minta berkas lagi. Pasar Baru, Teluk
        # Segara": Berkas is the file, Pasar Baru the place).
        kel = [h for h in kel if not h.vouched] or kel
        # Two kelurahan, one where the writer lives: the problem is in the other one. It is
        # still a choice between named places (ambiguous: a person checks it).
        away = [h for h in kel if not h.home]
        if away and len(away) < len(kel) and len({h.area.name for h in kel}) > 1:
            if len({h.area.name for h in away}) == 1:
                best = self._best(away)
                return AreaMatch(
                    best.area.kecamatan,
                    best.area.name,
                    round(best.score * HOME_FACTOR, 3),
                    best.evidence,
                    True,
                )
            kel = away
        if not kel:
            best = self._best(kec)
            distinct = {h.area.name for h in kec}
            ambiguous = len(distinct) > 1
            conf = best.score * (0.6 if ambiguous else 1.0)
            return AreaMatch(best.area.name, None, round(conf, 3), best.evidence, ambiguous)
        best_kel = self._best(kel)
        conf = best_kel.score
        ambiguous = False
        distinct_kel = {h.area.name for h in kel}
        if len(distinct_kel) > 1:
            ambiguous = True
            same_kec = len({h.area.kecamatan for h in kel}) == 1
            conf *= 0.8 if same_kec else 0.6
        if kec:
            agreeing = [h for h in kec if h.area.name == best_kel.area.kecamatan]
            if agreeing and len({h.area.name for h in kec}) == 1:
                conf = min(0.99, conf + 0.05)
                evidence = best_kel.evidence
            else:
                best_kec = self._best(kec)
                if best_kec.area.name != best_kel.area.kecamatan:
                    ambiguous = True
                    if best_kec.score > best_kel.score:
                        return AreaMatch(
                            best_kec.area.name,
                            None,
                            round(best_kec.score * 0.6, 3),
                            best_kec.evidence,
                            True,
                        )
                    conf *= 0.6
                evidence = best_kel.evidence
        else:
            evidence = best_kel.evidence
        return AreaMatch(
            best_kel.area.kecamatan, best_kel.area.name, round(conf, 3), evidence, ambiguous
        )
