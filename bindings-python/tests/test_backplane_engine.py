"""The backplane keys from Python: bad values are refused at start, and an
engine whose Redis cannot be reached fails publishes with ``UnavailableError``
(a ``ConnectionError``) and says so in ``stats()``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cluster import free_port

import ssecast


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"backplane": "http://127.0.0.1:6379"}, "backplane"),
        ({"backplane": "redis://:s3cret@127.0.0.1:6379/x"}, "backplane"),
        ({"reuse_port": True}, "needs a backplane"),
    ],
)
def test_bad_backplane_configuration_is_refused(config: dict[str, object], words: str) -> None:
    with pytest.raises(ssecast.ConfigError) as refused:
        ssecast.Engine(port=0, **config)  # type: ignore[arg-type]
    assert words in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_backplane_and_history_dir_are_refused_together(tmp_path: Path) -> None:
    with pytest.raises(ssecast.ConfigError, match="cannot be used together"):
        ssecast.Engine(
            port=0, backplane="redis://127.0.0.1:6379/0", history_dir=str(tmp_path / "h")
        )


def test_an_unreachable_redis_fails_publishes_clearly() -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    with ssecast.Engine(port=0, backplane=nobody) as engine:
        with pytest.raises(ssecast.UnavailableError) as failed:
            engine.publish("t", "x")
        assert isinstance(failed.value, ConnectionError)
        assert failed.value.code == "UNAVAILABLE"
        deadline = time.monotonic() + 10
        while engine.stats()["backplane"] != "down":
            assert time.monotonic() < deadline, engine.stats()
            time.sleep(0.05)
    with ssecast.Engine(port=0) as alone:
        assert alone.stats()["backplane"] is None
