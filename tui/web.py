"""`ocitree web [SOURCE]`: the same app in a browser, through textual-serve (extra: web).

textual-serve starts one app process per browser visitor, running the command below in a
shell, so every argument is shell-quoted; `exec` makes the app the shell's own process, so
the server's signals and the app's parent check reach it. The command runs this
interpreter's ocitree (`python -m ocitree`), so it works from a virtualenv not on PATH.

What this adds to textual-serve's server:
- nothing leaves the host: the page's font comes from textual-serve's own static files, not a
  public font service (web_templates/app_index.html), and its URLs are the ones the visitor used;
- it listens on 127.0.0.1 unless told otherwise; on any other address a visitor needs the
  token printed at start (`/?token=...`, then a cookie), else 403, unless --no-auth;
- the terminal socket takes no connection from another site's page (Origin must be this host),
  which would otherwise let any web page the operator opens drive the app;
- a visitor gone means the app process goes: asked to quit, then SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ocitree.core.errors import BadInputError

TOKEN_COOKIE = "ocitree_token"
QUIT_GRACE = 3.0  # seconds an app has to quit by itself once its visitor is gone
TERM_GRACE = 2.0  # then, after SIGTERM, before SIGKILL
TEMPLATES = Path(__file__).parent / "web_templates"


def app_command(source_args: list[str]) -> str:
    if "--password-stdin" in source_args:
        # Each visitor's app reads its standard input from the browser connection.
        raise BadInputError(
            "ocitree web cannot read a password from standard input: log in with a credential helper or auth file instead"
        )
    return "exec " + shlex.join([sys.executable, "-m", "ocitree.tui.cli", *source_args])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_token(host: str, no_auth: bool) -> str | None:
    """The token visitors must give, or None where none is needed (loopback, or --no-auth)."""
    if is_loopback(host) or no_auth:
        return None
    return secrets.token_urlsafe(24)


def build_server(source_args: list[str], host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
                 command: str | None = None):
    """The server (not started). `command` replaces the app command (tests)."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    class WatchedAppService(AppService):
        """Ends its app process once the visitor is gone, whatever state the app is in."""

        async def stop(self) -> None:
            process = self._process
            try:
                await asyncio.wait_for(super().stop(), QUIT_GRACE)
            except (asyncio.TimeoutError, OSError):
                pass
            if process is None or process.returncode is not None:
                return
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), TERM_GRACE)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()

    class OcitreeServer(Server):
        def __init__(self) -> None:
            super().__init__(command or app_command(source_args), host=host, port=port, title="ocitree",
                             templates_path=TEMPLATES)
            self.token = token

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(self._guard)
            return app

        @web.middleware
        async def _guard(self, request: web.Request, handler):
            if self.token is not None:
                given = request.query.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
                if not hmac.compare_digest(given.encode(), self.token.encode()):
                    raise web.HTTPForbidden(text="ocitree web: open the address with the token printed when the "
                                                 "server started (http://HOST:PORT/?token=...)\n")
            if request.path == "/ws":
                origin = request.headers.get("Origin")
                if origin is not None and urlsplit(origin).netloc != request.host:
                    raise web.HTTPForbidden(text="ocitree web: the terminal takes connections from its own page only\n")
            response = await handler(request)
            if self.token is not None and request.path == "/" and "token" in request.query:
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict")
            return response

        async def on_startup(self, app: web.Application) -> None:
            shown = f"[{self.host}]" if ":" in self.host else self.host
            url = f"http://{shown}:{self.port}/"
            if self.token is not None:
                print(f"ocitree web: open {url}?token={self.token} (visitors without the token get 403); "
                      f"Ctrl+C stops", flush=True)
            else:
                note = "" if is_loopback(self.host) else " WITHOUT a token (--no-auth): anyone who can reach it can delete;"
                print(f"ocitree web: open {url}{note} Ctrl+C stops", flush=True)

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict:
            # URLs as the visitor reached this server, not as it was bound (0.0.0.0 is nowhere).
            base = f"{request.scheme}://{request.host}"
            websocket = ("wss" if request.scheme == "https" else "ws") + f"://{request.host}"
            return {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": websocket + str(request.app.router["websocket"].url_for()),
                "config": {"static": {"url": base + str(request.app.router["static"].url_for(filename="/")).rstrip("/") + "/"}},
                "application": {"name": self.title},
            }

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            # textual-serve's own, with the watched app service.
            websocket = web.WebSocketResponse(heartbeat=15)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            app_service: AppService | None = None
            try:
                await websocket.prepare(request)
                # close=websocket.close as textual-serve's own server passes it: AppService types it as
                # returning None, aiohttp's returns a bool nobody reads.
                app_service = WatchedAppService(self.command, write_bytes=websocket.send_bytes,
                                                write_str=websocket.send_str,
                                                close=websocket.close,  # type: ignore[arg-type]
                                                download_manager=self.download_manager, debug=self.debug)
                await app_service.start(width, height)
                try:
                    await self._process_messages(websocket, app_service)
                finally:
                    await app_service.stop()
            except asyncio.CancelledError:
                await websocket.close()
            except Exception:  # a broken connection: the finally below still ends the app
                pass
            finally:
                if app_service is not None:
                    await app_service.stop()
            return websocket

    return OcitreeServer()


def serve(source_args: list[str], host: str = "127.0.0.1", port: int = 8000, no_auth: bool = False) -> None:
    build_server(source_args, host, port, access_token(host, no_auth)).serve()


def watch_parent_when_served(interval: float = 1.0) -> None:
    """In an app process that textual-serve started: end when the server that started it is gone.

    An app whose server was killed keeps running otherwise (textual's web driver stops reading
    at the end of its input but leaves the app up), holding the source open indefinitely."""
    import os
    import threading
    import time

    if "web_driver" not in os.environ.get("TEXTUAL_DRIVER", ""):
        return  # on a terminal
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="ocitree-parent-watch", daemon=True).start()
