"""Chinese word segmentation for full-text search, with jieba.

Chinese is written without spaces, so a search engine that splits on white space or matches
substrings finds ``液压举升`` nowhere in "液压油不足……导致举升缓慢". Both the indexed text and the
query are segmented into words here, the same way, and the database's full-text engine (SQLite
FTS5, PostgreSQL ``tsvector``) matches and ranks the words:

* :func:`index_terms` — every word of ``jieba.cut_for_search`` (which also emits the shorter
  dictionary words inside a long one: 液压油 → 液压, 液压油), lower-cased, plus each Chinese
  character on its own so that a one-character query (``阀``) still finds 呼吸阀;
* :func:`query_terms` — the words of one keyword; a lone character is dropped when the keyword
  has longer words (举升缸保养 → 举升, 保养, not 缸), since one character says little.

Punctuation and symbols never become terms, so no term can carry the query syntax of either
engine (quotes, ``&``, ``*``, ``NEAR``). The trade's own words (呼吸阀, 举升缸, 罐式车 …) are added
to jieba's dictionary so they segment the same in every sentence.
"""

from __future__ import annotations

import functools
import logging
import re
import threading

import jieba

_WORD = re.compile(r"\w+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

#: words of the special-vehicle trade that jieba's general dictionary splits or lacks
TRADE_WORDS = (
    "罐式车", "罐车", "自卸车", "半挂车", "挂车", "专用车", "牵引车", "底盘",
    "呼吸阀", "紧急切断阀", "海底阀", "卸油阀", "安全阀", "举升缸", "举升机构", "油缸", "液压油",
    "液压泵", "取力器", "油泵", "制动气室", "气室", "轮边", "板簧", "悬挂", "鞍座", "牵引销",
    "密封圈", "防溢", "罐体", "厢体", "货箱", "底板", "侧板", "后门", "保养", "三包", "索赔",
)

_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    """One dictionary per process, loaded on first use (about 1.5 s; jieba caches it on disk)."""
    with _lock:
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for word in TRADE_WORDS:
            tokenizer.add_word(word, freq=20000)
        return tokenizer


def _words(text: str) -> list[str]:
    # segmented upper-cased, then lowered: jieba's dictionary writes O型, T型 in capitals, and a
    # query box may be lowered before it gets here — both sides must cut the same way
    return [w.lower() for w in _tokenizer().cut_for_search(text.upper()) if _WORD.fullmatch(w)]


def index_terms(*texts: str) -> str:
    """The searchable words of ``texts``, space-separated (repeats kept: they weigh in ranking)."""
    terms: list[str] = []
    for text in texts:
        if text:
            terms += _words(text)
            terms += _HAN.findall(text)
    return " ".join(terms)


def query_terms(keyword: str) -> list[str]:
    """The words one keyword must all match; empty when it holds no word at all (``%``, ``……``)."""
    words = list(dict.fromkeys(_words(keyword)))
    longer = [w for w in words if not (len(w) == 1 and _HAN.fullmatch(w))]
    return longer or words
