"""`ocitree web [SOURCE]`: the same app in a browser, through textual-serve (extra: web).

textual-serve starts one app process per browser visitor, running the command below in a
shell, so every argument is shell-quoted. The command runs this interpreter's ocitree
(`python -m tui.cli`), so it works from a virtualenv that is not on PATH.
"""

from __future__ import annotations

import shlex
import sys

from core.errors import BadInputError


def app_command(source_args: list[str]) -> str:
    if "--password-stdin" in source_args:
        # Each visitor's app reads its standard input from the browser connection.
        raise BadInputError(
            "ocitree web cannot read a password from standard input: log in with a credential helper or auth file instead"
        )
    return shlex.join([sys.executable, "-m", "tui.cli", *source_args])


def serve(source_args: list[str], host: str = "127.0.0.1", port: int = 8000) -> None:
    from textual_serve.server import Server

    server = Server(app_command(source_args), host=host, port=port, title="ocitree")
    server.serve()
