"""Feature health: statistics, drift, freshness and alerts over the Feast store.

``stats`` profiles a view's offline table with DuckDB, ``drift`` compares two profiles,
``freshness`` reads the registry and the materialized rows, ``alerts`` tells people, and
``report`` stores one health report per run for the API and the Airflow plugin to read.
"""
