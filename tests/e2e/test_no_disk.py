"""No byte of an upload reaches a disk-backed file: the real server runs under ``strace`` while
a browser uploads a 10 MB DICOM (built in memory, its patient name a canary), and no file but
memory-backed ones (``/dev/shm``, pseudo-files) is opened for writing or written to by the
server between the upload's start and its result.

Before ``dxui.server.keep_uploads_in_memory``, Starlette's multipart parser spooled every
upload over 1 MB to an unnamed file in ``/tmp`` (an ``openat`` of ``/tmp`` with
``O_TMPFILE``, then ``write`` calls to ``/tmp/#N (deleted)``), which this test reports.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.browsing import WAIT_MS, opened, verdict, wait_for_idle
from tests.e2e.conftest import serving
from tests.images.test_reader import dicom_bytes

pytestmark = pytest.mark.e2e

STRACE = shutil.which("strace")
MEMORY_BACKED = Path("/dev/shm")
SIDE = 2300  # 2300 x 2300 16-bit pixels: 10.6 MB of pixel data
CANARY = "CANARY^PATIENT"
# Where a server may write without touching a disk: pseudo-files, shared memory, sockets,
# pipes, anonymous inodes and memfds (as strace -y names them).
IN_MEMORY = ("/dev/", "/proc/", "/sys/", "socket:", "pipe:", "anon_inode:", "/memfd:")
WRITE_CALLS = ("write", "pwrite64", "writev", "pwritev", "pwritev2")
READ_CALLS = ("read", "recvfrom", "recvmsg")
OPEN_FOR_WRITING = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND|O_TMPFILE")
# "1234 1700000000.123456 openat(AT_FDCWD</repo>, "/tmp", O_RDWR|O_TMPFILE, 0600) = 12<...>"
CALL = re.compile(r"^\d+ +(?P<time>\d+\.\d+) (?P<name>\w+)\((?P<args>.*)$")
FD_PATH = re.compile(r"^\d+<(?P<path>[^>]*)>")
OPENED_PATH = re.compile(r'"(?P<path>[^"]*)", (?P<flags>[A-Z_|0-9]+)')
RESULT = re.compile(r"\) += (?P<value>\d+)")


@dataclass(frozen=True)
class Call:
    """One system call from the trace: when it started, its name, and its arguments (with
    the rest of the line: return value, or ``<unfinished ...>``)."""

    time: float
    name: str
    args: str

    def fd_path(self) -> str | None:
        """What its first argument's file descriptor is (``strace -y``)."""
        match = FD_PATH.match(self.args)
        return match["path"] if match else None


def calls_between(trace: Path, start: float, end: float) -> list[Call]:
    calls = []
    for line in trace.read_text(errors="replace").splitlines():
        match = CALL.match(line)
        if match and start <= float(match["time"]) <= end:
            calls.append(Call(float(match["time"]), match["name"], match["args"]))
    return calls


def in_memory(path: str) -> bool:
    return path.startswith(IN_MEMORY)


def disk_writes(calls: list[Call]) -> list[str]:
    """Every open for writing of, and every write to, a file that is not memory-backed."""
    found = []
    for call in calls:
        if call.name in WRITE_CALLS:
            path = call.fd_path()
            if path is not None and not in_memory(path):
                found.append(f"{call.name} to {path}")
        elif call.name in ("open", "openat", "creat"):
            opened_file = OPENED_PATH.search(call.args)
            if (opened_file and OPEN_FOR_WRITING.search(opened_file["flags"])
                    and not in_memory(opened_file["path"])):
                found.append(f"{call.name} {opened_file['path']} {opened_file['flags']}")
    return found


def socket_bytes_read(calls: list[Call]) -> int:
    """The bytes the server read from its sockets (the upload arrives this way)."""
    total = 0
    for call in calls:
        path = call.fd_path()
        result = RESULT.search(call.args)
        if call.name in READ_CALLS and path and path.startswith("socket:") and result:
            total += int(result["value"])
    return total


def large_dicom(xray: Path) -> bytes:
    """A real test radiograph upsampled to 2300 x 2300 16-bit pixels, as a DX DICOM file of
    about 10.6 MB whose patient name is the canary."""
    with Image.open(xray) as image:
        pixels = np.asarray(image.convert("L").resize((SIDE, SIDE), Image.BICUBIC))
    return dicom_bytes(pixels.astype(np.uint16) * 257, bits_stored=16, PatientName=CANARY)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A folder in shared memory for the server's output and the trace: the test itself
    writes nothing to disk either."""
    if not MEMORY_BACKED.is_dir():
        pytest.skip(f"{MEMORY_BACKED} (shared memory) is not there")
    folder = Path(tempfile.mkdtemp(prefix="dx-no-disk-", dir=MEMORY_BACKED))
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_10_mb_dicom_upload_touches_no_disk(shipped_cxr_card, browser, pneumonia_xray_path,
                                              scratch):
    if STRACE is None:
        pytest.skip("strace is not installed: apt-get install strace (see .ci/run)")
    dicom = large_dicom(pneumonia_xray_path)
    assert len(dicom) >= 10 * 10**6
    # Every open, read and write of the server and its threads, each with its time and
    # what its file descriptor is.
    trace = scratch / "server.strace"
    strace = [STRACE, "-f", "-qq", "-z", "-ttt", "-y", "--seccomp-bpf", "-e", "signal=none",
              "-e", f"trace=open,openat,creat,{','.join(WRITE_CALLS + READ_CALLS)}",
              "-o", str(trace)]
    env = {key: value for key, value in os.environ.items() if key != "DX_MODELS_DIR"}
    # Python's byte-code caches are not uploads: without this a fresh clone's first
    # upload would write dxcore's .pyc files as it imports the image reader.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    with serving(scratch / "server.log", strace, env) as url, \
            opened(browser, f"{url}/chest_xray") as page:
        started = time.time()
        # Straight from memory: Playwright sends the bytes, no file is made for them.
        page.locator('input[type="file"]').set_input_files(
            {"name": "large.dcm", "mimeType": "application/dicom", "buffer": dicom})
        verdict(page).wait_for(timeout=WAIT_MS)
        page.get_by_text(f"{SIDE} x {SIDE} px").first.wait_for(timeout=WAIT_MS)
        wait_for_idle(page)
        finished = time.time()
    calls = calls_between(trace, started, finished)  # the trace is complete once it stopped
    # The trace saw the upload arrive at the server, so it covers the upload's handler.
    assert socket_bytes_read(calls) >= len(dicom)
    assert disk_writes(calls) == []
