"""The report opens in headless Chromium without errors and without network requests.

Runs when Chromium is installed (skipped otherwise). The browser's own net log tells the page's
requests apart from the browser's background traffic: a page's request has the page (a file://
origin, shown as "null") as initiator, the browser's own have none. A control page that does
request the network and log to the console proves the checks can fail.
"""
from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from sim.output import write_outputs
from sim.runner import run
from sim.scenario import parse_scenario


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--enable-logging=stderr", "--v=0")


def open_page(page: Path, work: Path, *action: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Open `page` in headless Chromium with `action` (`--dump-dom`, `--screenshot=…`); return
    the process and the URLs the page itself requested (from the browser's net log)."""
    work.mkdir(parents=True, exist_ok=True)
    netlog = work / "net.json"
    proc = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={work / 'profile'}", f"--log-net-log={netlog}", *action,
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, cwd=work,
    )
    return proc, page_requests(netlog)


def page_requests(netlog: Path) -> list[str]:
    """URLs of network requests started on behalf of a page (not the browser's own traffic)."""
    if not netlog.is_file():
        return []
    text = netlog.read_text(encoding="utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:   # a log cut short when the browser quit: close its list of events
        doc = json.loads(text.rstrip().rstrip(",") + "]}")
    start = doc["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in doc.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start or "url" not in params:
            continue
        if params.get("initiator") != "not an origin" or "file://" in params.get("network_isolation_key", ""):
            urls.append(params["url"])
    return urls


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    scenario = parse_scenario({
        "name": "browser_check",
        "description": "A small run whose report is opened in a browser.",
        "horizon": "3d", "warmup": "6h", "replications": 2, "seed": 3, "start": "2026-01-05T00:00",
        "arrivals": {"rate": "15/h", "types": {"complaint": 0.6, "noise": 0.4},
                     "channels": {"twitter": 0.6, "facebook": 0.4},
                     "cascades": {"branching": 0.2, "decay": "30m"}},
        "expectations": {"patience": {"default": {"mean": "4h"}}},
        "pools": {"social": {"schedule": [{"days": "daily", "from": "08:00", "to": "22:00", "agents": 2}]}},
        "policy": {"respond_to": ["complaint"]},
    })
    out = write_outputs(run(scenario, workers=1), tmp_path_factory.mktemp("browser") / "out")
    return out / "report.html"


def test_report_opens_without_errors_or_network_requests(report_page, tmp_path):
    proc, requests = open_page(report_page, tmp_path / "dom", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "<title>caresim report: browser_check</title>" in dom
    assert ">caresim report: browser_check</h1>" in dom
    assert 'id="in-brief"' in dom and ">The expectation gap, customer by customer</h2>" in dom
    sources = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", dom)
    assert len(sources) == 7 and all(s.startswith("data:image/png;base64,") for s in sources)
    for src in sources:   # every embedded image decodes
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            image.verify()
    assert requests == []
    assert console_lines(proc.stderr) == []


def test_report_html_links_nothing_outside(report_page):
    page = report_page.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, flags=re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", page, flags=re.IGNORECASE)
    assert "<script" not in page.lower() and "<link" not in page.lower()


def test_report_renders_to_a_screenshot(report_page, tmp_path):
    shot = tmp_path / "shot" / "report.png"
    proc, requests = open_page(report_page, shot.parent, f"--screenshot={shot}", "--window-size=1200,1400",
                               "--hide-scrollbars")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1200, 1400)
        colours = image.convert("L").getextrema()
        assert colours[1] - colours[0] > 100   # not a blank page
    assert requests == []


def test_the_checks_catch_a_page_that_calls_out(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                    '<img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>'
                    "</body></html>", encoding="utf-8")
    proc, requests = open_page(page, tmp_path / "bad", "--dump-dom")
    assert proc.returncode == 0
    assert requests == ["http://127.0.0.1:9/x.png"]
    assert any("boom" in line for line in console_lines(proc.stderr))
