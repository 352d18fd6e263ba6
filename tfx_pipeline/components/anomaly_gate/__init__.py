"""AnomalyGate: stops a run when ExampleValidator found anomalies."""

from tfx_pipeline.components.anomaly_gate.component import AnomalyGate

__all__ = ["AnomalyGate"]
