"""The Django app of webhooks (their settings and their delivery queue)."""

from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "postroom.hooks"
    label = "hooks"
    default_auto_field = "django.db.models.BigAutoField"
