"""The model registry: bounded, and loading one version never stalls another."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from app.services.registry import Loaded, ModelRegistry


class _SlowRegistry(ModelRegistry):
    def __init__(self, slow: str, **kwargs: object) -> None:
        super().__init__("/nonexistent", None, **kwargs)  # type: ignore[arg-type]
        self.slow = slow
        self.release = threading.Event()
        self.loads: list[str] = []

    def _load(self, row) -> Loaded:  # type: ignore[no-untyped-def]
        self.loads.append(row.version)
        if row.version == self.slow:
            assert self.release.wait(10)
        return Loaded(row, model=object(), embedder=None)  # type: ignore[arg-type]


def _row(version: str) -> SimpleNamespace:
    return SimpleNamespace(version=version)


def test_a_slow_load_blocks_only_its_own_version() -> None:
    registry = _SlowRegistry("big")
    results: dict[str, Loaded] = {}
    loaders = [
        threading.Thread(target=lambda: results.setdefault("a", registry.load(_row("big"))))
        for _ in range(2)
    ]
    for t in loaders:
        t.start()
    time.sleep(0.1)
    started = time.perf_counter()
    other = registry.load(_row("small"))  # must not wait for "big"
    assert time.perf_counter() - started < 1.0 and other.row.version == "small"
    registry.release.set()
    for t in loaders:
        t.join(5)
    assert registry.loads.count("big") == 1  # the second caller waited and reused it


def test_old_versions_are_evicted() -> None:
    registry = _SlowRegistry("none", max_versions=2)
    for version in ("v1", "v2", "v3"):
        registry.load(_row(version))
    assert registry.summary() == ["v2", "v3"]
    registry.load(_row("v1"))  # loaded again after eviction
    assert registry.loads == ["v1", "v2", "v3", "v1"] and registry.summary() == ["v1", "v3"]


def test_a_version_saved_in_a_newer_format_is_a_503_that_names_the_rebuild(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import pytest

    from app.domain import UnreadableModel
    from models.artifact import ARTIFACT_FORMAT

    folder = tmp_path / "v9"
    folder.mkdir()
    config = {"name": "TCN", "encoder": "tcn", "target": "next_day", "window": 20}
    (folder / "config.json").write_text(json.dumps({**config, "format": ARTIFACT_FORMAT + 1}))
    registry = ModelRegistry(tmp_path, None)  # type: ignore[arg-type]
    row = SimpleNamespace(version="v9", artifact_path=str(folder))
    with pytest.raises(UnreadableModel, match="v9: .*kdtcn train --walk-forward") as caught:
        registry.load(row)  # type: ignore[arg-type]
    assert caught.value.status == 503
