"""Benchmark of the registry's REST reads under a bounded load generator (issue 7, item 4).

    .venv/bin/python bench/rest.py [--households 20000 --seconds 10 --connections 4]

One `fupin serve registry` process (uvicorn, one worker) against a fresh PostgreSQL database
seeded with `fupin seed`'s generator + the registry import (20,000 households by default),
and beside it, as the limit, a bare FastAPI app (same uvicorn settings, one worker) that
returns the very same JSON bodies from memory. Load: Debian's `wrk` (one thread, a fixed
number of keep-alive connections, a fixed duration, loopback only), a Lua script picking a
random household id / village code per request. Each endpoint is measured right after its
bare counterpart, so the ratio compares figures taken under the same machine load.

Endpoints: `GET /api/v1/registry/households/{id}` (members included, ID numbers masked) and
`GET /api/v1/registry/households?region=<village>` (first page, 50 households). The token
has `registry:read` for the whole province.

Creates and drops its own database; appends a row to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    PG_DSN,
    append_result,
    create_database,
    drop_database,
    load,
    sa_url,
)

REGION = "430902"
KEYS = {"FUPIN_PII_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "FUPIN_BLIND_INDEX_KEY": "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="}
SECRET = "bench-rest-secret-not-for-production-0123456789"


def env_for(database: str, data_dir: str) -> dict[str, str]:
    return {**os.environ, **KEYS, "FUPIN_ENV": "test", "FUPIN_BUS": "embedded",
            "FUPIN_DATA_DIR": data_dir, "FUPIN_REGISTRY_DATABASE_URL": sa_url(database),
            "FUPIN_JWT_SECRET": SECRET, "FUPIN_LOG_LEVEL": "WARNING"}


async def seed(database: str, data_dir: str, households: int) -> tuple[list[str], list[str]]:
    """Import the seed file through the registry domain; return household ids and villages."""
    import asyncpg

    from services.registry.cli import create_regions, import_file
    from services.registry.domain.seed import write_seed_csv
    from services.registry.service import definition
    from shared.runtime import open_runtime
    from shared.settings import Settings

    os.environ.update({k: v for k, v in env_for(database, data_dir).items() if k in KEYS})
    settings = Settings(registry_database_url=sa_url(database), bus="embedded",
                        data_dir=Path(data_dir), log_level="WARNING")
    path = Path(data_dir) / "seed.csv"
    write_seed_csv(path, households=households, region=REGION, seed=2026)
    async with open_runtime(definition, settings) as runtime:
        await create_regions(REGION, households, runtime)
        report = await import_file(runtime, path, mode="strict", batch=1000, actor="bench")
    assert report.rejected == 0, report.errors[:3]
    conn = await asyncpg.connect(f"{PG_DSN}/{database}")
    try:
        await conn.execute("ANALYZE")
        ids = [r[0] for r in await conn.fetch(
            "SELECT id FROM households ORDER BY random() LIMIT 2000")]
        villages = [r[0] for r in await conn.fetch(
            "SELECT DISTINCT region_code FROM households")]
    finally:
        await conn.close()
    return ids, villages


def serve_registry(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "fupin"), "serve", "registry",
                             "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve_bare(port: int, bodies: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--bare", str(port), str(bodies)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bare_app(bodies: dict):
    """The limit: FastAPI returning the same JSON from memory (parsed once, re-serialised per
    request, as the service's response models are)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare/households/{household_id}")
    async def one(household_id: str) -> dict:
        return bodies["one"]

    @app.get("/bare/households")
    async def page(region: str = "") -> dict:
        return bodies["page"]

    return app


def run_bare(port: int, bodies_file: str) -> None:
    import uvicorn

    app = bare_app(json.loads(Path(bodies_file).read_text()))
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None)  # as `fupin serve`


async def wait_up(url: str) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


LUA = """
local items = {%s}
local prefix = "%s"
local suffix = "%s"
wrk.headers["Authorization"] = "Bearer %s"
math.randomseed(7)
request = function()
  return wrk.format("GET", prefix .. items[math.random(#items)] .. suffix)
end
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url_base: str, prefix: str, items: list[str], suffix: str, token: str, *,
        seconds: int, connections: int, workdir: Path, server: int | None = None) -> dict:
    """One wrk run; with `server` (a pid) also that process's CPU per request, a figure the
    shared machine's load disturbs much less than req/s."""
    script = workdir / f"wrk{abs(hash(prefix + suffix))}.lua"
    script.write_text(LUA % (",".join(f'"{i}"' for i in items), prefix, suffix, token))
    cpu_before = cpu_seconds(server) if server else 0.0
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", str(script), url_base], capture_output=True, text=True,
                         check=True).stdout
    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    cpu_ms = (cpu_seconds(server) - cpu_before) * 1000 / total if server and total else None
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else "", "load": load(),
            "server_cpu_ms": cpu_ms}


async def run(args) -> dict:
    import httpx

    from shared.auth import TokenCodec

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    database = await create_database("bench_rest")
    workdir = Path(tempfile.mkdtemp(prefix="bench-rest-"))
    children: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        ids, villages = await seed(database, str(workdir), args.households)
        seed_s = time.perf_counter() - started
        print(f"seeded {args.households} households in {seed_s:.1f} s", flush=True)
        token = TokenCodec(SECRET).mint(sub="bench", scopes=["registry:read"], region="43")
        children.append(serve_registry(args.port, env_for(database, str(workdir))))
        base = f"http://127.0.0.1:{args.port}"
        await wait_up(base + "/healthz")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
            one = await client.get(f"{base}/api/v1/registry/households/{ids[0]}")
            page = await client.get(f"{base}/api/v1/registry/households",
                                    params={"region": villages[0]})
        one.raise_for_status()
        page.raise_for_status()
        bodies = workdir / "bodies.json"
        bodies.write_text(json.dumps({"one": one.json(), "page": page.json()},
                                     ensure_ascii=False))
        children.append(serve_bare(args.port + 1, bodies))
        bare = f"http://127.0.0.1:{args.port + 1}"
        await wait_up(bare + "/bare/households/x")
        out: dict = {"households": args.households, "seed_s": seed_s,
                     "one_bytes": len(one.content), "page_bytes": len(page.content),
                     "page_items": len(page.json()["items"]), "connections": args.connections,
                     "seconds": args.seconds}
        pids = {base: children[0].pid, bare: children[1].pid}
        run_wrk = lambda url, prefix, items, suffix: wrk(  # noqa: E731
            url, prefix, items, suffix, token, seconds=args.seconds,
            connections=args.connections, workdir=workdir, server=pids[url])
        # Warm both (connection pools, statement caches), then measure bare and real in turn.
        run_wrk(base, "/api/v1/registry/households/", ids, "")
        run_wrk(bare, "/bare/households/", ids, "")
        out["bare_one"] = run_wrk(bare, "/bare/households/", ids, "")
        out["one"] = run_wrk(base, "/api/v1/registry/households/", ids, "")
        out["bare_page"] = run_wrk(bare, "/bare/households?region=", villages, "")
        out["page"] = run_wrk(base, "/api/v1/registry/households?region=", villages, "")
        return out
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        await drop_database(database)
        shutil.rmtree(workdir, ignore_errors=True)


def record(command: str, out: dict) -> str:
    def cell(name: str, key: str, bare: str) -> str:
        r, b = out[key], out[bare]
        return (f"{name}: **{r['rps']:,.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms** "
                f"(server CPU {r['server_cpu_ms']:.2f} ms/request) "
                f"vs bare FastAPI {b['rps']:,.0f} req/s, p50 {b['p50']:.1f} / p99 "
                f"{b['p99']:.1f} ms ({b['server_cpu_ms']:.2f} ms/request) "
                f"({r['load']}; non-2xx {r['non2xx']})")
    figures = (f"{out['households']:,} households seeded by import; wrk 1 thread, "
               f"{out['connections']} connections, {out['seconds']} s each; "
               + cell(f"GET /households/{{id}} ({out['one_bytes']:,} B)", "one", "bare_one")
               + "; " + cell(f"GET /households?region=<village> ({out['page_items']} items, "
                             f"{out['page_bytes']:,} B)", "page", "bare_page"))
    ratios = (f"/households/{{id}} = {out['one']['rps'] / out['bare_one']['rps']:.0%} of bare "
              f"(goal ≥ 50 %), p99 {out['one']['p99']:.1f} ms (goal ≤ 20 ms); "
              f"/households?region= = {out['page']['rps'] / out['bare_page']['rps']:.0%} of bare, "
              f"p99 {out['page']['p99']:.1f} ms")
    append_result("REST reads, one registry process", command, figures, ratios)
    return figures + "; " + ratios


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        run_bare(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=18_741)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(run(args))
    print(json.dumps(out, indent=1))
    if not args.no_record:
        print(record("python bench/rest.py " + " ".join(sys.argv[1:]), out))


if __name__ == "__main__":
    main()
