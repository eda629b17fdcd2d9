"""The start-up schema check: answered from the migration folders and one query when nothing is pending."""

from __future__ import annotations

import pytest
from django.db import connection

from postroom.cli import dbsetup


@pytest.mark.django_db
def test_a_migrated_database_needs_nothing_and_a_missing_migration_is_noticed() -> None:
    assert dbsetup._all_applied()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'records' AND name = '0001_initial'")
    assert not dbsetup._all_applied()
