"""Applies pending database migrations quietly, so every command runs on a fresh data folder."""

from __future__ import annotations

import importlib.util
import os

from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder


def ensure_schema() -> None:
    if _all_applied():
        return
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)


def _all_applied() -> bool:
    """Every migration file of every app is recorded as applied: the usual case, answered from a folder
    listing and one query. Django's own check loads every migration module first, which takes longer
    than the rest of a short command's start. Anything else (a new migration, a squashed one, a table
    missing) goes the whole way."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return False
    applied = set(recorder.applied_migrations())
    for app in apps.get_app_configs():
        spec = importlib.util.find_spec(f"{app.name}.migrations")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for name in os.listdir(folder):
                stem, ext = os.path.splitext(name)
                if ext == ".py" and not stem.startswith(("_", "~")) and (app.label, stem) not in applied:
                    return False
    return True
