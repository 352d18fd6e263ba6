"""Airflow glue: task defaults for the DAGs in dags/, and a REST client to trigger them."""
