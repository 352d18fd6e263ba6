"""The Feast feature store of the platform: opening it per profile, apply, materialize, lookup."""
