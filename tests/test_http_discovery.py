"""Discovery over streamable HTTP: a real MCP server on loopback, headers from ${VAR} templates."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer

from firefly.discovery import discover
from firefly.registry import parse_registry, register

from .conftest import file_bytes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server():
    seen_headers: list[dict[str, str]] = []
    server = MCPServer("weather")

    @server.tool()
    def forecast(city: str, days: int = 3) -> str:
        """Forecast for a city."""
        return f"{city}: sunny for {days} days"

    app = server.streamable_http_app()

    async def capture(scope, receive, send):  # an ASGI middleware recording request headers
        if scope["type"] == "http":
            seen_headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await app(scope, receive, send)

    port = free_port()
    config = uvicorn.Config(capture, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp", seen_headers
    srv.should_exit = True
    thread.join(timeout=10)


def test_streamable_http_with_secret_header(store, http_server, monkeypatch):
    url, seen = http_server
    monkeypatch.setenv("WEATHER_TOKEN", "wx-token-5551234")
    entries = {
        "weather": {"url": url, "headers": {"Authorization": "Bearer ${WEATHER_TOKEN}", "X-Client": "firefly-tests"}},
        "nowhere": {"url": f"http://127.0.0.1:{free_port()}/mcp"},
    }
    register(store, parse_registry(json.dumps({"mcpServers": entries})), source="test")
    report = discover(store, connect_timeout=10, call_timeout=10)
    assert report.connected == ["weather"]
    assert store.conn.execute("SELECT name FROM tools WHERE server = 'weather'").fetchall() == [("forecast",)]
    assert any(h.get("authorization") == "Bearer wx-token-5551234" for h in seen)
    failed = [r.event for r in store.read(types=["server-failed"])]
    assert [f.server for f in failed] == ["nowhere"] and failed[0].error_class == "http-error", failed[0]
    # the literal header value is a secret too: kept beside the db, never in it
    assert store.last("server:weather", "server-registered").event.headers == {
        "Authorization": "Bearer ${WEATHER_TOKEN}", "X-Client": None}
    store.close()
    data = file_bytes(store.path)
    assert b"wx-token-5551234" not in data and b"firefly-tests" not in data
