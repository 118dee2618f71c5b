"""Segmenting the shop's short Chinese texts: jieba with its own dictionary plus the shop's
(data/shop_dict.txt), stop words removed. jieba loads once per process, lazily, on the first
text; its prefix cache goes into the project's data dir (settings.DATA_DIR), never next to
the package (read-only in a container)."""

import itertools
import logging
import re
import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

DATA = Path(__file__).resolve().parent / "data"
# Clauses end at punctuation (Chinese or Western) and line breaks: phrases never span them.
CLAUSE = re.compile(r"[，。！？；：、,.!?;:\s\n\r（）()“”\"'…—~～/]+")
# Counts and amounts ("四个", "一周", "300元") are not topics.
NUMBER = re.compile(
    r"^[0-9０-９一二两三四五六七八九十百千万几半多]+[个次天周年月号点元块分钟小时公里]*$"
)
MAX_CHARS = 4000  # the longest text a form takes (complaints.forms); longer is cut

_lock = threading.Lock()
_tokenizer = None


def _read_lines(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(_read_lines("stopwords.txt"))


def tokenizer():
    """The process's jieba tokenizer, made on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                logging.getLogger("jieba").setLevel(logging.WARNING)
                made = jieba.Tokenizer()
                made.tmp_dir = str(settings.DATA_DIR)
                made.cache_file = "jieba.cache"
                made.initialize()
                made.load_userdict(str(DATA / "shop_dict.txt"))
                _tokenizer = made
    return _tokenizer


@lru_cache(maxsize=32768)  # a period's texts (selectors.MAX_TEXTS) and more
def clauses(text: str) -> tuple[tuple[str, ...], ...]:
    """``text`` cut into clauses, each a tuple of jieba tokens (stop words kept: the
    sentiment needs the negators)."""
    cut = tokenizer().lcut
    parts = CLAUSE.split((text or "")[:MAX_CHARS])
    return tuple(tuple(t for t in cut(part, HMM=True) if t.strip()) for part in parts if part)


def is_term(token: str) -> bool:
    """A token worth counting: two characters or more, not a stop word, not a count."""
    return len(token) >= 2 and token not in stopwords() and not NUMBER.match(token)


def terms(text: str) -> list[str]:
    """The text's terms, in order (repeats kept)."""
    return [t for clause in clauses(text) for t in clause if is_term(t)]


def phrases(text: str) -> list[str]:
    """Two-word phrases: neighbouring terms inside one clause, joined by a space."""
    found = []
    for clause in clauses(text):
        kept = [t for t in clause if is_term(t)]
        found += [f"{a} {b}" for a, b in itertools.pairwise(kept)]
    return found
