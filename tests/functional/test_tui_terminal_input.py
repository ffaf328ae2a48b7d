"""`ocitree --username U --password-stdin [SOURCE]` opens the TUI with standard input used up by the
password: its keys must come from the terminal (/dev/tty), or, with no terminal at all, the
command is refused in one line (issue 8)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

from ocitree.sample_data.builder import RegistryBuilder
from tests.functional.test_hostile_strings import assert_printable


def _sample(tmp_path) -> str:
    builder = RegistryBuilder()
    builder.image("team/app", ["latest"])
    return str(builder.write_sample(tmp_path / "sample.json"))


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
    return seen


def test_the_tui_takes_its_keys_from_the_terminal_when_stdin_gave_the_password(tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def own_terminal() -> None:  # runs after setsid: the pty becomes the controlling terminal
        fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    env = {**os.environ, "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "ocitree.tui.cli", "--username", "someone", "--password-stdin",
                             _sample(tmp_path)], stdin=subprocess.PIPE, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=own_terminal, env=env)
    os.close(slave)
    try:
        proc.stdin.write(b"not-a-real-password\n")
        proc.stdin.close()  # as `echo secret | ocitree ...` leaves it
        screen = _read_until(master, b"team/app", 60)
        assert b"team/app" in screen, screen[-2000:]
        time.sleep(0.5)
        os.write(master, b"q")
        _read_until(master, b"\x00never", 0.1)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            _read_until(master, b"\x00never", 0.2)  # keep the terminal drained
        assert proc.poll() == 0, "q on the terminal did not quit the TUI"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_without_any_terminal_the_tui_is_refused_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ocitree.tui.cli", "--username", "someone", "--password-stdin",
                           _sample(tmp_path)], input=b"not-a-real-password\n", capture_output=True,
                          start_new_session=True, timeout=30)  # a new session has no controlling terminal
    err = assert_printable(done.stderr, "stderr")
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1 and "terminal" in err, err
    assert "not-a-real-password" not in err
