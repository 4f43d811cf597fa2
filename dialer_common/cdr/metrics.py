"""CDR ingest counters, shared by the web tier and the CDR receiver.

With ``PROMETHEUS_MULTIPROC_DIR`` set, every process that stores CDRs writes
its counts there and a scrape of either tier sums them.
"""

from prometheus_client import REGISTRY, CollectorRegistry, Counter
from prometheus_client.multiprocess import MultiProcessCollector

CDR_INGESTED = Counter("dialer_cdr_ingested", "CDR legs stored")
CDR_DUPLICATE = Counter("dialer_cdr_duplicate", "CDR legs received again and not stored twice")
CDR_REJECTED = Counter("dialer_cdr_rejected", "CDR posts rejected with a 4xx or 503", ["reason"])


def counter_registry(multiproc_dir: str) -> CollectorRegistry:
    """Return the registry of counters to export: summed over every process writing to ``multiproc_dir``."""
    if not multiproc_dir:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=multiproc_dir)
    return registry
