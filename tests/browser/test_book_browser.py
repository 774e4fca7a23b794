"""Open the built book in headless Chromium (Debian's ``chromium`` + ``chromium-driver``).

Checks every HTML page of ``_build/html``: no request leaves the machine (every URL the page
loads, read from Chromium's network log, is the local server or a ``data:`` URI: the theme,
the fonts and MathJax are all in the build), no broken local image (``naturalWidth > 0`` after
load), every figure of a notebook has alt text, no code cell is cut off on the right, and no
broken local link (each same-site ``href`` resolves to an existing file, and its ``#anchor``
to an element id of that page). The S-LOSS page shows its equations typeset by the local
MathJax (its ``mjx-container`` elements, no raw TeX left, no MathJax error). On the results
page at 1280 px every table fits the content column and tables and figures are shown.
Screenshots of the results page and of a module page are saved to ``_build/screenshots/``
(CI keeps them as artefacts).

Build first: ``python scripts/build_book.py`` (``make test`` does). Without a build the test
is skipped, unless ``LINKPAPER_REQUIRE_BROWSER`` is set (CI), in which case it fails.
Environment: ``LINKPAPER_BOOK_DIR`` (default ``_build/html``), ``LINKPAPER_RESULTS_PAGE``
(default: ``notebooks/09_results.html`` when it exists, else ``notebooks/02_evaluation.html``),
``CHROMIUM`` / ``CHROMEDRIVER`` (default ``/usr/bin/chromium`` / ``/usr/bin/chromedriver``).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BOOK = Path(os.environ.get("LINKPAPER_BOOK_DIR", ROOT / "_build" / "html"))
SCREENSHOTS = ROOT / "_build" / "screenshots"
RESULTS_CANDIDATES = ("notebooks/09_results.html", "notebooks/02_evaluation.html")
MATH_PAGE = "notebooks/06_sloss.html"
MODULE_PAGE = "notebooks/05_tsam_cmim.html"
LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome:", "chrome-extension:", "chrome-untrusted:", "devtools:")
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
)


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("LINKPAPER_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (LINKPAPER_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


def results_page() -> str:
    chosen = os.environ.get("LINKPAPER_RESULTS_PAGE")
    if chosen:
        return chosen
    return next((p for p in RESULTS_CANDIDATES if (BOOK / p).exists()), RESULTS_CANDIDATES[-1])


def book_pages() -> list[str]:
    """Every content page of the build (Sphinx's generated index/search pages excluded)."""
    skip = {"genindex.html", "search.html", "index.html"}
    pages = []
    for path in sorted(BOOK.rglob("*.html")):
        rel = path.relative_to(BOOK).as_posix()
        if rel.split("/")[0] in ("_static", "_sources", "_images") or rel in skip:
            continue
        pages.append(rel)
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server():
    _require((BOOK / "index.html").exists(), f"no built book at {BOOK}: run python scripts/build_book.py")
    handler = functools.partial(_QuietHandler, directory=str(BOOK))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    driver_path = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    _require(
        Path(chromium).exists() and Path(driver_path).exists(),
        f"{chromium} or {driver_path} missing: apt-get install chromium chromium-driver",
    )
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium (the [dev] extra)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="linkpaper-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # the network log
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


PAGE_PROBE = """
const imgs = Array.from(document.images).map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                                                     width: i.naturalWidth, alt: i.getAttribute('alt') || '',
                                                     output: !!i.closest('.cell_output')}));
const code = Array.from(document.querySelectorAll('.cell_input pre'))
  .filter(p => p.scrollWidth > p.clientWidth + 1)
  .map(p => p.textContent.split('\\n').reduce((a, b) => a.length >= b.length ? a : b, ''));
const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
const ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id)
  .concat(Array.from(document.querySelectorAll('a[name]')).map(e => e.name));
return {imgs: imgs, links: links, ids: ids, code: code};
"""


def _requests(driver) -> list[str]:
    """URLs the browser requested since the last call (Chromium's performance log)."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _wait(driver, script: str, timeout: float = 30.0):
    """Poll ``script`` (returns a truthy value when done) for up to ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    value = driver.execute_script(script)
    while not value and time.monotonic() < deadline:
        time.sleep(0.25)
        value = driver.execute_script(script)
    return value


def _screenshot(driver, name: str) -> Path:
    """A full-page screenshot at 1280 px wide (height capped) in ``_build/screenshots``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / name
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight);")
    driver.set_window_size(1280, min(max(int(height), 800), 12000))
    driver.save_screenshot(str(shot))
    driver.set_window_size(1280, 1600)
    assert shot.stat().st_size > 10_000, f"screenshot {shot} is suspiciously small"
    return shot


def _local_target(base: str, href: str) -> tuple[Path, str] | None:
    """(file under BOOK, fragment) for a same-site link, None for external/other schemes."""
    url, fragment = urldefrag(href)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not url.startswith(base):
        return None
    rel = unquote(parsed.path)[len(urlparse(base).path) :]
    target = BOOK / rel
    if rel == "" or target.is_dir():
        target = target / "index.html"
    return target, fragment


def _ids_of(driver, url: str, cache: dict) -> set[str]:
    if url not in cache:
        driver.get(url)
        cache[url] = set(driver.execute_script(PAGE_PROBE)["ids"])
    return cache[url]


def test_every_page_has_no_broken_image_or_link(server, browser):
    pages = book_pages()
    assert pages, f"no content pages under {BOOK}"
    problems, probes, id_cache = [], {}, {}
    browser.set_window_size(1280, 1600)
    _requests(browser)  # start with an empty network log
    for page in pages:
        browser.get(urljoin(server, page))
        _wait(browser, "return document.readyState === 'complete';")
        probe = browser.execute_script(PAGE_PROBE)
        probes[page] = probe
        id_cache[urljoin(server, page)] = set(probe["ids"])
        for url in _requests(browser):
            if not (url.startswith(server) or url.startswith(LOCAL_SCHEMES)):
                problems.append(f"{page}: requests {url} (not in the build: every asset must be local)")
        for image in probe["imgs"]:
            if image["src"].startswith(server) and (not image["complete"] or image["width"] == 0):
                problems.append(f"{page}: broken image {image['src']}")
            if image["output"] and not image["alt"].strip():
                problems.append(f"{page}: a notebook figure without alt text ({image['src'][-40:]})")
        for line in probe["code"]:
            problems.append(f"{page}: a code cell is cut off on the right at 1280 px: {line.strip()[:60]}...")
    for page, probe in probes.items():
        for href in probe["links"]:
            target = _local_target(server, href)
            if target is None:
                continue
            path, fragment = target
            if not path.exists():
                problems.append(f"{page}: broken link {href} (no {path.relative_to(BOOK)})")
                continue
            if fragment and path.suffix == ".html":
                page_url = urldefrag(href)[0]
                if fragment not in _ids_of(browser, page_url, id_cache):
                    problems.append(f"{page}: link {href} points to a missing anchor #{fragment}")
    assert not problems, "\n".join(problems)


def test_results_page_shows_tables_and_figures(server, browser):
    page = results_page()
    _require((BOOK / page).exists(), f"results page {page} is not in the build")
    browser.get(urljoin(server, page))
    counts = browser.execute_script(
        "return {tables: document.querySelectorAll('article table, main table').length,"
        " figures: Array.from(document.querySelectorAll('article img, main img'))"
        "   .filter(i => i.complete && i.naturalWidth > 0).length,"
        " title: document.title};"
    )
    _screenshot(browser, Path(page).stem + ".png")
    assert counts["tables"] >= 1, f"{page} shows no table: {counts}"
    assert counts["figures"] >= 1, f"{page} shows no figure: {counts}"


TABLE_FIT = """
const column = document.querySelector('article.bd-article') || document.querySelector('main');
const limit = column.getBoundingClientRect().right + 1;
const scrolls = e => { const o = getComputedStyle(e).overflowX; return o === 'auto' || o === 'scroll'; };
return Array.from(column.querySelectorAll('table')).map((t, i) => {
  let box = t.parentElement;
  while (box && box !== column && !scrolls(box)) box = box.parentElement;
  const hidden = box && box !== column ? box.scrollWidth - box.clientWidth : 0;
  return {index: i, caption: (t.caption ? t.caption.textContent : '').slice(0, 60),
          header: (t.querySelector('th:not(.blank)') || {textContent: ''}).textContent.slice(0, 40),
          right: t.getBoundingClientRect().right, limit: limit, hidden: hidden};
}).filter(t => t.right > t.limit || t.hidden > 1);
"""


def test_results_page_tables_fit_the_column(server, browser):
    page = results_page()
    _require((BOOK / page).exists(), f"results page {page} is not in the build")
    browser.set_window_size(1280, 1600)
    browser.get(urljoin(server, page))
    _wait(browser, "return document.readyState === 'complete';")
    width = browser.execute_script("return window.innerWidth;")
    assert width >= 1200, f"viewport {width} px: the check is meant for 1280 px"
    overflowing = browser.execute_script(TABLE_FIT)
    assert not overflowing, f"tables wider than the content column of {page} at 1280 px: {overflowing}"


MATH_PROBE = """
const article = document.querySelector('article.bd-article') || document.querySelector('main');
const blocks = Array.from(article.querySelectorAll('div.math'));
const text = article.innerText;
return {blocks: blocks.length, typeset: blocks.filter(b => b.querySelector('mjx-container')).length,
        containers: article.querySelectorAll('mjx-container').length,
        errors: article.querySelectorAll('mjx-merror').length,
        raw: ['\\\\[', '\\\\(', '$$', '\\\\frac', '\\\\lambda', '\\\\begin', '\\\\tag']
              .filter(t => text.includes(t)),
        scripts: Array.from(document.scripts).map(s => s.src).filter(s => s.includes('mathjax'))};
"""


def test_sloss_page_shows_typeset_equations(server, browser):
    _require((BOOK / MATH_PAGE).exists(), f"{MATH_PAGE} is not in the build")
    browser.get(urljoin(server, MATH_PAGE))
    done = _wait(
        browser,
        "const b = document.querySelectorAll('article div.math');"
        "return b.length > 0 && Array.from(b).every(e => e.querySelector('mjx-container'));",
        timeout=60,
    )
    probe = browser.execute_script(MATH_PROBE)
    assert probe["scripts"] and all(src.startswith(server) and "_static/mathjax/" in src for src in probe["scripts"]), (
        f"MathJax must come from the build's _static/mathjax: {probe['scripts']}"
    )
    assert probe["blocks"] >= 5, f"{MATH_PAGE} should show eqs 7-12 as display math: {probe}"
    assert done and probe["typeset"] == probe["blocks"], f"equations left untypeset: {probe}"
    assert probe["errors"] == 0, f"MathJax reported errors: {probe}"
    assert not probe["raw"], f"raw TeX left on the page: {probe['raw']}"


def test_module_page_screenshot(server, browser):
    _require((BOOK / MODULE_PAGE).exists(), f"{MODULE_PAGE} is not in the build")
    browser.get(urljoin(server, MODULE_PAGE))
    _wait(browser, "return document.querySelectorAll('article mjx-container').length > 0;", timeout=60)
    _screenshot(browser, Path(MODULE_PAGE).stem + ".png")
