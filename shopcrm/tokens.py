"""Links a customer receives (a survey, a repair's status page): 192 random bits in the
link, only their SHA-256 in the database, so a leaked table opens nothing."""

import hashlib
import secrets


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> tuple[str, str]:
    """(token for the link, its hash for the database): 192 random bits."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)
