"""`ocitree web`: the same app served to a browser through textual-serve."""

from __future__ import annotations

import asyncio
import json
import shlex
import socket
import subprocess
import sys
import time

import pytest

from core.errors import BadInputError
from tui.web import app_command

from .tui_pilot import demo_copy


def test_the_command_quotes_every_argument():
    hostile = "/tmp/my registry; rm -rf ~ $(reboot).json"
    argv = shlex.split(app_command([hostile, "--protect", "v*"]))
    assert argv == [sys.executable, "-m", "tui.cli", hostile, "--protect", "v*"]


def test_a_password_on_standard_input_is_refused():
    with pytest.raises(BadInputError, match="standard input"):
        app_command(["https://registry.example", "--username", "me", "--password-stdin"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_browser_gets_the_app(tmp_path):
    aiohttp = pytest.importorskip("aiohttp")
    pytest.importorskip("textual_serve")
    path = demo_copy(tmp_path)
    port = _free_port()
    code = f"from tui.web import serve; serve([{str(path)!r}, '--read-only'], host='127.0.0.1', port={port})"
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        received = ""
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # the server takes a moment to listen
                try:
                    async with session.get(f"http://127.0.0.1:{port}/") as page:
                        assert page.status == 200
                        break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.1)
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
                await ws.send_str(json.dumps(["resize", {"width": 80, "height": 24}]))
                deadline = time.monotonic() + 20
                while "platform/base-images" not in received and time.monotonic() < deadline:
                    try:
                        msg = await asyncio.wait_for(ws.receive(), 5)
                    except asyncio.TimeoutError:
                        continue
                    if msg.type == aiohttp.WSMsgType.BINARY:
                        received += msg.data.decode("utf-8", "replace")
                    elif msg.type == aiohttp.WSMsgType.TEXT:
                        received += msg.data
                    else:
                        break
        assert "platform/base-images" in received and "READ-ONLY" in received
    finally:
        server.terminate()
        server.wait(10)
