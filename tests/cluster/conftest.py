"""A real cluster for the tests, one per test session: an S3-compatible server (moto in server
mode, on a free port) and a Dask scheduler and two workers started as separate processes
(`dask scheduler`, `dask worker` from the venv), each in its own working and temp directory."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
BUCKET = "claims"


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on a free port of 127.0.0.1, its environment set for this process
    (workers get it too); the bucket `claims` made. Yields the endpoint URL."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {**S3_ENV, "AWS_ENDPOINT_URL": endpoint}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        import fsspec

        fsspec.filesystem("s3", skip_instance_cache=True).mkdir(BUCKET)
        yield endpoint
    server.stop()


def _start(args: list[str], root: Path, env: dict[str, str]) -> subprocess.Popen:
    """A process of the cluster in `root/work`, its temp directory `root/tmp`, log in root."""
    for name in ("work", "tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    env = {**env, "TMPDIR": str(root / "tmp")}
    log = (root / "log.txt").open("wb")
    return subprocess.Popen(args, cwd=root / "work", env=env, stdout=log, stderr=log)


def _address(scheduler_file: Path, process: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with {process.returncode}")
        with contextlib.suppress(OSError, ValueError):
            return json.loads(scheduler_file.read_text())["address"]
        time.sleep(0.2)
    raise TimeoutError("dask scheduler did not start")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, s3_endpoint):
    """`dask scheduler` and two `dask worker`s (one thread each), separate processes with
    their own working and temp directories (`roots`). Yields a dict: address, roots, client."""
    distributed = pytest.importorskip("distributed")
    if not (BIN / "dask").exists():
        pytest.skip(f"no `dask` command in {BIN} (pip install 'claims-audit[dask]')")
    base = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "AWS_ENDPOINT_URL": s3_endpoint, **S3_ENV}
    scheduler_file = base / "scheduler.json"
    roots = {name: base / name for name in ("scheduler", "worker-1", "worker-2")}
    procs = [
        _start(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            roots["scheduler"],
            env,
        )
    ]
    try:
        address = _address(scheduler_file, procs[0])
        for name in ("worker-1", "worker-2"):
            procs.append(
                _start(
                    [
                        str(BIN / "dask"),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--name",
                        name,
                        "--no-dashboard",
                        "--memory-limit",
                        "0",
                        "--local-directory",
                        str(roots[name] / "local"),
                    ],
                    roots[name],
                    env,
                )
            )
        client = distributed.Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=120)
        yield {"address": address, "roots": roots, "client": client}
        client.close()
    finally:
        for process in reversed(procs):
            process.terminate()
        for process in reversed(procs):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
