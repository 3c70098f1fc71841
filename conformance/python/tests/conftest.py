"""Start the secretbench emulator binary once per test session and hand its ready line to the tests.

The binary comes from $SECRETBENCH_EMULATORS_BIN (nothing is built here). It is started with every service
on an ephemeral port and a fresh state dir, and stopped by PID with SIGTERM; it must then exit 0.
"""

import json
import os
import select
import signal
import socket
import subprocess
import tempfile
import uuid

import pytest
import requests

VAULT_SUFFIXES = (".localhost",)


def _emulator_bin():
    path = os.environ.get("SECRETBENCH_EMULATORS_BIN")
    if not path:
        cache = os.environ.get("CARGO_TARGET_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "secretbench", "target"
        )
        path = os.path.join(cache, "release", "secretbench-emulators")
    if not os.access(path, os.X_OK):
        pytest.exit(f"emulator binary not found at {path}; set SECRETBENCH_EMULATORS_BIN", returncode=2)
    return path


_real_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    # Dev vault hosts such as dev.vault.localhost do not resolve here: send any *.localhost name to loopback.
    if isinstance(host, str) and host != "localhost" and host.endswith(VAULT_SUFFIXES):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(scope="session")
def emulator():
    socket.getaddrinfo = _loopback_getaddrinfo
    state_dir = tempfile.mkdtemp(prefix="secretbench-py-")
    proc = subprocess.Popen(
        [
            _emulator_bin(),
            "--aws", "127.0.0.1:0",
            "--vault", "127.0.0.1:0",
            "--azure", "127.0.0.1:0",
            "--state-dir", state_dir,
        ],
        stdout=subprocess.PIPE,
        stderr=None,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        pytest.exit("emulator printed no ready line within 30 s", returncode=2)
    line = proc.stdout.readline()
    try:
        info = json.loads(line)
    except ValueError:
        proc.kill()
        pytest.exit(f"ready line is not JSON: {line!r}", returncode=2)
    info["stateDir"] = state_dir
    try:
        yield info
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        socket.getaddrinfo = _real_getaddrinfo
        assert code == 0, f"emulator exited {code} on SIGTERM"


def _admin_headers(info):
    """The admin API wants the token the ready line names (absent when it was opened)."""
    token = info.get("adminToken")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _admin(info, base, verify=True):
    def post(path, body):
        r = requests.post(
            f"{base}/_secretbench{path}",
            json=body,
            headers=_admin_headers(info),
            verify=verify,
            timeout=10,
        )
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    return post


@pytest.fixture(scope="session")
def aws_url(emulator):
    return emulator["aws"]["url"]


@pytest.fixture(scope="session")
def vault_info(emulator):
    return emulator["vault"]


@pytest.fixture(scope="session")
def azure_info(emulator):
    return emulator["azure"]


@pytest.fixture(scope="session")
def advance_clock(emulator):
    """Move the shared emulator clock forward by N seconds (admin API on the AWS listener)."""
    post = _admin(emulator, emulator["aws"]["url"])

    def advance(seconds):
        return post("/clock", {"advanceSeconds": seconds})

    return advance


@pytest.fixture
def uniq():
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def emulator_now(emulator):
    """The emulator's current time (other tests move its clock, so wall time is no reference)."""
    import datetime

    def now():
        r = requests.get(
            f"{emulator['aws']['url']}/_secretbench/clock",
            headers=_admin_headers(emulator),
            timeout=10,
        )
        r.raise_for_status()
        return datetime.datetime.fromisoformat(r.json()["now"].replace("Z", "+00:00"))

    return now
