import pytest
from django.db import connection

from programs.imports import services as import_services


@pytest.fixture(params=["copy", "portable"] if connection.vendor == "postgresql" else ["portable"])
def upsert_path(request, monkeypatch):
    """Each way an import can write its rows: PostgreSQL's COPY (apply_pg.py) and the
    portable bulk_create, which SQLite always takes and PostgreSQL takes here too."""
    if request.param == "portable":
        monkeypatch.setattr(import_services, "is_postgresql", lambda: False)
    return request.param
