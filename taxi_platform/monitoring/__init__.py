"""Feature health: statistics, drift, freshness and alerts over the Feast store.

``stats`` profiles a view's offline table with DuckDB, ``drift`` compares two profiles,
``online_age`` finds the newest event time the online store serves (freshness), ``alerts``
tells people, and
``report`` stores one health report per run for the API and the Airflow plugin to read.
"""
