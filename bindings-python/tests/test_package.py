"""The installed package: where it comes from, what it ships, what it imports."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import REPO, TIMEOUT, UvicornServer
from fastapi import FastAPI, Request

import ssecast
import ssecast.fastapi


def test_tests_import_the_installed_package_not_the_source_tree() -> None:
    location = Path(ssecast.__file__).resolve()
    assert "site-packages" in location.parts, location
    assert not location.is_relative_to(REPO / "bindings-python")


def test_version_is_the_crate_version() -> None:
    cargo = (REPO / "Cargo.toml").read_text(encoding="utf-8")
    workspace_version = re.search(r'^version = "([^"]+)"', cargo, re.MULTILINE)
    assert workspace_version is not None
    assert ssecast.__version__ == workspace_version.group(1)


def test_typing_files_ship_with_the_package() -> None:
    package = Path(ssecast.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_ssecast.pyi").exists()
    assert sorted(p.name for p in package.glob("_ssecast*.so")) == ["_ssecast.abi3.so"]


def test_every_public_name_has_a_docstring() -> None:
    for name in ssecast.__all__:
        if name != "__version__":
            assert getattr(ssecast, name).__doc__, name
    for method in ("publish", "stop", "stats", "__enter__", "__exit__"):
        assert getattr(ssecast.Engine, method).__doc__, method
    assert ssecast.Engine.port.__doc__ and ssecast.Engine.stopped.__doc__


def test_import_ssecast_does_not_import_fastapi() -> None:
    check = "import sys, ssecast; assert 'fastapi' not in sys.modules; ssecast.fastapi.lifespan"
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)


def test_engine_dependency_without_the_lifespan_says_what_to_do() -> None:
    request = Request({"type": "http", "app": FastAPI()})
    with pytest.raises(RuntimeError, match="lifespan=ssecast.fastapi.lifespan"):
        ssecast.fastapi.get_engine(request)


def test_bad_lifespan_config_fails_the_app_startup() -> None:
    async def start() -> None:
        async with ssecast.fastapi.lifespan(port=0, history_size=-5)(FastAPI()):
            raise AssertionError("the app started with a bad configuration")

    with pytest.raises(ssecast.ConfigError, match="history_size"):
        asyncio.run(start())


def test_lifespan_engine_reaches_requests_and_stops_with_the_app() -> None:
    app = FastAPI(lifespan=ssecast.fastapi.lifespan(port=0))

    @app.get("/health")
    def health(request: Request, engine: ssecast.fastapi.EngineDep) -> int:
        # One flag, not two asserts: mypy would narrow `engine` to Any after `Any is engine`.
        same = request.state.ssecast is engine and request.app.state.ssecast is engine
        assert same
        return engine.port

    server = UvicornServer(app)
    server.start()
    try:
        port = httpx.get(f"{server.url}/health", timeout=TIMEOUT).json()
        engine = app.state.ssecast
        assert port == engine.port
        healthz = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=TIMEOUT)
        assert healthz.status_code == 200
    finally:
        server.stop()
    assert engine.stopped
