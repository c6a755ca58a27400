# What the console's browser tests share (t5071, t5072): headless
# Chromium driven by Debian's chromedriver through python3-selenium.
#   b = Browser()      a fresh profile in the test's directory
#   b.ok(what)         prints "ok: what"
#   b.text(css)        the text of the first element matching css
#   b.until(what, fn)  waits (60 s) until fn() is true, else prints the
#                      page and raises
#   b.no_csp_errors()  raises when the browser logged a Content-Security-
#                      Policy violation or a script error
import os
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


class Browser:
    def __init__(self):
        o = webdriver.ChromeOptions()
        o.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                  "--ignore-certificate-errors", "--disable-gpu",
                  "--user-data-dir=" + tempfile.mkdtemp(prefix="chromium-",
                                                    dir=".")):
            o.add_argument(a)
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service(os.environ.get(
            "CHROMEDRIVER", "/usr/bin/chromedriver")), options=o)
        self.wait = WebDriverWait(self.d, 60, poll_frequency=0.2)

    def ok(self, what):
        print("ok: " + what, flush=True)

    def text(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css).text

    def until(self, what, fn):
        try:
            return self.wait.until(lambda _: fn())
        except TimeoutException:
            print("timed out: " + what + "\n" + self.d.page_source,
                  file=sys.stderr)
            raise

    def no_csp_errors(self):
        # A 401 for /favicon.ico, a 403 for a refused login: not errors.
        bad = [e["message"] for e in self.d.get_log("browser")
               if "Content Security Policy" in e["message"] or
               (e["level"] == "SEVERE" and
                "Failed to load resource" not in e["message"])]
        if bad:
            raise AssertionError("browser errors: %r" % bad)
