"""The Django app of the web interface (its templates)."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "postroom.web"
    label = "web"
