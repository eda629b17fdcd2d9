"""Tests of the YAML configuration file (pure code: no Django, no database)."""
