"""Trip data: the real Chicago Taxi sample, its cleaning, and the synthetic generator."""
