"""Django app config for records: records, their messages and attachments."""

from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "postroom.records"
    label = "records"
    default_auto_field = "django.db.models.BigAutoField"
