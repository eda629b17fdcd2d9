"""Test settings: a throwaway data folder; PostgreSQL when POSTROOM_TEST_DATABASE_URL is set."""

import os
import tempfile

os.environ.setdefault("POSTROOM_DATA_DIR", tempfile.mkdtemp(prefix="postroom-test-"))
if os.environ.get("POSTROOM_TEST_DATABASE_URL"):
    os.environ["POSTROOM_DATABASE_URL"] = os.environ["POSTROOM_TEST_DATABASE_URL"]
else:
    os.environ.pop("POSTROOM_DATABASE_URL", None)
    os.environ.pop("DATABASE_URL", None)

from postroom.project.settings import *  # noqa: F403
