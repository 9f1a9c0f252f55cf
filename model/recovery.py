"""A post that says a service works again, marked with one token every such post shares.

"lampu jalan sudah nyala lagi", "air kini lancar", "akhirnya jalannya diaspal": these tell that a
fault is over, in the fault's own topic words ("lampu jalan", "air", "jalan"), which pull them
towards a complaint. What turns them around is a word of time ("sudah", "kini", "akhirnya")
followed by a word of a good state ("nyala", "lancar", "diaspal"); each of those words also
stands in complaints ("sudah rusak", "nyala sebentar"), and a word pair learnt from a few posts
("sudah jernih") says nothing of another ("sudah bening"). `RecoveryMarker` adds one token
(`_pulih_`, "recovered") to a post where a state word follows a time word within a few words, not
right after a negation ("sudah tidak nyala" is a fault), so the model learns the pattern once
for every pair. It runs on the stemmed, negation-marked words of the word branch, after
`NegationMarker`; its lists hold the stems and the words they stem from, so it reads the same
without the stemmer. On the default corpus it fires on 813 posts that are no complaint and 516
complaints ("sudah diperbaiki tapi rusak lagi"); measured in bench/MODEL.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from model.negation import word_set

# Words of time after which a state word says the fault is over (as the stemmer leaves them).
STARTS: tuple[str, ...] = (
    "sudah",
    "telah",
    "kini",
    "sekarang",
    "akhir",
    "akhirnya",
    "alhamdulillah",
)
# Words of a good state or of a repair done, as stems and as written. Left out: words that after
# "sudah" as often tell what the writer did or what is still wrong ("kami sudah datang", "sudah
# pasang meteran", "TPS sudah penuh", "tetangga sudah cair", "lubangnya sudah lebar", "sumur
# sudah kering"), and "kurang", a negation of its own.
STATES: tuple[str, ...] = (
    *("alir", "aman", "angkut", "aspal", "bagus", "baik", "benah", "bening", "beres", "bersih"),
    *("buka", "cor", "deras", "ganti", "hidup", "jernih", "kelar", "keruk", "lancar", "lega"),
    *("mulus", "normal", "normalisasi", "nyala", "pindah", "rapi", "rehab", "selesai", "sembuh"),
    *("stabil", "surut", "tambal", "tangan", "terang", "tertib", "tuntas"),
    *("diangkut", "diaspal", "dibenahi", "dibersihkan", "dibuka", "dicor", "diganti", "dikeruk"),
    *("dinormalisasi", "diperbaiki", "dipindah", "dipindahkan", "direhab", "ditambal"),
    *("ditangani", "ditertibkan", "membaik", "mengalir", "menyala", "ngalir"),
)
# Words right after the word of time that make the state word a fault ("sudah tidak nyala").
TURNS: tuple[str, ...] = ("tidak", "belum")
TOKEN = "_pulih_"
WINDOW = 3


class RecoveryMarker(TransformerMixin, BaseEstimator):
    """Appends `token` to whitespace-separated text where a word of `states` follows a word of
    `starts` within `window` words, unless the first of those words is one of `turns`.

    Stateless; `fit` only checks the parameters.
    """

    def __init__(
        self,
        starts: tuple[str, ...] | None = None,
        states: tuple[str, ...] | None = None,
        turns: tuple[str, ...] | None = None,
        token: str = TOKEN,
        window: int = WINDOW,
    ) -> None:
        self.starts = starts
        self.states = states
        self.turns = turns
        self.token = token
        self.window = window

    def fit(self, X: Iterable[str], y: object = None) -> RecoveryMarker:
        if not self.token or self.token.split() != [self.token]:
            raise ValueError(f"token must be a single word, got {self.token!r}")
        if not isinstance(self.window, int) or self.window < 1:
            raise ValueError(f"window must be a positive int, got {self.window!r}")
        self.starts_ = word_set("starts", self.starts, STARTS)
        self.states_ = word_set("states", self.states, STATES)
        self.turns_ = word_set("turns", self.turns, TURNS)
        return self

    def recovered(self, words: Sequence[str]) -> bool:
        """Whether `words` say a service works again (the marker's test)."""
        starts, states = self.starts_, self.states_
        if starts.isdisjoint(words) or states.isdisjoint(words):  # most posts: two C-level tests
            return False
        window = self.window
        for i, word in enumerate(words):
            if word not in starts:
                continue
            following = words[i + 1 : i + 1 + window]
            if following and following[0] in self.turns_:
                continue
            if not states.isdisjoint(following):
                return True
        return False

    def mark_text(self, text: str) -> str:
        """`text`'s words joined by single spaces, with `token` after them where recovered."""
        words = text.split()
        if self.recovered(words):
            words.append(self.token)
        return " ".join(words)

    def transform(self, X: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "states_")
        return np.array([self.mark_text(str(doc)) for doc in X], dtype=object)
