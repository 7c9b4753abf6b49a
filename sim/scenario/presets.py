"""Daily arrival profiles (24 relative hourly weights) for the `daily_profile` key.

`retail` is shaped after the hour-of-day pattern of the SpotifyCares arrivals in
`shared/data/spotifycares_arrivals.csv` (peak-to-trough about 3.6x, evening peak); `office`
follows a business-hours contact centre (Anonymous Bank 1999 call arrivals, same folder);
`evening` is a consumer brand whose mentions peak after work.
"""
from __future__ import annotations

DAILY_PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0,) * 24,
    "retail": (
        0.45, 0.35, 0.30, 0.28, 0.30, 0.38, 0.55, 0.75, 0.95, 1.10, 1.20, 1.25,
        1.28, 1.27, 1.25, 1.22, 1.20, 1.22, 1.25, 1.28, 1.25, 1.10, 0.85, 0.62,
    ),
    "office": (
        0.10, 0.06, 0.05, 0.05, 0.06, 0.12, 0.35, 0.90, 1.70, 2.10, 2.15, 2.00,
        1.75, 1.90, 1.95, 1.80, 1.55, 1.15, 0.70, 0.45, 0.35, 0.30, 0.25, 0.16,
    ),
    "evening": (
        0.60, 0.40, 0.28, 0.22, 0.20, 0.25, 0.40, 0.60, 0.75, 0.85, 0.90, 0.95,
        1.00, 1.00, 1.00, 1.05, 1.10, 1.20, 1.40, 1.60, 1.75, 1.70, 1.40, 1.00,
    ),
}

# Weekly weights when `weekly_profile` is not given: flat, so a scenario without one is the
# stationary queue of queueing theory. Real care accounts are not flat: weekdays carry 14-18 % of
# the week each and weekend days about 9 % in the SpotifyCares data (`weekday` preset).
WEEKLY_PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0,) * 7,
    "weekday": (1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.6),
}
