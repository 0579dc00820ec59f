"""String order of JavaScript's `a.localeCompare(b)` (ICU root collation) for label keys.

Punctuation and symbols sort before digits, digits before letters, letters
compare case-insensitively first and lower-case before upper-case on a tie.
Characters outside ASCII sort after, by code point (label keys are ASCII).
"""

from __future__ import annotations

_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
_PRIMARY = {c: i for i, c in enumerate(_ORDER)}


def _primary(ch: str) -> int:
    low = ch.lower() if ch.isascii() else ch
    return _PRIMARY.get(low, len(_ORDER) + ord(ch))


def collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    primary = tuple(_primary(c) for c in text)
    tertiary = tuple(1 if c.isascii() and c.isupper() else 0 for c in text)
    return primary, tertiary


def locale_compare(a: str, b: str) -> int:
    ka, kb = collation_key(a), collation_key(b)
    return (ka > kb) - (ka < kb)
