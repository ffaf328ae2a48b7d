"""An unexpected exception in the app must not print local variables: they can hold credentials."""

from __future__ import annotations

import pytest

from tests.helpers.tui_pilot import demo_app


async def test_a_crash_traceback_shows_no_local_variables(tmp_path, capfd):
    app, _ = demo_app(tmp_path)

    def explode() -> None:
        # Built at run time, so the traceback's source lines cannot show it, only its locals could.
        authorization = "Basic " + "hunter" + str(6 * 7)  # noqa: F841
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):  # run_test re-raises the app's crash
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.call_later(explode)
            await pilot.pause()
    printed = capfd.readouterr()
    text = printed.out + printed.err
    assert "RuntimeError" in text and "boom" in text  # the traceback itself is shown
    assert "hunter42" not in text
