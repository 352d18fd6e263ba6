"""Real-time area features from Kafka: event schema, weather model, producer, processor.

One module per job: ``events`` (the versioned message schema, checked on both sides),
``weather`` (the seeded weather model), ``producer`` (trips and weather onto the topic),
``baselines`` (each area's historical speed and demand from the offline store),
``features`` (window state to feature rows), ``sink`` (Feast pushes with backpressure),
``processor`` (the quixstreams application), ``service`` (health and Prometheus metrics),
``broker`` (a local Tansu broker), ``cli`` (``taxi-platform stream ...``).
"""
