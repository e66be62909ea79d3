"""Name folding: two spellings of one Vietnamese name compare equal.

`fold` makes two spellings of one Vietnamese name compare equal: composed or
decomposed Unicode, upper or lower case, extra spaces, and either tone-mark
placement (`Thuỷ`/`Thủy`, `Hoà`/`Hòa`). It keeps every other diacritic, so
`Đông` and `Đồng` stay different. `ascii_fold` drops all marks, for the
last-resort match of sheet and column labels.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The five tone marks; the other combining marks (circumflex, breve, horn) and
# the stroke of đ are part of the letter.
_TONES = {"\u0300": "1", "\u0301": "2", "\u0303": "3", "\u0309": "4", "\u0323": "5"}
_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]")
_TONE_DIGIT = re.compile(r"(?<=[^\W\d_])[1-5](?=\s|$)")  # what `fold` appends to a toned word


def _fold_word(word: str) -> str:
    tone = ""
    letters = []
    for ch in word:
        if ch in _TONES:
            tone = _TONES[ch]
        else:
            letters.append(ch)
    return unicodedata.normalize("NFC", "".join(letters)) + tone


def fold(text: object) -> str:
    """Canonical key of a label or name (see module doc)."""
    if text is None:
        return ""
    return _fold(str(text))


# Workbooks repeat the same labels and names thousands of times: folding is memoised.
@lru_cache(maxsize=1 << 16)
def _fold(text: str) -> str:
    s = unicodedata.normalize("NFD", text).casefold()
    s = _SPACE.sub(" ", s.replace("\u00a0", " ")).strip()
    return " ".join(_fold_word(w) for w in s.split(" ")) if s else ""


def ascii_fold(text: object) -> str:
    """Key without any diacritics or punctuation: `Tuyên truyền` -> `tuyen truyen`.

    Also of a `fold` key: the tone digit `fold` puts after a word is dropped too, so
    `ascii_fold(fold(x)) == ascii_fold(x)`.
    """
    return _ascii_fold(str(text or ""))


@lru_cache(maxsize=1 << 16)
def _ascii_fold(text: str) -> str:
    s = unicodedata.normalize("NFD", text).casefold().replace("đ", "d")
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = _TONE_DIGIT.sub("", s)
    s = _NON_WORD.sub(" ", s)
    return _SPACE.sub(" ", s).strip()
