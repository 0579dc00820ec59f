"""String order of JavaScript's `a.localeCompare(b)` (ICU root collation) for label keys.

Three levels, compared in turn over the whole string, as the Unicode
Collation Algorithm does:
- primary: the base letters. Punctuation and symbols sort before digits,
  digits before letters, letters case-insensitively; a letter with accents
  is its base letter (NFKD: `é` is `e`, `ﬁ` is `fi`, `ǆ` is `dž`), `ß`, `æ`,
  `œ` expand to `ss`, `ae`, `oe`, `ø` `đ` `ł` are `o` `d` `l`, dotless i sorts
  right after `i`; other scripts follow Latin by code point (Greek, Cyrillic,
  Hebrew, Arabic, Hangul jamo, then Han);
- secondary: the accents (none before any);
- tertiary: lower case before upper case, a plain letter before its
  compatibility form (`file` < `ﬁle`, `strasse` < `straße`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
_PRIMARY = {c: 2 * i for i, c in enumerate(_ORDER)}
_BEFORE_DIGITS = _PRIMARY["0"] - 1  # other punctuation and symbols
_AFTER_ASCII = 2 * len(_ORDER)
# Letters the root collation treats as an ASCII letter (plus an accent) or an expansion.
_EXPANSIONS = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"}
_STROKED = {"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ħ": "h", "Ħ": "H"}
_STROKE = 0x0338  # the secondary weight a stroke counts as
_AFTER = {"\u0131": _PRIMARY["i"] + 1}  # dotless i

Element = tuple[int, int, int]  # (primary, secondary, tertiary); primary 0: an accent


def _elements(ch: str) -> list[Element]:
    if ch in _EXPANSIONS:
        return [(p, 0, 2) for p, _, _ in (e for c in _EXPANSIONS[ch] for e in _elements(c))]
    if ch in _STROKED:
        base = _elements(_STROKED[ch])
        return [*base, (0, _STROKE, 0)]
    if ch in _AFTER:
        return [(_AFTER[ch], 0, 0)]
    canonical = unicodedata.normalize("NFD", ch)
    compat = unicodedata.normalize("NFKD", ch)
    out: list[Element] = []
    for c in compat:
        if unicodedata.combining(c):
            out.append((0, ord(c), 0))
            continue
        tertiary = 2 if compat != canonical else (1 if c.isupper() else 0)
        low = c.lower() if c.isascii() else c
        if low in _PRIMARY:
            primary = _PRIMARY[low]
        elif unicodedata.category(c)[0] in "PSZ":
            primary = _BEFORE_DIGITS
        else:
            primary = _AFTER_ASCII + ord(c)
        out.append((primary, 0, tertiary))
    return out


@lru_cache(maxsize=4096)
def collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    elements = [e for ch in text for e in _elements(ch)]
    primary = tuple(p for p, _, _ in elements if p)
    secondary = tuple(s for _, s, _ in elements)
    tertiary = tuple(t for p, _, t in elements if p)
    return primary, secondary, tertiary


def locale_compare(a: str, b: str) -> int:
    ka, kb = collation_key(a), collation_key(b)
    return (ka > kb) - (ka < kb)
