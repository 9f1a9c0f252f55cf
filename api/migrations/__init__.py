"""Alembic migrations of tandai's database, run by `api.storage.Database.migrate()`."""
