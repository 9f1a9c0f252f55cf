from __future__ import annotations

import random
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from model.areas import Gazetteer
from model.datafiles import DataFileError
from model.text import normalise_clauses
from tests.conftest import DATA_DIR


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_data_dir(DATA_DIR)


@pytest.mark.parametrize(
    ("text", "kecamatan", "kelurahan"),
    [
        ("sampah menumpuk di Gading Cempaka", "Gading Cempaka", None),
        ("banjir di kel. Sawah Lebar", "Ratu Agung", "Sawah Lebar"),
        ("SAWAH LEBAR BARU banjir lagi", "Ratu Agung", "Sawah Lebar Baru"),
        ("sawahlebar tergenang", "Ratu Agung", "Sawah Lebar"),
        ("#kebuntebeng gelap", "Ratu Agung", "Kebun Tebeng"),
        ("jalan di Padang Harpan rusak", "Gading Cempaka", "Padang Harapan"),
        ("Pematang Gubenur banjir", "Muara Bangka Hulu", "Pematang Gubernur"),
        ("kebun ros gelap", "Teluk Segara", "Kebun Roos"),
        ("kel Penurunan RT 05", "Ratu Samban", "Penurunan"),
        ("Surabaya kec. Sungai Serut banjir", "Sungai Serut", "Surabaya"),
        ("kelurahan Berkas sampah", "Teluk Segara", "Berkas"),
        ("Kandang, Kampung Melayu", "Kampung Melayu", "Kandang"),
        ("Kandang Limun macet", "Muara Bangka Hulu", "Kandang Limun"),
        ("Kandang Mas gelap", "Kampung Melayu", "Kandang Mas"),
        ("Rawa Makmur Permai", "Muara Bangka Hulu", "Rawa Makmur Permai"),
        ("kec muara bangkahulu", "Muara Bangka Hulu", None),
        ("kecamatan selebar", "Selebar", None),
        # the three Anggut kelurahan of one kecamatan: the bare name says which kecamatan
        ("sampah di anggut numpuk", "Ratu Samban", None),
        ("Anggut Dalam banjir", "Ratu Samban", "Anggut Dalam"),
        # a typo of one of them narrows the kecamatan "anggut" names, though "bawa" is a word
        ("kebakaran 2 rumah di Anggut Bawa malem tadi", "Ratu Samban", "Anggut Bawah"),
        ("Tj. Agung banjir", "Sungai Serut", "Tanjung Agung"),
        # after a marker, a name's first word cut to its initial
        (
            "anjing liar di sekitar SD di kel. P. Harapan makin banyak",
            "Gading Cempaka",
            "Padang Harapan",
        ),
        ("kel. s. lebar baru banjir", "Ratu Agung", "Sawah Lebar Baru"),
        ("jalan rusak di kec. S. Pati", "Singaran Pati", None),
        # "sekelurahan": the whole kelurahan, a marker
        ("mati lampu lagi, sekelurahan Semarang gelap gulita", "Sungai Serut", "Semarang"),
        ("Kp. Bali sampah", "Teluk Segara", "Kampung Bali"),
        ("daerah Panorama macet", "Singaran Pati", "Panorama"),
        ("angkot jurusan Panorama jarang nian lewat", "Singaran Pati", "Panorama"),
        ("bidan di pustu Bajak minta uang", "Teluk Segara", "Bajak"),
        ("anak dicat silver di perempatan Lingkar Timur", "Singaran Pati", "Lingkar Timur"),
        ("Lingkar Timur kering kerontang", "Singaran Pati", "Lingkar Timur"),
        ("banjir di Penurunan dekat pasar", "Ratu Samban", "Penurunan"),
        ("warga Sumber Jaya mengeluh", "Kampung Melayu", "Sumber Jaya"),
        ("sumberjaya air mati", "Kampung Melayu", "Sumber Jaya"),
        ("puskesmas Kandang tutup", "Kampung Melayu", "Kandang"),
        ("pencairan BLT di kantor pos Bajak antrinya lama", "Teluk Segara", "Bajak"),
        ("jukir liar minimarket Berkas kasar nian", "Teluk Segara", "Berkas"),
        ("tumpukan sampah dekat Penurunan tidak diangkut", "Ratu Samban", "Penurunan"),
        ("truk batu bara lewat Kandang tengah malam", "Kampung Melayu", "Kandang"),
        ("antrean kendaraan dari arah Penurunan sampai pasar", "Ratu Samban", "Penurunan"),
        ("pembakaran sampah di belakang ruko Panorama", "Singaran Pati", "Panorama"),
        ("pesta miras di lorong belakang pasar baru tiap malam", "Teluk Segara", "Pasar Baru"),
        ("parkir liar depan pasar baru bikin macet", "Teluk Segara", "Pasar Baru"),
        ("genangan di seberang Panorama sampai ke jalan", "Singaran Pati", "Panorama"),
        ("Kandang Limon RT 15", "Muara Bangka Hulu", "Kandang Limun"),
        ("Rawa Makmur Permi retak", "Muara Bangka Hulu", "Rawa Makmur Permai"),
        ("Sidomulyo tergenang", "Gading Cempaka", "Sidomulyo"),
        # a place before a name that is also an ordinary word
        ("trotoar nusa indah rusak parah", "Ratu Agung", "Nusa Indah"),
        ("lapangan Panorama tergenang", "Singaran Pati", "Panorama"),
        ("komplek Lingkar Timur gelap", "Singaran Pati", "Lingkar Timur"),
        ("lokasi lingkar timur, lampu mati", "Singaran Pati", "Lingkar Timur"),
        ("guru di SD lingkar barat jarang masuk", "Gading Cempaka", "Lingkar Barat"),
        ("gorong-gorong menuju TPU Lingkar Barat retak", "Gading Cempaka", "Lingkar Barat"),
        ("gorong2 masuk perumnas lingkar timur tersumbat", "Singaran Pati", "Lingkar Timur"),
        ("perahu nelayan di pantai Bajak terbakar", "Teluk Segara", "Bajak"),
        ("antri SKCK polsek Selebar dr subuh", "Selebar", None),
        ("mangrove di pesisir Sumber Jaya dibabat habis", "Kampung Melayu", "Sumber Jaya"),
        # "TPS", the garbage point or the polling station, named after its area
        ("TPS Lingkar Barat dibakar lagi", "Gading Cempaka", "Lingkar Barat"),
        ("C6 blm nyampe, tps 06 Tengah Padang", "Teluk Segara", "Tengah Padang"),
        # a name of several words that opens or ends a clause
        (
            "Saluran di Jl. Salak Raya, Lingkar Timur, penuh lumpur",
            "Singaran Pati",
            "Lingkar Timur",
        ),
        (
            "air cuma masuk jam 1 malam. Jembatan Kecil ni dianaktirikan",
            "Singaran Pati",
            "Jembatan Kecil",
        ),
        # the next sentence's first word is not the word after the name
        ("Saya tinggal di Berkas. Saya mau lapor lampu mati", "Teluk Segara", "Berkas"),
        # a hashtag of a name that is also a word; an RT after the clause's end
        ("tiap musim ujan angkat2 barang 😮‍💨 #lingkarbarat", "Gading Cempaka", "Lingkar Barat"),
        ("beras bansos bau apek #penurunan", "Ratu Samban", "Penurunan"),
        ("Penurunan, RT 3: pak RT minta 20rb tiap tanda tangan", "Ratu Samban", "Penurunan"),
        # a name of several words that ends the post or follows an emoji
        ("lampu jalan mati 2 minggu, jln gedang", "Gading Cempaka", "Jalan Gedang"),
        ("bantuan salah sasaran 🙄 jembatan kecil", "Singaran Pati", "Jembatan Kecil"),
        ("📍 Lingkar Timur jalan berlubang", "Singaran Pati", "Lingkar Timur"),
        # one word of a name written without its vowels
        ("truk sampah kpn lewat ke pgr dewa", "Selebar", "Pagar Dewa"),
        ("BANJIR LAGI rawa mkmr setinggi lutut", "Muara Bangka Hulu", "Rawa Makmur"),
        ("jalan rusak di lingkar brt dkt sd", "Gading Cempaka", "Lingkar Barat"),
        # ... or cut short
        ("perbaikan KK lewat kelurahan jemb. kecil", "Singaran Pati", "Jembatan Kecil"),
        ("ombak naik sampai ke jalan di pdk besi", "Teluk Segara", "Pondok Besi"),
        ("PKL di ps. baru nutup trotoar", "Teluk Segara", "Pasar Baru"),
        # a hashtag of the marker and the name; a name after an RT number
        ("kolam galian gk dipagar #kelbentiring", "Muara Bangka Hulu", "Bentiring"),
        ("sampah numpuk #kecselebar", "Selebar", None),
        ("Saya janda lansia RT 03 Semarang, belum dapat bantuan", "Sungai Serut", "Semarang"),
        # "Pd." for Padang: the lexicon reads "pd" as "pada", so the alias is "pada nangka"
        ("got tersumbat pd. nangka depan masjid", "Singaran Pati", "Padang Nangka"),
        ("Pd. Jati banjir lagi", "Ratu Samban", "Padang Jati"),
        ("Sampah numpuk dkt pasar pd harapan", "Gading Cempaka", "Padang Harapan"),
        # a name mistyped into what a colloquial verb could be ("nangkah", as "nolak" is
        # "menolak"): the resolver reads words as written, not made formal
        ("jalan di padang nangkah rusak parah", "Singaran Pati", "Padang Nangka"),
        # English place words mixed in, before a name that is also an ordinary word
        ("the puskesmas in sumber jaya is always closed", "Kampung Melayu", "Sumber Jaya"),
        ("garbage piling up near Penurunan market", "Ratu Samban", "Penurunan"),
        # Javanese "neng" and "nang" (at) before a name that is also an ordinary word
        ("dalane neng Penurunan macet ra karuan", "Ratu Samban", "Penurunan"),
        ("WC sekolah nang sumber jaya rusak kabeh", "Kampung Melayu", "Sumber Jaya"),
        # a marker, then whose it is, then a name that is another city's
        ("Koperasi di kelurahan kami Semarang sudah dibentuk", "Sungai Serut", "Semarang"),
        ("aek PDAM mati tigo hari di kelurahan ambo Surabaya", "Sungai Serut", "Surabaya"),
        # a place word, whose it is, a name of several words
        ("petugas di rumah saya Jembatan Kecil minta 300 ribu", "Singaran Pati", "Jembatan Kecil"),
        ("air di komplek kami Lingkar Barat ngalir jam 2 malam", "Gading Cempaka", "Lingkar Barat"),
    ],
)
def test_finds_area(gazetteer: Gazetteer, text: str, kecamatan: str, kelurahan: str | None) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == (kecamatan, kelurahan)
    assert match.evidence
    assert match.confidence >= 0.7


@pytest.mark.parametrize(
    "text",
    [
        "berkas KTP saya hilang",
        "kapan dibangun pasar baru",
        "anak2 main air di bawah jembatan kecil",
        "penurunan tekanan air",
        "kandang ayam bau",
        # one edit from the alias "Ps. Bengkulu", but the post office, not the market
        "BLT cair di Kantor Pos Bengkulu",
        "saudara di Surabaya",
        "liburan ke Semarang",
        "sumber daya air",
        "pasar baru diresmikan",
        "lampu panorama indah",
        "jembatan kecil di gang kami",
        "selebar jalan raya",
        "bajak sawah",
        "bau dari kandang ayam tetangga",
        "tim kito menang main di kandang sendiri",
        "toko Sumber Jaya tutup",
        "jalan Lingkar Timur macet",
        "di penurunan harga sawit",
        "Surabaya ni panas",
        "#matilampu #bengkulu",
        # one edit from "pada jati" / "pada nangka": the alias "Pd. Jati" is matched as written
        "lampunya pada mati semua di gang kami",
        "air pada keruh semua pak",
        # the areas file's blockers hold for a name that needs no context as well
        "semua tergantung pada harapan warga",
        "kambing lepas, makan rumput di tengah padang ilalang",
        "santri kabur lewat pintu belakang pondok jam 2 pagi",
        # a clause ends only where a sentence does: "berkas saya" stays one phrase
        "di berkas saya ada yang kurang. lama nian",
        # a word the slang lexicon writes in full shortens no name's word ("ke": Kelawi)
        "Kemarin pulang kampung ke Manna, listrik di sana stabil",
        # the city's football club, not the market's kelurahan ("Ps. Bengkulu")
        "PS Bengkulu menang 2-0 semalam, mantap",
        # another city's hashtag
        "macet parah di jalan tol #surabaya",
        # an English place word before another city's name: that city
        "my cousin in Surabaya says the traffic is worse there",
        "jembatan kecil dari papan di kebun belakang patah",
        # a place word before a name holds no more than the file's blockers around it
        "motor saya lewat jembatan kecil di kebun",
        "bau dari dekat kandang ayam tetangga",
        "sampah dibuang di belakang kandang sapi warga",
        "rumah di depan jembatan kecil itu retak",
        "arah penurunan harga cabai minggu ini",
        # the file's blockers hold at a clause's start too ("jembatan kecil di ...")
        "kantor kelurahan lama. jembatan kecil di kebun roboh",
        "tidak ada tempat di sini",
        "",
    ],
)
def test_trap_words_are_not_places(gazetteer: Gazetteer, text: str) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert match.kecamatan is None and match.kelurahan is None
    assert match.evidence is None


@pytest.mark.parametrize(
    ("text", "kelurahan", "evidence"),
    [
        # a name, then an ordinary word one edit from the rest of a longer name
        ("di kel. sawah lebar, bau nian", "Sawah Lebar", "kelurahan sawah lebar"),
        ("sawah lebar batu berserakan", "Sawah Lebar", "sawah lebar"),
        ("Sawah Lebar baju seragam mahal", "Sawah Lebar", "sawah lebar"),
        ("sawahlebar bau sampah", "Sawah Lebar", "sawahlebar"),
        ("warga kandang mau pindah", "Kandang", "kandang"),
        # a stray token after a name makes no typo of the same name
        ("SD Kebun Tebeng I banjir", "Kebun Tebeng", "kebun tebeng"),
        ("banjir di Padang Harapan V", "Padang Harapan", "padang harapan"),
    ],
)
def test_exact_name_beats_a_typo_match_around_it(
    gazetteer: Gazetteer, text: str, kelurahan: str, evidence: str
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kelurahan, match.evidence) == (kelurahan, evidence)
    assert match.confidence >= 0.8


@pytest.mark.parametrize(
    ("text", "kelurahan", "evidence"),
    [
        ("sawah lebar baruu", "Sawah Lebar Baru", "sawah lebar baruu"),
        ("sawah lebar baeu", "Sawah Lebar Baru", "sawah lebar baeu"),
        ("sawah lebr baru", "Sawah Lebar Baru", "sawah lebr baru"),
        ("sawahlebar barru", "Sawah Lebar Baru", "sawahlebar barru"),
        # two neighbouring letters swapped: one slip, though two letters differ
        ("sawah lebar brau", "Sawah Lebar Baru", "sawah lebar brau"),
        ("sawahlebar brau", "Sawah Lebar Baru", "sawahlebar brau"),
        # written short, read through the lexicon before the resolver ("bru" -> "baru")
        ("sawah lebar bru", "Sawah Lebar Baru", "sawah lebar baru"),
        ("sawahlebar bru", "Sawah Lebar Baru", "sawahlebar baru"),
        ("sawahlebar baru", "Sawah Lebar Baru", "sawahlebar baru"),
        ("SAWAH LEBAR BARU banjir lagi", "Sawah Lebar Baru", "sawah lebar baru"),
        ("Kandang Mss gelap", "Kandang Mas", "kandang mss"),
        ("Kandang Limon RT 15", "Kandang Limun", "kandang limon"),
        ("warga bentiring permi", "Bentiring Permai", "bentiring permi"),
        ("Rawa Makmur Permi retak", "Rawa Makmur Permai", "rawa makmur permi"),
    ],
)
def test_typo_of_a_longer_name_beats_the_name_inside_it(
    gazetteer: Gazetteer, text: str, kelurahan: str, evidence: str
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kelurahan, match.evidence) == (kelurahan, evidence)
    assert match.confidence >= 0.7


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        ("dukun menanggal banjir", "Menanggal"),  # a word, then a name ending a longer name
        ("dukuh menanggal banjir", "Dukuh Menanggal"),
        ("dukug menanggal banjir", "Dukuh Menanggal"),
        ("menanggal banjir", "Menanggal"),
        # Kalisari lies inside the joined word, not as a word of the name
        ("Romo Kalisari tergenang", "Romokalisari"),
        ("Kalisari tergenang", "Kalisari"),
    ],
)
def test_name_ending_a_longer_name(tmp_path: Path, text: str, kelurahan: str) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Gayungan,,,\n"
        "kecamatan,Benowo,,,\n"
        "kecamatan,Mulyorejo,,,\n"
        "kelurahan,Dukuh Menanggal,Gayungan,,\n"
        "kelurahan,Menanggal,Gayungan,,\n"
        "kelurahan,Romokalisari,Benowo,,\n"
        "kelurahan,Kalisari,Mulyorejo,,\n"
    )
    match = Gazetteer.from_csv(path).resolve(normalise_clauses(text))
    assert match.kelurahan == kelurahan
    assert match.confidence >= 0.7


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        ("jalan rusak di pagar dwea", "Pagar Dewa"),
        ("pgaar dewa banjir", "Pagar Dewa"),
        ("lampu mati di kandagn limun", "Kandang Limun"),
        ("kebun tebneg gelap", "Kebun Tebeng"),
    ],
)
def test_two_letters_swapped_in_a_name_are_read_as_the_name(
    gazetteer: Gazetteer, text: str, kelurahan: str
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert match.kelurahan == kelurahan and match.confidence >= 0.7


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        # names shorter than FUZZY_MIN_LEN, mistyped right after a marker
        ("sampah numpuk di kel. jitrah, tolong diangkut", "Jitra"),
        ("jalan kelurahan bajakk rusak parah", "Bajak"),
        ("kantor kel malaber tutup jam 1 siang", "Malabero"),
        ("warga kelurahan betngan mengeluh air pdam mati", "Betungan"),
        ("banjir lagi di kelurahan semaran", "Semarang"),
        ("lampu jalan mati di desa pegantungan", "Pengantungan"),
    ],
)
def test_a_shorter_name_mistyped_after_a_marker(
    gazetteer: Gazetteer, text: str, kelurahan: str
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert match.kelurahan == kelurahan and match.confidence >= 0.7


@pytest.mark.parametrize(
    "text",
    [
        # the same words without the marker are no place
        "sampah numpuk di jitrah, tolong diangkut",
        "jalan ke bajakk rusak parah",
        "banjir lagi di semaran",
        # after a marker, a word written in full is still that word
        "kantor kelurahan bekas gudang",
        "ke kelurahan lama nian antri",
    ],
)
def test_short_typos_need_the_marker(gazetteer: Gazetteer, text: str) -> None:
    assert gazetteer.resolve(normalise_clauses(text)).kelurahan is None


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        ("Tambak Asri tergenang", "Tambak Asri"),
        ("Tambaksari tergenang", "Tambaksari"),
        # a swap at a word's first letter makes another name, not a typo of this one
        ("Penjaringan Asri tergenang", None),
        ("Penjaringan Sari tergenang", "Penjaringan Sari"),
        ("Penjaringan Sair tergenang", "Penjaringan Sari"),  # inside a word: a typo
    ],
)
def test_letters_swapped_at_a_word_start_are_another_name(
    tmp_path: Path, text: str, kelurahan: str | None
) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Tambaksari,,,\n"
        "kecamatan,Rungkut,,,\n"
        "kecamatan,Krembangan,,,\n"
        "kelurahan,Tambaksari,Tambaksari,,\n"
        "kelurahan,Penjaringan Sari,Rungkut,,\n"
        "kelurahan,Tambak Asri,Krembangan,,\n"
    )
    assert Gazetteer.from_csv(path).resolve(normalise_clauses(text)).kelurahan == kelurahan


def test_conflicting_kelurahan_and_kecamatan_lowers_confidence(gazetteer: Gazetteer) -> None:
    agree = gazetteer.resolve(normalise_clauses("kel. Sawah Lebar kec. Ratu Agung"))
    conflict = gazetteer.resolve(normalise_clauses("kel. Sawah Lebar kec. Selebar"))
    assert agree.confidence > conflict.confidence
    assert conflict.ambiguous and not agree.ambiguous


def test_two_kelurahan_of_one_kecamatan(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve(normalise_clauses("dari Anggut Atas sampai Anggut Bawah"))
    assert match.kecamatan == "Ratu Samban"
    assert match.ambiguous


def test_word_vouched_for_by_its_kecamatan_gives_way_to_a_named_kelurahan(
    gazetteer: Gazetteer,
) -> None:
    # "berkas" alone is a file; beside its kecamatan it may be the kelurahan Berkas...
    alone = gazetteer.resolve(normalise_clauses("capil minta berkas yg sama terus. Teluk Segara"))
    assert alone.kelurahan == "Berkas"
    # ...but not when a kelurahan of the post is named with context of its own
    match = gazetteer.resolve(
        normalise_clauses("capil minta berkas yg sama terus. Pasar Baru, Teluk Segara")
    )
    assert (match.kecamatan, match.kelurahan) == ("Teluk Segara", "Pasar Baru")
    assert not match.ambiguous


def test_street_named_after_an_area_is_below_tagging_confidence(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve(normalise_clauses("lampu mati di Jl. Sawah Lebar"))
    assert match.kelurahan == "Sawah Lebar"
    assert match.confidence < 0.7


@pytest.mark.parametrize(
    "text",
    [
        "lampu mati di Jl. Raya Padang Harapan",  # a main road named after the area
        "jalan raya padang harapan berlubang",
        "macet di raya Sawah Lebar tiap sore",  # "raya" opening the road's name
        "antri 5 jam di rumah sakit Padang Harapan",  # a hospital named after it
        "lampu mati di perumahan Sawah Lebar Indah",  # a housing estate named after it
        "sampah numpuk di Padang Harapan permai blok C",
    ],
)
def test_road_hospital_or_estate_named_after_an_area_is_below_tagging_confidence(
    gazetteer: Gazetteer, text: str
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert match.kecamatan == "Gading Cempaka" or match.kelurahan == "Sawah Lebar"
    assert match.confidence < 0.7


def test_an_area_named_after_a_marker_keeps_its_confidence_before_an_estate_word(
    gazetteer: Gazetteer,
) -> None:
    match = gazetteer.resolve(normalise_clauses("Kelurahan Padang Jati indah nian pantainyo"))
    assert match.kelurahan == "Padang Jati"
    assert match.confidence >= 0.7
    # and a kelurahan whose own name ends in such a word is matched whole
    assert gazetteer.resolve(normalise_clauses("banjir di Timur Indah")).confidence >= 0.7


def test_a_city_can_say_a_main_road_lies_in_its_namesake(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Gading Cempaka,,,\n"
        "kelurahan,Padang Harapan,Gading Cempaka,jalan raya padang harapan,\n"
    )
    match = Gazetteer.from_csv(path).resolve(
        normalise_clauses("lampu mati di Jl. Raya Padang Harapan")
    )
    assert match.kelurahan == "Padang Harapan"
    assert match.confidence >= 0.7


def test_raya_ending_a_street_name_leaves_the_area_after_it(gazetteer: Gazetteer) -> None:
    # "Kapuas Raya" is the street; Padang Harapan is where it is
    match = gazetteer.resolve(
        normalise_clauses("Kontainer sampah di Jl. Kapuas Raya Padang Harapan penuh")
    )
    assert match.kelurahan == "Padang Harapan"
    assert match.confidence >= 0.7


def test_other_city_names_that_are_words_need_evidence(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Gayungan,,,\n"
        "kelurahan,Menanggal,Gayungan,,\n"
        "kelurahan,Ujung,Gayungan,,\n"
        "kelurahan,Pakis,Gayungan,,no\n"
    )
    other = Gazetteer.from_csv(path)
    assert not other.resolve(normalise_clauses("rumah di ujung jalan gelap")).found
    assert other.resolve(normalise_clauses("kelurahan Ujung gelap")).kelurahan == "Ujung"
    assert other.resolve(normalise_clauses("Ujung RT 3 banjir")).kelurahan == "Ujung"
    # "meninggal" is a word, not a typo of Menanggal; "menangal" is a typo
    assert not other.resolve(normalise_clauses("ayah saya meninggal bulan lalu")).found
    assert other.resolve(normalise_clauses("banjir di menangal")).kelurahan == "Menanggal"
    # `no` turns the dictionary-word rule off
    assert other.resolve(normalise_clauses("pakis banjir")).kelurahan == "Pakis"


def test_unknown_context_kind_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text("level,name,kecamatan,aliases,needs_context\nkecamatan,A,,,maybe\n")
    with pytest.raises(DataFileError, match=r"row 2: needs_context must be"):
        Gazetteer.from_csv(path)


def test_bad_area_file_names_row(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text("level,name,kecamatan\nkecamatan,A,\nkelurahan,B,Z\n")
    with pytest.raises(DataFileError, match=r"row 3: unknown kecamatan 'Z'"):
        Gazetteer.from_csv(path)


def test_alias_the_lexicon_rewrites_is_matched_only_as_written(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context,not_preceded_by\n"
        "kecamatan,Ratu Samban,,,,\n"
        "kelurahan,Padang Jati,Ratu Samban,Pd. Jati,,tergantung\n"
    )
    areas = Gazetteer.from_csv(path)
    (area,) = [a for a in areas.areas if a.level == "kelurahan"]
    assert ("pada", "jati") in area.forms and ("pada", "jati") in area.exact_forms
    assert ("padang", "jati") not in area.exact_forms  # the name itself keeps its typos
    assert areas.resolve(normalise_clauses("pd jati banjir")).kelurahan == "Padang Jati"
    assert areas.resolve(normalise_clauses("padang jatti banjir")).kelurahan == "Padang Jati"
    # a typo of the rewritten alias is an ordinary phrase
    assert not areas.resolve(normalise_clauses("lampunya pada mati")).found
    assert not areas.resolve(normalise_clauses("tergantung pada jati")).found
    # a marker outweighs the blockers
    assert areas.resolve(normalise_clauses("tergantung kel. pd jati")).kelurahan == "Padang Jati"


@pytest.fixture
def banyu_urip(tmp_path: Path) -> Gazetteer:
    """Surabaya's Banyu Urip: the lexicon reads Javanese "banyu" and "urip" as "air" and
    "hidup", so the name normalises to the words of water coming back on."""
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Sawahan,,,\n"
        "kelurahan,Banyu Urip,Sawahan,,\n"
        "kelurahan,Putat Gede,Sawahan,,\n"
    )
    return Gazetteer.from_csv(path)


@pytest.mark.parametrize(
    "text",
    [
        "air hidup jam 4 pagi, jam 9 mati lagi",
        "Kamis airmati jam 23.00, Jumat airhidup jam 04.00",
        "alhamdulillah air sudah hidup",
        "banyu urip",  # alone it is no more than the words it reads as
    ],
)
def test_a_name_whose_every_word_the_lexicon_translates_needs_evidence(
    banyu_urip: Gazetteer, text: str
) -> None:
    area = next(a for a in banyu_urip.areas if a.name == "Banyu Urip")
    assert ("air", "hidup") in area.plain_forms and ("airhidup",) in area.plain_forms
    assert not banyu_urip.resolve(normalise_clauses(text)).found


@pytest.mark.parametrize(
    "text",
    [
        "kelurahan banyu urip banjir",
        "puskesmas banyu urip obatnya kosong",
        "sampah menumpuk di banyu urip",
        "RT 3 RW 4 banyu urip banjir",
        "banyu urip kec. sawahan banjir",
        "banyuurip banjir lagi",  # the name as written in one word, which the lexicon keeps
        "#banyuurip banjir",
    ],
)
def test_a_name_whose_every_word_the_lexicon_translates_is_read_with_evidence(
    banyu_urip: Gazetteer, text: str
) -> None:
    assert banyu_urip.resolve(normalise_clauses(text)).kelurahan == "Banyu Urip"


def test_a_name_with_a_word_of_its_own_left_needs_no_more_evidence(banyu_urip: Gazetteer) -> None:
    # "Putat Gede" reads "putat besar": "putat" is still the name's
    area = next(a for a in banyu_urip.areas if a.name == "Putat Gede")
    assert not area.plain_forms
    assert banyu_urip.resolve(normalise_clauses("putat gede banjir")).kelurahan == "Putat Gede"


def test_a_landmark_listed_as_an_alias_reads_as_its_kelurahan(tmp_path: Path) -> None:
    """A city lists the places residents name instead of their kelurahan (a hospital, a market,
    a housing estate) as aliases of the kelurahan they lie in (README, "Another city")."""
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases\n"
        "kecamatan,Kota Lama,,\n"
        "kelurahan,Sukamaju,Kota Lama,RSUD Harapan Bunda|Pasar Pagi Sentosa\n"
    )
    areas = Gazetteer.from_csv(path)
    for text in (
        "antri 6 jam di RSUD Harapan Bunda, dokter dak datang2",
        "parkir liar di depan pasar pagi sentosa tiap subuh",
        "lampu jalan mati di dekat psr pagi sentosa",  # "psr": the lexicon's "pasar"
    ):
        match = areas.resolve(normalise_clauses(text))
        assert (match.kecamatan, match.kelurahan) == ("Kota Lama", "Sukamaju"), text
    assert not areas.resolve(normalise_clauses("pasar pagi ini sepi")).found


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        ("Sayo tinggal di Sawah Lebar, tapi di simpang Kebun Kenanga sampah la cak bukit",
         "Kebun Kenanga"),
        ("Rumah aku di Kandang Limun, tapi jalan yg rusak parah tu di Beringin Raya",
         "Beringin Raya"),
        ("Saya orang Lempuing, yang mau saya adukan bansos di Kampung Kelawi", "Kampung Kelawi"),
    ],
)  # fmt: skip
def test_where_the_writer_lives_gives_way_to_the_other_place(
    gazetteer: Gazetteer, text: str, kelurahan: str
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert match.kelurahan == kelurahan
    assert match.ambiguous  # two places were named: a person checks the choice
    assert match.confidence >= 0.7


def test_a_kelurahan_named_like_its_kecamatan_is_not_the_other_place(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Karangpilang,,,\n"
        "kelurahan,Karangpilang,Karangpilang,,\n"
        "kelurahan,Kebraon,Karangpilang,,\n"
    )
    areas = Gazetteer.from_csv(path)
    text = "Saya tinggal di kelurahan Kebraon kecamatan Karangpilang, KK belum jadi"
    assert areas.resolve(normalise_clauses(text)).kelurahan == "Kebraon"
    # only one place named: where the writer lives is the place
    assert gazetteer_one(areas, "saya tinggal di Kebraon, lampu mati") == "Kebraon"


def gazetteer_one(areas: Gazetteer, text: str) -> str | None:
    return areas.resolve(normalise_clauses(text)).kelurahan


def dukuh_pakis(tmp_path: Path) -> Gazetteer:
    """A kecamatan that shares its name with one of its kelurahan, as most of Surabaya's do."""
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Dukuh Pakis,,,\n"
        "kelurahan,Dukuh Pakis,Dukuh Pakis,,\n"
        "kelurahan,Gunungsari,Dukuh Pakis,,\n"
    )
    return Gazetteer.from_csv(path)


def test_a_name_of_a_kecamatan_and_a_kelurahan_beside_another_kelurahan_is_the_kecamatan(
    tmp_path: Path,
) -> None:
    areas = dukuh_pakis(tmp_path)
    match = areas.resolve(normalise_clauses("saluran mampet di Gunungsari, Dukuh Pakis"))
    assert (match.kecamatan, match.kelurahan) == ("Dukuh Pakis", "Gunungsari")
    assert not match.ambiguous and match.confidence >= 0.9
    # alone, the name is both: the kelurahan of that name
    assert gazetteer_one(areas, "saluran mampet di Dukuh Pakis") == "Dukuh Pakis"


@pytest.mark.parametrize(
    "text",
    [
        "pelayanan di kantor kec. Dukuh Pakis lambat",
        "kecamatan kami Dukuh Pakis belum dapat fogging",  # the marker, then whose it is
        "lapor ke Polsek Dukuh Pakis tidak ditanggapi",  # an office that serves a kecamatan
        "legalisir buku nikah di KUA Dukuh Pakis lama",
    ],
)
def test_a_name_of_a_kecamatan_and_a_kelurahan_after_the_kecamatan_word_is_the_kecamatan(
    tmp_path: Path, text: str
) -> None:
    areas = dukuh_pakis(tmp_path)
    match = areas.resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == ("Dukuh Pakis", None)
    assert match.confidence >= 0.7
    # after the kelurahan's marker it is the kelurahan
    assert gazetteer_one(areas, "banjir di kel. Dukuh Pakis") == "Dukuh Pakis"


def test_a_name_of_a_kecamatan_and_a_kelurahan_after_the_kelurahan_word_is_the_kelurahan(
    tmp_path: Path,
) -> None:
    # even beside another kelurahan (a street named after one) and the kecamatan's own name
    text = "saluran mampet jalan Gunungsari kelurahan Dukuh Pakis kecamatan Dukuh Pakis"
    match = dukuh_pakis(tmp_path).resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == ("Dukuh Pakis", "Dukuh Pakis")


@pytest.mark.parametrize(
    "text",
    [
        # another city after "kota"/"pemkot": its kecamatan word after it makes no kelurahan
        "saya warga kota Surabaya kecamatan Gayungan, KTP saya belum jadi",
        "aset pemkot Surabaya RT 02 RW 05 dipakai pribadi",
        # whose it is after a word that is no marker: the city
        "warga kota kami Surabaya juga kena banjir",
        # a one-word name after a place word and whose it is stays an ordinary word
        "pagar rumah saya selebar 3 meter tidak bisa ditutup",
        # a two-letter word with a vowel is a suffix or a particle, not a shortened name
        "sy tidak bisa membuka jawab an atas pengaduan sy",
        "petugas merokok an dalam keadaan jendela terbuka",
        # letters that neither touch on a keyboard nor are spelt alike: another name, not a typo
        "lampu mati di kelurahan simomulyo",
        # a lone initial says a name only after a marker
        "semoga p harapan warga kali ini didengar",
        "sudah dilaporkan ke dinas sumberdaya air",
    ],
)
def test_other_city_words_and_unlikely_typos_are_not_places(
    gazetteer: Gazetteer, text: str
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == (None, None), match.evidence


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        # a name of its own after "kota" stays ("taman kota" is a city park)
        ("rusa di taman kota Padang Harapan kurus", "Padang Harapan"),
        # keys that touch (r/d), letters spelt alike (y/i, o/a), a shortened word of consonants
        ("banjir lagi di kel. sukadami", "Sukarami"),
        ("lampu jalan sidomulio mati", "Sidomulyo"),
        ("sampah di kebun kenango numpuk", "Kebun Kenanga"),
        ("ps baru macet", "Pasar Baru"),
    ],
)
def test_typos_and_names_after_kota_that_stay_places(
    gazetteer: Gazetteer, text: str, kelurahan: str
) -> None:
    assert gazetteer.resolve(normalise_clauses(text)).kelurahan == kelurahan


@pytest.mark.parametrize(
    ("text", "kecamatan", "kelurahan"),
    [
        # a terse report ends with its place as a clause of its own
        ("air selokan meluap ke rumah, Penurunan", "Ratu Samban", "Penurunan"),
        (
            "air selokan meluap ke rumah warga, Penurunan. tolong dibersihkan",
            "Ratu Samban",
            "Penurunan",
        ),
        ("Knalpot brong tengah malam, Selebar", "Selebar", None),
        # a school's name before the place, as "SD" before it
        ("Terima kasih guru2 SDN Berkas", "Teluk Segara", "Berkas"),
    ],
)
def test_place_closing_a_terse_report(
    gazetteer: Gazetteer, text: str, kecamatan: str, kelurahan: str | None
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == (kecamatan, kelurahan)


@pytest.mark.parametrize(
    "text",
    [
        # opening the post, the same word is the documents ("Berkas, KTP, KK ...")
        "Berkas, KTP, KK sudah lengkap tapi belum diproses",
        # an item of a list
        "tolong bawa KTP, KK, berkas, akta lahir ke kantor",
        "sy sudah bawa KTP, berkas",
        # another city's name needs more than closing the post
        "ditolak PPDB padahal dekat, Surabaya",
    ],
)
def test_word_names_opening_a_post_or_other_cities_closing_it_are_not_places(
    gazetteer: Gazetteer, text: str
) -> None:
    assert not gazetteer.resolve(normalise_clauses(text)).found


@pytest.mark.parametrize(
    ("text", "kecamatan", "kelurahan"),
    [
        ("banjir lagi di sawahlbr", "Ratu Agung", "Sawah Lebar"),
        ("#sawahlbr banjir", "Ratu Agung", "Sawah Lebar"),
        ("kbntebeng gelap gulita", "Ratu Agung", "Kebun Tebeng"),
        ("pgrdewa sampah numpuk", "Selebar", "Pagar Dewa"),
        ("sampah di jlngedang", "Gading Cempaka", "Jalan Gedang"),
        ("lampu mati bentiringprm", "Muara Bangka Hulu", "Bentiring Permai"),
        ("macet parah tlksegara", "Teluk Segara", None),
    ],
)
def test_a_name_written_joined_with_one_word_shortened(
    gazetteer: Gazetteer, text: str, kecamatan: str, kelurahan: str | None
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == (kecamatan, kelurahan)
    assert match.confidence >= 0.7


@pytest.mark.parametrize(
    "text",
    [
        "ratusan warga antre bansos",  # a word: "ratus" + "-an", not Ratu Samban shortened
        "kmbali lagi sampah numpuk",  # "kembali" with a letter dropped, not Kampung Bali
        "jalanan rusak parah",
        "kebunnya penuh sampah",
        "padangnya luas tapi gelap",
        "pematangnya jebol",
    ],
)
def test_words_that_look_like_a_joined_shortened_name_are_not_places(
    gazetteer: Gazetteer, text: str
) -> None:
    assert gazetteer.resolve(normalise_clauses(text)).kecamatan is None


@pytest.mark.parametrize(
    ("text", "kecamatan", "kelurahan"),
    [
        # every word of the name typed without some of its vowels
        ("anjing liar bnyk nian di kmpung bli skrg", "Teluk Segara", "Kampung Bali"),
        ("airnyo kruh di pdang harpan ni", "Gading Cempaka", "Padang Harapan"),
        ("TRUK SAMPAH DK LWAT2 LAH SMINGGU DI TNJUNG AGNG!!!", "Sungai Serut", "Tanjung Agung"),
        ("angin kncang td sore atap rmh trbang di tlk sgara", "Teluk Segara", None),
        ("pmbakaran sampah di blakang pndok tiap sore", "Ratu Samban", "Belakang Pondok"),
        # a name of one word, one vowel left out, or its last letter typed twice
        ("abrasi di pntai malabro mkin parah", "Teluk Segara", "Malabero"),
        ("jlnke prumahan di btungan lah 5 thun dak diaspal", "Selebar", "Betungan"),
        ("anak2 sd di jitraa bsok ujian", "Teluk Segara", "Jitra"),
        # after a marker, with a doubled last letter too
        ("pungli di kntor kelurahan pdang nangkaa", "Singaran Pati", "Padang Nangka"),
        ("lampu jln di kel jmbatan kcil mati smua", "Singaran Pati", "Jembatan Kecil"),
    ],
)
def test_a_name_written_with_vowels_left_out(
    gazetteer: Gazetteer, text: str, kecamatan: str, kelurahan: str | None
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == (kecamatan, kelurahan)
    assert match.confidence >= 0.7


@pytest.mark.parametrize(
    "text",
    [
        # a name that is an ordinary word, so written, needs a marker as a typo does
        "pkl makan badan jalan di pnurunan",
        "brkas ktp aku ilang",
        # the words of a name in another order, or one of them only
        "mau bli kmpung durian",
        # a name of one word with three vowels left out: "lmpng" is Lampung as well
        "baru pulang dari lmpng",
        # a word of the language that is a name without a vowel: "lempung" (clay), Lempuing
        "tanah lempung di halaman becek terus",
        # a word of the language without its vowels: "anggt" (anggota, a member), Anggut
        "anggt dewan dak pernah turun ke lapangan",
    ],
)
def test_words_that_spell_a_name_without_vowels_only_in_part_are_not_places(
    gazetteer: Gazetteer, text: str
) -> None:
    assert gazetteer.resolve(normalise_clauses(text)).kecamatan is None


@pytest.mark.parametrize(
    ("text", "kecamatan", "kelurahan"),
    [
        (
            "aku la 3 bulan tinggal diKebun Geran, suratnyo masih diproses",
            "Ratu Samban",
            "Kebun Geran",
        ),
        ("suratnya udah diantar kejalan gedang", "Gading Cempaka", "Jalan Gedang"),
        ("sy wargapagar dewa udh 2 minggu begadang", "Selebar", "Pagar Dewa"),
        ("ngurus akta dikelurahanPondok Besi disuruh bolak balik", "Teluk Segara", "Pondok Besi"),
        ("Air baru ngalir, warnanya item.KelKebun Beler.", "Ratu Agung", "Kebun Beler"),
        ("banjir lagi dibetungan", "Selebar", "Betungan"),
        # the rest of the name written without vowels
        ("dikebun tbng gelap gulita", "Ratu Agung", "Kebun Tebeng"),
        ("sapi warga dikandang mas ilang", "Kampung Melayu", "Kandang Mas"),
    ],
)
def test_a_name_written_onto_the_word_before_it(
    gazetteer: Gazetteer, text: str, kecamatan: str, kelurahan: str | None
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert (match.kecamatan, match.kelurahan) == (kecamatan, kelurahan)


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        ("PDAM NGAPAIN AJA SIH??? SAWAH LEBARMATI 4HARI!!!!", "Sawah Lebar"),
        ("pindah domisili dari Lempuingke Bekasi, surat pindahnya belum keluar", "Lempuing"),
        ("lampu jalan kebun tebengtu mati galo", "Kebun Tebeng"),
        ("tekanan air di rawamakmurlemah bgt", "Rawa Makmur"),
        # and a word written onto it before as well
        ("Sudah 5 hari air diKampung Kelawitidak keluar setetes pun", "Kampung Kelawi"),
    ],
)
def test_a_name_with_the_next_word_written_onto_it_is_read_for_a_person_to_check(
    gazetteer: Gazetteer, text: str, kelurahan: str
) -> None:
    """Another city makes names so ("Jl. Mojopahit" is no street of Mojo): the reading stays
    below the threshold that tags the camat, and the post goes to review naming the place."""
    match = gazetteer.resolve(normalise_clauses(text))
    assert match.kelurahan == kelurahan
    assert match.confidence < 0.7


def test_a_word_of_its_own_is_no_name_with_a_word_written_onto_it(gazetteer: Gazetteer) -> None:
    # "barusan" (just now) is a word: Sawah Lebar, not Sawah Lebar Baru, and read in full
    match = gazetteer.resolve(normalise_clauses("sawah lebar barusan banjir lagi"))
    assert (match.kelurahan, match.confidence) == ("Sawah Lebar", 0.9)


@pytest.mark.parametrize(
    "text",
    [
        # a name that is an ordinary word: "dikandang" is in the pen, "dipagar" fenced
        "sapi warga yang dikandang pun dicuri maling",
        "rumahnya dipagar tinggi",
        # a name's first word without the rest of the name
        "sampah numpuk dikebun belakang rumah",
        "ditanah kosong ujung gang",
        # a word of the language ending in a name's last word's letters
        "jalan lebaran macet total",
    ],
)
def test_a_word_written_onto_part_of_a_name_is_no_place(gazetteer: Gazetteer, text: str) -> None:
    assert not gazetteer.resolve(normalise_clauses(text)).found


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        # the word after the name would make it an ordinary phrase ("jembatan kecil dari kayu")
        ("antri di puskesmas Jembatan Kecil dari jam 7", "Jembatan Kecil"),
        ("SD Penurunan harga seragamnya mahal", "Penurunan"),
        # not after another word, and not another city's name after a school
        ("anak2 main di bawah jembatan kecil dari kayu", None),
        ("penurunan harga beras", None),
        ("anak saya di SMP Surabaya", None),
    ],
)
def test_a_facility_named_after_an_area_makes_its_name_a_place(
    gazetteer: Gazetteer, text: str, kelurahan: str | None
) -> None:
    assert gazetteer.resolve(normalise_clauses(text)).kelurahan == kelurahan


def test_a_window_within_two_edits_of_a_name_begins_with_a_word_that_starts_one(
    gazetteer: Gazetteer,
) -> None:
    """The typo search skips windows whose first word begins no name (`_starts_a_name`); that
    must never skip a window that is a typo of a name. Windows made from every joined name by
    one or two random edits, cut into words at random places."""
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    checked = 0
    for key in [k for names in gazetteer._fuzzy_names.values() for k in names]:
        for _ in range(60):
            chars = list(key)
            for _ in range(rng.randint(1, 2)):
                at = rng.randrange(1, len(chars))  # the first letter stays: names are by it
                edit = rng.choice(("drop", "add", "change"))
                if edit == "drop" and len(chars) > 2:
                    del chars[at]
                elif edit == "add":
                    chars.insert(at, rng.choice(letters))
                else:
                    chars[at] = rng.choice(letters)
            joined = "".join(chars)
            if Levenshtein.distance(joined, key) > 2:
                continue
            cuts = sorted(rng.sample(range(1, len(joined)), min(2, len(joined) - 1)))
            first = joined[: cuts[0]] if rng.random() < 0.7 else joined
            assert gazetteer._starts_a_name(first), (key, joined, first)
            checked += 1
    assert checked > 1000
    # and most words begin no name, which is what makes the check worth having
    words = ["rusak", "menumpuk", "tolong", "diperbaiki", "kemarin", "pelayanan", "petugas"]
    assert not any(gazetteer._starts_a_name(w) for w in words)


@pytest.mark.parametrize(
    "text",
    [
        "hati2 yang lewat jalan lintas ke Muaradua OKU Selatan, banyak lubang",
        "mudik ke Pagar Dewa, Tulang Bawang Barat, alhamdulillah jalannya udah mulus",
        "harga sawit di Lempuing, OKI anjlok lagi",
        "kawan aku kerjo di kilang Padang Serai, Kedah",
        "Sukarami, Kota Palembang banjir lagi kata sepupu",
        "macet di Palembang Sukarami arah bandara",
    ],
)
def test_a_name_beside_a_place_outside_the_city_is_that_place(
    gazetteer: Gazetteer, text: str
) -> None:
    """data/elsewhere.csv: another region's name right after a name (a comma or "kota" between
    or not), or right before it, makes the name that region's own."""
    assert not gazetteer.resolve(normalise_clauses(text)).found


@pytest.mark.parametrize(
    ("text", "kelurahan"),
    [
        ("banjir di Sukarami, Kota Bengkulu", "Sukarami"),
        # after a full stop or a comma, a name before it is not a qualifier
        ("baru pulang dari Palembang. Sukarami banjir lagi", "Sukarami"),
        ("kemarin ke Palembang, Sukarami sekarang jalannya rusak", "Sukarami"),
        ("jalan di Pagar Dewa rusak, padahal di Lampung mulus", "Pagar Dewa"),
        # a city whose name is an ordinary word is not listed ("malang": unlucky)
        ("nasib warga Sukarami malang nian, jalan rusak dak diperbaiki", "Sukarami"),
    ],
)
def test_this_citys_name_near_another_regions_stays_a_place(
    gazetteer: Gazetteer, text: str, kelurahan: str
) -> None:
    assert gazetteer.resolve(normalise_clauses(text)).kelurahan == kelurahan


@pytest.mark.parametrize(
    ("text", "outside"),
    [
        ("mudik ke Pagar Dewa, Tulang Bawang Barat, jalannya rusak parah", "Tulang Bawang Barat"),
        ("jalan lintas di kepahiang longsor lagi", "Kepahiang"),
        # the road to another regency lies there, not here
        ("jalan lintas ke Kepahiang longsor lagi, mobil dak biso lewat", "Kepahiang"),
        ("sampah numpuk di pasar, OKU selatan", "OKU Selatan"),
        ("Yth. Dinas PUPR Kota Pontianak, jembatan kayu di gang kami patah", "Pontianak"),
        # a street named after a region is in the city: nothing said
        ("taman di Jl. Riau kotor, ayunan rusak", None),
        ("jalan rusak parah, lubang di mana2", None),
        # where the writer comes from or goes to is not where the problem is
        ("pindah datang dari Curup udh 6 minggu, KK blm keluar2", None),
        ("bapak harus dirujuk ke Palembang krn alatnya gak ada", None),
        ("pindah domisili dari kab. seluma ke kota, la sebulan NIK belum keluar", None),
        # where a relative lives
        ("gempa kerasa bgt sampe sodara di Palembang nanyain, tembok kos retak", None),
        # the problem is here, the other place a comparison
        ("saudara di Palembang cek gigi gratis, di sini dokter giginya gak ada", None),
        ("kawan di Curup airnyo lancar, kami di siko seminggu sekali ngalir", None),
    ],
)
def test_a_post_naming_only_a_place_outside_the_city_says_which(
    gazetteer: Gazetteer, text: str, outside: str | None
) -> None:
    match = gazetteer.resolve(normalise_clauses(text))
    assert not match.found
    assert match.outside == outside


def test_a_place_of_the_city_named_beside_one_outside_is_not_flagged(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve(normalise_clauses("pindah dari Curup ke Sawah Lebar, KK blm jadi"))
    assert match.kelurahan == "Sawah Lebar"
    assert match.outside is None


def test_a_place_elsewhere_may_not_begin_or_end_a_name_of_the_city(tmp_path: Path) -> None:
    areas = tmp_path / "areas.csv"
    areas.write_text(
        "level,name,kecamatan\nkecamatan,Kota Lama,\nkelurahan,Padang Harapan,Kota Lama\n"
    )
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("name\nPalembang\nPadang\n")
    with pytest.raises(DataFileError, match=r"row 3: 'Padang' begins or ends .*padang harapan"):
        Gazetteer.from_csv(areas, elsewhere)
    elsewhere.write_text("name\nPalembang\n")
    gazetteer = Gazetteer.from_data_dir(tmp_path)
    assert gazetteer.resolve(normalise_clauses("Padang Harapan, Palembang")).outside == "Palembang"
    assert gazetteer.resolve(normalise_clauses("Padang Harapan banjir")).kelurahan
    # without the file, nothing is read as elsewhere
    elsewhere.unlink()
    gazetteer = Gazetteer.from_data_dir(tmp_path)
    assert gazetteer.resolve(normalise_clauses("Padang Harapan, Palembang")).found
    assert gazetteer.resolve(normalise_clauses("banjir di Palembang")).outside is None


def test_an_initial_after_a_marker_reads_a_name_only_when_one_area_fits(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text(
        "level,name,kecamatan,aliases,needs_context\n"
        "kecamatan,Timur,,,\n"
        "kelurahan,Kebun Mas,Timur,,\n"
        "kelurahan,Kampung Mas,Timur,,\n"
        "kelurahan,Padang Mas,Timur,,\n"
    )
    gazetteer = Gazetteer.from_csv(path)
    assert gazetteer.resolve(normalise_clauses("banjir di kel. P. Mas")).kelurahan == "Padang Mas"
    assert gazetteer.resolve(normalise_clauses("banjir di kel. K. Mas")).kelurahan is None
    assert gazetteer.resolve(normalise_clauses("banjir di P. Mas")).kelurahan is None


def test_a_name_written_in_full_is_not_read_again_as_a_typo_across_its_words(
    gazetteer: Gazetteer,
) -> None:
    """ "padang mati" is one letter from Padang Jati, but "padang" belongs to Tengah Padang,
    written in full (after "gang": a street named after it, so below the tagging threshold)."""
    match = gazetteer.resolve(normalise_clauses("PJU di gang Tengah Padang mati 2 minggu"))
    assert (match.kecamatan, match.kelurahan) == ("Teluk Segara", "Tengah Padang")
    assert not match.ambiguous
    assert match.confidence < 0.7


def test_a_labeled_area_pair_is_checked_against_the_city(gazetteer: Gazetteer) -> None:
    assert gazetteer.area_problem("", "") is None
    assert gazetteer.area_problem("Ratu Agung", "") is None
    assert gazetteer.area_problem("Ratu Agung", "Sawah Lebar") is None
    assert gazetteer.area_problem("Gubeng", "") == "unknown kecamatan 'Gubeng'"
    assert (
        gazetteer.area_problem("Selebar", "Sawah Lebar")
        == "kelurahan 'Sawah Lebar' is not in kecamatan 'Selebar'"
    )
    assert (
        gazetteer.area_problem("", "Sawah Lebar")
        == "kelurahan 'Sawah Lebar' is not in kecamatan ''"
    )
