"""Service-layer helpers that the routes and the CLI share."""

from __future__ import annotations

from datetime import UTC, datetime

from api import service
from api.schemas import ClassificationOut
from api.settings import Settings
from model.artifact import ModelArtifact
from model.routing import Directory


def test_classification_out_holds_every_field_of_the_result(
    settings: Settings, tiny_model: ModelArtifact
) -> None:
    """`classification_out` validates plain values (`classification_fields`): its answer holds
    the result's own values, the same again after a round trip through JSON, and what is stored
    of it (`prediction_columns`) is read back as the same answer."""
    triage = service.make_triage(settings, Directory.from_dir(settings.data_dir), tiny_model)
    results = triage.classify(
        [
            "sampah menumpuk bau busuk di kelurahan Sawah Lebar",
            "jalan berlubang di Padang Harapan kec. Gading Cempaka",
            "terima kasih pak wali",
            "🙏🙏",
        ],
        [None, datetime(2026, 11, 1, 7, 0, tzinfo=UTC), None, None],
    )
    for result in results:
        built = service.classification_out(result, "abc")
        assert built.id == "abc" and built.model_version == result.model_version
        assert (built.topic.label, built.topic.confidence) == (
            result.topic.label,
            result.topic.confidence,
        )
        assert [(a.label, a.confidence) for a in built.topic.alternatives] == [
            (a.label, a.confidence) for a in result.alternatives
        ]
        assert (built.area.kecamatan, built.area.kelurahan, built.area.evidence) == (
            result.area.kecamatan,
            result.area.kelurahan,
            result.area.evidence,
        )
        assert [(t.official_id, t.reason) for t in built.tags] == [
            (t.official.official_id, t.reason) for t in result.tags
        ]
        assert (built.needs_review, built.review_reasons, built.respond_by) == (
            result.needs_review,
            list(result.review_reasons),
            result.respond_by,
        )
        assert ClassificationOut.model_validate_json(built.model_dump_json()) == built
        columns = service.prediction_columns(service.classification_fields(result, "abc"))
        assert columns["alternatives"] == [a.model_dump() for a in built.topic.alternatives]
        assert columns["tags"] == [t.model_dump() for t in built.tags]
        assert columns["margin"] == built.topic.confidence - (
            built.topic.alternatives[0].confidence if built.topic.alternatives else 0.0
        )
    assert any(service.classification_out(r, None).tags for r in results)
    assert any(r.area.kecamatan for r in results)
