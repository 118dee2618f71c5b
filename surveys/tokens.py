"""The survey link's token (shopcrm.tokens: 192 random bits, only the SHA-256 stored)."""

from django.conf import settings

from shopcrm.tokens import hash_token, new_token

__all__ = ["hash_token", "new_token", "survey_link"]


def survey_link(token: str) -> str:
    return f"{settings.SHOPCRM_PUBLIC_URL.rstrip('/')}/s/{token}/"
