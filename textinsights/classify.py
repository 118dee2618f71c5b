"""Suggesting a complaint's category from its text: hand-weighted keywords per category
(data/categories.txt). The taker confirms or changes the suggestion; nothing is filed from
it alone."""

from functools import lru_cache

from .segment import DATA, MAX_CHARS


@lru_cache(maxsize=1)
def keywords() -> dict[str, list[tuple[str, float]]]:
    table: dict[str, list[tuple[str, float]]] = {}
    for line in (DATA / "categories.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, word, weight = line.split("\t")
        table.setdefault(category, []).append((word, float(weight)))
    return table


def scores(text: str) -> dict[str, float]:
    """Each category's score for ``text`` (categories with no keyword found left out)."""
    text = (text or "")[:MAX_CHARS]
    found = {}
    for category, words in keywords().items():
        total = sum(weight for word, weight in words if word in text)
        if total:
            found[category] = total
    return found


def suggest_category(text: str) -> str:
    """The best-scoring category's value, or "" when no keyword is found. Ties go to the
    category listed first in the keyword file."""
    found = scores(text)
    if not found:
        return ""
    order = list(keywords())
    return max(found, key=lambda c: (found[c], -order.index(c)))
