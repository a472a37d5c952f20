"""send_async: firebase-admin's `send_each` (what FcmSender uses: one thread and one pooled
urllib3 connection per message of a chunk) against `send_each_async` (httpx, HTTP/2 where the
server offers it, all messages as tasks on one event loop kept for the process's life), for the
same 500 pushes against the FCM stand-in (keep-alive transport, its own process), answering at
once and with 20 ms of added latency: pushes per second and client CPU per push.

Loopback without TLS, so httpx speaks HTTP/1.1 here (HTTP/2 needs TLS/ALPN or prior knowledge):
what this compares is the client's cost per message, threads against tasks, not HTTP/2's
multiplexing. Both paths build the same `messaging.Message` objects (FcmSender.to_message)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import REPO, Json, Row, Spec, ratio, stats
from bench.dispatch_throughput import StandInServer, _firebase_app, _self_cpu, set_latency

NAME = "send_async"
PUSHES = 500
LATENCIES_MS = (0, 20)
REPETITIONS = 3
CHUNK = 100  # FcmSender's default chunk (ECMPUSH_FCM_CHUNK_SIZE)


def child(params: Json) -> Json:
    from firebase_admin import messaging

    from bench._fixtures import pushes as make_pushes
    from ecmpush.adapters.fcm_sender import FcmSender, to_message

    url, count, reps = params["url"], int(params["pushes"]), int(params["reps"])
    app = _firebase_app(url, Path(params["state_dir"]), CHUNK)
    sender = FcmSender(app, chunk_size=CHUNK)
    batch = make_pushes(count)
    loop = asyncio.new_event_loop()  # kept, as a warm container would keep it

    def sync_send() -> int:
        return sum(1 for r in sender.send(batch) if r.error_code)

    def async_send() -> int:
        messages = [to_message(p) for p in batch]
        answer = loop.run_until_complete(messaging.send_each_async(messages, app=app))
        return int(answer.failure_count)

    runs: list[Json] = []
    for latency in params["latencies"]:
        set_latency(url, latency)
        for mode, send in (("send_each", sync_send), ("send_each_async", async_send)):
            failures = send()  # warm: token, connections
            walls: list[float] = []
            cpus: list[float] = []
            for _ in range(reps):
                cpu0, started = _self_cpu(), time.perf_counter()
                failures += send()
                walls.append(time.perf_counter() - started)
                cpus.append(_self_cpu() - cpu0)
            runs.append(
                {
                    "mode": mode,
                    "latency_ms": latency,
                    "pushes_per_s": stats([count / w for w in walls], 1),
                    "cpu_ms_per_push": stats([1000 * c / count for c in cpus], 3),
                    "failures": failures,
                }
            )
    loop.close()
    return {"runs": runs}


def run(quick: bool) -> Json:
    count, reps = (50, 1) if quick else (PUSHES, REPETITIONS)
    with (
        tempfile.TemporaryDirectory(prefix="send-async-") as state,
        StandInServer(Path(state), "keepalive") as server,
    ):
        params = {
            "url": server.url,
            "state_dir": state,
            "pushes": count,
            "reps": reps,
            "latencies": list(LATENCIES_MS),
        }
        done = subprocess.run(  # noqa: S603 - our own module, JSON argument
            [sys.executable, "-m", "bench.send_async", "--child", json.dumps(params)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=1200,
        )
    if done.returncode:
        raise RuntimeError(f"send_async child failed:\n{done.stderr[-3000:]}")
    body: Json = json.loads(done.stdout.splitlines()[-1])
    by = {(r["mode"], r["latency_ms"]): r for r in body["runs"]}
    body["async_vs_sync"] = {
        str(latency): {
            "pushes_per_s": ratio(
                by[("send_each_async", latency)]["pushes_per_s"]["median"],
                by[("send_each", latency)]["pushes_per_s"]["median"],
            ),
            "cpu_per_push": ratio(
                by[("send_each_async", latency)]["cpu_ms_per_push"]["median"],
                by[("send_each", latency)]["cpu_ms_per_push"]["median"],
            ),
        }
        for latency in LATENCIES_MS
    }
    return body


def headline(result: Json) -> list[Row]:
    rows: list[Row] = [
        (
            f"{r['mode']} +{r['latency_ms']} ms",
            f"{r['pushes_per_s']['median']} pushes/s, {r['cpu_ms_per_push']['median']} ms CPU/push",
        )
        for r in result["runs"]
    ]
    for latency, x in result["async_vs_sync"].items():
        rows.append(
            (
                f"async/sync +{latency} ms",
                f"{x['pushes_per_s']}x pushes/s, {x['cpu_per_push']}x CPU/push",
            )
        )
    return rows


SPEC = Spec(NAME, "send_each vs send_each_async, 500 pushes", run, headline)

if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    print(json.dumps(child(json.loads(sys.argv[2]))))
