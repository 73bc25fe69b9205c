#!/usr/bin/env python3
"""Loads an HTML report in headless Chromium over the DevTools protocol and reports what a
person's browser saw, as JSON on stdout: for JavaScript on and off, the severity counts and
findings rows in the DOM, console errors, exceptions, dialogs and every network request; with
JavaScript on, what sorting and filtering did; the page width on a phone; whether print hides
the controls; and screenshots. The Rust test (html_report.rs) judges the facts.

usage: browser_check.py REPORT.html OUT_DIR
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from websockets.asyncio.client import connect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

DOM_FACTS = r"""
(() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  const counts = {};
  q('[data-severity-count]').forEach(e => { counts[e.getAttribute('data-severity-count')] = parseInt(e.textContent, 10); });
  const rows = {};
  let visible = 0;
  q('#findings tbody tr').forEach(r => {
    const s = r.getAttribute('data-severity');
    rows[s] = (rows[s] || 0) + 1;
    if (r.getClientRects().length > 0) { visible++; }
  });
  const controls = document.getElementById('controls');
  const text = (id) => { const e = document.getElementById(id); return e ? e.textContent : null; };
  return JSON.stringify({
    title: document.title,
    counts, rows, visible_rows: visible,
    total: text('total-findings'),
    packages: text('package-count'),
    kev: text('kev-count'),
    verdict: (document.getElementById('verdict') || {}).getAttribute ? document.getElementById('verdict').getAttribute('data-verdict') : null,
    controls_visible: controls ? controls.getClientRects().length > 0 : false,
    sort_buttons: q('#findings thead th button').length,
    scripts: document.scripts.length,
    images: document.images.length,
    svg_charts: q('svg.chart').length,
    layers: q('.layer').length,
    package_cells: q('#packages td').map(e => e.textContent),
    layer_commands: q('.layer .cmd').map(e => e.textContent),
    identity: q('#identity dd').map(e => e.textContent),
    diff: {
      changed: text('diff-changed'), fixed: text('diff-fixed'),
      introduced: text('diff-introduced'),
      rows: q('#diff-packages tbody tr').map(r => Array.from(r.cells).map(c => c.textContent)),
    },
  });
})()
"""

INTERACT = r"""
(async () => {
  const rows = () => Array.from(document.querySelectorAll('#findings tbody tr'));
  const out = {};
  const heads = Array.from(document.querySelectorAll('#findings thead th'));
  const sevButton = heads[0] && heads[0].querySelector('button');
  if (!sevButton) { return JSON.stringify({no_table: true}); }
  sevButton.click();
  out.sorted_ascending = rows().map(r => r.getAttribute('data-severity'));
  out.aria_after_one_click = heads[0].getAttribute('aria-sort');
  sevButton.click();
  out.sorted_descending = rows().map(r => r.getAttribute('data-severity'));
  const epssIndex = heads.findIndex(h => h.textContent.trim().startsWith('EPSS'));
  const epss = heads[epssIndex].querySelector('button');
  epss.click(); epss.click();
  out.epss_descending = rows().map(r => parseFloat(r.cells[epssIndex].getAttribute('data-key')));
  const sev = document.getElementById('sev');
  const visible = () => rows().filter(r => r.getClientRects().length > 0);
  out.filter = {};
  for (const s of ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN']) {
    sev.value = s; sev.dispatchEvent(new Event('change'));
    out.filter[s] = visible().length;
  }
  sev.value = ''; sev.dispatchEvent(new Event('change'));
  const first = rows()[0];
  const pkg = first.cells[2].textContent;
  const q = document.getElementById('q');
  q.value = pkg; q.dispatchEvent(new Event('input'));
  out.text_filter = { query: pkg, visible: visible().length,
    all_match: visible().every(r => r.textContent.toLowerCase().includes(pkg.toLowerCase())),
    shown: document.getElementById('shown').textContent };
  q.value = ''; q.dispatchEvent(new Event('input'));
  const kev = document.getElementById('kevonly');
  kev.checked = true; kev.dispatchEvent(new Event('change'));
  out.kev_only = visible().length;
  kev.checked = false; kev.dispatchEvent(new Event('change'));
  out.after_reset = visible().length;
  return JSON.stringify(out);
})()
"""

LAYOUT = r"""
JSON.stringify({scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth,
  controls_display: document.getElementById('controls') ? getComputedStyle(document.getElementById('controls')).display : null})
"""


class Browser:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.pending = {}
        self.events = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.pending:
                self.pending.pop(msg["id"]).set_result(msg)
            else:
                self.events.append(msg)

    async def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(fut, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def wait_event(self, method, session, start, timeout=30):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            for e in self.events[start:]:
                if e.get("method") == method and e.get("sessionId") == session:
                    return e
            await asyncio.sleep(0.05)
        raise TimeoutError(method)

    async def evaluate(self, session, expr):
        r = await self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                                  "awaitPromise": True}, session)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate: {r['exceptionDetails']}")
        return json.loads(r["result"]["value"])


async def load(browser, url, js, out_dir, tag):
    target = await browser.send("Target.createTarget", {"url": "about:blank"})
    session = (await browser.send("Target.attachToTarget",
                                  {"targetId": target["targetId"], "flatten": True}))["sessionId"]
    start = len(browser.events)
    for domain in ("Page", "Runtime", "Log", "Network"):
        await browser.send(f"{domain}.enable", {}, session)
    await browser.send("Emulation.setDeviceMetricsOverride",
                       {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
    if not js:
        await browser.send("Emulation.setScriptExecutionDisabled", {"value": True}, session)
    await browser.send("Page.navigate", {"url": url}, session)
    await browser.wait_event("Page.loadEventFired", session, start)
    await asyncio.sleep(0.3)
    facts = await browser.evaluate(session, DOM_FACTS)
    shot = await browser.send("Page.captureScreenshot", {"format": "png"}, session)
    facts["screenshot"] = save(out_dir, f"{tag}-desktop.png", shot["data"])
    if js:
        facts["interact"] = await browser.evaluate(session, INTERACT)
    await browser.send("Emulation.setDeviceMetricsOverride",
                       {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}, session)
    await asyncio.sleep(0.3)
    facts["phone"] = await browser.evaluate(session, LAYOUT)
    shot = await browser.send("Page.captureScreenshot", {"format": "png"}, session)
    facts["phone"]["screenshot"] = save(out_dir, f"{tag}-phone.png", shot["data"])
    await browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session)
    facts["print"] = await browser.evaluate(session, LAYOUT)
    pdf = await browser.send("Page.printToPDF", {}, session, timeout=60)
    facts["print"]["pdf_bytes"] = len(pdf["data"]) * 3 // 4
    await asyncio.sleep(0.2)
    mine = [e for e in browser.events[start:] if e.get("sessionId") == session]
    facts["requests"] = [e["params"]["request"]["url"] for e in mine
                         if e["method"] == "Network.requestWillBeSent"]
    facts["console"] = [
        {"type": e["params"]["type"], "args": [a.get("value", a.get("description")) for a in e["params"]["args"]]}
        for e in mine if e["method"] == "Runtime.consoleAPICalled"]
    facts["log"] = [{"level": e["params"]["entry"]["level"], "text": e["params"]["entry"]["text"]}
                    for e in mine if e["method"] == "Log.entryAdded"]
    facts["exceptions"] = [e["params"]["exceptionDetails"].get("text") for e in mine
                           if e["method"] == "Runtime.exceptionThrown"]
    facts["dialogs"] = [e["params"]["message"] for e in mine
                        if e["method"] == "Page.javascriptDialogOpening"]
    await browser.send("Target.closeTarget", {"targetId": target["targetId"]})
    return facts


def save(out_dir, name, b64):
    import base64
    path = os.path.join(out_dir, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(b64))
    return path


async def main(report, out_dir):
    url = "file://" + os.path.abspath(report)
    profile = tempfile.mkdtemp(prefix="customs-chromium-")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--metrics-recording-only",
         f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        endpoint = None
        for line in proc.stderr:
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                endpoint = m.group(1)
                break
        if not endpoint:
            raise RuntimeError("chromium did not print its DevTools endpoint")
        # Keep draining Chromium's log so a full pipe never blocks it.
        import threading
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        async with connect(endpoint, max_size=None) as ws:
            browser = Browser(ws)
            result = {"url": url}
            result["js"] = await load(browser, url, True, out_dir, "js")
            result["nojs"] = await load(browser, url, False, out_dir, "nojs")
            browser.reader.cancel()
        print(json.dumps(result))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
