"""Django app config for mailboxes: their settings, the delivery ledger and cycle history."""

from django.apps import AppConfig


class MailboxesConfig(AppConfig):
    name = "postroom.mailboxes"
    label = "mailboxes"
    default_auto_field = "django.db.models.BigAutoField"
