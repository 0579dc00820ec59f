"""moment.js format strings (English locale) on fixed instants."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ci_actions.tags.moment import UnknownTimeZone, format_in_zone

FRIDAY = datetime(2024, 3, 15, 21, 7, 9, 123000, tzinfo=timezone.utc)
NEW_YEAR_2021 = datetime(2021, 1, 1, 0, 0, 0, tzinfo=timezone.utc)  # a Friday
SUNDAY_2020 = datetime(2020, 12, 27, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("moment", "fmt", "tz", "expected"),
    [
        (FRIDAY, "YYYY-MM-DD HH:mm:ss.SSS", "UTC", "2024-03-15 21:07:09.123"),
        (FRIDAY, "YYYYMMDD", "UTC", "20240315"),
        (FRIDAY, "YY-M-D-H-m-s", "UTC", "24-3-15-21-7-9"),
        (FRIDAY, "h:mm A", "UTC", "9:07 PM"),
        (FRIDAY, "hh a k kk", "UTC", "09 pm 21 21"),
        (FRIDAY, "dddd ddd dd d E e", "UTC", "Friday Fri Fr 5 5 5"),
        (FRIDAY, "Do MMMM MMM Mo", "UTC", "15th March Mar 3rd"),
        (FRIDAY, "DDD DDDD DDDo", "UTC", "75 075 75th"),
        (FRIDAY, "Q Qo", "UTC", "1 1st"),
        (FRIDAY, "W WW Wo w ww wo", "UTC", "11 11 11th 11 11 11th"),
        (FRIDAY, "X x", "UTC", "1710536829 1710536829123"),
        (FRIDAY, "Z ZZ z", "UTC", "+00:00 +0000 UTC"),
        (FRIDAY, "S SS SSSS", "UTC", "1 12 1230"),
        (FRIDAY, "[Build] YYYY [at] HH", "UTC", "Build 2024 at 21"),
        (FRIDAY, "\\Y\\Y YYYY", "UTC", "YY 2024"),
        (FRIDAY, "Hmm Hmmss hmm", "UTC", "2107 210709 907"),
        (FRIDAY, "YYYYMMDD-HHmm Z", "Asia/Tokyo", "20240316-0607 +09:00"),
        (FRIDAY, "HH:mm Z z", "America/New_York", "17:07 -04:00 EDT"),
        (FRIDAY, "HH:mm ZZ z", "Asia/Kolkata", "02:37 +0530 IST"),
        (FRIDAY, "L", "UTC", "03/15/2024"),
        (FRIDAY, "LL", "UTC", "March 15, 2024"),
        (FRIDAY, "LLLL", "UTC", "Friday, March 15, 2024 9:07 PM"),
        (FRIDAY, "LTS l ll", "UTC", "9:07:09 PM 3/15/2024 Mar 15, 2024"),
        (FRIDAY, "[L] L", "UTC", "L 03/15/2024"),
        (NEW_YEAR_2021, "W GGGG GG", "UTC", "53 2020 20"),
        (NEW_YEAR_2021, "w gggg", "UTC", "1 2021"),
        (NEW_YEAR_2021, "h A k kk", "UTC", "12 AM 24 24"),
        (SUNDAY_2020, "w gggg W GGGG d", "UTC", "1 2021 52 2020 0"),
        (datetime(2024, 1, 2, tzinfo=timezone.utc), "Do Mo", "UTC", "2nd 1st"),
        (datetime(2024, 1, 11, tzinfo=timezone.utc), "Do", "UTC", "11th"),
        (datetime(2024, 1, 23, tzinfo=timezone.utc), "Do", "UTC", "23rd"),
    ],
)
def test_format(moment: datetime, fmt: str, tz: str, expected: str) -> None:
    assert format_in_zone(moment, fmt, tz) == expected


def test_unknown_zone() -> None:
    with pytest.raises(UnknownTimeZone):
        format_in_zone(FRIDAY, "YYYY", "Mars/Olympus")
