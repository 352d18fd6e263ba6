-- Per company, one row per day with trips; each row is valid from the end of its day.
--   company_trip_count   trips of the company during the day
--   active_taxis_24h     distinct taxis of the company during the day (null when the source
--                        has no taxi ids, as in the real sample)
--   company_avg_fare     mean fare over the trailing 30 days
--   company_rating       1..5 from the trailing 30 days:
--                        1 + 2 * min(tip_rate / 0.20, 1) + 2 * (1 - min(fare_per_mile_cv, 1))
--                        tip_rate = credit-card tips / credit-card fares (card tips are the only
--                        recorded ones); fare_per_mile_cv = stddev / mean of fare per mile
--                        (consistent pricing rates higher).
-- Portable SQL: runs on DuckDB here and on Spark SQL at scale; {trips} names the trip table.
WITH daily AS (
  SELECT
    company AS company_name,
    date_trunc('day', trip_start_timestamp) + INTERVAL 1 DAY AS event_timestamp,
    count(*) AS trips,
    count(DISTINCT taxi_id) AS taxis,
    sum(fare) AS fare_sum,
    sum(CASE WHEN payment_type = 'Credit Card' THEN tips ELSE 0 END) AS card_tips,
    sum(CASE WHEN payment_type = 'Credit Card' THEN fare ELSE 0 END) AS card_fares,
    sum(fare / trip_miles) AS fpm_sum,
    sum(power(fare / trip_miles, 2)) AS fpm_sq_sum
  FROM {trips}
  WHERE company IS NOT NULL AND trip_miles > 0
  GROUP BY company, date_trunc('day', trip_start_timestamp)
),
windowed AS (
  SELECT
    *,
    sum(trips) OVER last_30d AS trips_30d,
    sum(fare_sum) OVER last_30d AS fare_30d,
    sum(card_tips) OVER last_30d AS card_tips_30d,
    sum(card_fares) OVER last_30d AS card_fares_30d,
    sum(fpm_sum) OVER last_30d AS fpm_30d,
    sum(fpm_sq_sum) OVER last_30d AS fpm_sq_30d
  FROM daily
  WINDOW last_30d AS (
    PARTITION BY company_name ORDER BY event_timestamp
    RANGE BETWEEN INTERVAL 29 DAYS PRECEDING AND CURRENT ROW
  )
),
scored AS (
  SELECT
    *,
    coalesce(card_tips_30d / nullif(card_fares_30d, 0), 0) AS tip_rate,
    sqrt(greatest(fpm_sq_30d / trips_30d - power(fpm_30d / trips_30d, 2), 0))
      / nullif(fpm_30d / trips_30d, 0) AS fpm_cv
  FROM windowed
)
SELECT
  company_name,
  event_timestamp,
  CAST(fare_30d / trips_30d AS FLOAT) AS company_avg_fare,
  CAST(round(1 + 2 * least(tip_rate / 0.20, 1) + 2 * (1 - least(coalesce(fpm_cv, 0), 1)), 2)
       AS FLOAT) AS company_rating,
  CAST(trips AS INTEGER) AS company_trip_count,
  CAST(nullif(taxis, 0) AS INTEGER) AS active_taxis_24h,
  current_timestamp AS created_timestamp
FROM scored
