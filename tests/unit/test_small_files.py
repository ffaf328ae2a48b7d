"""read_small_file reads a file whole in one read when it can, and never more than limit + 1 bytes."""

from __future__ import annotations

import pytest

from ocitree.core.small_files import FIRST_READ, read_small_file


@pytest.mark.parametrize("size", [0, 1, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, 3 * FIRST_READ + 7])
def test_a_file_within_the_limit_is_read_whole(tmp_path, size):
    path = tmp_path / "blob"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    assert read_small_file(str(path), 4 * FIRST_READ) == data


@pytest.mark.parametrize("limit", [10, FIRST_READ - 1, FIRST_READ, 2 * FIRST_READ])
def test_a_larger_file_is_read_to_one_byte_past_the_limit(tmp_path, limit):
    path = tmp_path / "blob"
    path.write_bytes(b"x" * (limit + FIRST_READ))
    assert len(read_small_file(str(path), limit)) == limit + 1


def test_a_missing_file_or_a_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_small_file(str(tmp_path / "none"), 10)
    with pytest.raises(IsADirectoryError):
        read_small_file(str(tmp_path), 10)
