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

from ocitree.core.errors import BadInputError
from ocitree.tui.web import app_command

from tests.helpers.tui_pilot import demo_copy


def test_the_command_quotes_every_argument():
    hostile = "/tmp/my registry; rm -rf ~ $(reboot).json"
    argv = shlex.split(app_command([hostile, "--protect", "v*"]))
    # exec: the app is the shell's own process, so the server's signals reach it
    assert argv == ["exec", sys.executable, "-m", "ocitree.tui.cli", hostile, "--protect", "v*"]


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
    code = f"from ocitree.tui.web import serve; serve([{str(path)!r}, '--read-only'], host='127.0.0.1', port={port})"
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


# -- the server: local assets, token, origin, watchdog ---------------------------------------------

import os
import re
import signal
from contextlib import contextmanager
from pathlib import Path

from ocitree.tui.web import QUIT_GRACE, TERM_GRACE, access_token


@contextmanager
def web_server(source_args: list[str], token: str | None = None, command: str | None = None):
    """`ocitree web`'s server in a process of its own on a free loopback port: (base URL, process)."""
    pytest.importorskip("textual_serve")
    port = _free_port()
    code = (f"from ocitree.tui.web import build_server; build_server({source_args!r}, host='127.0.0.1', port={port}, "
            f"token={token!r}, command={command!r}).serve()")
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pid: int, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not _alive(pid):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def test_a_token_is_needed_off_loopback_only():
    assert access_token("127.0.0.1", False) is None and access_token("::1", False) is None
    assert access_token("localhost", False) is None
    token = access_token("0.0.0.0", False)
    assert token and len(token) >= 32 and token != access_token("0.0.0.0", False)
    assert access_token("192.0.2.10", True) is None  # --no-auth, said explicitly


async def test_the_page_and_everything_it_loads_come_from_this_server(tmp_path):
    aiohttp = pytest.importorskip("aiohttp")
    with web_server([str(demo_copy(tmp_path))]) as (base, _):
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/") as page:
                assert page.status == 200
                html = await page.text()
            assert "googleapis" not in html
            urls = re.findall(r'(?:href|src)="([^"]+)"|url\("([^"]+)"\)|websocket-url="([^"]+)"', html)
            urls = [u for group in urls for u in group if u]
            assert any(u.endswith(".ttf") for u in urls)  # the font is served, not fetched elsewhere
            for url in urls:
                assert url.startswith((base + "/", base.replace("http", "ws", 1) + "/")), url
                if url.startswith("http"):
                    async with session.get(url) as asset:
                        assert asset.status == 200, url


async def test_with_a_token_a_visitor_without_it_gets_403(tmp_path):
    aiohttp = pytest.importorskip("aiohttp")
    token = "s3cret-token-for-the-test"
    with web_server([str(demo_copy(tmp_path)), "--read-only"], token=token) as (base, _):
        async with aiohttp.ClientSession() as stranger:
            for path in ("/", "/?token=wrong", "/static/js/textual.js"):
                async with stranger.get(base + path) as answer:
                    assert answer.status == 403, path
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await stranger.ws_connect(base + "/ws")
            assert refused.value.status == 403
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as visitor:  # unsafe: an IP host
            async with visitor.get(f"{base}/?token={token}") as page:
                assert page.status == 200
            async with visitor.get(base + "/static/js/textual.js") as asset:  # the cookie carries it on
                assert asset.status == 200
            async with visitor.ws_connect(base + "/ws") as ws:
                await ws.send_str(json.dumps(["resize", {"width": 80, "height": 24}]))
                received = await _receive_until(ws, "READ-ONLY", aiohttp)
            assert "READ-ONLY" in received


async def _receive_until(ws, text: str, aiohttp, timeout: float = 30) -> str:
    received = ""
    deadline = time.monotonic() + timeout
    while text not in received and time.monotonic() < deadline:
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
    return received


async def test_the_terminal_takes_no_connection_from_another_sites_page(tmp_path):
    aiohttp = pytest.importorskip("aiohttp")
    with web_server([str(demo_copy(tmp_path)), "--read-only"]) as (base, _):
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(base + "/ws", headers={"Origin": "http://evil.example"})
            assert refused.value.status == 403
            async with session.ws_connect(base + "/ws", headers={"Origin": base}) as ws:
                await ws.send_str(json.dumps(["resize", {"width": 80, "height": 24}]))
                assert "READ-ONLY" in await _receive_until(ws, "READ-ONLY", aiohttp)


STUBBORN_APP = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").write(str(os.getpid()))
sys.stdout.write("__GANGLION__\\n"); sys.stdout.flush()
while True:
    time.sleep(0.01)  # busy, ignoring its input and SIGTERM: an app stuck in a loop
"""


async def test_a_visitor_gone_ends_even_a_stubborn_app_that_ignores_quit_and_sigterm(tmp_path):
    aiohttp = pytest.importorskip("aiohttp")
    script, pid_file = tmp_path / "stubborn.py", tmp_path / "pid"
    script.write_text(STUBBORN_APP)
    command = "exec " + shlex.join([sys.executable, str(script), str(pid_file)])
    with web_server([], command=command) as (base, _):
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(base + "/ws")
            for _ in range(100):
                if pid_file.exists() and pid_file.read_text():
                    break
                await asyncio.sleep(0.1)
            pid = int(pid_file.read_text())
            await ws.close()
        took = _wait_gone(pid, QUIT_GRACE + TERM_GRACE + 10)
        assert took is not None, "the app process outlived its visitor"
        print(f"stubborn app ended {took:.1f} s after its visitor left")


async def test_a_visitor_that_vanishes_ends_its_app(tmp_path):
    aiohttp = pytest.importorskip("aiohttp")
    with web_server([str(demo_copy(tmp_path)), "--read-only"]) as (base, server):
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(base + "/ws")
            await ws.send_str(json.dumps(["resize", {"width": 80, "height": 24}]))
            assert "READ-ONLY" in await _receive_until(ws, "READ-ONLY", aiohttp)
            apps = _children(server.pid)
            assert len(apps) == 1
            ws._response.connection.transport.abort()  # gone without a goodbye, as a closed laptop
        took = _wait_gone(apps[0], QUIT_GRACE + TERM_GRACE + 10)
        assert took is not None, "the app process outlived its visitor"


def test_an_app_whose_server_died_ends(tmp_path):
    """A killed server leaves its apps behind: textual's web driver stops reading at the end
    of its input but keeps the app running. Each of ours watches for its parent going away."""
    path = demo_copy(tmp_path)
    parent_code = (
        "import os, subprocess, sys, time\n"
        "env = dict(os.environ, TEXTUAL_DRIVER='textual.drivers.web_driver:WebDriver')\n"
        f"app = subprocess.Popen([sys.executable, '-m', 'ocitree.tui.cli', {str(path)!r}, '--read-only'], env=env,\n"
        "                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)\n"
        "app.stdout.readline()\n"  # __GANGLION__: the app is up
        "time.sleep(3)\n"  # loaded and idle: an app that writes nothing never finds its output gone
        "print(app.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        app_pid = int(parent.stdout.readline())
        assert _alive(app_pid)
    finally:
        parent.kill()  # as a server killed with SIGKILL, or crashing
        parent.wait()
    took = _wait_gone(app_pid, 15)
    if took is None:
        os.kill(app_pid, signal.SIGKILL)
    assert took is not None, "the app outlived its server"


def test_web_passes_the_timeout_on_to_each_visitors_app():
    from ocitree.tui.cli import _app_args, build_parser

    args = build_parser()["web"].parse_args(["https://registry.example", "--timeout", "2.5", "--port", "8"])
    assert _app_args(args) == ["https://registry.example", "--timeout", "2.5"]
    assert build_parser()["web"].parse_args(["--no-auth"]).no_auth


def test_off_loopback_the_token_printed_at_start_is_the_one_asked_for(tmp_path):
    """`ocitree web --host ADDRESS`: tests listen on loopback only, so 127.0.0.1 stands in for
    another address here (the loopback test is what is replaced)."""
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("textual_serve")
    port = _free_port()
    code = ("import sys, ocitree.tui.web; ocitree.tui.web.is_loopback = lambda host: False; from ocitree.tui.cli import main; "
            f"sys.exit(main(['web', {str(demo_copy(tmp_path))!r}, '--read-only', '--host', '127.0.0.1', "
            f"'--port', '{port}']))")
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"open (http://127\.0\.0\.1:\d+/)\?token=(\S+) \(visitors without the token get 403\)", line)
        assert match, line
        base, token = match.groups()
        assert httpx.get(base).status_code == 403
        assert httpx.get(base, params={"token": token[:-1]}).status_code == 403
        assert httpx.get(base, params={"token": token}).status_code == 200
    finally:
        server.terminate()
        server.wait(15)
