"""The lexical half of hybrid search: our own tokenizer, hashed into Qdrant sparse vectors.

Qdrant applies IDF (collection statistics) through `Modifier.IDF`; we supply saturated term counts. Hashing
keeps the vocabulary open (new protocols add words without a rebuild) at a negligible collision rate in 2^31.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter

from qdrant_client import models

_TOKEN = re.compile(r"[a-z][a-z0-9]*|[0-9]+(?:\.[0-9]+)?")

# Words that carry no information about which analyte or condition a clause concerns.
STOPWORDS = frozenset(
    """a an the and or of to in on at by for with as is are be been was were than that this these those
    from into any all each per who which if not no must should may will has have had its it their they
    patient patients subject subjects study""".split()
)

# British and American spellings of the same lab words ("haemoglobin", "oedema", "leucocytes").
_SPELLING = [("haem", "hem"), ("oe", "e"), ("leuc", "leuk"), ("ae", "e")]


def _fold(token: str) -> str:
    for british, american in _SPELLING:
        token = token.replace(british, american)
    # light plural stemming: "platelets" = "platelet", "transaminases" = "transaminase"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("µ", "u").replace("μ", "u")
    return [_fold(token) for token in _TOKEN.findall(text) if token not in STOPWORDS]


def term_id(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) & 0x7FFFFFFF


def sparse_vector(text: str) -> models.SparseVector:
    counts: Counter[int] = Counter(term_id(token) for token in tokenize(text))
    indices = sorted(counts)
    # 1 + log(tf): a word repeated in a long table should not outweigh a rare word (BM25-like saturation)
    return models.SparseVector(indices=indices, values=[1.0 + math.log(counts[i]) for i in indices])
