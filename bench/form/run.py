"""The respondent form on a slow phone network: first paint and time to interactive.

    .venv/bin/python bench/form/run.py [--runs 5] [--kbps 400] [--rtt 400] [--cpu 4] [--quick]

Starts gunicorn with production settings (DEBUG off, collected and compressed static files)
on a fresh SQLite database holding the reference questionnaire, then opens the form in
Debian's headless Chromium at 375×667 with a WeChat user agent under Chromium's network and
CPU throttling (default 400 kbit/s down and up, 400 ms round trip, 4× CPU slowdown), each run
with an empty cache. Prints, per run and as the median: first contentful paint, time to
interactive (the form's script has run: ``html.js`` set and the first section shown), the
requests and the bytes transferred; then one JSON line. Goal: interactive within 2 s.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.ingest.run import free_port, start_gunicorn  # noqa: E402  (after the path is set)

CHROMIUM = "/usr/bin/chromium"
UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831) NetType/4G "
    "Language/zh_CN"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kbps", type=int, default=400, help="down and up, kbit/s")
    parser.add_argument("--rtt", type=int, default=400, help="round trip, ms")
    parser.add_argument("--cpu", type=float, default=4.0, help="CPU slowdown factor")
    parser.add_argument("--quick", action="store_true", help="3 runs")
    return parser.parse_args()


def prepare(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        STATIC_ROOT=str(work / "static"),
        SECRET_KEY="bench-" + "k" * 50,
        IDENTITY_HASH_KEY="bench-identity-key-" + "i" * 32,
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    collect = [*manage, "collectstatic", "--noinput", "-v", "0"]
    subprocess.run(collect, env=env, check=True, cwd=ROOT)
    script = (
        "from pathlib import Path\n"
        "from survey.interchange import load_definition\n"
        "from survey.services.questionnaires import questionnaire_import, questionnaire_publish\n"
        f"d = load_definition(Path({str(ROOT / 'examples/ipb-survey.yaml')!r}).read_text())\n"
        "questionnaire_publish(questionnaire=questionnaire_import(definition=d))\n"
    )
    subprocess.run([*manage, "shell", "-c", script], env=env, check=True, cwd=ROOT)
    return env


def one_run(browser, url: str, args: argparse.Namespace) -> dict[str, float]:
    context = browser.new_context(  # bypass_csp: the page's CSP would refuse the probes
        viewport={"width": 375, "height": 667}, user_agent=UA, locale="zh-CN", bypass_csp=True
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    rate = args.kbps * 1000 / 8
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": args.rtt,
            "downloadThroughput": rate,
            "uploadThroughput": rate,
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu})
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(url, wait_until="commit")
    page.wait_for_function(
        "document.documentElement.classList.contains('js') && "
        "document.querySelector('.sec.current') !== null",
        timeout=60000,
    )
    interactive = page.evaluate("performance.now()")
    page.wait_for_load_state("networkidle")
    paint = page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0"
    )
    sizes = [request.sizes() for request in finished]
    context.close()
    return {
        "fcp_ms": paint,
        "interactive_ms": interactive,
        "requests": len(finished),
        "bytes": sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes),
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = parse_args()
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as folder:
        env = prepare(Path(folder))
        port = free_port()
        server = start_gunicorn(env, port, workers=2, threads=4)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--no-first-run",
                    ],
                )
                url = f"http://127.0.0.1:{port}/s/ipb-survey/"
                results = [one_run(browser, url, args) for _ in range(runs)]
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    print(
        f"form: {runs} cold loads of the reference form, 375x667 WeChat UA, "
        f"{args.kbps} kbit/s, {args.rtt} ms RTT, {args.cpu:g}x CPU slowdown, production settings"
    )
    for number, result in enumerate(results, start=1):
        print(
            f"  run {number}: first paint {result['fcp_ms']:6.0f} ms   interactive "
            f"{result['interactive_ms']:6.0f} ms   {result['requests']} requests   "
            f"{result['bytes']} bytes"
        )
    fcp = statistics.median(r["fcp_ms"] for r in results)
    tti = statistics.median(r["interactive_ms"] for r in results)
    print(f"  median: first paint {fcp:.0f} ms, interactive {tti:.0f} ms (goal <= 2000 ms)")
    print(
        json.dumps(
            {
                "bench": "form",
                "runs": runs,
                "fcp_ms": round(fcp),
                "interactive_ms": round(tti),
                "requests": results[0]["requests"],
                "bytes": results[0]["bytes"],
                "network": {"kbps": args.kbps, "rtt_ms": args.rtt, "cpu": args.cpu},
                "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()}",
            }
        )
    )


if __name__ == "__main__":
    main()
