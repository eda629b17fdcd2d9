"""The Django app of outgoing mail (the outbox)."""

from django.apps import AppConfig


class OutgoingConfig(AppConfig):
    name = "postroom.outgoing"
    label = "outgoing"
    default_auto_field = "django.db.models.BigAutoField"
