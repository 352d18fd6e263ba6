-- Per-trip features, valid from the trip's start. Carries the trip's pickup area and company
-- so that a trip id leads to its area and company features.
-- Portable SQL: runs on DuckDB here and on Spark SQL at scale; {trips} names the trip table.
SELECT
  trip_id,
  trip_start_timestamp AS event_timestamp,
  CAST(trip_miles AS FLOAT) AS trip_miles,
  CAST(trip_seconds AS INTEGER) AS trip_seconds,
  CAST(fare AS FLOAT) AS fare,
  CAST(tips AS FLOAT) AS tips,
  payment_type,
  CAST(pickup_latitude AS FLOAT) AS pickup_latitude,
  CAST(pickup_longitude AS FLOAT) AS pickup_longitude,
  CAST(dropoff_latitude AS FLOAT) AS dropoff_latitude,
  CAST(dropoff_longitude AS FLOAT) AS dropoff_longitude,
  CAST(trip_start_hour AS INTEGER) AS trip_start_hour,
  CAST(trip_start_day AS INTEGER) AS trip_start_day,
  CAST(trip_start_month AS INTEGER) AS trip_start_month,
  CAST(pickup_community_area AS BIGINT) AS pickup_community_area,
  CAST(dropoff_community_area AS BIGINT) AS dropoff_community_area,
  company,
  current_timestamp AS created_timestamp
FROM {trips}
