-- Per pickup community area, one row per hour with activity; each row is valid from the end of
-- its hour (event_timestamp), so a trip never sees its own hour.
--   pickup_count / dropoff_count  trips starting / ending in the area during the hour
--   trips_last_1h                 pickups plus dropoffs in the area during the hour
--   trips_last_24h                the same over the 24 hours ending at event_timestamp
--   avg_trip_distance, avg_trip_seconds, avg_fare
--                                 means over the pickups of the trailing 24 hours
-- Portable SQL: runs on DuckDB here and on Spark SQL at scale; {trips} names the trip table.
WITH events AS (
  SELECT
    pickup_community_area AS area_id,
    date_trunc('hour', trip_start_timestamp) AS hour_start,
    trip_miles, trip_seconds, fare,
    1 AS is_pickup, 0 AS is_dropoff
  FROM {trips}
  WHERE pickup_community_area IS NOT NULL
  UNION ALL
  SELECT
    dropoff_community_area AS area_id,
    date_trunc('hour', trip_end_timestamp) AS hour_start,
    NULL AS trip_miles, NULL AS trip_seconds, NULL AS fare,
    0 AS is_pickup, 1 AS is_dropoff
  FROM {trips}
  WHERE dropoff_community_area IS NOT NULL
),
hourly AS (
  SELECT
    area_id,
    hour_start + INTERVAL 1 HOUR AS event_timestamp,
    sum(trip_miles) AS miles_sum,
    sum(trip_seconds) AS seconds_sum,
    sum(fare) AS fare_sum,
    sum(is_pickup) AS pickup_count,
    sum(is_dropoff) AS dropoff_count
  FROM events
  GROUP BY area_id, hour_start
),
windowed AS (
  SELECT
    *,
    sum(miles_sum) OVER last_24h AS miles_24h,
    sum(seconds_sum) OVER last_24h AS seconds_24h,
    sum(fare_sum) OVER last_24h AS fare_24h,
    sum(pickup_count) OVER last_24h AS pickups_24h,
    sum(pickup_count + dropoff_count) OVER last_24h AS trips_24h
  FROM hourly
  WINDOW last_24h AS (
    PARTITION BY area_id ORDER BY event_timestamp
    RANGE BETWEEN INTERVAL 23 HOURS PRECEDING AND CURRENT ROW
  )
)
SELECT
  CAST(area_id AS BIGINT) AS area_id,
  event_timestamp,
  CAST(miles_24h / nullif(pickups_24h, 0) AS FLOAT) AS avg_trip_distance,
  CAST(seconds_24h / nullif(pickups_24h, 0) AS FLOAT) AS avg_trip_seconds,
  CAST(fare_24h / nullif(pickups_24h, 0) AS FLOAT) AS avg_fare,
  CAST(pickup_count AS INTEGER) AS pickup_count,
  CAST(dropoff_count AS INTEGER) AS dropoff_count,
  CAST(pickup_count + dropoff_count AS INTEGER) AS trips_last_1h,
  CAST(trips_24h AS INTEGER) AS trips_last_24h,
  current_timestamp AS created_timestamp
FROM windowed
