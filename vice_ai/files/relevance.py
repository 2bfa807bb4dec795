"""Which parts of long files matter for a question: paragraph chunks ranked with BM25.

BM25 is term overlap, weighted: a question word counts more when few chunks hold it
(inverse document frequency), saturates when a chunk repeats it (k1), and a long chunk
gets no advantage for being long (b). It needs no model and no index; for the few
hundred chunks of a chat's files it runs in milliseconds.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

CHUNK_CHARS = 1200  # a paragraph, or a few short ones together
K1, B = 1.2, 0.75
_WORD = re.compile(r"\w+")
# Words too common to say what a question is about.
STOPWORDS = frozenset("""
a an and are as at be but by can do does for from has have how i if in is it its me my no not of on or our so
that the their them then there these they this to us was we were what when where which who why will with would
you your about into than also just please tell give show
""".split())


@dataclass(frozen=True)
class Chunk:
    file_index: int
    position: int  # order in its file
    text: str


def terms(text: str) -> list[str]:
    """The words of a text that can match: lower case, no stop words, no single letters."""
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]


def chunk_text(text: str, file_index: int, size: int = CHUNK_CHARS) -> list[Chunk]:
    """Paragraphs (split at blank lines), short ones joined and long ones cut at white space, up to `size` chars."""
    pieces: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        while len(para) > size:
            cut = para.rfind(" ", size // 2, size)
            cut = cut if cut > 0 else size
            pieces.append(para[:cut].strip())
            para = para[cut:].strip()
        if para:
            pieces.append(para)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= size:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return [Chunk(file_index, i, c) for i, c in enumerate(chunks)]


def bm25_scores(chunks: Sequence[Chunk], question: str) -> list[float]:
    """A BM25 score per chunk for the question's terms (0 for a chunk sharing none)."""
    query = set(terms(question))
    if not chunks or not query:
        return [0.0] * len(chunks)
    counts = [Counter(terms(c.text)) for c in chunks]
    lengths = [sum(c.values()) for c in counts]
    average = (sum(lengths) / len(lengths)) or 1.0
    n = len(chunks)
    idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t in query
           for df in [sum(1 for c in counts if t in c)]}
    scores = []
    for tf, length in zip(counts, lengths, strict=True):
        score = 0.0
        for t in query:
            f = tf.get(t, 0)
            if f:
                score += idf[t] * f * (K1 + 1) / (f + K1 * (1 - B + B * length / average))
        scores.append(score)
    return scores
