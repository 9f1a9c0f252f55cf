"""Who must answer: the city's offices and officials, and the rules that turn a prediction into
tags. Everything city-specific comes from data files (topics, offices, officials, routing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from model.areas import AreaMatch, Gazetteer
from model.datafiles import DataFileError, read_rows

NOT_A_COMPLAINT = "bukan_keluhan"
OTHER_TOPIC = "lainnya"
PLATFORMS = ("instagram", "facebook", "tiktok", "x")


@dataclass(frozen=True)
class Topic:
    code: str
    name: str
    description: str


@dataclass(frozen=True)
class Office:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class Official:
    official_id: str
    name: str
    role: str
    office: str
    kecamatan: str
    kelurahan: str
    handles: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Tag:
    official: Official
    reason: str


@dataclass(frozen=True)
class TagPolicy:
    """Thresholds of the tag decision; all come from settings."""

    auto_tag_threshold: float = 0.6
    review_threshold: float = 0.7
    # A post read as no complaint is tagged to nobody: a complaint misread so is lost unless a
    # person looks, so that reading is reviewed below a higher confidence (bench/MODEL.md, "A
    # complaint read as none").
    no_complaint_review_threshold: float = 0.85
    margin_threshold: float = 0.2
    area_threshold: float = 0.7
    tag_lurah: bool = True


@dataclass(frozen=True)
class TagDecision:
    tags: list[Tag]
    needs_review: bool
    review_reasons: list[str]


class Directory:
    """Topics, offices, officials and topic routing of one city, loaded and cross-checked."""

    def __init__(
        self,
        topics: list[Topic],
        offices: list[Office],
        officials: list[Official],
        routing: dict[str, list[str]],
        gazetteer: Gazetteer,
    ) -> None:
        self.topics = topics
        self.topic_codes = [t.code for t in topics]
        self.offices = {o.code: o for o in offices}
        self.officials = officials
        self.official_by_id = {o.official_id: o for o in officials}
        self.routing = routing
        self.gazetteer = gazetteer
        self._office_accounts: dict[str, list[Official]] = {}
        self._camat: dict[str, Official] = {}
        self._lurah: dict[tuple[str, str], Official] = {}
        for o in officials:
            if o.office and not o.kecamatan and not o.kelurahan:
                self._office_accounts.setdefault(o.office, []).append(o)
            elif o.kelurahan:
                self._lurah[(o.kecamatan, o.kelurahan)] = o
            elif o.kecamatan:
                self._camat[o.kecamatan] = o

    @classmethod
    def from_dir(cls, data_dir: Path) -> Directory:
        gazetteer = Gazetteer.from_data_dir(data_dir)
        topics_path = data_dir / "topics.csv"
        topics = [
            Topic(r["code"], r["name"], r.get("description", ""))
            for _, r in read_rows(topics_path, ("code", "name"))
        ]
        codes = {t.code for t in topics}
        if NOT_A_COMPLAINT not in codes:
            raise DataFileError(topics_path, None, f"the topic {NOT_A_COMPLAINT!r} is required")

        offices_path = data_dir / "offices.csv"
        offices: list[Office] = []
        for number, r in read_rows(offices_path, ("code", "name")):
            if not r["code"]:
                raise DataFileError(offices_path, number, "empty office code")
            if any(o.code == r["code"] for o in offices):
                raise DataFileError(offices_path, number, f"duplicate office {r['code']!r}")
            offices.append(Office(r["code"], r["name"], r.get("kind", "")))
        office_codes = {o.code for o in offices}

        kecamatan = set(gazetteer.kecamatan_names)
        officials_path = data_dir / "officials.csv"
        officials: list[Official] = []
        ids: set[str] = set()
        for number, r in read_rows(officials_path, ("official_id", "name", "role")):
            oid = r["official_id"]
            if not oid or oid in ids:
                raise DataFileError(officials_path, number, f"empty or duplicate id {oid!r}")
            ids.add(oid)
            if r.get("office") and r["office"] not in office_codes:
                raise DataFileError(officials_path, number, f"unknown office {r['office']!r}")
            if r.get("kecamatan") and r["kecamatan"] not in kecamatan:
                raise DataFileError(officials_path, number, f"unknown kecamatan {r['kecamatan']!r}")
            kel = r.get("kelurahan", "")
            if kel and gazetteer.kelurahan_of.get(kel) != r.get("kecamatan"):
                raise DataFileError(
                    officials_path,
                    number,
                    f"kelurahan {kel!r} is not in kecamatan "
                    f"{r.get('kecamatan')!r} according to areas.csv",
                )
            handles = {p: r[p] for p in PLATFORMS if r.get(p)}
            officials.append(
                Official(
                    oid,
                    r["name"],
                    r["role"],
                    r.get("office", ""),
                    r.get("kecamatan", ""),
                    kel,
                    handles,
                )
            )

        routing_path = data_dir / "routing.csv"
        routing: dict[str, list[str]] = {}
        for number, r in read_rows(routing_path, ("topic", "office")):
            if r["topic"] not in codes:
                raise DataFileError(routing_path, number, f"unknown topic {r['topic']!r}")
            if r["office"] not in office_codes:
                raise DataFileError(routing_path, number, f"unknown office {r['office']!r}")
            routing.setdefault(r["topic"], []).append(r["office"])
        directory = cls(topics, offices, officials, routing, gazetteer)
        for code in routing.values():
            for office in code:
                if office not in directory._office_accounts:
                    raise DataFileError(
                        officials_path, None, f"office {office!r} is routed to but has no account"
                    )
        return directory

    def office_accounts(self, topic: str) -> list[tuple[Office, Official]]:
        return [
            (self.offices[code], account)
            for code in self.routing.get(topic, [])
            for account in self._office_accounts.get(code, [])
        ]

    def camat(self, kecamatan: str) -> Official | None:
        return self._camat.get(kecamatan)

    def lurah(self, kecamatan: str, kelurahan: str) -> Official | None:
        return self._lurah.get((kecamatan, kelurahan))

    def topic_name(self, code: str) -> str:
        return next((t.name for t in self.topics if t.code == code), code)


def decide_tags(
    topic: str,
    confidence: float,
    margin: float,
    area: AreaMatch,
    directory: Directory,
    policy: TagPolicy,
) -> TagDecision:
    """The officials to tag for one post, whether a person must look first, and why."""
    reasons: list[str] = []
    if topic == NOT_A_COMPLAINT:
        if confidence < max(policy.review_threshold, policy.no_complaint_review_threshold):
            reasons.append(f"bukan keluhan, tetapi keyakinan kurang ({confidence:.2f})")
        return TagDecision([], bool(reasons), reasons)
    if confidence < policy.review_threshold:
        reasons.append(f"keyakinan topik rendah ({confidence:.2f})")
    if margin < policy.margin_threshold:
        reasons.append(f"selisih dua topik teratas kecil ({margin:.2f})")
    if topic == OTHER_TOPIC:
        reasons.append("topik lainnya perlu dilihat petugas")
    if area.ambiguous:
        reasons.append(f"wilayah ambigu ({area.evidence})")
    if area.outside and not area.found:
        reasons.append(
            f"menyebut {area.outside} (di luar kota) tanpa wilayah kota: "
            "pastikan keluhan ini wewenang kota"
        )

    tags: list[Tag] = []
    if confidence >= policy.auto_tag_threshold:
        for office, account in directory.office_accounts(topic):
            tags.append(Tag(account, f"Topik {topic} ({confidence:.2f}) -> {office.name}"))
    if not area.kecamatan:
        return TagDecision(tags, bool(reasons), reasons)
    where = f"Kecamatan {area.kecamatan}"
    if area.kelurahan:
        where = f"Kelurahan {area.kelurahan}, {where}"
    evidence = f' (disebut: "{area.evidence}", {area.confidence:.2f})' if area.evidence else ""
    if area.confidence >= policy.area_threshold:
        camat = directory.camat(area.kecamatan)
        if camat is not None:
            tags.append(Tag(camat, f"Wilayah: {where}{evidence}"))
        if area.kelurahan and policy.tag_lurah:
            lurah = directory.lurah(area.kecamatan, area.kelurahan)
            if lurah is not None:
                tags.append(Tag(lurah, f"Wilayah: {where}{evidence}"))
    else:
        # what was read, so that the reviewer checks that place (a street or an estate named
        # after an area is read below the threshold, `model.areas`)
        reasons.append(f"wilayah kurang pasti: {where}{evidence or f' ({area.confidence:.2f})'}")
    return TagDecision(tags, bool(reasons), reasons)
