"""Date formatting with moment.js format strings (English locale), as moment-timezone does.

Tokens: years (Y YY YYYY YYYYY YYYYYY), ISO and locale week years (GG GGGG gg gggg),
quarter (Q Qo), month (M Mo MM MMM MMMM), day of month (D Do DD), day of year
(DDD DDDo DDDD), weekday (d do dd ddd dddd e E), weeks (w wo ww W Wo WW),
hours (H HH h hh k kk, Hmm Hmmss hmm hmmss), minutes, seconds, fractions
(S … SSSSSSSSS), am/pm (A a), offsets (Z ZZ), zone abbreviations (z zz),
Unix time (X x), localized formats (LT LTS L LL LLL LLLL l ll lll llll),
`[literal text]` and `\\c` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo

_TOKENS = re.compile(
    r"(\[[^\[]*\])|(\\)?([Hh]mm(?:ss)?|Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|w[o|w]?|W[o|W]?"
    r"|Qo?|N{1,5}|YYYYYY|YYYYY|YYYY|YY|y{2,4}|yo?|gg(?:ggg?)?|GG(?:GGG?)?|e|E|a|A|hh?|HH?"
    r"|kk?|mm?|ss?|S{1,9}|x|X|zz?|ZZ?|.)",
    re.DOTALL,
)
_LOCAL_TOKENS = re.compile(r"(\[[^\[]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})")
_LOCAL_FORMATS = {
    "LTS": "h:mm:ss A",
    "LT": "h:mm A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY",
    "ll": "MMM D, YYYY",
    "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


class UnknownTimeZone(ValueError):
    pass


def zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(name) from None


def ordinal(number: int) -> str:
    last = number % 10
    suffix = "th" if number % 100 // 10 == 1 else {1: "st", 2: "nd", 3: "rd"}.get(last, "th")
    return f"{number}{suffix}"


def _pad(number: int, width: int) -> str:
    sign = "-" if number < 0 else ""
    return sign + str(abs(number)).zfill(width)


def _first_week_offset(year: int, dow: int, doy: int) -> int:
    fwd = 7 + dow - doy  # the January day that is always in the first week
    js_weekday = (date(year, 1, fwd).isoweekday()) % 7  # Sunday = 0
    fwdlw = (7 + js_weekday - dow) % 7
    return -fwdlw + fwd - 1


def _days_in_year(year: int) -> int:
    return 366 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 365


def _weeks_in_year(year: int, dow: int, doy: int) -> int:
    offset = _first_week_offset(year, dow, doy)
    offset_next = _first_week_offset(year + 1, dow, doy)
    return (_days_in_year(year) - offset + offset_next) // 7


def week_of_year(moment: datetime, dow: int, doy: int) -> tuple[int, int]:
    """(week, week-year) with the week starting on `dow` and containing Jan `7+dow-doy`."""
    year = moment.year
    offset = _first_week_offset(year, dow, doy)
    week = (moment.timetuple().tm_yday - offset - 1) // 7 + 1
    if week < 1:
        return week + _weeks_in_year(year - 1, dow, doy), year - 1
    if week > _weeks_in_year(year, dow, doy):
        return week - _weeks_in_year(year, dow, doy), year + 1
    return week, year


def _offset(moment: datetime, sep: str) -> str:
    delta = moment.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{sep}{minutes % 60:02d}"


def _year(y: int, width: int) -> str:
    return _pad(y, width) if y <= 9999 else f"+{y}"


def _hour12(m: datetime) -> int:
    return m.hour % 12 or 12


def _fraction(m: datetime, digits: int) -> str:
    ms = m.microsecond // 1000
    if digits <= 3:
        return str(ms // 10 ** (3 - digits)).zfill(digits)
    return str(ms * 10 ** (digits - 3))


def _js_weekday(m: datetime) -> int:
    return m.isoweekday() % 7


def _locale_week(m: datetime) -> tuple[int, int]:
    return week_of_year(m, 0, 6)


def _iso_week(m: datetime) -> tuple[int, int]:
    return week_of_year(m, 1, 4)


_FUNCS: dict[str, Callable[[datetime], str]] = {
    "M": lambda m: str(m.month),
    "Mo": lambda m: ordinal(m.month),
    "MM": lambda m: _pad(m.month, 2),
    "MMM": lambda m: _MONTHS[m.month - 1][:3],
    "MMMM": lambda m: _MONTHS[m.month - 1],
    "Q": lambda m: str((m.month - 1) // 3 + 1),
    "Qo": lambda m: ordinal((m.month - 1) // 3 + 1),
    "D": lambda m: str(m.day),
    "Do": lambda m: ordinal(m.day),
    "DD": lambda m: _pad(m.day, 2),
    "DDD": lambda m: str(m.timetuple().tm_yday),
    "DDDo": lambda m: ordinal(m.timetuple().tm_yday),
    "DDDD": lambda m: _pad(m.timetuple().tm_yday, 3),
    "d": lambda m: str(_js_weekday(m)),
    "do": lambda m: ordinal(_js_weekday(m)),
    "dd": lambda m: _WEEKDAYS[_js_weekday(m)][:2],
    "ddd": lambda m: _WEEKDAYS[_js_weekday(m)][:3],
    "dddd": lambda m: _WEEKDAYS[_js_weekday(m)],
    "e": lambda m: str(_js_weekday(m)),
    "E": lambda m: str(m.isoweekday()),
    "w": lambda m: str(_locale_week(m)[0]),
    "wo": lambda m: ordinal(_locale_week(m)[0]),
    "ww": lambda m: _pad(_locale_week(m)[0], 2),
    "W": lambda m: str(_iso_week(m)[0]),
    "Wo": lambda m: ordinal(_iso_week(m)[0]),
    "WW": lambda m: _pad(_iso_week(m)[0], 2),
    "Y": lambda m: str(m.year) if m.year <= 9999 else f"+{m.year}",
    "YY": lambda m: _pad(m.year % 100, 2),
    "YYYY": lambda m: _year(m.year, 4),
    "YYYYY": lambda m: _pad(m.year, 5),
    "YYYYYY": lambda m: ("+" if m.year >= 0 else "-") + _pad(abs(m.year), 6),
    "gg": lambda m: _pad(_locale_week(m)[1] % 100, 2),
    "gggg": lambda m: _pad(_locale_week(m)[1], 4),
    "ggggg": lambda m: _pad(_locale_week(m)[1], 5),
    "GG": lambda m: _pad(_iso_week(m)[1] % 100, 2),
    "GGGG": lambda m: _pad(_iso_week(m)[1], 4),
    "GGGGG": lambda m: _pad(_iso_week(m)[1], 5),
    "a": lambda m: "am" if m.hour < 12 else "pm",
    "A": lambda m: "AM" if m.hour < 12 else "PM",
    "H": lambda m: str(m.hour),
    "HH": lambda m: _pad(m.hour, 2),
    "h": lambda m: str(_hour12(m)),
    "hh": lambda m: _pad(_hour12(m), 2),
    "k": lambda m: str(m.hour or 24),
    "kk": lambda m: _pad(m.hour or 24, 2),
    "Hmm": lambda m: f"{m.hour}{m.minute:02d}",
    "Hmmss": lambda m: f"{m.hour}{m.minute:02d}{m.second:02d}",
    "hmm": lambda m: f"{_hour12(m)}{m.minute:02d}",
    "hmmss": lambda m: f"{_hour12(m)}{m.minute:02d}{m.second:02d}",
    "m": lambda m: str(m.minute),
    "mm": lambda m: _pad(m.minute, 2),
    "s": lambda m: str(m.second),
    "ss": lambda m: _pad(m.second, 2),
    "Z": lambda m: _offset(m, ":"),
    "ZZ": lambda m: _offset(m, ""),
    "z": lambda m: m.tzname() or "",
    "zz": lambda m: m.tzname() or "",
    "X": lambda m: str(int(m.timestamp() // 1)),
    "x": lambda m: str(int(m.timestamp() * 1000 // 1)),
}


def _fraction_of(digits: int) -> Callable[[datetime], str]:
    return lambda m: _fraction(m, digits)


for _n in range(1, 10):
    _FUNCS["S" * _n] = _fraction_of(_n)


def _expand_local(fmt: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(3)
        if match.group(1) is None and match.group(2) is None and token in _LOCAL_FORMATS:
            return _LOCAL_FORMATS[token]
        return match.group(0)

    for _ in range(5):
        expanded = _LOCAL_TOKENS.sub(replace, fmt)
        if expanded == fmt:
            break
        fmt = expanded
    return fmt


def format_moment(moment: datetime, fmt: str) -> str:
    """`moment(moment).format(fmt)` for an aware datetime already in the wanted zone."""
    fmt = _expand_local(fmt)
    out: list[str] = []
    for match in _TOKENS.finditer(fmt):
        whole = match.group(0)
        func = _FUNCS.get(whole)
        if func is not None:
            out.append(func(moment))
        elif match.group(1) is not None:
            out.append(whole[1:-1] if whole.endswith("]") else whole[1:])
        else:
            out.append(whole.replace("\\", ""))
    return "".join(out)


def format_in_zone(instant: datetime, fmt: str, tz: str = "UTC") -> str:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return format_moment(instant.astimezone(zone(tz)), fmt)
