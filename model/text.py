"""Indonesian social-media text normalisation.

Turns a raw post into lower-case word tokens: Unicode NFKC, URLs, mentions and numbers to
placeholder tokens, emoji to a token of their mood (`load_emoji_moods`: "😡" -> "_emojimarah_",
"🙃" -> "_emojisindir_", others "_emoji_"), squeezed elongations ("parahhh" -> "parah"), split
hashtags ("#sampahmenumpuk" -> "sampah menumpuk"), the words of mentioned handles after the
post ("@dlhkotabengkulu": the office it tags), a slang/dialect lexicon ("dak" -> "tidak"; also
the English words residents mix in, "garbage" -> "sampah", kind `english`; idioms as one
word, "air mata" -> "airmata", kind `idiom`: tears are not water) whose phrases never span a
comma or a sentence mark, and colloquial word forms made formal (`formal_word`:
"ngumpulin" -> "mengumpulkan", "namonyo" -> "namanya").
The output is what the area resolver reads; stemming comes after it.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Container, Iterable, Set
from functools import cache, lru_cache, partial
from importlib import resources
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

URL_TOKEN = "_url_"
MENTION_TOKEN = "_mention_"
NUMBER_TOKEN = "_angka_"
EMOJI_TOKEN = "_emoji_"
# Before a hashtag's words in the area resolver's text (`normalise_clauses`), never the model's.
HASHTAG_TOKEN = "_tagar_"
# The moods model/resources/emoji.tsv gives emoji; each has its token ("_emojimarah_").
EMOJI_MOODS = ("marah", "sedih", "sindir", "tawa", "doa", "suka")
EMOJI_TOKENS = frozenset({EMOJI_TOKEN, *(f"_emoji{mood}_" for mood in EMOJI_MOODS)})
PLACEHOLDERS = frozenset({URL_TOKEN, MENTION_TOKEN, NUMBER_TOKEN}) | EMOJI_TOKENS
# Characters inside emoji sequences that carry no mood: variation selector, joiner, skin tones.
_EMOJI_MODIFIERS = frozenset("\ufe0f\u200d\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")

# A bare domain starts where a run of [\w.-] starts (not at every \b inside it): one attempt per
# run keeps the match linear ("a.a.a..." x 2,500 took 0.15 s with \b, 0.3 ms without).
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+|(?<![\w.-])[.-]*\w[\w.-]*\.(?:com|id|net|org|ly|co)(?:/\S*)?\b"
)
# Every _URL_RE match holds one of these (keep them in step); most posts hold none and skip it.
_URL_HINT_RE = re.compile(r"://|www\.|\.(?:com|id|net|org|ly|co)")
_MENTION_RE = re.compile(r"@[\w.]+")
# What separates the words of a handle ("@dlh_kota.bengkulu88"): dots, underscores and digits.
_HANDLE_SEPARATOR_RE = re.compile(r"[._\d]+")
_HASHTAG_RE = re.compile(r"#(\w+)")
# Reduplication written with a digit: "anak2" -> "anak anak", "bener2nya" -> "bener benernya".
_REDUP_RE = re.compile(r"\b([a-z]{2,})2([a-z]*)\b")
_NUMBER_RE = re.compile(r"\d+(?:[.,:/]\d+)*")
_ELONGATION_RE = re.compile(r"([a-z])\1{2,}")
# Shouted ones: "tolong!!1!" is "tolong!!!" typed with a slipping shift key, not a number.
_SHOUTED_ONES_RE = re.compile(r"!+1[1!]*")
_EMOJI_RE = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, symbols
    "\u2600-\u27bf"  # misc symbols, dingbats
    "\u2b00-\u2bff"
    "\ufe0f\u200d"
    "]+"
)
_INVISIBLE_RE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_TOKEN_RE = re.compile(r"_[a-z]+_|[a-z0-9]+")
# _NUMBER_RE and _BOUNDARY_RE then _TOKEN_RE in one pass: a number or a run of boundary marks is
# one piece (every character of both ends a token, as the spaces around their tokens do).
_PIECE_RE = re.compile(r"_[a-z]+_|\d+(?:[.,:/]\d+)*|[a-z]+|[,;!?]+")
# Lexicon phrases stop at these: "kampung mati, lampu jalan" holds no "mati lampu" (power cut).
_BOUNDARY_RE = re.compile(r"[,;!?]+")
_BOUNDARY = "_batas_"
_VOWELS = frozenset("aeiou")
_MAX_PHRASE = 3
# Entries of each bounded per-word cache of a fitted normaliser. A cache keeps two generations
# of half this each (`BoundedWordCache`); one generation holds the words of the default corpus
# (18,504 distinct pieces of text, 16,012 distinct words after normalising, 31,812 posts), so
# words already seen are one lookup. At 20,000 (23,212 posts), 40% of the corpus's posts met a
# word from the older generation or none, and a batch of its posts ran 5-8% slower; at 32,000
# (31,812 posts) a generation no longer held the corpus's pieces, and a pass over it kept
# moving words between generations (2.5% slower, both caches holding more entries than at
# 48,000: bench/README.md).
WORD_CACHE_SIZE = 48_000


@cache
def load_lexicon() -> dict[str, str]:
    """The slang, abbreviation and Bengkulu Malay lexicon shipped in model/resources."""
    text = resources.files("model").joinpath("resources/lexicon.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return {row["form"]: row["replacement"] for row in rows}


@cache
def load_emoji_moods() -> dict[str, str]:
    """Emoji -> the token of its mood, from model/resources/emoji.tsv (written here by hand:
    anger, sadness, sarcasm or impatience, laughter, prayer, approval). Emoji not listed read as
    "_emoji_"."""
    text = resources.files("model").joinpath("resources/emoji.tsv").read_text(encoding="utf-8")
    moods: dict[str, str] = {}
    for row in csv.DictReader(text.splitlines(), delimiter="\t"):
        emoji, mood = row["emoji"], row["mood"]
        if len(emoji) != 1 or mood not in EMOJI_MOODS:
            raise ValueError(f"emoji.tsv: {emoji!r} {mood!r} is not one character and a mood")
        moods[emoji] = f"_emoji{mood}_"
    return moods


def _emoji_tokens(moods: dict[str, str], match: re.Match[str]) -> str:
    """A run of emoji as the tokens of its moods, each once, in order ("_emoji_" if none)."""
    tokens = dict.fromkeys(
        moods.get(ch, EMOJI_TOKEN) for ch in match.group(0) if ch not in _EMOJI_MODIFIERS
    )
    if len(tokens) > 1:
        tokens.pop(EMOJI_TOKEN, None)
    return " " + (" ".join(tokens) or EMOJI_TOKEN) + " "


@cache
def dictionary_words() -> frozenset[str]:
    """Sastrawi's Indonesian root-word list, used to split hashtags and undo elongation.

    One set per process: the stemmer's dictionary (`model.stem`) and the fitted normaliser's
    known words are built over these same strings rather than copies of them.
    """
    text = (
        resources.files("Sastrawi.Stemmer")
        .joinpath("data/kata-dasar.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(w.strip() for w in text.split("\n") if len(w.strip()) > 1)


class EitherSet:
    """Membership in either of two sets, without building their union (a table as large as
    both; the root words alone are ~30,000)."""

    __slots__ = ("_first", "_second")

    def __init__(self, first: Set[str], second: Set[str]) -> None:
        self._first = first
        self._second = second

    def __contains__(self, word: object) -> bool:
        return word in self._first or word in self._second


def _squeeze(word: str, known: Container[str]) -> str:
    """Collapse letters repeated three or more times: to one, or to two where that is a word."""
    if not _ELONGATION_RE.search(word):
        return word
    single = _ELONGATION_RE.sub(r"\1", word)
    double = _ELONGATION_RE.sub(r"\1\1", word)
    if single not in known and double in known:
        return double
    return single


def split_joined(word: str, known: Container[str], max_len: int = 40) -> list[str]:
    """Split a joined word ("sampahmenumpuk") into known words with the fewest pieces.

    Returns [word] unchanged when it is a known word itself ("#banjir", "#puskesmas"), when no
    complete split into known words of 2+ letters exists, and when every piece of the best
    split is three letters or fewer: the root-word list holds many short rare roots, and
    "sar kas" or "pus kes mas" are fragments, not what a hashtag says.
    """
    n = len(word)
    if n > max_len or n < 4 or word in known:
        return [word]
    # best[i] = (pieces, -sum of squared lengths, split) for word[:i]
    best: list[tuple[int, int, list[str]] | None] = [None] * (n + 1)
    best[0] = (0, 0, [])
    for end in range(2, n + 1):
        for start in range(max(0, end - 20), end - 1):
            prev = best[start]
            piece = word[start:end]
            if prev is None or piece not in known:
                continue
            cand = (prev[0] + 1, prev[1] - len(piece) ** 2, [*prev[2], piece])
            cur = best[end]
            if cur is None or cand[:2] < cur[:2]:
                best[end] = cand
    final = best[n]
    if final is None or all(len(piece) <= 3 for piece in final[2]):
        return [word]
    return final[2]


def lexicon_phrases(lexicon: dict[str, str]) -> dict[str, tuple[int, ...]]:
    """For each word that starts a lexicon form, the form lengths in words, longest first.

    `_apply_lexicon` then builds only phrases that can match (tokens hold no spaces, so a form
    matches only at its first word and its own length), with the same result as trying every
    length.
    """
    sizes: dict[str, set[int]] = {}
    for form in lexicon:
        words = form.split(" ")
        if len(words) <= _MAX_PHRASE:
            sizes.setdefault(words[0], set()).add(len(words))
    return {word: tuple(sorted(n, reverse=True)) for word, n in sizes.items()}


@cache
def _default_phrases() -> dict[str, tuple[int, ...]]:
    return lexicon_phrases(load_lexicon())


def _apply_lexicon(
    tokens: list[str],
    lexicon: dict[str, str],
    phrases: dict[str, tuple[int, ...]] | None = None,
) -> list[str]:
    if phrases is not None:
        return _apply_lexicon_indexed(tokens, lexicon, phrases)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(min(_MAX_PHRASE, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + size])
            replacement = lexicon.get(phrase)
            if replacement is not None:
                out.extend(replacement.split())
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _lexicon_step(
    tokens: list[str], i: int, lexicon: dict[str, str], phrases: dict[str, tuple[int, ...]]
) -> tuple[list[str], int]:
    """The words `tokens[i]`, and the lexicon phrase it may start, read as, and how many tokens
    that takes: the longest form that matches there, else the token itself."""
    token, left = tokens[i], len(tokens) - i
    for size in phrases.get(token, ()):
        if size > left:
            continue
        replacement = lexicon.get(" ".join(tokens[i : i + size]) if size > 1 else token)
        if replacement is not None:
            return replacement.split(), size
    return [token], 1


def _apply_lexicon_indexed(
    tokens: list[str], lexicon: dict[str, str], phrases: dict[str, tuple[int, ...]]
) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        words, used = _lexicon_step(tokens, i, lexicon, phrases)
        out.extend(words)
        i += used
    return out


def _nasalise(root: str) -> str:
    """The formal meN- form of a root: "ajar" -> "mengajar", "sentuh" -> "menyentuh"."""
    if len(re.findall(r"[aeiou]+", root)) == 1:
        return "menge" + root  # one syllable: "cek" -> "mengecek", "lem" -> "mengelem"
    first = root[0]
    if first in _VOWELS or first in "gh":
        return "meng" + root
    if first == "k":
        return "meng" + root[1:]
    if first == "s":
        return "meny" + root[1:]
    if first == "p":
        return "mem" + root[1:]
    if first == "t":
        return "men" + root[1:]
    if first in "bfv":
        return "mem" + root
    if first in "cdjz":
        return "men" + root
    return "me" + root


def _root(word: str, lexicon: dict[str, str], roots: frozenset[str]) -> str | None:
    """`word` when it is a root word, or its one-word lexicon replacement when that is one."""
    if word in roots:
        return word
    replacement = lexicon.get(word)
    if replacement is not None and replacement in roots:
        return replacement
    return None


def _formal_nasal(body: str, lexicon: dict[str, str], roots: frozenset[str]) -> str | None:
    """The formal meN- verb behind a colloquial nasal one, or None.

    "nge" + root ("ngecek" -> "mengecek"), "ng" + root, or root without its k ("ngajar",
    "ngumpul" -> "mengumpul"), "ny" + root without its s, else its c ("nyerang" -> "menyerang",
    "nyicil" -> "mencicil"), "n" + root without its t ("nolak" -> "menolak").
    """
    candidates: list[str] = []
    if body.startswith("nge"):
        candidates.append(body[3:])
    if body.startswith("ng"):
        candidates += [body[2:], "k" + body[2:]] if body[2:3] in _VOWELS else [body[2:]]
    elif body.startswith("ny") and body[2:3] in _VOWELS:
        candidates += ["s" + body[2:], "c" + body[2:]]
    elif body.startswith("n") and body[1:2] in _VOWELS:
        candidates.append("t" + body[1:])
    for candidate in candidates:
        root = _root(candidate, lexicon, roots) if len(candidate) > 2 else None
        if root is not None:
            return _nasalise(root)
    return None


def formal_word(token: str, lexicon: dict[str, str], roots: frozenset[str] | None = None) -> str:
    """A colloquial word form made formal where the root it hides is a dictionary word.

    Bengkulu Malay -nyo and final -o ("namonyo" -> "namanya", "mato" -> "mata"); Jakartan -in
    ("dijadiin" -> "dijadikan", "cobain" -> "cobakan") and nasal verbs ("ngumpulin" ->
    "mengumpulkan", "nyerang" -> "menyerang", "nolak" -> "menolak"). Words in the dictionary or
    the lexicon, short words and anything that does not lead to a dictionary root stay as they
    are, so names ("ngagel") are left alone.
    """
    roots = dictionary_words() if roots is None else roots
    if len(token) < 4 or token in roots or token in lexicon or not token.isalpha():
        return token
    if token.endswith("nyo") and len(token) > 5:
        base = token[:-3]
        base = _root(base, lexicon, roots) or _root(base[:-1] + "a", lexicon, roots) or base
        return base + "nya" if base in roots else token
    if token.endswith("o") and token[:-1] + "a" in roots:
        return token[:-1] + "a"
    body, suffix = token, ""
    if token.endswith("in") and not (token.startswith("se") and token[2:] in roots):
        body, suffix = token[:-2], "kan"
    if suffix and body.startswith("di"):
        root = _root(body[2:], lexicon, roots)
        if root is not None and len(root) > 2:
            return "di" + root + suffix
    verb = _formal_nasal(body, lexicon, roots)
    if verb is not None:
        return verb + suffix
    if suffix:
        root = _root(body, lexicon, roots)
        if root is not None and len(root) > 3:
            return root + suffix
    return token


def _may_hold_url(text: str) -> bool:
    """False only where `_URL_HINT_RE` cannot match: each of its hints holds one of these."""
    return "://" in text or (
        "." in text
        and (
            "www." in text
            or ".c" in text
            or ".i" in text
            or ".n" in text
            or ".o" in text
            or ".l" in text
        )
    )


def _tag_words(parts: Iterable[str], known: Container[str]) -> list[str]:
    """The words of a hashtag's or a handle's parts: each squeezed and split into known words
    ("sampahmenumpuk" -> "sampah menumpuk")."""
    return [piece for part in parts for piece in split_joined(_squeeze(part, known), known)]


def _handle_words(handles: list[str], known: Container[str]) -> str:
    """The words of mentioned handles, split as hashtags are ("dlh_kotabengkulu" -> "dlh
    kotabengkulu", "DinasPUPR" -> "dinas pupr"): the account a post tags names the office it
    is about."""
    parts = (p for handle in handles for p in _HANDLE_SEPARATOR_RE.split(handle.lower()) if p)
    return " ".join(_tag_words(parts, known))


def _mentions_read(text: str, known: Container[str]) -> str:
    """Each mention as its token, and the words of the handles after the post, behind a comma
    (no lexicon phrase spans it): the post's own words, its opening words included, stay where
    they were."""
    handles: list[str] = []

    def _token(match: re.Match[str]) -> str:
        handles.append(match.group(0)[1:])
        return f" {MENTION_TOKEN} "

    text = _MENTION_RE.sub(_token, text)
    words = _handle_words(handles, known)
    return f"{text} , {words}" if words else text


def _prepare(
    text: str,
    known: Container[str],
    moods: dict[str, str] | None = None,
    mark_hashtags: bool = False,
    mention_words: bool = False,
) -> str:
    """The regular-expression steps of `normalise_text` before numbers and phrase boundaries.

    Each step is skipped when the text cannot hold what it replaces (a plain substring or
    string-flag test instead of a pattern scan); the result is the same either way. With
    `mention_words` the words of the handles follow the post (`_mentions_read`).
    """
    if not text.isascii():  # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text)
    if not text.isprintable():  # every _INVISIBLE_RE character is unprintable
        text = _INVISIBLE_RE.sub(" ", text)
    if "\\" in text:
        text = text.replace("\\n", " ")
    if _may_hold_url(text) and _URL_HINT_RE.search(text):
        text = _URL_RE.sub(f" {URL_TOKEN} ", text)
    if "@" in text:
        if mention_words:
            text = _mentions_read(text, known)
        else:
            text = _MENTION_RE.sub(f" {MENTION_TOKEN} ", text)
    if not text.isascii():  # every _EMOJI_RE character is beyond ASCII
        if moods:
            text = _EMOJI_RE.sub(partial(_emoji_tokens, moods), text)
        else:
            text = _EMOJI_RE.sub(f" {EMOJI_TOKEN} ", text)
    text = text.lower()
    if "!1" in text:
        text = _SHOUTED_ONES_RE.sub("!", text)
    if "#" in text:

        def _hashtag(match: re.Match[str]) -> str:
            words = _tag_words(match.group(1).replace("_", " ").split(), known)
            return (f" {HASHTAG_TOKEN} " if mark_hashtags else " ") + " ".join(words) + " "

        text = _HASHTAG_RE.sub(_hashtag, text)
    if "2" in text:  # the only digit _REDUP_RE matches
        text = _REDUP_RE.sub(r"\1 \1\2", text)
    return text


def _tokens(
    text: str,
    known: Container[str],
    moods: dict[str, str] | None,
    prepared: bool = False,
    mention_words: bool = True,
) -> list[str]:
    """`normalise_text`'s tokens (before squeezing)."""
    if not prepared:
        text = _prepare(text, known, moods, mention_words=mention_words)
    text = _NUMBER_RE.sub(f" {NUMBER_TOKEN} ", text)
    text = _BOUNDARY_RE.sub(f" {_BOUNDARY} ", text)
    return _TOKEN_RE.findall(text)


def normalise_text(
    text: str,
    lexicon: dict[str, str] | None = None,
    known_words: Container[str] | None = None,
    phrases: dict[str, tuple[int, ...]] | None = None,
    formal: Callable[[str], str] | None = None,
    emoji_moods: dict[str, str] | None = None,
    prepared: bool = False,
    mention_words: bool = True,
    formal_words: bool = True,
) -> str:
    """Normalise one post; see the module docstring for the steps.

    `emoji_moods` defaults to `load_emoji_moods()`; `{}` reads every emoji as "_emoji_".
    `prepared`: `text` has been through the regular-expression steps already (`_prepare`; the
    area resolver's clauses, whose hashtags it marks: `normalise_clauses`).
    `mention_words`: the words of the mentioned handles follow the post (`_mentions_read`);
    without it, as in the area resolver's text, a mention is its token alone.
    `formal_words`: colloquial word forms are made formal (`formal_word`); without it, as in
    the area resolver's text, words stay as written after the lexicon (a mistyped place name
    such as "nangkah" is not read as the verb "menangkah").

    `phrases` (`lexicon_phrases(lexicon)`) only makes the lexicon step faster, and so does
    `formal`: `formal_word` with this lexicon and the dictionary's roots (e.g. cached).
    `TextNormaliser` computes the same text with per-word caches.
    """
    if lexicon is None:
        lexicon, phrases = load_lexicon(), _default_phrases()
    known = dictionary_words() if known_words is None else known_words
    # a run of one letter lies within one token: squeezing each token squeezes the text
    moods = load_emoji_moods() if emoji_moods is None else emoji_moods
    tokens = [_squeeze(t, known) for t in _tokens(text, known, moods, prepared, mention_words)]
    words = _apply_lexicon(tokens, lexicon, phrases)
    if not lexicon or not formal_words:
        return " ".join(w for w in words if w != _BOUNDARY)
    roots = dictionary_words()
    if formal is None:
        return " ".join(
            w if w in roots else formal_word(w, lexicon, roots) for w in words if w != _BOUNDARY
        )
    return " ".join([w if w in roots else formal(w) for w in words if w != _BOUNDARY])


# What ends a clause for the area resolver (`split_clauses`): a line break (also written "\\n"),
# ; ! ?, a comma outside a number, a period before a space or the end of the text.
_CLAUSE_END_RE = re.compile(r"\n|\\n|[;!?]+|,(?!\d)|\.(?=\s|$)")
# The token that stands for a clause end in `TextNormaliser.normalise_clauses_one`'s output.
BREAK_TOKEN = _BOUNDARY
# A period after a word of at most this many letters that is no dictionary word closes an
# abbreviation ("kel.", "jl.", "pd.", "jemb."), not a clause.
_ABBREVIATION_MAX_LEN = 4


def split_clauses(text: str) -> list[str]:
    """The clauses of a post, for reading places: "... dari lebaran. Jembatan Kecil gelap" holds
    two, and so does "di Berkas. Saya ...", while "Kel. Sawah Lebar" and "Jl. Pd. Jati" hold one.
    The model's own text (`normalise_text`) is not split: its word pairs span clause ends as
    they always did."""
    words = dictionary_words()
    clauses: list[str] = []
    start = 0
    for match in _CLAUSE_END_RE.finditer(text):
        end = match.start()
        if text[end] == ".":
            # the letters right before the period: an abbreviation's, or a word's
            first = end
            while first > start and text[first - 1].isalpha():
                first -= 1
            if 0 < end - first <= _ABBREVIATION_MAX_LEN and text[first:end].lower() not in words:
                continue
        clauses.append(text[start:end])
        start = match.end()
    clauses.append(text[start:])
    return clauses


def join_clauses(normalised: Iterable[str]) -> str:
    """Normalised clauses as one text, `BREAK_TOKEN` between them (empty ones left out)."""
    return f" {BREAK_TOKEN} ".join([c for c in normalised if c])


def _prepared_clauses(text: str, known: Container[str], moods: dict[str, str] | None) -> list[str]:
    """`text` through the regular-expression steps once, hashtags marked ("\\n" written out
    as a line break is one), cut into clauses."""
    if "\\" in text:
        text = text.replace("\\n", "\n")
    return split_clauses(_prepare(text, known, moods, mark_hashtags=True))


def normalise_clauses(
    text: str,
    lexicon: dict[str, str] | None = None,
    known_words: Container[str] | None = None,
    emoji_moods: dict[str, str] | None = None,
    **kwargs: Any,
) -> str:
    """`normalise_text` of each clause of `text` (`split_clauses`), joined by `BREAK_TOKEN`,
    hashtags marked, words as written (not made formal): what the area resolver reads."""
    known = dictionary_words() if known_words is None else known_words
    moods = load_emoji_moods() if emoji_moods is None else emoji_moods
    return join_clauses(
        normalise_text(
            c, lexicon, known, emoji_moods=moods, prepared=True, formal_words=False, **kwargs
        )
        for c in _prepared_clauses(text, known, moods)
    )


V = TypeVar("V")


class CacheSize(NamedTuple):
    maxsize: int
    currsize: int


class BoundedWordCache(Generic[V]):
    """`compute(word)` behind a bounded cache whose hits cost one dict lookup (`lru_cache`'s
    cost ~3x as much, for its bookkeeping).

    Words live in two generations of at most `maxsize // 2` each. Lookups read the recent one;
    a word missing there comes from the older one (or is computed) into the recent one, and a
    full recent generation becomes the older one, dropping the oldest. `compute` never returns
    None.
    """

    def __init__(self, compute: Callable[[str], V], maxsize: int) -> None:
        self._compute = compute
        self.maxsize = maxsize
        self._limit = max(1, maxsize // 2)
        self._recent: dict[str, V] = {}
        self._older: dict[str, V] = {}

    def __call__(self, word: str) -> V:
        value = self._recent.get(word)
        return self._miss(word) if value is None else value

    def many(self, words: list[str]) -> list[V]:
        """`[self(w) for w in words]`, with one C-level pass when every word is cached."""
        values = list(map(self._recent.get, words))
        if None in values:
            miss = self._miss
            return [miss(w) if v is None else v for v, w in zip(values, words, strict=True)]
        return values  # type: ignore[return-value]

    def _miss(self, word: str) -> V:
        value = self._recent.get(word)  # a repeat of a word missing earlier in `many`
        if value is not None:
            return value
        value = self._older.get(word)
        if value is None:
            value = self._compute(word)
        if len(self._recent) >= self._limit:
            self._older, self._recent = self._recent, {}
        self._recent[word] = value
        return value

    def cache_info(self) -> CacheSize:
        return CacheSize(self.maxsize, len(self._recent) + len(self._older))


# Typo correction: a word training never produced, neither in the dictionary nor an affixed form
# of one of its roots, is read as the most frequent word of at least TYPO_MIN_LENGTH letters,
# with the same first letter, one edit away (a letter dropped, added or changed, or two
# neighbours swapped) that training produced at least TYPO_MIN_COUNT times ("lubamg" ->
# "lubang", "wktu" -> "waktu"); without one it stays as written. Shorter words and first letters
# are left alone: there the corrections read on real complaints were mostly names and other
# words ("laka" -> "lama", "rusun" -> "dusun"). Measured in bench/MODEL.md.
TYPO_MIN_LENGTH = 5
TYPO_MIN_COUNT = 3
# A word still unknown is read as two words written together ("lampumati" -> "lampu mati",
# "dirusunawa" -> "di rusunawa") where it splits into two pieces, the first of at least
# JOINED_MIN_LEFT letters and the second of at least JOINED_MIN_RIGHT, each written as such a
# word (or, three letters or more, as its lexicon form: "sdh" -> "sudah") at least
# TYPO_MIN_COUNT times in training, or JOINED_SHORT_MIN_COUNT times for a piece of JOINED_SHORT
# letters or fewer: the end of a name is as often a rare short word ("jannah", "susanti"), and
# a short word at the end ("an", "ya") is as often a suffix ("curhatan").
JOINED_MIN_LEFT = 2
JOINED_MIN_RIGHT = 3
JOINED_SHORT = 3
JOINED_SHORT_MIN_COUNT = 100
# A word still unknown, of at least VOWELLESS_MIN_LENGTH letters, that is a word training wrote
# with at least VOWELLESS_MIN_DROPPED of its vowels left out ("jmbtn", "plyann", "mnmpk": the
# first letter and every consonant kept, in order) is read as that word, if training wrote it at
# least TYPO_MIN_COUNT times and VOWELLESS_DOMINANCE times as often as any other word the same
# letters spell that way, else it stays as written. Shorter forms are as often
# acronyms ("smkn", "ttl", "sbb") or English ("many") as words; one vowel left out is a typo
# (above), and a word with one vowel fewer is as often a word of its own or two joined
# ("ditempat", "kenakan").
VOWELLESS_MIN_DROPPED = 2
VOWELLESS_MIN_LENGTH = TYPO_MIN_LENGTH
VOWELLESS_DOMINANCE = 3
_DROP_VOWELS = str.maketrans("", "", "".join(sorted(_VOWELS)))


def skeleton(word: str) -> str:
    """The first letter of `word` and its consonants after it: what it keeps written without
    vowels."""
    return word[:1] + word[1:].translate(_DROP_VOWELS)


def spells_without_vowels(short: str, full: str) -> bool:
    """Whether `short` is `full` with some of its vowels (after the first letter) left out."""
    if len(short) >= len(full) or short[:1] != full[:1]:
        return False
    i = 0
    for letter in full:
        if i < len(short) and short[i] == letter:
            i += 1
        elif letter not in _VOWELS:
            return False
    return i == len(short)


class _KeyIndex:
    """Words found by string keys derived from them, held as the keys' hashes in sorted NumPy
    arrays (~12 bytes a key); a hash that collides only lets a word through that the caller's
    own check turns away."""

    def __init__(self, words: list[str], keys_of: Callable[[str], Iterable[str]]) -> None:
        keys: list[int] = []
        owners: list[int] = []
        for k, word in enumerate(words):
            for key in keys_of(word):
                keys.append(hash(key))
                owners.append(k)
        hashes = np.array(keys, dtype=np.int64)
        order = np.argsort(hashes, kind="stable")
        self._keys = hashes[order]
        self._owners = np.array(owners, dtype=np.int32)[order]
        self._words = words

    def find(self, keys: Iterable[str]) -> set[str]:
        """The words that have one of `keys`."""
        wanted = np.array([hash(key) for key in keys], dtype=np.int64)
        lo = self._keys.searchsorted(wanted, "left").tolist()
        hi = self._keys.searchsorted(wanted, "right").tolist()
        words, owners = self._words, self._owners
        return {words[k] for a, b in zip(lo, hi, strict=True) for k in owners[a:b].tolist()}


def _without_one_letter(word: str) -> set[str]:
    """`word` and each string it makes with one letter left out: two words are at most one edit
    apart only if these sets of theirs meet (the symmetric-delete test; it also lets a few pairs
    two edits apart through, which the distance itself then turns away)."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class TypoFixer:
    """Typo correction (above) over normalised text, the answer for each unknown word cached.

    The words a typo may be read as are indexed, on the first unknown word, by
    `_without_one_letter` of each (`_KeyIndex`: ~0.5 MB for this corpus, against ~4 MB as a dict
    of strings); an unknown word costs a lookup there per letter and a distance on the few words
    they find (6.5 µs on average, bench/MODEL.md). With `vowels`, a word no typo explains may be
    one of them written without some vowels (`with_vowels`, a second index by their letters
    without vowels); with `split_joined`, two words written together (`split`; `lexicon` reads
    its pieces).
    """

    def __init__(
        self,
        counts: dict[str, int],
        known: Container[str],
        size: int,
        split_joined: bool = False,
        lexicon: dict[str, str] | None = None,
        vowels: bool = False,
    ) -> None:
        self._counts = counts
        self._known = known
        self._split_joined = split_joined
        self._lexicon = lexicon or {}
        self._vowels = vowels
        self._fixed = BoundedWordCache(self._fix, size)
        self._targets: list[str] | None = None
        self._index: _KeyIndex | None = None  # by each word with one letter left out
        self._skeletons: _KeyIndex | None = None  # by each word's letters without vowels

    def _typo_targets(self) -> list[str]:
        """The words a typo may be read as: those training wrote TYPO_MIN_COUNT times or more."""
        if self._targets is None:
            self._targets = sorted(w for w, n in self._counts.items() if n >= TYPO_MIN_COUNT)
        return self._targets

    def neighbours(self, word: str) -> list[str]:
        """The words a typo may be read as that are one edit from `word`, in sorted order."""
        if self._index is None:
            self._index = _KeyIndex(self._typo_targets(), _without_one_letter)
        found = self._index.find(_without_one_letter(word))
        return sorted(t for t in found if t != word and DamerauLevenshtein.distance(word, t) == 1)

    def _fix(self, word: str) -> str:
        if not word.isalpha() or word in self._known:
            return word
        best, most = word, 0
        # a word of TYPO_MIN_LENGTH - 1 letters may be a longer word missing one
        long_enough = len(word) >= TYPO_MIN_LENGTH - 1
        for candidate in self.neighbours(word) if long_enough else ():
            # a first letter is rarely mistyped, and names differ there ("rusun", "dusun")
            if (
                candidate[0] == word[0]
                and len(candidate) >= TYPO_MIN_LENGTH
                and self._counts[candidate] > most
            ):
                best, most = candidate, self._counts[candidate]
        if best == word and self._vowels:
            best = self.with_vowels(word)
        if best == word and self._split_joined and long_enough:
            best = self.split(word)
        if best == word:
            return word
        from model.stem import is_indonesian_word  # model.stem imports this module

        return word if is_indonesian_word(word) else best

    def with_vowels(self, word: str) -> str:
        """`word` as the word training wrote that it spells with vowels left out (above);
        `word` if there is none, or no such word dominates."""
        if len(word) < VOWELLESS_MIN_LENGTH:
            return word
        if self._skeletons is None:
            self._skeletons = _KeyIndex(self._typo_targets(), lambda t: (skeleton(t),))
        found = sorted(
            (
                (self._counts[t], t)
                for t in self._skeletons.find([skeleton(word)])
                if len(t) - len(word) >= VOWELLESS_MIN_DROPPED and spells_without_vowels(word, t)
            ),
            reverse=True,
        )
        if not found or (len(found) > 1 and found[0][0] < VOWELLESS_DOMINANCE * found[1][0]):
            return word
        return found[0][1]

    def split(self, word: str) -> str:
        """`word` as two words written together ("jalanrusak" -> "jalan rusak", "sdhlama" ->
        "sudah lama"): the split into two pieces read as words training wrote (`_piece`) whose
        rarer piece is the most frequent; `word` if there is none."""
        best, most = word, 0
        for i in range(JOINED_MIN_LEFT, len(word) - JOINED_MIN_RIGHT + 1):
            left, left_count = self._piece(word[:i])
            if left_count <= most:
                continue
            right, right_count = self._piece(word[i:])
            rarer = min(left_count, right_count)
            if rarer > most:
                best, most = f"{left} {right}", rarer
        return best

    def _piece(self, piece: str) -> tuple[str, int]:
        """A piece of a joined word as the word it reads as (its lexicon form, from three
        letters: "sdh" -> "sudah") and how often training wrote that; 0 if fewer than
        TYPO_MIN_COUNT times, or JOINED_SHORT_MIN_COUNT for a piece of JOINED_SHORT letters
        or fewer."""
        word = self._lexicon.get(piece, piece) if len(piece) > 2 else piece
        n = self._counts.get(word, 0)
        if n < (JOINED_SHORT_MIN_COUNT if len(piece) <= JOINED_SHORT else TYPO_MIN_COUNT):
            return word, 0
        return word, n

    def text(self, text: str) -> str:
        """`text` (normalised) with each word corrected; the same string when none is."""
        words = text.split()
        counts, fixed = self._counts, self._fixed
        out = [w if w in counts else fixed(w) for w in words]
        return text if out == words else " ".join(out)


class _WordCache:
    """`normalise_text`'s per-word steps for one fitted lexicon, behind a bounded cache.

    After the regular expressions, a word's output depends on the word alone (squeezed, replaced
    by its one-word lexicon form, made formal) unless it starts a lexicon phrase of two or more
    words; a post without such a word is the join of its words' cached pieces.
    """

    def __init__(
        self,
        lexicon: dict[str, str],
        known: Container[str],
        phrases: dict[str, tuple[int, ...]],
        formal: Callable[[str], str],
        size: int,
        moods: dict[str, str] | None = None,
        typos: TypoFixer | None = None,
        mention_words: bool = False,
    ) -> None:
        self.lexicon = lexicon
        self.mention_words = mention_words
        self.moods = moods
        self.typos = typos
        self.known = known
        self.phrases = phrases
        self.multi = frozenset(w for w, sizes in phrases.items() if max(sizes) > 1)
        self.roots = dictionary_words()
        self.formal = formal if lexicon else None
        self.entry = BoundedWordCache(self._entry, size)

    def _words(self, words: list[str], formal_words: bool = True) -> str:
        """Replacement words (made formal with `formal_words`), without phrase boundaries, as
        `normalise_text` does."""
        if self.formal is None or not formal_words:
            return " ".join([w for w in words if w != _BOUNDARY])
        roots, formal = self.roots, self.formal
        return " ".join([w if w in roots else formal(w) for w in words if w != _BOUNDARY])

    def _entry(self, token: str) -> tuple[str, str | None, str | None]:
        """The token (squeezed), its output as written (not made formal: what the area resolver
        reads) and its output made formal, typos corrected (what the model reads); one string
        where they agree, both None when the token starts a longer lexicon phrase.

        `token` is a `_PIECE_RE` piece: a number or boundary marks stand for their tokens.
        """
        first = token[0]
        if first in ",;!?":
            token = _BOUNDARY
        elif first != "_" and not "a" <= first <= "z":
            token = NUMBER_TOKEN
        word = _squeeze(token, self.known)
        if word in self.multi:
            return word, None, None
        replacement = self.lexicon.get(word)
        words = [word] if replacement is None else replacement.split()
        output = self._words(words)
        written = self._words(words, formal_words=False)
        if written == output:
            written = output  # one string held, not two equal ones
        return word, written, output if self.typos is None else self.typos.text(output)

    def normalise(self, text: str, mention_words: bool | None = None) -> str:
        """What the features read: typos corrected, if this cache corrects them; the words of
        mentioned handles after the post if `mention_words` (by default, as this cache does)."""
        words = self.mention_words if mention_words is None else mention_words
        return self._normalise_prepared(
            _prepare(text, self.known, self.moods, mention_words=words), 2
        )

    def normalise_clauses(self, text: str) -> str:
        """`normalise_clauses` with this lexicon, from the cached words, as written (no typo
        correction, no formal forms: the area resolver reads place names this corpus may never
        have seen)."""
        clauses = _prepared_clauses(text, self.known, self.moods)
        return join_clauses(self._normalise_prepared(c, 1) for c in clauses)

    def _normalise_prepared(self, prepared: str, column: int) -> str:
        """The post from its words' cached entries: `column` 1 as written, 2 made formal and
        corrected."""
        entries = self.entry.many(_PIECE_RE.findall(prepared))
        pieces = list(map(itemgetter(column), entries))  # one C-level pass
        if None not in pieces:
            return " ".join(filter(None, pieces))
        # A word that starts a lexicon phrase: the phrase is matched where such a word stands
        # (`_lexicon_step`, as `_apply_lexicon_indexed` does), and every other word keeps its
        # cached piece (formal words and typos are per word, so the pieces come out the same as
        # from the lexicon over the whole post). A matched phrase takes the words it covers.
        # The runs of cached pieces between such words are copied whole (C-level slices).
        tokens = list(map(itemgetter(0), entries))
        typos = self.typos if column == 2 else None
        out: list[str | None] = []
        i = 0
        while True:
            try:
                j = pieces.index(None, i)
            except ValueError:
                out += pieces[i:]
                break
            out += pieces[i:j]
            words, used = _lexicon_step(tokens, j, self.lexicon, self.phrases)
            piece = self._words(words, formal_words=column == 2)
            out.append(piece if typos is None else typos.text(piece))
            i = j + used
        return " ".join(filter(None, out))


# A fitted normaliser's per-process caches (not pickled; a refit drops them).
_CACHES = (
    "_vocabulary_cache",
    "_phrases_cache",
    "_formal_cache",
    "_words_cache",
    "_typos_cache",
)


class TextNormaliser(TransformerMixin, BaseEstimator):
    """scikit-learn step wrapping `normalise_text`.

    `fit` records the lexicon, the emoji moods and the words seen in training (`known_words_`,
    which join the dictionary for hashtag splitting), so the fitted step does not depend on later
    edits of the resource files. With `emoji_moods=False` (and in a step fitted before the moods
    existed) every emoji reads as "_emoji_". With `correct_typos` it also counts the words its
    output holds in training (`word_counts_`) and corrects typos against them (`TypoFixer`), and
    with `split_joined` also reads a word that is no typo as two written together, and with
    `restore_vowels` a word written without some of its vowels as the word it spells; the area
    resolver's reading (`normalise_clauses_one`) keeps words as written, since another
    city's place names are words this corpus never saw. With `mention_words` the words of the
    handles a post mentions follow it ("@dlhkotabengkulu": the office a post tags); the area
    resolver reads the mention's token alone.
    """

    def __init__(
        self,
        use_lexicon: bool = True,
        split_hashtags: bool = True,
        emoji_moods: bool = True,
        correct_typos: bool = True,
        split_joined: bool = True,
        mention_words: bool = True,
        restore_vowels: bool = True,
    ) -> None:
        self.use_lexicon = use_lexicon
        self.split_hashtags = split_hashtags
        self.emoji_moods = emoji_moods
        self.correct_typos = correct_typos
        self.split_joined = split_joined
        self.mention_words = mention_words
        self.restore_vowels = restore_vowels

    def fit(self, X: Iterable[str], y: object = None) -> TextNormaliser:
        docs = [str(doc) for doc in X]
        for name in (*_CACHES, "word_counts_"):  # a refit starts from its own lexicon and words
            self.__dict__.pop(name, None)
        self.lexicon_ = dict(load_lexicon()) if self.use_lexicon else {}
        self.emoji_moods_ = dict(load_emoji_moods()) if self.emoji_moods else {}
        seen: set[str] = set()
        base = dictionary_words()
        for doc in docs:
            plain = _HASHTAG_RE.sub(" ", unicodedata.normalize("NFKC", doc).lower())
            for token in _TOKEN_RE.findall(plain):
                if len(token) > 2 and not token.isdigit() and not _ELONGATION_RE.search(token):
                    seen.add(token)
        for replacement in self.lexicon_.values():
            seen.update(replacement.split())
        self.known_words_ = frozenset(seen - base)
        if self.correct_typos:
            normalise = self._words().normalise  # no counts yet: nothing corrected
            counts = Counter(w for doc in docs for w in normalise(doc).split())
            self.word_counts_ = {w: n for w, n in counts.items() if w.isalpha()}
            self.__dict__.pop("_words_cache")  # its entries were made without correction
        return self

    def _vocabulary(self) -> EitherSet:
        """The root words and `known_words_` (two sets, no union built per process)."""
        vocabulary: EitherSet | None = getattr(self, "_vocabulary_cache", None)
        if vocabulary is None:
            vocabulary = EitherSet(dictionary_words(), self.known_words_)
            self._vocabulary_cache = vocabulary
        return vocabulary

    def _known(self) -> Container[str]:
        """The words hashtags split into and elongations squeeze to: `_vocabulary`, or none
        without hashtag splitting."""
        return self._vocabulary() if self.split_hashtags else frozenset()

    def _phrases(self) -> dict[str, tuple[int, ...]]:
        phrases = getattr(self, "_phrases_cache", None)
        if phrases is None:
            phrases = lexicon_phrases(self.lexicon_)
            self._phrases_cache = phrases
        return phrases

    def _formal(self) -> Callable[[str], str]:
        """`formal_word` for this lexicon, behind a bounded per-process cache (not pickled)."""
        formal = getattr(self, "_formal_cache", None)
        if formal is None:
            formal = lru_cache(maxsize=WORD_CACHE_SIZE)(
                partial(formal_word, lexicon=self.lexicon_, roots=dictionary_words())
            )
            self._formal_cache = formal
        return formal

    def _words(self) -> _WordCache:
        """The per-word steps behind a bounded per-process cache (not pickled)."""
        words = getattr(self, "_words_cache", None)
        if words is None:
            words = _WordCache(
                self.lexicon_,
                self._known(),
                self._phrases(),
                self._formal(),
                WORD_CACHE_SIZE,
                getattr(self, "emoji_moods_", None),
                self._typos(),
                self.mention_words,
            )
            self._words_cache = words
        return words

    def _typos(self) -> TypoFixer | None:
        """Typo correction, if this step was fitted with it (not in a step fitted before it
        existed); behind a bounded per-process cache (not pickled)."""
        fixer: TypoFixer | None = getattr(self, "_typos_cache", None)
        if fixer is None and self.correct_typos:
            counts = getattr(self, "word_counts_", None)
            if counts is not None:
                fixer = TypoFixer(
                    counts,
                    self._vocabulary(),
                    WORD_CACHE_SIZE,
                    self.split_joined,
                    self.lexicon_,
                    self.restore_vowels,
                )
                self._typos_cache = fixer
        return fixer

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        for cache_name in _CACHES:
            state.pop(cache_name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a step saved before typo correction or joined words existed reads as it was fitted
        state.setdefault("correct_typos", False)
        state.setdefault("split_joined", False)
        state.setdefault("mention_words", False)
        state.setdefault("restore_vowels", False)
        super().__setstate__(state)

    def normalise_one(self, doc: str) -> str:
        """`transform` for one text, without the checks (the fast inference path calls it)."""
        return self._words().normalise(doc)

    def normalise_content_one(self, doc: str) -> str:
        """`normalise_one` without the words of mentioned handles (each mention its token
        alone): what two posts say, which the repeat search compares; two complaints that tag
        the same office are not the same complaint."""
        if "@" not in doc or not self.mention_words:
            return self.normalise_one(doc)
        return self._words().normalise(doc, mention_words=False)

    def normalise_clauses_one(self, doc: str) -> str:
        """`normalise_one` of each clause of `doc`, joined by `BREAK_TOKEN` (`split_clauses`):
        what the area resolver reads."""
        return self._words().normalise_clauses(doc)

    def transform(self, X: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "lexicon_")
        normalise = self._words().normalise
        return np.array([normalise(str(doc)) for doc in X], dtype=object)
