"""GET /metrics: Prometheus text exposition of every worker's metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from api import metrics, storage
from api.deps import StateDep

router = APIRouter(tags=["operations"])
log = logging.getLogger("tandai")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def export_metrics(state: StateDep) -> Response:
    """Requests by route and status, latency, predictions by topic, the model version served,
    the review queue's length."""
    # The answering worker's model refreshes at every scrape, whoever loaded or swapped it.
    metrics.set_active_model(state.triage.model_version if state.triage else None)
    try:
        with state.db.session() as session:
            metrics.set_review_queue(storage.count_review_queue(session))
    except SQLAlchemyError as exc:  # the other metrics are still worth a scrape
        log.warning("review queue length unavailable: %s", exc.__class__.__name__)
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
