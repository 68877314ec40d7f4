"""The big screen for a whole broadcast: does the page hold its frame rate and its memory?

Starts its own `liveroom demo` (a fresh broadcast paced over `--minutes`, so the dashboard
feed sends up to 10 snapshots a second the whole time), opens the big screen in Debian's
chromium at 1920x1080, and every `--every` seconds samples the page: JS heap in use (the
devtools protocol's Performance metrics), DOM nodes, snapshots received, and the frame time
over two seconds of requestAnimationFrame. The verdict: heap growth from the first sample
after warm-up to the last within `--heap-mib`, the slowest sample's p95 frame within
`--frame-ms`, and snapshots still arriving at the end.

    .venv/bin/python -m loadtest.screen_soak --minutes 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

CHROMIUM = os.environ.get("LIVEROOM_CHROMIUM", "/usr/bin/chromium")
_FRAMES = """async () => {
  const gaps = []; let last = performance.now();
  await new Promise((done) => {
    const end = last + 2000;
    const tick = (now) => {
      gaps.push(now - last); last = now;
      now < end ? requestAnimationFrame(tick) : done();
    };
    requestAnimationFrame(tick);
  });
  gaps.sort((a, b) => a - b);
  return { p50: gaps[Math.floor(gaps.length / 2)], p95: gaps[Math.floor(gaps.length * 0.95)],
           max: gaps[gaps.length - 1], frames: gaps.length };
}"""


async def sample(page: Any, cdp: Any) -> dict[str, Any]:
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    frames = await page.evaluate(_FRAMES)
    return {
        "heap_mib": round(metrics["JSHeapUsedSize"] / 2**20, 1),
        "nodes": int(metrics["Nodes"]),
        "snapshots": await page.evaluate("window.liveroomScreen.snapshots()"),
        "frame_p50_ms": round(frames["p50"], 1),
        "frame_p95_ms": round(frames["p95"], 1),
        "frame_max_ms": round(frames["max"], 1),
    }


async def watch(url: str, minutes: float, every_s: float) -> list[dict[str, Any]]:
    """Samples of the page at `url` over `minutes`, one every `every_s` seconds."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--headless"]
        )
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Performance.enable")
        await page.goto(url)
        started, samples = time.monotonic(), []
        while time.monotonic() - started < minutes * 60:
            await asyncio.sleep(every_s)
            taken = await sample(page, cdp)
            taken["at_s"] = round(time.monotonic() - started)
            samples.append(taken)
            print(orjson.dumps(taken).decode(), flush=True)
        await browser.close()
    return samples


def verdict(samples: list[dict[str, Any]], heap_mib: float, frame_ms: float) -> dict[str, Any]:
    settled = samples[1:] or samples  # the first sample is the page warming up
    growth = settled[-1]["heap_mib"] - settled[0]["heap_mib"]
    worst = max(s["frame_p95_ms"] for s in samples)
    arriving = len(samples) < 2 or samples[-1]["snapshots"] > samples[-2]["snapshots"]
    return {
        "heap_growth_mib": round(growth, 1),
        "worst_frame_p95_ms": worst,
        "snapshots": samples[-1]["snapshots"],
        "pass": growth <= heap_mib and worst <= frame_ms and arriving,
    }


@contextlib.contextmanager
def demo(port: int, minutes: float) -> Any:
    """A fresh demo whose broadcast lasts `minutes`; the big screen's URL."""
    data_dir = Path(tempfile.mkdtemp(prefix="liveroom-screen-"))
    env = {**os.environ, "REDIS_URL": "", "DATABASE_URL": ""}
    command = [
        sys.executable,
        "-m",
        "server",
        "demo",
        "--port",
        str(port),
        "--pace",
        str(max(5, minutes * 60)),
        "--data-dir",
        str(data_dir),
    ]
    log_path = data_dir / "demo.log"
    log = log_path.open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 90
        while not (found := re.search(r"big screen (\S+)", log_path.read_text(errors="replace"))):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the demo did not start: see {log_path}")
            time.sleep(0.3)
        yield found[1]
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8310)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--heap-mib", type=float, default=20.0, help="allowed heap growth")
    parser.add_argument("--frame-ms", type=float, default=50.0, help="allowed p95 frame time")
    args = parser.parse_args()
    if not (0.1 <= args.minutes <= 240 and 2 <= args.every <= 600):
        parser.error("--minutes 0.1-240, --every 2-600")
    with demo(args.port, args.minutes) as url:
        time.sleep(3)  # the broadcast's first step
        samples = asyncio.run(watch(url, args.minutes, args.every))
    result = verdict(samples, args.heap_mib, args.frame_ms)
    print(orjson.dumps(result).decode())
    print("screen soak verdict:", "PASS" if result["pass"] else "FAIL")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
