"""HTTP service, database, CLI: the only layer that touches FastAPI and SQLAlchemy."""
