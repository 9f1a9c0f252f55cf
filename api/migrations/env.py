"""Alembic environment: tandai runs migrations on a connection it passes in (see
`api.storage.Database.migrate`), inside the lock that keeps concurrent workers apart."""

from __future__ import annotations

from alembic import context

from api.storage import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "tandai's migrations run from `api.storage.Database.migrate()` (the server and the "
        "`tandai` command call it), not from the alembic command line"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
