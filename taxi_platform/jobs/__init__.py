"""The platform's jobs as plain Python steps: the CLI runs them in a row, Airflow one per task."""
