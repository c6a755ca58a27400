#!/usr/bin/env python3
# Clicks through the builder's release console in headless Chromium
# (t5071): console-chromium.py URL TOKEN NAME SNAPSHOT_OLD SNAPSHOT_NEW.
# Prints one "ok: ..." line per step; the first step that fails raises
# (exit status 1) after printing the page it was on.
import os
import sys

from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_browser import Browser  # noqa: E402

url, token, name, old, new = sys.argv[1:6]
b = Browser()
d, ok, text, until, no_csp_errors = b.d, b.ok, b.text, b.until, b.no_csp_errors


def login():
    d.get(url + "/console/")
    until("the login page", lambda: d.current_url.endswith("/console/login"))
    d.find_element(By.ID, "token").send_keys("not-the-token-0123456789")
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "login").click()
    until("wrong token", lambda: "wrong token" in text("#error"))
    ok("a wrong token shows the login page again with an error")
    d.find_element(By.ID, "token").send_keys(token)
    d.find_element(By.ID, "name").send_keys(name)
    d.find_element(By.ID, "login").click()
    until("logged in", lambda: d.find_elements(By.ID, "who"))
    assert text("#who") == name, text("#who")
    ok("logged in as " + name)


def queue():
    d.get(url + "/console/")
    row = text("#profiles")
    assert "complete" in row and new in row, row
    # The payload is shown as text, and no alert opened (Selenium
    # would raise UnexpectedAlertPresentException).
    assert '<script>alert("xss")</script>' in row, row
    ok("the queue shows profile p, its rebuild and testing " + new)
    no_csp_errors()
    ok("no Content-Security-Policy or script errors")


def rebuild_reasons():
    d.get(url + "/console/rebuilds")
    assert '<script>alert("xss")</script>' in text("#rebuilds")
    d.find_element(By.LINK_TEXT, "2").click()
    until("rebuild 2", lambda: "Rebuild 2 of p" in text("h1"))
    rows = {r.get_attribute("data-cpv"): r.text for r in
            d.find_elements(By.CSS_SELECTOR, "#jobs tr.job")}
    assert "ebuild changed" in rows["dev-libs/libhello-1.0"], rows
    assert "dependency built anew: dev-libs/libhello-1.0" in \
        rows["app-misc/hello-2.1"], rows
    assert "reused" in rows["app-misc/solo-1"], rows
    assert "tree gentoo" in text("#inputs")
    ok("rebuild 2: libhello's ebuild changed, hello after it, solo reused")


def snapshots_and_diff():
    d.get(url + "/console/snapshots")
    ids = [r.get_attribute("data-id") for r in
           d.find_elements(By.CSS_SELECTOR, "#snapshots tr.snapshot")]
    assert ids[:2] == [new, old] or ids[-2:] == [new, old], ids
    ok("the snapshots page lists " + ", ".join(ids))
    d.find_element(By.ID, "diff").click()
    until("the diff", lambda: d.find_elements(By.ID, "diff-counts"))
    assert text("#diff-from") == old and text("#diff-to") == new
    t = text("#diff-table")
    assert "rebuilt dev-libs/libhello:0" in t, t
    assert "rebuilt app-misc/hello:0" in t, t
    assert "solo" not in t, t
    ok("the diff " + old + " -> " + new + ": libhello and hello rebuilt")


def live_log():
    d.get(url + "/console/")
    link = until("a running job", lambda: d.find_elements(
        By.CSS_SELECTOR, "#running a") or d.refresh())
    link[0].click()
    until("the job page", lambda: d.find_elements(By.ID, "log"))
    assert text("#cpv") == "app-misc/solo-1", text("#cpv")
    until("the log while running", lambda: "waiting for the gate" in
          text("#log") and text("#log-state") == "running")
    ok("the log of app-misc/solo-1 shows 'waiting for the gate' while it "
       "runs")
    # The build goes on once the page has shown it running (t5071).
    open(os.environ["CONSOLE_GATE"], "w").close()
    until("the end of the log", lambda:
          d.find_element(By.ID, "log").get_attribute("data-complete") == "1")
    assert text("#log-state") == "done", text("#log-state")
    assert "binfarm-builder: done:" in text("#log")
    assert text("#log").count("waiting for the gate") == 1
    ok("the log followed to its end, each line once; the job is done")


def escaped_log():
    d.get(url + "/console/rebuilds/2")
    d.find_element(By.LINK_TEXT, "4").click()
    until("libhello's log", lambda: d.find_element(
        By.ID, "log").get_attribute("data-complete") == "1")
    assert "configure: <b>bold</b> & <script>alert(2)</script>" in \
        text("#log")
    assert not d.find_elements(By.CSS_SELECTOR, "#log b, #log script")
    ok("a log line with markup is shown as text")


def promote():
    d.get(url + "/console/snapshots")
    row = d.find_element(By.CSS_SELECTOR,
                         '#snapshots tr[data-id="%s"]' % old)
    ch = row.find_element(By.NAME, "channel")
    ch.clear()
    ch.send_keys("production")
    row.find_element(By.CSS_SELECTOR, "button.promote").click()
    until("the confirmation", lambda: d.find_elements(By.ID, "confirm"))
    assert text("#promote-id") == old and \
        text("#promote-channel") == "production"
    assert "3 added" in text("#diff-counts"), text("#diff-counts")
    ok("the confirmation page shows what production would get")
    d.find_element(By.ID, "confirm").click()
    until("promoted", lambda: d.find_elements(By.ID, "promoted"))
    assert old in text("#promoted") and "production" in text("#promoted")
    ok("promoted " + old + " to production")
    d.get(url + "/console/snapshots")
    row = d.find_element(By.CSS_SELECTOR,
                         '#snapshots tr[data-id="%s"]' % old)
    assert "production" in row.text, row.text
    ok("the snapshots page shows production at " + old)


def logout():
    d.find_element(By.CSS_SELECTOR, "header form button").click()
    until("logged out", lambda: d.current_url.endswith("/console/login"))
    d.get(url + "/console/snapshots")
    until("the login page", lambda: d.current_url.endswith("/console/login"))
    ok("logged out: the console asks to log in again")


try:
    steps = sys.argv[6:] or ["login", "queue", "rebuild_reasons",
                             "snapshots_and_diff", "escaped_log", "promote",
                             "logout"]
    for s in steps:
        globals()[s]()
finally:
    d.quit()
