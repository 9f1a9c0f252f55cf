from __future__ import annotations

from pathlib import Path

import pytest

from model.areas import NO_AREA, AreaMatch
from model.datafiles import DataFileError
from model.routing import Directory, TagPolicy, decide_tags
from model.text import normalise_text
from tests.conftest import DATA_DIR


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.from_dir(DATA_DIR)


POLICY = TagPolicy()
GADING = AreaMatch("Gading Cempaka", "Padang Harapan", 0.97, "kelurahan padang harapan")


def _ids(decision: object) -> list[str]:
    return [t.official.official_id for t in decision.tags]  # type: ignore[attr-defined]


def test_confident_waste_post_tags_office_camat_and_lurah(directory: Directory) -> None:
    decision = decide_tags("sampah", 0.94, 0.9, GADING, directory, POLICY)
    assert _ids(decision) == ["dlh", "camat-gading-cempaka", "lurah-padang-harapan"]
    assert not decision.needs_review
    assert decision.tags[0].reason == "Topik sampah (0.94) -> Dinas Lingkungan Hidup Kota Bengkulu"
    assert "Kelurahan Padang Harapan, Kecamatan Gading Cempaka" in decision.tags[1].reason


def test_not_a_complaint_has_no_tags(directory: Directory) -> None:
    decision = decide_tags("bukan_keluhan", 0.95, 0.9, GADING, directory, POLICY)
    assert decision.tags == [] and not decision.needs_review


@pytest.mark.parametrize(
    ("confidence", "reviewed"), [(0.69, True), (0.75, True), (0.849, True), (0.85, False)]
)
def test_a_post_read_as_no_complaint_is_reviewed_below_its_own_threshold(
    directory: Directory, confidence: float, reviewed: bool
) -> None:
    # nobody is tagged for it, so a complaint misread so is lost unless a person looks: the bar
    # is higher than for a complaint's topic (0.75 would go out unreviewed as "sampah")
    decision = decide_tags("bukan_keluhan", confidence, 0.9, GADING, directory, POLICY)
    assert decision.tags == [] and decision.needs_review is reviewed
    if reviewed:
        assert decision.review_reasons == [
            f"bukan keluhan, tetapi keyakinan kurang ({confidence:.2f})"
        ]
    assert not decide_tags("sampah", 0.75, 0.9, GADING, directory, POLICY).needs_review


def test_the_no_complaint_threshold_is_a_setting_and_never_below_the_review_one(
    directory: Directory,
) -> None:
    relaxed = TagPolicy(no_complaint_review_threshold=0.0)
    assert not decide_tags("bukan_keluhan", 0.75, 0.9, GADING, directory, relaxed).needs_review
    assert decide_tags("bukan_keluhan", 0.65, 0.9, GADING, directory, relaxed).needs_review
    strict = TagPolicy(no_complaint_review_threshold=0.99)
    assert decide_tags("bukan_keluhan", 0.95, 0.9, GADING, directory, strict).needs_review


def test_lurah_tagging_can_be_switched_off(directory: Directory) -> None:
    policy = TagPolicy(tag_lurah=False)
    assert _ids(decide_tags("sampah", 0.94, 0.9, GADING, directory, policy)) == [
        "dlh",
        "camat-gading-cempaka",
    ]


def test_disaster_goes_to_two_offices(directory: Directory) -> None:
    assert _ids(decide_tags("bencana", 0.9, 0.8, NO_AREA, directory, POLICY)) == ["bpbd", "damkar"]


@pytest.mark.parametrize(
    ("topic", "confidence", "margin", "area", "needs_review", "office_tagged"),
    [
        ("jalan", 0.65, 0.5, NO_AREA, True, True),  # tagged, but below review threshold
        ("jalan", 0.5, 0.3, NO_AREA, True, False),  # below auto-tag threshold
        ("jalan", 0.9, 0.1, NO_AREA, True, True),  # top-2 margin too small
        ("lainnya", 0.95, 0.9, NO_AREA, True, True),  # 'other' always reviewed
        ("jalan", 0.95, 0.9, AreaMatch("Selebar", None, 0.5, "x", True), True, True),
        ("jalan", 0.95, 0.9, NO_AREA, False, True),
    ],
)
def test_review_rules(
    directory: Directory,
    topic: str,
    confidence: float,
    margin: float,
    area: AreaMatch,
    needs_review: bool,
    office_tagged: bool,
) -> None:
    decision = decide_tags(topic, confidence, margin, area, directory, POLICY)
    assert decision.needs_review is needs_review
    assert bool(decision.tags) is office_tagged
    if needs_review:
        assert decision.review_reasons


def test_a_complaint_naming_only_a_place_outside_the_city_is_reviewed(
    directory: Directory,
) -> None:
    """A road in another regency is not the city's road: the office is still suggested, but
    a person checks before anything is posted, and the reason names the place."""
    outside = AreaMatch(outside="Kepahiang")
    decision = decide_tags("jalan", 0.95, 0.9, outside, directory, POLICY)
    assert decision.needs_review
    assert decision.review_reasons == [
        "menyebut Kepahiang (di luar kota) tanpa wilayah kota: pastikan keluhan ini wewenang kota"
    ]
    assert _ids(decision) == ["pupr"]
    # not a complaint: nothing to check
    assert not decide_tags("bukan_keluhan", 0.95, 0.9, outside, directory, POLICY).needs_review


def test_low_confidence_area_does_not_tag_camat(directory: Directory) -> None:
    weak = AreaMatch("Selebar", None, 0.5, "selebar", True)
    assert _ids(decide_tags("jalan", 0.95, 0.9, weak, directory, POLICY)) == ["pupr"]


def test_an_unsure_area_is_named_in_the_review_reason(directory: Directory) -> None:
    street = AreaMatch("Gading Cempaka", "Padang Harapan", 0.6, "padang harapan")
    decision = decide_tags("lampu_jalan", 0.98, 0.9, street, directory, POLICY)
    assert decision.needs_review
    assert decision.review_reasons == [
        "wilayah kurang pasti: Kelurahan Padang Harapan, Kecamatan Gading Cempaka "
        '(disebut: "padang harapan", 0.60)'
    ]


def _write(path: Path, text: str) -> None:
    path.write_text(text.strip() + "\n", encoding="utf-8")


def make_city(tmp: Path) -> Path:
    """A small made-up city with two kecamatan: nothing in the code knows it."""
    _write(
        tmp / "areas.csv",
        """
level,name,kecamatan,aliases,needs_context
kecamatan,Kota Lama,,kotalama,
kecamatan,Tepi Air,,,
kelurahan,Pasar Ikan,Kota Lama,pasarikan,
kelurahan,Bukit Hijau,Tepi Air,,
kelurahan,Lumbung,Tepi Air,,word
""",
    )
    _write(
        tmp / "topics.csv",
        """
code,name,description
sampah,Sampah,waste
bukan_keluhan,Bukan Keluhan,not a complaint
""",
    )
    _write(
        tmp / "offices.csv",
        """
code,name,kind
KEBERSIHAN,Dinas Kebersihan Kota Contoh,opd
""",
    )
    _write(
        tmp / "officials.csv",
        """
official_id,name,role,office,kecamatan,kelurahan,instagram,facebook,tiktok,x
kebersihan,Dinas Kebersihan Kota Contoh,opd,KEBERSIHAN,,,@kebersihan.contoh,,,
camat-tepi-air,Camat Tepi Air,camat,,Tepi Air,,,,,
lurah-bukit-hijau,Lurah Bukit Hijau,lurah,,Tepi Air,Bukit Hijau,,,,
""",
    )
    _write(
        tmp / "routing.csv",
        """
topic,office
sampah,KEBERSIHAN
""",
    )
    return tmp


def test_new_city_from_data_files_alone(tmp_path: Path) -> None:
    city = Directory.from_dir(make_city(tmp_path))
    match = city.gazetteer.resolve(normalise_text("sampah numpuk di kel. Bukit Hijau"))
    assert (match.kecamatan, match.kelurahan) == ("Tepi Air", "Bukit Hijau")
    decision = decide_tags("sampah", 0.9, 0.8, match, city, POLICY)
    assert _ids(decision) == ["kebersihan", "camat-tepi-air", "lurah-bukit-hijau"]
    assert decision.tags[0].official.handles == {"instagram": "@kebersihan.contoh"}
    # Bengkulu's names mean nothing here; the context-only name needs a marker
    assert not city.gazetteer.resolve(normalise_text("banjir di Gading Cempaka")).found
    assert not city.gazetteer.resolve(normalise_text("lumbung padi penuh")).found
    assert city.gazetteer.resolve(normalise_text("kelurahan lumbung")).kelurahan == "Lumbung"


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("routing.csv", "topic,office\nsampah,NOPE\n", "routing.csv, row 2: unknown office 'NOPE'"),
        ("routing.csv", "topic,office\nkucing,KEBERSIHAN\n", "row 2: unknown topic 'kucing'"),
        (
            "officials.csv",
            "official_id,name,role,office,kecamatan,kelurahan\na,A,camat,,Kota Antah,\n",
            "officials.csv, row 2: unknown kecamatan 'Kota Antah'",
        ),
        (
            "officials.csv",
            "official_id,name,role,office,kecamatan,kelurahan\na,A,lurah,,Kota Lama,Bukit Hijau\n",
            "row 2: kelurahan 'Bukit Hijau' is not in",
        ),
        ("topics.csv", "code,name\nsampah,Sampah\n", "'bukan_keluhan' is required"),
        ("offices.csv", "kode,nama\n", "offices.csv, row 1: missing column(s) code, name"),
    ],
)
def test_bad_directory_files_name_file_row_problem(
    tmp_path: Path, file: str, content: str, message: str
) -> None:
    city = make_city(tmp_path)
    (city / file).write_text(content)
    with pytest.raises(DataFileError) as info:
        Directory.from_dir(city)
    assert message in str(info.value)
