"""URLs: the API under /api/ (its OpenAPI document at /api/openapi.json)."""

from django.urls import path

from postroom.api.views import api

urlpatterns = [path("api/", api.urls)]
