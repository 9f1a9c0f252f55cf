"""Service-layer helpers that the routes and the CLI share."""

from __future__ import annotations

from datetime import UTC, datetime

from api import service
from api.schemas import ClassificationOut
from api.settings import Settings
from model.artifact import ModelArtifact
from model.routing import Directory


def test_classification_out_is_what_validation_would_give(
    settings: Settings, tiny_model: ModelArtifact
) -> None:
    """`classification_out` skips validation (`model_construct`): its answers must equal the
    validated model's, field for field and in JSON."""
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
        validated = ClassificationOut.model_validate(built.model_dump())
        assert built == validated
        assert built.model_dump_json() == validated.model_dump_json()
    assert any(service.classification_out(r, None).tags for r in results)
