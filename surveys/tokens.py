"""The survey link's token: 192 random bits in the link, only its SHA-256 in the database."""

import hashlib
import secrets

from django.conf import settings


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> tuple[str, str]:
    """(token for the link, its hash for the database): 192 random bits."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def survey_link(token: str) -> str:
    return f"{settings.SHOPCRM_PUBLIC_URL.rstrip('/')}/s/{token}/"
