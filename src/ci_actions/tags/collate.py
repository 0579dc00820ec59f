"""String order of JavaScript's `a.localeCompare(b)` (ICU root collation) for label keys.

Three levels, compared in turn over the whole string, as the Unicode
Collation Algorithm does:
- primary: the base letters. Punctuation and symbols sort before digits,
  digits before letters, letters case-insensitively; a letter with accents
  is its base letter (NFKD: `é` is `e`, `ﬁ` is `fi`, `ǆ` is `dž`), `ß`, `æ`,
  `œ` expand to `ss`, `ae`, `oe`, `ø` `đ` `ł` `ŀ` are `o` `d` `l` `l`, dotless i sorts
  right after `i`; other scripts follow Latin by code point (Greek, Cyrillic,
  Hebrew, Arabic, Hangul jamo, then Han);
- secondary: the accents (none before any; acute, grave, breve, circumflex,
  caron, ring, diaeresis, ... in that order), then `æ` `œ` read as `ae` `oe`
  with a weight between their letters;
- tertiary: lower case before upper case, a plain letter before its
  compatibility form (`file` < `ﬁle`, `strasse` < `straße`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
_PRIMARY = {c: 2 * i + 2 for i, c in enumerate(_ORDER)}  # 0 is an accent's
_BEFORE_DIGITS = _PRIMARY["0"] - 1  # other punctuation and symbols
_AFTER_ASCII = 2 * len(_ORDER) + 2
# Secondary weights of the common accents, in the root collation's order (acute before
# grave, ...); other marks follow by code point.
_ACCENTS = {
    ord(mark): weight
    for weight, mark in enumerate(
        "\u0301\u0300\u0306\u0302\u030c\u030a\u0308\u030b\u0303\u0307\u0338\u0327\u0328\u0304",
        start=1,
    )
}
_STROKE = _ACCENTS[0x338]
_LIGATURE = 0x10000  # `æ`, `œ`: a secondary weight after any accent, between their letters
_LIGATURES = {"æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"}
_MIDDLE_DOT = 0x200  # after the listed accents, before a ligature
# Letters the root collation reads as an ASCII letter plus a secondary weight.
_MARKED = {
    **{k: (v, _STROKE) for k, v in zip("øØđĐłŁħĦ", "oOdDlLhH", strict=True)},
    "ŀ": ("l", _MIDDLE_DOT),  # l with a middle dot: a letter with a mark, not `l·`
    "Ŀ": ("L", _MIDDLE_DOT),
}
_AFTER = {"\u0131": _PRIMARY["i"] + 1}  # dotless i

Element = tuple[int, int, int]  # (primary, secondary, tertiary); primary 0: an accent


def _elements(ch: str) -> list[Element]:
    if ch == "ß":  # `ss`, told apart on the third level
        return [(p, 0, 2) for p, _, _ in _elements("s") * 2]
    if ch in _LIGATURES:
        first, second = (_elements(c)[0] for c in _LIGATURES[ch])
        return [first, (0, _LIGATURE, 0), second]
    if ch in _MARKED:
        base, weight = _MARKED[ch]
        return [*_elements(base), (0, weight, 0)]
    if ch in _AFTER:
        return [(_AFTER[ch], 0, 0)]
    canonical = unicodedata.normalize("NFD", ch)
    compat = unicodedata.normalize("NFKD", ch)
    out: list[Element] = []
    for c in compat:
        if unicodedata.combining(c):
            out.append((0, _ACCENTS.get(ord(c), 0x100 + ord(c)), 0))
            continue
        tertiary = 2 if compat != canonical else (1 if c.isupper() else 0)
        low = c.lower() if len(c.lower()) == 1 else c
        if low in _PRIMARY:
            primary = _PRIMARY[low]
        elif unicodedata.category(c)[0] in "PSZ":
            primary = _BEFORE_DIGITS
        else:
            primary = _AFTER_ASCII + ord(low)
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
