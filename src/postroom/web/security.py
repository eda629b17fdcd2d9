"""The Content-Security-Policy of every page: no script from anywhere (our pages use none), no plugins,
frames only of our own srcdoc documents, images from us (and, on a page where the reader asked for them,
from the mail's remote servers)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; frame-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{remote}"
)


class ContentSecurityPolicy:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        remote = " https:" if getattr(response, "allow_remote_images", False) else ""
        response.setdefault("Content-Security-Policy", POLICY.format(remote=remote))
        return response
