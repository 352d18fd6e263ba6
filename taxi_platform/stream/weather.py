"""A seeded weather model: the same seed and time give the same weather in every run.

Chicago's 77 community areas are grouped into four zones (north, west, central, south:
areas 1-19, 20-38, 39-57, 58-77) that share weather. Each zone's condition is a Markov chain
over hours, started afresh each UTC day from the seed, the zone and the date, with sticky
transitions (an hour keeps its predecessor's condition with probability 0.7, else draws from
the climate below); snow only from November to March. Temperature follows a seasonal and daily
cycle plus zone noise. Deterministic: ``weather_at(area, when)`` needs no state, so a restarted
producer continues the same weather.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

CONDITIONS = ("clear", "cloudy", "rain", "snow", "fog")
CLIMATE = {"clear": 0.45, "cloudy": 0.3, "rain": 0.15, "snow": 0.05, "fog": 0.05}
STAY = 0.7
ZONE_SIZE = 20  # areas 1-19 zone 0, 20-38 zone 1, ...


def zone(area_id: int) -> int:
    """The weather zone of an area (0-3)."""
    return min(area_id // ZONE_SIZE, 3)


def _draw(rng: random.Random, month: int) -> str:
    climate = {c: p for c, p in CLIMATE.items() if c != "snow" or month in (11, 12, 1, 2, 3)}
    return rng.choices(list(climate), weights=list(climate.values()))[0]


def condition_at(area_id: int, when: datetime, seed: int) -> str:
    """The area's weather condition during the hour of ``when`` (UTC)."""
    when = when.astimezone(UTC)
    rng = random.Random(f"{seed}:{zone(area_id)}:{when.date().isoformat()}")
    current = _draw(rng, when.month)
    for _ in range(when.hour):
        current = current if rng.random() < STAY else _draw(rng, when.month)
    return current


def temperature_at(area_id: int, when: datetime, seed: int) -> float:
    """Fahrenheit: Chicago's seasonal mean (24 F in January, 75 F in July), +-8 F over the day."""
    when = when.astimezone(UTC)
    season = 49.5 - 25.5 * math.cos(2 * math.pi * (when.timetuple().tm_yday - 15) / 365.25)
    day = -8 * math.cos(2 * math.pi * (when.hour - 3) / 24)  # coldest ~09 UTC (03 local)
    noise = random.Random(f"{seed}:{zone(area_id)}:{when:%Y%m%d%H}").uniform(-2, 2)
    return round(season + day + noise, 1)


def weather_at(area_id: int, when: datetime, seed: int) -> tuple[str, float]:
    """(condition, temperature_f) of the area at ``when``."""
    return condition_at(area_id, when, seed), temperature_at(area_id, when, seed)
