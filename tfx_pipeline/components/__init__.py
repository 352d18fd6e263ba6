"""Custom TFX components of the Chicago Taxi pipeline."""
