"""GET /metrics: Prometheus text exposition of every worker's metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api import metrics
from api.deps import StateDep

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def export_metrics(state: StateDep) -> Response:
    """Requests by route and status, latency, predictions by topic, the model version served."""
    # The answering worker's model refreshes at every scrape, whoever loaded or swapped it.
    metrics.set_active_model(state.triage.model_version if state.triage else None)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
