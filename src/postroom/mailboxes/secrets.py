"""Encrypts mailbox passwords at rest with a key derived from the installation's secret key."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from postroom.core.errors import ConfigError


def _fernet() -> Fernet:
    digest = hashlib.sha256(("postroom-mailbox-passwords:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ConfigError(
            "a stored mailbox password can't be decrypted: the secret key changed "
            "(POSTROOM_SECRET_KEY or data/secret.key); load the configuration again with the password"
        ) from exc
