"""The topic model: one scikit-learn Pipeline from raw post text to calibrated probabilities."""

from __future__ import annotations

from typing import Literal, TypeAlias

from sklearn.base import ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import BaseShuffleSplit
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from model.gate import ComplaintGate
from model.lead import LeadingWords
from model.negation import NegationMarker
from model.ngrams import CharNgramTfidf
from model.recovery import RecoveryMarker
from model.stem import SastrawiStemmer
from model.text import TextNormaliser

# The opening-words branch: how many words, and its weight beside the word and char branches
# (each of which has weight 1); chosen by cross-validation (bench/MODEL.md).
OPENING_WORDS = 2
OPENING_WEIGHT = 0.4
# Character n-grams seen in fewer than one post in 5,000 are left out (a share, so that a small
# corpus keeps them all): n-grams of one post only from 5,000 posts on, of fewer than three from
# 10,000 on (the default model, fitted on ~12,000 posts). The scores and the real complaints read
# by the model are the same with and without them (on 10,714 posts, one post against none left
# out: macro-F1 0.9355 / 0.9357 against 0.9356 / 0.9359; on 15,173, fewer than three against one:
# bench/MODEL.md), while the branch and the server's memory shrink. A fixed count of three left a
# small corpus with too few char n-grams to tell two complaints of one kelurahan apart in the
# repeat search. The word branch keeps its hapaxes: without them real complaints lose 0.25 points.
CHAR_MIN_DF = 2e-4
# In the gate's loss a post that is no complaint counts half as much as a complaint: a complaint
# taken for none is never tagged, while a post taken for a complaint by mistake is seen by a
# person or dismissed by the office tagged. On the corpus of 21,066 posts (5-fold, seed 0) the
# macro-F1 goes from 0.9446 to 0.9436 and `is_complaint` from 0.9608 to 0.9595, while the real
# Surabaya complaints read by a model fitted on all posts go from 0.8583 to 0.8670 accuracy and
# from 4.3% to 3.2% read as no complaint (bench/MODEL.md).
GATE_NO_COMPLAINT_WEIGHT = 0.5


def gate_class_weights() -> dict[bool, float]:
    """The gate's `class_weight` (its target is "is no complaint"): a new dict for each
    estimator, since scikit-learn keeps the object it is given."""
    return {True: GATE_NO_COMPLAINT_WEIGHT, False: 1.0}


ClassifierName = Literal["svc", "logreg", "cnb"]
CLASSIFIERS: tuple[ClassifierName, ...] = ("svc", "logreg", "cnb")


def _as_str(X: object) -> list[str]:
    """Lower-case only; the stand-in for normalisation in the ablation without it."""
    return [str(doc).lower() for doc in X]  # type: ignore[attr-defined]


# How the temperature is fitted: on out-of-fold decisions of this many folds, or on one held-out
# split (`training.train.calibration_split` chooses the split from 50,000 posts on).
Calibration: TypeAlias = int | BaseShuffleSplit


def make_classifier(
    name: ClassifierName, calibration_cv: Calibration = 3, *, gate: bool = True
) -> ClassifierMixin:
    """Two classifiers of kind `name`: is the post a complaint, and which topic
    (`model.gate.ComplaintGate`); with `gate=False`, one classifier over every label.

    The topic classifier weighs its classes by their inverse frequency ("balanced"); the gate
    counts a post that is no complaint GATE_NO_COMPLAINT_WEIGHT times a complaint (above).
    Balanced, the gate gave the fifth of posts that are no complaint as much weight as the
    complaints, and took more real complaints for none: on the corpus of 8,044 posts, fitted on
    all of it, it read 4.3% of the real Surabaya complaints as no complaint (accuracy 0.8411)
    against 3.1% (0.8505) unweighted, while 5-fold CV moved within noise (macro-F1 0.9221 /
    0.9238 / 0.9236 against 0.9224 / 0.9230 / 0.9232) and the posts written after the corpus of
    5,690 read the same (`bench/later_posts.py`; bench/MODEL.md). A complaint taken for none is
    never tagged; a non-complaint taken for a complaint goes to review or to the wrong office.
    """
    if not gate:
        return _linear(name, calibration_cv)
    return ComplaintGate(
        gate=_linear(name, calibration_cv, weights=gate_class_weights()),
        topics=_linear(name, calibration_cv),
    )


def _linear(
    name: ClassifierName,
    calibration_cv: Calibration,
    *,
    weights: Literal["balanced"] | dict[bool, float] = "balanced",
) -> ClassifierMixin:
    """A linear classifier with calibrated `predict_proba`; `weights` are its class weights
    (LinearSVC and logistic regression; complement naive Bayes takes none): "balanced" by
    inverse frequency, or a weight per class.

    Temperature scaling fitted on out-of-fold decisions keeps the ranking of the one linear model
    trained on all data (`ensemble=False`) and brings the expected calibration error on the
    default corpus from ~0.16 (per-class sigmoid) to ~0.02. Given one held-out split instead of
    a number of folds, the linear model is fitted once, on the rest, and the temperature on the
    held-out posts (`ensemble=True` over that one split): one linear fit instead of folds + 1.

    For training time, LinearSVC stops its dual coordinate descent at a largest projected-gradient
    violation of 0.03 (liblinear's own default is 0.1; scikit-learn's 1e-4 made one fit on
    100,000 posts ~14 times longer; 0.01 took the topic model on 100,000 posts 42 s against 35
    s, with 5-fold scores on the default corpus within 0.0002), and three calibration folds make
    four linear fits instead of six: the cross-validated scores on both corpora are unchanged,
    the calibration error goes from 0.019 to 0.023 on the default corpus (bench/MODEL.md,
    bench/README.md).
    """
    ensemble = not isinstance(calibration_cv, int)
    if name == "svc":
        return CalibratedClassifierCV(
            LinearSVC(C=1.0, class_weight=weights, tol=3e-2, random_state=0),
            method="temperature",
            cv=calibration_cv,
            ensemble=ensemble,
        )
    if name == "logreg":
        return LogisticRegression(C=20.0, max_iter=3000, class_weight=weights)
    if name == "cnb":
        return CalibratedClassifierCV(
            ComplementNB(alpha=0.3), method="temperature", cv=calibration_cv, ensemble=ensemble
        )
    raise ValueError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")


def _word_tfidf() -> TfidfVectorizer:
    """Word 1-2 gram TF-IDF over whitespace tokens of normalised text (sublinear tf, min_df 1)."""
    return TfidfVectorizer(
        analyzer="word",
        token_pattern=r"\S+",
        lowercase=False,
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=1,
    )


def build_pipeline(
    classifier: ClassifierName = "svc",
    *,
    normalise: bool = True,
    emoji_moods: bool = True,
    stem: bool = True,
    negation: bool = True,
    recovery: bool = True,
    char_ngrams: bool = True,
    opening_words: bool = True,
    gate: bool = True,
    calibration_cv: Calibration = 3,
) -> Pipeline:
    """normalise (emoji as tokens of their mood, a word training never wrote read as the word
    one typo from it, or else as two words written together) -> (stem -> mark the word after a
    negation -> a token for a service that works again -> word 1-2 gram TF-IDF) + (char_wb 3-6
    gram TF-IDF, n-grams of at least one post in 5,000) +
    (the first two words, marked, 1-2 gram TF-IDF at weight 0.4) -> complaint gate in front of a
    topic classifier (`model.gate.ComplaintGate`).

    The keyword switches exist for the ablation report; the defaults are the shipped model.
    Features, C and class weights were chosen by cross-validation (figures in bench/MODEL.md):
    a staged grid on the default corpus (`bench/model_report.py --grid`) left a few settings tied
    within 0.005 macro-F1, and of those this one does best on real complaints
    (`bench/surabaya_benchmark.py --candidates`).
    """
    word_steps: list[tuple[str, object]] = []
    if stem:
        word_steps.append(("stem", SastrawiStemmer()))
    if negation:
        word_steps.append(("negate", NegationMarker()))
    if recovery:
        word_steps.append(("recover", RecoveryMarker()))
    word_steps.append(("tfidf", _word_tfidf()))
    branches: list[tuple[str, object]] = [("word", Pipeline(word_steps))]
    if char_ngrams:
        branches.append(
            (
                "char",
                CharNgramTfidf(
                    analyzer="char_wb",
                    lowercase=False,
                    ngram_range=(3, 6),
                    sublinear_tf=True,
                    min_df=CHAR_MIN_DF,
                ),
            )
        )
    weights: dict[str, float] | None = None
    if opening_words:
        branches.append(
            (
                "opening",
                Pipeline([("lead", LeadingWords(n_words=OPENING_WORDS)), ("tfidf", _word_tfidf())]),
            )
        )
        weights = {"opening": OPENING_WEIGHT}
    first = TextNormaliser(emoji_moods=emoji_moods) if normalise else FunctionTransformer(_as_str)
    return Pipeline(
        [
            ("normalise", first),
            ("features", FeatureUnion(branches, transformer_weights=weights)),
            ("classify", make_classifier(classifier, calibration_cv, gate=gate)),
        ]
    )
