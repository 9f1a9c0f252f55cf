"""The city's reference data: topics, areas, officials."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StateDep
from api.schemas import KecamatanInfo, KelurahanInfo, OfficialInfo, TopicInfo

router = APIRouter(tags=["reference"])


@router.get("/topics", response_model=list[TopicInfo])
def list_topics(state: StateDep) -> list[TopicInfo]:
    return [
        TopicInfo(code=t.code, name=t.name, description=t.description)
        for t in state.directory.topics
    ]


@router.get("/areas", response_model=list[KecamatanInfo])
def list_areas(state: StateDep) -> list[KecamatanInfo]:
    areas = state.directory.gazetteer.areas
    return [
        KecamatanInfo(
            name=kec.name,
            kelurahan=[
                KelurahanInfo(name=a.name, aliases=[" ".join(f) for f in a.forms[1:]])
                for a in areas
                if a.level == "kelurahan" and a.kecamatan == kec.name
            ],
        )
        for kec in areas
        if kec.level == "kecamatan"
    ]


@router.get("/officials", response_model=list[OfficialInfo])
def list_officials(state: StateDep) -> list[OfficialInfo]:
    return [
        OfficialInfo(
            official_id=o.official_id,
            name=o.name,
            role=o.role,
            office=o.office or None,
            kecamatan=o.kecamatan or None,
            kelurahan=o.kelurahan or None,
            handles=dict(o.handles),
        )
        for o in state.directory.officials
    ]
