"""Reading a ``/metrics`` answer in tests: which names it declares, and sample values."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

# A family declared with no sample yet (a counter nothing counted) is still exposed, under
# the names its samples will have.
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(body: str) -> tuple[set[str], Samples]:
    """(every family and sample name the exposition declares, each sample's value by name
    and labels)."""
    names: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ()))
        for sample in family.samples:
            names.add(sample.name)
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The one sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    assert len(found) == 1, f"{len(found)} samples of {name} with {labels}"
    return found[0]
