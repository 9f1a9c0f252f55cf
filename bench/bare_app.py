"""The framework's own ceiling: a FastAPI app whose endpoint parses the same JSON body as
POST /classify (the same pydantic model) and returns a constant. bench/http.py serves it with
the same uvicorn settings as tandai to measure what classification and storage cost."""

from __future__ import annotations

from fastapi import FastAPI

from api.schemas import PostIn

CONSTANT = {"id": "0", "ok": True}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/classify")
    def classify(post: PostIn) -> dict[str, object]:
        return CONSTANT

    return app
