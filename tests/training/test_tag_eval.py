from __future__ import annotations

import numpy as np

from model.routing import Directory, TagPolicy
from tests.conftest import DATA_DIR
from training.tag_eval import gold_tags, score_tags

DIRECTORY = Directory.from_dir(DATA_DIR)
POLICY = TagPolicy()
CLASSES = ["bukan_keluhan", "jalan", "sampah"]


def test_gold_tags_follow_routing_and_area() -> None:
    assert gold_tags("sampah", "Ratu Agung", "Sawah Lebar", DIRECTORY, POLICY) == {
        "dlh",
        "camat-ratu-agung",
        "lurah-sawah-lebar",
    }
    assert gold_tags("bukan_keluhan", "Ratu Agung", "", DIRECTORY, POLICY) == set()


def test_scores_count_right_wrong_and_reviewed_posts() -> None:
    texts = [
        "sampah menumpuk di kel. Sawah Lebar",  # right topic, right area: 3 of 3
        "jalan rusak di kecamatan Selebar",  # wrong topic (sampah): office wrong, camat right
        "terima kasih pak",  # not a complaint, predicted so: no tags
        "jalan berlubang",  # unsure: reviewed, office still suggested (0.65 >= 0.6)
    ]
    topics = ["sampah", "jalan", "bukan_keluhan", "jalan"]
    kec = ["Ratu Agung", "Selebar", "", ""]
    kel = ["Sawah Lebar", "", "", ""]
    proba = np.array(
        [
            [0.02, 0.03, 0.95],
            [0.05, 0.05, 0.90],
            [0.97, 0.02, 0.01],
            [0.05, 0.65, 0.30],
        ]
    )
    s = score_tags(texts, topics, kec, kel, proba, CLASSES, DIRECTORY, POLICY)
    assert s.posts == 4
    assert (s.predicted, s.gold, s.correct) == (3 + 2 + 0 + 1, 3 + 2 + 0 + 1, 3 + 1 + 0 + 1)
    assert s.auto_posts == 3  # the fourth needs review
    assert (s.auto_predicted, s.auto_correct) == (5, 4)
    assert s.wrong_camat == 0
    assert abs(s.precision - 5 / 6) < 1e-12
