"""The server-process settings of dxui/server.py that a unit test can see: the upload parser
never spools to disk (the real server under strace: tests/e2e/test_no_disk.py), glibc's
arenas are limited unless the user set their own, and freed memory is handed back (the
memory they save under load: scripts/load_test.py)."""

from __future__ import annotations

import sys

import pytest
from starlette.formparsers import MultiPartParser

from dxui import server


class RecordingLibc:
    """Stands in for the process's C library: records ``mallopt`` calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int | str, int]] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append((parameter, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> RecordingLibc:
    recording = RecordingLibc()
    monkeypatch.setattr(server.ctypes, "CDLL", lambda _name: recording)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    return recording


def test_uploads_never_roll_over_to_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MultiPartParser, "spool_max_size", 1024 * 1024)
    server.keep_uploads_in_memory()
    assert MultiPartParser.spool_max_size == 0


def test_arenas_are_limited_on_linux(libc: RecordingLibc) -> None:
    assert server.limit_malloc_arenas()
    assert libc.calls == [(server.M_ARENA_MAX, server.MALLOC_ARENAS)]


def test_the_users_arena_setting_is_kept(libc: RecordingLibc,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert not server.limit_malloc_arenas()
    assert libc.calls == []


def test_nothing_is_set_off_linux(libc: RecordingLibc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not server.limit_malloc_arenas()
    assert libc.calls == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_glibc_takes_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real call: glibc's ``mallopt`` returns 1 when it accepts the value."""
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert server.limit_malloc_arenas()


def test_freed_memory_is_handed_back_on_linux(libc: RecordingLibc) -> None:
    assert server.release_free_memory()
    assert libc.calls == [("malloc_trim", 0)]


def test_nothing_is_trimmed_off_linux(libc: RecordingLibc,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert not server.release_free_memory()
    assert libc.calls == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cached_answers_are_dropped_once_per_idle_spell(libc: RecordingLibc) -> None:
    clock, cleared = FakeClock(), []
    release = server.IdleRelease(lambda: cleared.append(clock.now), idle_s=180, clock=clock)
    clock.now = 179
    assert not release.check()  # not idle long enough
    clock.now = 181
    assert release.check()
    clock.now = 400
    assert not release.check()  # released already this spell
    release.page_ran()
    clock.now = 500
    assert not release.check()  # a page ran 100 s ago
    clock.now = 581
    assert release.check()
    assert cleared == [181, 581]
    assert libc.calls == [("malloc_trim", 0)] * 2
