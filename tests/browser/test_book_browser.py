"""Open the built book in headless Chromium (Debian's ``chromium`` + ``chromium-driver``).

Checks every HTML page of ``_build/html``: no broken local image (``naturalWidth > 0`` after
load) and no broken local link (each same-site ``href`` resolves to an existing file, and its
``#anchor`` to an element id of that page). The results page shows its tables and figures,
and a screenshot of it is saved to ``_build/screenshots/``.

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
CHROME_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,1600",
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
    _require(Path(chromium).exists() and Path(driver_path).exists(),
             f"{chromium} or {driver_path} missing: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium (the [dev] extra)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="linkpaper-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


PAGE_PROBE = """
const imgs = Array.from(document.images).map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                                                     width: i.naturalWidth}));
const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
const ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id)
  .concat(Array.from(document.querySelectorAll('a[name]')).map(e => e.name));
return {imgs: imgs, links: links, ids: ids};
"""


def _local_target(base: str, href: str) -> tuple[Path, str] | None:
    """(file under BOOK, fragment) for a same-site link, None for external/other schemes."""
    url, fragment = urldefrag(href)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not url.startswith(base):
        return None
    rel = unquote(parsed.path)[len(urlparse(base).path):]
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
    for page in pages:
        browser.get(urljoin(server, page))
        probe = browser.execute_script(PAGE_PROBE)
        probes[page] = probe
        id_cache[urljoin(server, page)] = set(probe["ids"])
        for image in probe["imgs"]:
            if image["src"].startswith(server) and (not image["complete"] or image["width"] == 0):
                problems.append(f"{page}: broken image {image['src']}")
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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / (Path(page).stem + ".png")
    height = browser.execute_script("return Math.ceil(document.documentElement.scrollHeight);")
    browser.set_window_size(1280, min(max(int(height), 800), 12000))  # the whole page, capped
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000, f"screenshot {shot} is suspiciously small"
    assert counts["tables"] >= 1, f"{page} shows no table: {counts}"
    assert counts["figures"] >= 1, f"{page} shows no figure: {counts}"
