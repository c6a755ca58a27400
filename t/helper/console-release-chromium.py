#!/usr/bin/env python3
# Clicks through a release in the builder's console in headless
# Chromium (t5072): console-release-chromium.py URL TOKEN NAME.
# The release of channel production runs (by-member, two waves); node
# n1 of wave 1 has fetched it.  Prints one "ok: ..." line per step; the
# first step that fails raises (exit status 1) after printing the page.
import os
import sys

from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_browser import Browser  # noqa: E402

url, token, name = sys.argv[1:4]
b = Browser()
d, ok, text, until = b.d, b.ok, b.text, b.until


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
    b.no_csp_errors()
    ok("no Content-Security-Policy or script errors")
except Exception:
    print(d.page_source, file=sys.stderr)
    raise
finally:
    d.quit()
