"""A real browser for the dashboard tests: headless Chromium driven by
Playwright, run inside the topology's host namespace (where `softbond web`
listens) as a small driver process fed one JSON command per line, so that a
test keeps its own steps (cut a cable, run iperf3) between the browser's.
This file is that driver too (`python3 browser.py browser-driver`): the part
above the guard imports only the standard library and Playwright."""
import json
import os
import select
import subprocess
import sys
import time

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
def browser_driver() -> int:
    """Runs inside the namespace: JSON commands on stdin, replies on stdout."""
    from playwright.sync_api import sync_playwright

    def reply(**kw):
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        reply(ok=True, value="ready")
        for line in sys.stdin:
            cmd = json.loads(line)
            op = cmd["op"]
            try:
                start = time.monotonic()
                value = None
                if op == "goto":
                    page.goto(cmd["url"], wait_until="load")
                elif op == "eval":
                    value = page.evaluate(cmd["js"])
                elif op == "wait":
                    # as a function: a bare expression would be eval()ed in the
                    # page, which its Content-Security-Policy (rightly) forbids
                    page.wait_for_function(f"() => ({cmd['js']})", timeout=cmd.get("timeout", 5000), polling=50)
                    value = time.monotonic() - start
                elif op == "click":
                    page.click(cmd["selector"], timeout=cmd.get("timeout", 5000))
                elif op == "fill":
                    page.fill(cmd["selector"], cmd["value"])
                elif op == "viewport":
                    page.set_viewport_size({"width": cmd["width"], "height": cmd["height"]})
                elif op == "block":  # requests to this URL pattern fail until "unblock"
                    page.route(cmd["url"], lambda route: route.abort())
                elif op == "unblock":
                    page.unroute(cmd["url"])
                elif op == "screenshot":
                    page.screenshot(path=cmd["path"], full_page=True)
                elif op == "errors":
                    value = errors
                elif op == "quit":
                    reply(ok=True)
                    break
                else:
                    raise ValueError(f"unknown op {op}")
                reply(ok=True, value=value)
            except Exception as exc:  # reported to the test, which fails with it
                reply(ok=False, error=f"{type(exc).__name__}: {exc}")
        browser.close()
    return 0



if __name__ == "__main__" and sys.argv[1:] == ["browser-driver"]:
    sys.exit(browser_driver())


import pytest  # noqa: E402


class Browser:
    def __init__(self, topo):
        self.proc = topo.popen(topo.host, [sys.executable, os.path.abspath(__file__), "browser-driver"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, bufsize=1)
        first = self._read(60)
        assert first.get("value") == "ready", first

    def _read(self, timeout=30):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.proc.kill()
            raise AssertionError(f"browser driver gave no answer in {timeout} s: {self.proc.stderr.read()[-3000:]}")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise AssertionError(f"browser driver died: {self.proc.stderr.read()[-3000:]}")
        return json.loads(line)

    def __call__(self, op, **kw):
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        answer = self._read(30 + kw.get("timeout", 0) / 1000)
        assert answer["ok"], f"{op} {kw}: {answer.get('error')}"
        return answer.get("value")

    def close(self):
        if self.proc.poll() is None:
            try:
                self("quit")
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()


def require_browser():
    """Fails (never skips) the test when the browser is missing."""
    missing = [what for what, ok in (("chromium", os.path.exists(CHROMIUM)),
                                     ("playwright", _has_module("playwright"))) if not ok]
    if missing:
        pytest.fail(f"the dashboard test needs {', '.join(missing)}: run scripts/setup.sh --test", pytrace=False)


def _has_module(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


def artifacts_dir() -> str:
    """Where screenshots go for a person (or CI) to look at (git-ignored)."""
    path = os.environ.get("SOFTBOND_ARTIFACTS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return os.path.abspath(path)


def assert_member_table_fits(browser, bond: str, size: str) -> None:
    """The member table fits its card: nothing cut off nor scrolled out of
    sight, read-only and with the action buttons a token shows."""
    for read_only in ("true", "false"):
        table = browser("eval", js=f"(() => {{ const s = document.querySelector('[data-bond=\"{bond}\"]'); "
                                   f"const was = document.body.dataset.readOnly; document.body.dataset.readOnly = "
                                   f"'{read_only}'; const w = s.querySelector('.table-wrap'); "
                                   "const r = (e) => e.getBoundingClientRect(); "
                                   "const out = {card: r(s).right, table: r(w.querySelector('table')).right, "
                                   "scroll: w.scrollWidth, width: w.clientWidth}; "
                                   "document.body.dataset.readOnly = was; return out; })()")
        assert table["table"] <= table["card"] and table["scroll"] <= table["width"], (size, read_only, table)
