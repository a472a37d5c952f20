"""dispatch_throughput: the real `FcmSender` (firebase-admin `send_each` in chunks) against the
FCM stand-in: pushes per second and memory for 500 pushes, per chunk size, with the stand-in
answering at once and with 20 ms of added latency per request.

Set-up, and why:
- Two transports for the same stand-in app (bench/_fcm_server.py): `keepalive`, an HTTP/1.1
  server that keeps connections open as FCM does (the SDK's pool of `chunk` connections is
  reused: the realistic case, full sweep), and `werkzeug`, devstack's own server, which closes
  every connection after one answer (a subset of chunk sizes, to show what that changes).
- The stand-in runs in a process of its own (bench/_fcm_server.py), so it neither competes
  with the sender for the GIL nor shows up in the sender's peak RSS. Both share the machine's
  two cores, so the CPU each side burns is recorded: whichever side sits near one full core
  (the GIL caps a Python process at about one) is the bottleneck.
- On the keepalive transport each chunk size runs in a fresh client process (peak RSS is a
  process high-water mark), with the App built by `get_firebase_app(..., pool_size=chunk)` and
  `FcmSender(app, chunk_size=chunk)`, as bootstrap does with ECMPUSH_FCM_CHUNK_SIZE. Per added
  latency, a warm-up send of one chunk fetches the OAuth token and opens the connections, as a
  warm container has them; then `repetitions` timed sends of all pushes. Peak RSS is read
  after both latencies; then one more send under tracemalloc gives the Python heap peak
  (tracemalloc slows everything down, so it is never timed). The werkzeug subset shares one
  client process (no memory figures there: they would be a mix).
- "standin_alone" drives the stand-in with a minimal client instead (plain http.client, one
  connection per thread, opened before timing, pre-encoded bodies, the same bearer token) at
  the same concurrency: the most the stand-in itself can answer. When the SDK's rate is far
  below it, the client side is what limits. (Against werkzeug every request reconnects anyway.)

Loopback HTTP has no TLS and no real network: absolute rates are an upper bound for the client
side, not a prediction of FCM. The 20 ms case shows how chunking hides latency."""

from __future__ import annotations

import http.client
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from bench._common import REPO, Json, Row, Spec, ratio, stats

NAME = "dispatch_throughput"
CHUNK_SIZES = (10, 50, 100, 250, 500)
LATENCIES_MS = (0, 20)
PUSHES = 500
# Chunk sizes per stand-in transport. keepalive (the closer model of FCM, see
# bench/_fcm_server.py) gets the full sweep; werkzeug (the devstack server as is) a subset, to
# show what its connection-per-request transport changes while keeping the run short.
SERVERS: dict[str, tuple[int, ...]] = {"keepalive": CHUNK_SIZES, "werkzeug": (10, 100)}
# Concurrencies the stand-in alone is driven at (the brackets of the sweep, and the default).
ALONE_CONCURRENCY = (10, 100, 500)
REPETITIONS = 3
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (Linux /proc), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return float("nan")


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def control(url: str, method: str, path: str, body: Json | None = None) -> None:
    """Call one of the stand-in's loopback control routes (faults, reset)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the loopback URL this benchmark started
        url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def set_latency(url: str, latency_ms: int) -> None:
    """Forget recorded messages and faults; then delay every answer by `latency_ms`."""
    control(url, "DELETE", "/_inspect")
    if latency_ms:
        control(url, "POST", "/_inspect/faults", {"latency_ms": latency_ms})


class StandInServer:
    """The stand-in subprocess (bench/_fcm_server.py) of one transport kind."""

    def __init__(self, state_dir: Path, kind: str) -> None:
        self._state_dir = state_dir
        self.kind = kind
        self._process: subprocess.Popen[str] | None = None
        self.url = ""
        self.pid = 0

    def __enter__(self) -> StandInServer:
        self._process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "bench._fcm_server", str(self._state_dir), self.kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the FCM stand-in process did not start")
        started = json.loads(line)
        self.url, self.pid = started["url"], started["pid"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


# -- the client process --------------------------------------------------------------------------


def _firebase_app(url: str, state_dir: Path, pool_size: int) -> Any:
    from devstack.fcm_standin import token_uri_for
    from devstack.identity import LocalIdentity
    from ecmpush.adapters.firebase_app import get_firebase_app

    identity = LocalIdentity.load_or_create(state_dir)
    return get_firebase_app(
        identity.service_account_info(token_uri_for(url)), fcm_base_url=url, pool_size=pool_size
    )


def child_sdk(params: Json) -> Json:
    """FcmSender with chunk_size = pool_size = each of params["chunks"], at each latency."""
    from bench._fixtures import pushes as make_pushes
    from ecmpush.adapters.fcm_sender import FcmSender

    url, count, reps = params["url"], int(params["pushes"]), int(params["reps"])
    server_pid = int(params["server_pid"])
    batch = make_pushes(count)
    rss_ready = _rss_mb()
    runs: list[Json] = []
    sender: FcmSender | None = None
    for chunk in params["chunks"]:
        sender = FcmSender(_firebase_app(url, Path(params["state_dir"]), chunk), chunk_size=chunk)
        for latency in params["latencies"]:
            set_latency(url, latency)
            # OAuth token and `chunk` open connections, as a warm container has them.
            failures = sum(1 for r in sender.send(batch[:chunk]) if r.error_code)
            walls: list[float] = []
            client_cpu: list[float] = []
            server_cpu: list[float] = []
            for _ in range(reps):
                server_before = process_cpu_seconds(server_pid)
                cpu_before = _self_cpu()
                started = time.perf_counter()
                results = sender.send(batch)
                walls.append(time.perf_counter() - started)
                client_cpu.append(_self_cpu() - cpu_before)
                server_after = process_cpu_seconds(server_pid)
                if server_before is not None and server_after is not None:
                    server_cpu.append(server_after - server_before)
                failures += sum(1 for r in results if r.error_code)
            runs.append(
                {
                    "chunk": chunk,
                    "latency_ms": latency,
                    "walls_s": walls,
                    "client_cpu_s": client_cpu,
                    "server_cpu_s": server_cpu,
                    "failures": failures,
                }
            )
    peak_rss = _peak_rss_mb()
    heap_peak: int | None = None
    if params["heap"] and sender is not None:
        set_latency(url, 0)
        tracemalloc.start()
        sender.send(batch)
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "runs": runs,
        "rss_ready_mb": rss_ready,
        "peak_rss_mb": peak_rss,
        "heap_peak_mb": None if heap_peak is None else round(heap_peak / 2**20, 1),
    }


def child_raw(params: Json) -> Json:
    """The stand-in alone: minimal clients at each concurrency and latency, same bodies."""
    from bench._fixtures import pushes as make_pushes
    from ecmpush.adapters.fcm_sender import FcmSender

    url, count, reps = params["url"], int(params["pushes"]), int(params["reps"])
    server_pid = int(params["server_pid"])
    app = _firebase_app(url, Path(params["state_dir"]), 1)
    bearer = app.credential.get_access_token().access_token
    bodies = [
        json.dumps({"message": FcmSender.wire_message(p)}).encode() for p in make_pushes(count)
    ]
    host, port = url.removeprefix("http://").split(":")
    path = f"/v1/projects/{app.project_id}/messages:send"
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}

    def worker(
        connection: http.client.HTTPConnection, share: list[bytes], errors: list[int]
    ) -> None:
        for body in share:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)

    def round_trip(connections: list[http.client.HTTPConnection], items: list[bytes]) -> list[int]:
        errors: list[int] = []
        threads = [
            threading.Thread(target=worker, args=(c, items[i :: len(connections)], errors))
            for i, c in enumerate(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return errors

    runs: list[Json] = []
    for latency in params["latencies"]:
        set_latency(url, latency)
        for concurrency in params["concurrency"]:
            # Connections opened before timing, as the SDK's pool is after its warm-up chunk.
            connections = [
                http.client.HTTPConnection(host, int(port), timeout=30) for _ in range(concurrency)
            ]
            errors = round_trip(connections, bodies[:concurrency])
            walls: list[float] = []
            server_cpu: list[float] = []
            for _ in range(reps):
                server_before = process_cpu_seconds(server_pid)
                started = time.perf_counter()
                errors += round_trip(connections, bodies)
                walls.append(time.perf_counter() - started)
                server_after = process_cpu_seconds(server_pid)
                if server_before is not None and server_after is not None:
                    server_cpu.append(server_after - server_before)
            for connection in connections:
                connection.close()
            runs.append(
                {
                    "concurrency": concurrency,
                    "latency_ms": latency,
                    "walls_s": walls,
                    "server_cpu_s": server_cpu,
                    "errors": len(errors),
                }
            )
    return {"runs": runs}


def _spawn(params: Json) -> Json:
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.dispatch_throughput", "--child", json.dumps(params)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dispatch child failed:\n{done.stderr[-3000:]}")
    measured: Json = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


# -- the parent ----------------------------------------------------------------------------------


def _per_second(count: int, walls: list[float]) -> Json:
    return stats([count / w for w in walls], 1)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _utilisation(cpu: list[float], wall: float) -> float | None:
    return ratio(_median(cpu), wall) if cpu else None


def _config(kind: str, run: Json, count: int, memory: Json | None) -> Json:
    wall = _median(run["walls_s"])
    client_cpu = stats(run["client_cpu_s"], 3)
    return {
        "server": kind,
        "latency_ms": run["latency_ms"],
        "chunk_size": run["chunk"],
        "pool_size": run["chunk"],
        "pushes": count,
        "pushes_per_s": _per_second(count, run["walls_s"]),
        "wall_s": stats(run["walls_s"], 3),
        "client_cpu_s": client_cpu,
        "client_cpu_per_push_us": round(client_cpu["median"] / count * 1e6, 1),
        "client_cpu_utilisation": ratio(client_cpu["median"], wall),
        "server_cpu_utilisation": _utilisation(run["server_cpu_s"], wall),
        # Per process: only where the configuration had a client process of its own.
        "rss_ready_mb": memory["rss_ready_mb"] if memory else None,
        "peak_rss_mb": memory["peak_rss_mb"] if memory else None,
        "python_heap_peak_mb": memory["heap_peak_mb"] if memory else None,
        "failures": run["failures"],
    }


def _measure(
    server: StandInServer, state: str, sizes: tuple[int, ...], count: int, reps: int
) -> tuple[list[Json], list[Json]]:
    """The SDK at every chunk size and latency, then the stand-in alone."""
    base = {
        "url": server.url,
        "state_dir": state,
        "server_pid": server.pid,
        "pushes": count,
        "reps": reps,
        "latencies": list(LATENCIES_MS),
    }
    configs: list[Json] = []
    if server.kind == "keepalive":
        # One client process per chunk size, for its peak RSS; the heap is measured there too.
        for chunk in sizes:
            measured = _spawn({**base, "mode": "sdk", "chunks": [chunk], "heap": True})
            configs.extend(_config(server.kind, r, count, measured) for r in measured["runs"])
    else:
        measured = _spawn({**base, "mode": "sdk", "chunks": list(sizes), "heap": False})
        configs.extend(_config(server.kind, r, count, None) for r in measured["runs"])
    raw = _spawn(
        {**base, "mode": "raw", "concurrency": [c for c in sizes if c in ALONE_CONCURRENCY]}
    )
    alone = [
        {
            "server": server.kind,
            "latency_ms": r["latency_ms"],
            "concurrency": r["concurrency"],
            "requests": count,
            "requests_per_s": _per_second(count, r["walls_s"]),
            "server_cpu_utilisation": _utilisation(r["server_cpu_s"], _median(r["walls_s"])),
            "errors": r["errors"],
        }
        for r in raw["runs"]
    ]
    for config in configs:
        match = next(
            (
                a
                for a in alone
                if a["latency_ms"] == config["latency_ms"]
                and a["concurrency"] == config["chunk_size"]
            ),
            None,
        )
        config["share_of_standin_alone"] = (
            ratio(config["pushes_per_s"]["median"], match["requests_per_s"]["median"])
            if match
            else None
        )
    return configs, alone


def run(quick: bool) -> Json:
    count = 50 if quick else PUSHES
    reps = 1 if quick else REPETITIONS
    configs: list[Json] = []
    alone: list[Json] = []
    with tempfile.TemporaryDirectory(prefix="ecmpush-bench-fcm-") as state:
        for kind, all_sizes in SERVERS.items():
            sizes = (10, 100) if quick else all_sizes
            with StandInServer(Path(state), kind) as server:
                measured, raw = _measure(server, state, sizes, count, reps)
                configs.extend(measured)
                alone.extend(raw)
    return {
        "parameters": {
            "pushes": count,
            "chunk_sizes": {kind: list(sizes) for kind, sizes in SERVERS.items()},
            "standin_alone_concurrency": list(ALONE_CONCURRENCY),
            "latencies_ms": list(LATENCIES_MS),
            "repetitions": reps,
            "pool_size": "= chunk size",
        },
        "configs": configs,
        "standin_alone": alone,
    }


def headline(result: Json) -> list[Row]:
    rows: list[Row] = []
    for config in result["configs"]:
        rows.append(
            (
                f"{config['server']}: chunk {config['chunk_size']:>3}, +{config['latency_ms']} ms",
                f"{config['pushes_per_s']['median']:.0f} pushes/s, client CPU "
                f"{config['client_cpu_utilisation']:.2f}"
                + (f", peak RSS {config['peak_rss_mb']:.0f} MB" if config["peak_rss_mb"] else ""),
            )
        )
    for entry in result["standin_alone"]:
        if entry["concurrency"] == 100:
            rows.append(
                (
                    f"{entry['server']}: stand-in alone x{entry['concurrency']}, "
                    f"+{entry['latency_ms']} ms",
                    f"{entry['requests_per_s']['median']:.0f} req/s, "
                    f"server CPU {entry['server_cpu_utilisation']}",
                )
            )
    return rows


SPEC = Spec(
    NAME, "FcmSender against the FCM stand-in: pushes/s and memory per chunk size", run, headline
)


def _child_main(raw: str) -> int:
    params: Json = json.loads(raw)
    measured = child_sdk(params) if params["mode"] == "sdk" else child_raw(params)
    print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        import bench  # noqa: F401  (puts the layer on sys.path)

        sys.exit(_child_main(sys.argv[2]))
    sys.exit("usage: python -m bench dispatch_throughput")
