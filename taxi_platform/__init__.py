"""Shared code of the Chicago Taxi MLOps platform: settings, data, feature computation, store."""
