"""Prometheus metrics: per-route request counts and latency (prometheus-fastapi-instrumentator)
plus the model timings the service cares about. Each app gets its own registry, so several
apps in one process (tests) never collide."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_fastapi_instrumentator import Instrumentator

__all__ = ["ServiceMetrics", "install_metrics"]

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    """Model load and answer timings and answer cache hits, recorded by the prediction
    endpoints, and the background extractor's throughput (`extracted`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the histograms and counters in `registry`."""
        self.model_load_seconds = Histogram(
            "kdtcn_model_load_seconds",
            "Time to load a model version (weights and embeddings) into memory",
            buckets=_SECONDS,
            registry=registry,
        )
        self.answer_seconds = Histogram(
            "kdtcn_answer_seconds",
            "Time to compute an uncached answer, by kind (prediction or explanation) and target",
            ["kind", "target"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.cache_hits = Counter(
            "kdtcn_answer_cache_hits", "Answers served from the cache", ["kind"], registry=registry
        )
        self.headlines_extracted = Counter(
            "kdtcn_headlines_extracted",
            "Headlines whose events this process's background extractor stored",
            registry=registry,
        )
        self.extract_chunk_seconds = Histogram(
            "kdtcn_extract_chunk_seconds",
            "Time to claim, extract and store one chunk of pending headlines",
            buckets=_SECONDS,
            registry=registry,
        )

    def extracted(self, n: int, seconds: float) -> None:
        """Record one chunk of `n` headlines extracted and stored in `seconds`."""
        self.headlines_extracted.inc(n)
        self.extract_chunk_seconds.observe(seconds)


def install_metrics(app: Any) -> ServiceMetrics:
    """Instrument every route (templated paths, never raw URLs) and expose GET /metrics."""
    registry = CollectorRegistry()
    Instrumentator(
        registry=registry,
        excluded_handlers=["/metrics"],
        should_group_status_codes=False,
    ).instrument(app).expose(app, include_in_schema=False)
    return ServiceMetrics(registry)
