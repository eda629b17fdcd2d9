"""Django app config for the people records are made for and worked by."""

from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "postroom.people"
    label = "people"
    default_auto_field = "django.db.models.BigAutoField"
