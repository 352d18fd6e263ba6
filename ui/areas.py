"""Chicago's community areas for the dashboard's map, from data the project ships.

No boundary file of the 77 areas can be fetched here (no internet beyond package indexes), so
the map is drawn from the real sample itself: each pickup's coordinates are the centroid of its
census tract, and ``ui/data/community_areas.json`` keeps, per pickup community area, those
distinct tract points and their trip-weighted mean (the area's marker). Areas without pickups
in the sample (15 of 77) have a name but no position. Rebuild the file with
``python -m ui.areas var/raw/chicago_taxi_sample.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd
from pydantic import BaseModel

AREAS_FILE = Path(__file__).resolve().parent / "data" / "community_areas.json"
NAMES = (
    "Rogers Park",
    "West Ridge",
    "Uptown",
    "Lincoln Square",
    "North Center",
    "Lake View",
    "Lincoln Park",
    "Near North Side",
    "Edison Park",
    "Norwood Park",
    "Jefferson Park",
    "Forest Glen",
    "North Park",
    "Albany Park",
    "Portage Park",
    "Irving Park",
    "Dunning",
    "Montclare",
    "Belmont Cragin",
    "Hermosa",
    "Avondale",
    "Logan Square",
    "Humboldt Park",
    "West Town",
    "Austin",
    "West Garfield Park",
    "East Garfield Park",
    "Near West Side",
    "North Lawndale",
    "South Lawndale",
    "Lower West Side",
    "Loop",
    "Near South Side",
    "Armour Square",
    "Douglas",
    "Oakland",
    "Fuller Park",
    "Grand Boulevard",
    "Kenwood",
    "Washington Park",
    "Hyde Park",
    "Woodlawn",
    "South Shore",
    "Chatham",
    "Avalon Park",
    "South Chicago",
    "Burnside",
    "Calumet Heights",
    "Roseland",
    "Pullman",
    "South Deering",
    "East Side",
    "West Pullman",
    "Riverdale",
    "Hegewisch",
    "Garfield Ridge",
    "Archer Heights",
    "Brighton Park",
    "McKinley Park",
    "Bridgeport",
    "New City",
    "West Elsdon",
    "Gage Park",
    "Clearing",
    "West Lawn",
    "Chicago Lawn",
    "West Englewood",
    "Englewood",
    "Greater Grand Crossing",
    "Ashburn",
    "Auburn Gresham",
    "Beverly",
    "Washington Heights",
    "Mount Greenwood",
    "Morgan Park",
    "O'Hare",
    "Edgewater",
)  # fmt: skip  (the City of Chicago's numbering: area n is NAMES[n - 1])


class Area(BaseModel):
    area: int
    name: str
    trips: int = 0  # pickups in the sample
    latitude: float | None = None  # trip-weighted mean of its tract centroids
    longitude: float | None = None
    points: list[tuple[float, float]] = []  # distinct pickup tract centroids (lat, lon)


class AreaMap(BaseModel):
    source: str
    areas: list[Area]


def build_areas(csv_path: Path) -> AreaMap:
    """Positions of the community areas from the sample's pickup coordinates (DuckDB)."""
    con = duckdb.connect()
    rows = con.execute(
        "SELECT pickup_community_area, pickup_latitude, pickup_longitude, count(*) "
        "FROM read_csv_auto(?) WHERE pickup_community_area BETWEEN 1 AND 77 "
        "AND pickup_latitude IS NOT NULL GROUP BY ALL ORDER BY ALL",
        [str(csv_path)],
    ).fetchall()
    areas = {n: Area(area=n, name=NAMES[n - 1]) for n in range(1, len(NAMES) + 1)}
    for number, lat, lon, trips in rows:
        area = areas[number]
        area.points.append((round(lat, 6), round(lon, 6)))
        area.trips += trips
        weight = trips / area.trips  # running trip-weighted mean of the tract centroids
        area.latitude = lat if area.latitude is None else _toward(area.latitude, lat, weight)
        area.longitude = lon if area.longitude is None else _toward(area.longitude, lon, weight)
    source = f"pickup census-tract centroids of {csv_path.name} ({sum(r[3] for r in rows)} trips)"
    return AreaMap(source=source, areas=list(areas.values()))


def _toward(mean: float, value: float, weight: float) -> float:
    return mean + (value - mean) * weight


def load_areas(path: Path = AREAS_FILE) -> AreaMap:
    return AreaMap.model_validate_json(path.read_text())


def area_label(area_map: AreaMap, number: int | None) -> str:
    if number is None or not 1 <= number <= len(area_map.areas):
        return "unknown area"
    return f"{number} {area_map.areas[number - 1].name}"


def area_map_chart(
    area_map: AreaMap, selected: int | None, pickup: tuple[float, float] | None = None
) -> alt.LayerChart:
    """The areas as points on a Mercator projection (no tiles): grey tract centroids, one
    marker per area sized by its pickups, the selected area and the exact pickup in red."""
    tracts = pd.DataFrame(
        [
            {"latitude": lat, "longitude": lon, "area": a.area, "name": a.name}
            for a in area_map.areas
            for lat, lon in a.points
        ]
    )
    markers = pd.DataFrame(
        [
            {
                "latitude": a.latitude, "longitude": a.longitude, "area": a.area, "name": a.name,
                "trips": a.trips, "selected": a.area == selected,
            }
            for a in area_map.areas
            if a.latitude is not None
        ]
    )  # fmt: skip
    base = alt.Chart().project(type="mercator")
    position = {"latitude": "latitude:Q", "longitude": "longitude:Q"}
    layers = [
        base.mark_circle(size=12, color="#bbbbbb").encode(**position).properties(data=tracts),
        base.mark_circle(opacity=0.6)
        .encode(
            **position,
            size=alt.Size("trips:Q", legend=None, scale=alt.Scale(range=[30, 600])),
            color=alt.condition("datum.selected", alt.value("#d62728"), alt.value("#1f77b4")),
            tooltip=["area:Q", "name:N", "trips:Q"],
        )
        .properties(data=markers),
        base.mark_text(fontSize=9, dy=-9)
        .encode(**position, text="area:Q")
        .properties(data=markers),
    ]
    if pickup is not None:
        point = pd.DataFrame([{"latitude": pickup[0], "longitude": pickup[1]}])
        layers.append(
            base.mark_point(shape="cross", size=250, color="#d62728", strokeWidth=3)
            .encode(**position)
            .properties(data=point)
        )
    return alt.layer(*layers).properties(height=460)


if __name__ == "__main__":
    AREAS_FILE.parent.mkdir(parents=True, exist_ok=True)
    AREAS_FILE.write_text(build_areas(Path(sys.argv[1])).model_dump_json(indent=1) + "\n")
    print(f"wrote {AREAS_FILE}")
