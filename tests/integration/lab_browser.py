#!/usr/bin/env python3
"""Drives a running `furnace lab` with headless Chromium through the DevTools protocol.

Used by tests/integration/lab_test.cpp. The lab's URL (with its token) comes on stdin, never in
argv: neither this script's nor Chromium's command line may hold the token (Chromium is told
where to go through the DevTools socket). Steps:

  1. open the URL; the file browser must list every name given with --expect (read from the DOM);
  2. create a notebook (contents API) whose cell imports torch and writes --write-file into the
     project, open it, run the cell through the page's own notebook object, wait for its output;
  3. optionally write a PNG screenshot of the page to --screenshot.

Prints one JSON object: {"listed": [...], "output": "...", "screenshot": path or null}.
Exit 0 on success, 1 with the reason on stderr otherwise.
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import websocket  # Debian: python3-websocket

NOTEBOOK = "furnace-lab.ipynb"


class Page:
    """One DevTools page session: commands by id, events ignored."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"javascript failed: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def wait_js(self, expression, what, limit_s):
        deadline = time.monotonic() + limit_s
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.js(expression)
                if last:
                    return last
            except RuntimeError as e:  # the page is still loading
                last = str(e)
            time.sleep(0.25)
        raise RuntimeError(f"timed out after {limit_s}s waiting for {what} (last: {last!r})")


def start_chromium(profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
    argv = [exe, "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*",
            f"--user-data-dir={profile}", "--window-size=1280,860", "about:blank"]
    if os.geteuid() == 0:
        argv.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(profile, "chromium.log"), "wb"))
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                first = f.readline().strip()
            if first.isdigit():
                return proc, int(first)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    with open(os.path.join(profile, "chromium.log"), errors="replace") as f:
        raise RuntimeError("chromium did not start its DevTools endpoint: " + f.read()[-2000:])


def page_socket(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
        targets = json.load(r)
    for t in targets:
        if t.get("type") == "page":
            return t["webSocketDebuggerUrl"]
    raise RuntimeError(f"no page target in {targets}")


def api(base, token, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


# The names the file browser shows: the classic Notebook's tree, or JupyterLab's listing.
LISTED_JS = """Array.from(document.querySelectorAll(
  '#notebook_list .item_name, .jp-DirListing-itemText')).map(e => e.textContent.trim())"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", action="append", default=[], help="a name the listing must show")
    ap.add_argument("--write-file", required=True, help="the file the cell writes in the project")
    ap.add_argument("--screenshot", help="where to write a PNG of the page")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    url = sys.stdin.readline().strip()
    parsed = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parsed.query).get("token", [""])[0]
    if not token:
        raise RuntimeError("the URL on stdin has no token")
    base = f"{parsed.scheme}://{parsed.netloc}"

    profile = tempfile.mkdtemp(prefix="furnace-lab-chromium-")
    proc = None
    try:
        proc, port = start_chromium(profile)
        page = Page(page_socket(port))
        page.call("Page.enable")
        page.call("Page.navigate", url=url)
        want = set(args.expect)
        listed = page.wait_js(
            f"(() => {{ const n = {LISTED_JS}; "
            f"return {json.dumps(sorted(want))}.every(w => n.includes(w)) ? n : null; }})()",
            f"the file browser to list {sorted(want)}", args.timeout)

        code = ("import os, torch\n"
                "x = torch.arange(6.0).reshape(2, 3)\n"
                f"with open({args.write_file!r}, 'w') as f:\n"
                "    f.write(f'torch {torch.__version__} sum {x.sum().item():.0f}\\n')\n"
                "print('furnace lab:', torch.__version__, 'sum', x.sum().item(), 'uid', os.getuid())")
        nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {},
                         "outputs": [], "source": code}],
              "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                          "language": "python"}},
              "nbformat": 4, "nbformat_minor": 5}
        api(base, token, "PUT", f"/api/contents/{NOTEBOOK}", {"type": "notebook", "content": nb})

        page.call("Page.navigate", url=f"{base}/notebooks/{NOTEBOOK}")
        page.wait_js("window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && "
                     "Jupyter.notebook.kernel.is_connected()", "the notebook's kernel",
                     args.timeout)
        page.js("Jupyter.notebook.execute_all_cells(), true")
        output = page.wait_js(
            "(() => { const o = document.querySelector('.output_area .output_text, "
            ".output_area .output_error'); return o ? o.textContent : null; })()",
            "the cell's output", args.timeout)
        if "furnace lab:" not in output:
            raise RuntimeError(f"the cell failed: {output}")
        shot = None
        if args.screenshot:
            time.sleep(0.5)  # let the output render
            png = page.call("Page.captureScreenshot", format="png")["data"]
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(png))
            shot = args.screenshot
        print(json.dumps({"listed": listed, "output": output.strip(), "screenshot": shot}))
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 -- one line for the test's failure message
        print(f"lab_browser: {e}", file=sys.stderr)
        sys.exit(1)
