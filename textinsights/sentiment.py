"""A text's sentiment from the hand-built lexicon (data/lexicon.txt): each sentiment word
counts its weight, flipped by a negator and scaled by an intensifier among the three tokens
before it in the same clause; the text's score is the mean over its sentiment words, clipped
to [-1, 1] (0 when it has none)."""

from functools import lru_cache

from .segment import DATA, clauses

WINDOW = 3


@lru_cache(maxsize=1)
def lexicon() -> tuple[dict[str, float], frozenset[str], dict[str, float]]:
    """(word → weight, negators, intensifier → factor)."""
    words, negators, intensifiers = {}, set(), {}
    for line in (DATA / "lexicon.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, mark = line.split("\t")
        if mark == "NEG":
            negators.add(word)
        elif mark.startswith("x"):
            intensifiers[word] = float(mark[1:])
        else:
            words[word] = float(mark)
    return words, frozenset(negators), intensifiers


def _clause_scores(tokens: tuple[str, ...]) -> list[float]:
    words, negators, intensifiers = lexicon()
    scores = []
    for index, token in enumerate(tokens):
        if token not in words:
            continue
        value = words[token]
        for before in tokens[max(0, index - WINDOW) : index]:
            if before in negators:
                value = -value
            elif before in intensifiers:
                value *= intensifiers[before]
        scores.append(value)
    return scores


def score(text: str) -> float:
    """The text's sentiment in [-1, 1]."""
    scores = [s for clause in clauses(text) for s in _clause_scores(clause)]
    if not scores:
        return 0.0
    return max(-1.0, min(1.0, sum(scores) / len(scores)))
