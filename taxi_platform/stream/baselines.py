"""Each area's norms from the offline store, which the processor compares the stream against.

* historical speed: mean mph of the area's stored pickups (trips of at least a minute and a
  tenth of a mile, 1-80 mph, so GPS and meter glitches do not count);
* demand baseline: mean pickups per 15-minute window, over the windows in which the area had
  any pickup (so 1.0 means "a typical busy quarter hour here").

Areas without history get the city-wide values. Loaded once at start: the norms move slowly
(the hourly feed adds a day of trips at most) and a restart reloads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from taxi_platform.duck import connect, read_trips
from taxi_platform.settings import Settings

SPEED_SQL = """
SELECT pickup_community_area AS area, avg(trip_miles * 3600.0 / trip_seconds) AS mph
FROM trips
WHERE trip_seconds >= 60 AND trip_miles >= 0.1
  AND trip_miles * 3600.0 / trip_seconds BETWEEN 1 AND 80
GROUP BY GROUPING SETS ((pickup_community_area), ())
"""  # the empty grouping set is the city-wide row (area NULL)
DEMAND_SQL = """
SELECT area, avg(n) AS per_window FROM (
  SELECT pickup_community_area AS area, count(*) AS n,
         time_bucket(to_minutes(CAST(? AS BIGINT)), trip_start_timestamp) AS w
  FROM trips WHERE pickup_community_area IS NOT NULL GROUP BY ALL
) GROUP BY ALL
"""
TRAFFIC_CUTS = ((0.9, 1), (0.7, 2), (0.5, 3))  # speed / historical speed >= cut: level


@dataclass(frozen=True)
class Baselines:
    """Per-area norms with city-wide fallbacks."""

    speed_mph: dict[int, float]
    demand_per_window: dict[int, float]
    city_speed_mph: float
    city_demand_per_window: float

    def traffic_level(self, area_id: int, speed_mph: float | None) -> int | None:
        """1 free-flowing .. 4 congested: the speed against the area's historical speed."""
        if speed_mph is None:
            return None
        ratio = speed_mph / self.speed_mph.get(area_id, self.city_speed_mph)
        return next((level for cut, level in TRAFFIC_CUTS if ratio >= cut), 4)

    def demand_level(self, area_id: int, pickups: int) -> float:
        """Pickups of the window against the area's baseline, clipped to the view's 0-100."""
        baseline = self.demand_per_window.get(area_id, self.city_demand_per_window)
        return min(pickups / baseline, 100.0)


def load_baselines(settings: Settings) -> Baselines:
    """The norms of every stored trip (sample and generated)."""
    con = connect()
    read_trips(con, settings.trips_dir)
    speed = {a: float(v) for a, v in con.execute(SPEED_SQL).fetchall()}
    city_speed = speed.pop(None, 20.0)
    window = int(settings.stream_window_minutes)
    demand = {int(a): float(v) for a, v in con.execute(DEMAND_SQL, [window]).fetchall()}
    return Baselines(
        speed_mph={int(a): v for a, v in speed.items()},
        demand_per_window=demand,
        city_speed_mph=city_speed,
        city_demand_per_window=sum(demand.values()) / len(demand) if demand else 1.0,
    )
