#!/usr/bin/env python3
# Clicks through a release in the builder's console in headless
# Chromium (t5072): console-release-chromium.py URL TOKEN NAME.
# The release of channel production runs (by-member, two waves); node
# n1 of wave 1 has fetched it.  Prints one "ok: ..." line per step; the
# first step that fails raises (exit status 1) after printing the page.
import os
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, token, name = sys.argv[1:4]


def driver():
    o = webdriver.ChromeOptions()
    o.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--ignore-certificate-errors", "--disable-gpu",
              "--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-",
                                                dir=".")):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(os.environ.get(
        "CHROMEDRIVER", "/usr/bin/chromedriver")), options=o)


d = driver()
wait = WebDriverWait(d, 60, poll_frequency=0.2)


def ok(what):
    print("ok: " + what, flush=True)


def text(css):
    return d.find_element(By.CSS_SELECTOR, css).text


def until(what, fn):
    try:
        return wait.until(lambda _: fn())
    except TimeoutException:
        print("timed out: " + what + "\n" + d.page_source, file=sys.stderr)
        raise


def login():
    d.get(url + "/console/")
    until("the login page", lambda: d.current_url.endswith("/console/login"))
    d.find_element(By.ID, "token").send_keys(token)
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "login").click()
    until("logged in", lambda: d.find_elements(By.ID, "who"))
    ok("logged in as " + name)


def releases():
    d.find_element(By.LINK_TEXT, "Releases").click()
    until("the releases page", lambda: d.find_elements(
        By.ID, "release-production"))


def state():
    return text("#release-production .release-state")


def wave(k):
    return text("#wave-production-%d .wave-state" % k)


def act(action, want_state):
    d.find_element(By.ID, "%s-production" % action).click()
    until("the confirmation of " + action,
          lambda: d.find_elements(By.ID, "confirm-title"))
    title = text("#confirm-title")
    assert title.startswith(action) and "production" in title, title
    assert name in text("body"), "the name is not on the confirmation"
    d.find_element(By.ID, "confirm").click()
    until(action + " done", lambda: d.find_elements(By.ID, "done"))
    assert want_state in text("#done"), text("#done")
    ok("%s after confirming: %s" % (action, text("#done")))
    releases()


def cancel():
    d.find_element(By.ID, "pause-production").click()
    until("the confirmation", lambda: d.find_elements(By.ID, "cancel"))
    d.find_element(By.ID, "cancel").click()
    until("back", lambda: d.find_elements(By.ID, "release-production"))
    assert state() == "running", state()
    ok("a cancelled confirmation changes nothing")


try:
    login()
    releases()
    assert state() == "running", state()
    assert wave(1) == "open" and wave(2) == "waiting", (wave(1), wave(2))
    n1 = d.find_element(By.CSS_SELECTOR, "#wave-production-1 .node.fetched")
    assert n1.text == "n1", n1.text
    pend = [e.text for e in d.find_elements(
        By.CSS_SELECTOR, "#wave-production-1 .node.pending")]
    assert pend == ["n2"], pend
    assert "(never)" in text("#node-n2 .snapshot"), text("#node-n2")
    ok("release 1 of production: running, wave 1 open (n1 fetched, n2 "
       "pending), wave 2 waiting")
    cancel()
    act("pause", "paused")
    assert state() == "paused" and not d.find_elements(
        By.ID, "pause-production"), state()
    act("resume", "running")
    act("advance", "running")
    assert wave(1) == "done" and wave(2) == "open", (wave(1), wave(2))
    assert name in text("#wave-production-1"), text("#wave-production-1")
    ok("wave 1 advanced by hand, wave 2 open")
    act("rollback", "rolled-back")
    assert state() == "rolled-back", state()
    ok("rolled back")
    bad = [e["message"] for e in d.get_log("browser")
           if "Content Security Policy" in e["message"] or
           (e["level"] == "SEVERE" and
            "Failed to load resource" not in e["message"])]
    if bad:
        raise AssertionError("browser errors: %r" % bad)
    ok("no Content-Security-Policy or script errors")
except Exception:
    print(d.page_source, file=sys.stderr)
    raise
finally:
    d.quit()
