"""The web page (GET /) in a real browser: Debian's headless Chromium driven by Playwright, against
real `serve` processes on 127.0.0.1 — one over the shared lite artifact, one over a CLIP artifact
built here from a tiny random-weights open_clip export (text queries need CLIP).

Playwright never downloads a browser here: it launches /usr/bin/chromium (scripts/install-system-deps.sh),
into which the accessibility audit injects axe-core from tests/axe/ (npm ci, same script).
Every test saves screenshots to pytest's tmp dir; with STYGIG_SCREENSHOT_DIR set they are also
written there (that is how docs/screenshots/ is made:
``STYGIG_SCREENSHOT_DIR=docs/screenshots .venv/bin/pytest tests/test_web_page.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from stygig.serving.config import DEFAULT_MAX_REQUEST_BYTES
from stygig.serving.child import free_port, stop, wait_ready
from stygig.taxonomy import Taxonomy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVE = str(Path(sys.executable).with_name("serve"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TINY_CONFIG = {  # the tiny open_clip configuration of tests/test_clip_*.py
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
TAX = Taxonomy.default()
TOPS = {c for c, info in TAX.categories.items() if info.group == "upperwear"}
#: what completes a dress: shoes, accessories and outerwear layered over it
OVER_A_DRESS = {c for c, info in TAX.categories.items() if info.group in ("footwear", "accessories", "outerwear")}

MODEL_READY = "() => document.getElementById('model-info').textContent.includes('pieces')"
OUTFIT_SHOWN = (
    "() => !document.getElementById('outfit').hasAttribute('aria-busy')"
    " && !document.getElementById('result').hidden"
    " && document.querySelectorAll('#recs .card').length > 0"
)
PICTURES_LOADED = (
    "(sel) => { const imgs = [...document.querySelectorAll(sel)];"
    " return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }"
)
ERROR_SHOWN = "() => !document.getElementById('error').hidden"
NO_HORIZONTAL_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
#: axe-core from the npm registry (tests/axe/package-lock.json), installed by scripts/install-system-deps.sh
AXE = Path(__file__).with_name("axe") / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = json.loads((Path(__file__).with_name("axe") / "package.json").read_text())["dependencies"]["axe-core"]


# ---- servers and browser ------------------------------------------------------------------------
def start_serve(artifact: Path, log: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "TS_", "STYGIG_"))}
    cmd = [SERVE, str(artifact), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, timeout_s=60)
    except Exception:
        stop(proc)
        raise AssertionError(log.read_text(errors="replace"))
    return proc, url


@pytest.fixture(scope="module")
def lite_server(lite_artifact, tmp_path_factory):
    proc, url = start_serve(lite_artifact, tmp_path_factory.mktemp("web-lite") / "serve.log")
    yield url
    assert stop(proc) == 0


@pytest.fixture(scope="module")
def clip_server(sample_catalog, tmp_path_factory):
    from stygig.build import build_artifact
    from stygig.cli import main

    d = tmp_path_factory.mktemp("web-clip")
    export = d / "export"
    rc = main(
        ["export-clip", "--model", "stygig-tiny-web", "--model-config", json.dumps(TINY_CONFIG),
         "--pretrained", "random", "--seed", "11", "-o", str(export)]
    )
    assert rc == 0
    build_artifact(sample_catalog, d / "clip", encoder=str(export))
    proc, url = start_serve(d / "clip", d / "serve.log")
    yield url
    assert stop(proc) == 0


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page in a fresh browser context that records script errors and /invocations requests."""

    def __init__(self, browser, viewport, shots: Path):
        self.context = browser.new_context(viewport=viewport, reduced_motion="reduce")
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.shots = shots
        self.problems: list[str] = []
        self.invocations: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if "Content Security Policy" in m.text else None,
        )
        self.page.on("request", lambda r: self.invocations.append(r.url) if "/invocations" in r.url else None)
        # file choosers are intercepted from the start (subscribing just before a key press races it)
        self.choosers: list = []
        self.page.on("filechooser", lambda chooser: self.choosers.append(chooser))

    def file_chooser(self, timeout_s: float = 20.0):
        t0 = time.monotonic()
        while not self.choosers:
            assert time.monotonic() - t0 < timeout_s, "no file chooser opened"
            self.page.wait_for_timeout(50)
        return self.choosers.pop()

    def open(self, url: str):
        self.page.goto(url)
        self.page.wait_for_function(MODEL_READY)
        return self.page

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        extra = os.environ.get("STYGIG_SCREENSHOT_DIR")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(extra) / path.name)
        return path


@pytest.fixture
def desktop(browser, tmp_path):
    p = Page(browser, DESKTOP, tmp_path)
    yield p
    p.context.close()
    assert not p.problems, p.problems


@pytest.fixture
def phone(browser, tmp_path):
    p = Page(browser, PHONE, tmp_path)
    yield p
    p.context.close()
    assert not p.problems, p.problems


@pytest.fixture(scope="module")
def shirt_photo(lite_artifact) -> Path:
    """A shop photo of a shirt (the catalog's own source file, as a customer might send it)."""
    from stygig.recommend.engine import Recommender

    rec = Recommender.load(lite_artifact, verify=False)
    return Path(next(it for it in rec.items if it["category"] == "shirt")["source"])


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE.is_file(), f"{AXE} is missing: run scripts/install-system-deps.sh (npm ci in tests/axe)"
    return AXE.read_text(encoding="utf-8")


# ---- helpers ------------------------------------------------------------------------------------
def cards(page) -> list[dict]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#recs .card')].map(c => ({
            id: c.dataset.itemId, category: c.dataset.category, gender: c.dataset.gender,
            name: c.querySelector('.card-name').textContent,
            score: c.querySelector('.card-score-value').textContent,
            reason: (c.querySelector('.card-reason') || {}).textContent || '',
            swatches: [...c.querySelectorAll('.swatch-dot')].map(d => d.style.backgroundColor),
            picture: c.querySelector('img.photo').naturalWidth,
            alt: c.querySelector('img.photo').alt }))"""
    )


def query_card(page) -> dict:
    return page.evaluate(
        """() => { const q = document.getElementById('query-card');
            const img = q.querySelector('img.photo');
            return { category: q.dataset.category, source: q.dataset.source,
                     title: document.getElementById('query-title').textContent,
                     how: document.getElementById('query-source').textContent,
                     picture: img ? img.naturalWidth : null,
                     quote: (q.querySelector('.query-quote') || {}).textContent || null,
                     swatches: [...q.querySelectorAll('.swatch-dot')].map(d => d.style.backgroundColor) }; }"""
    )


def audit(page, axe_source: str) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, where, why).

    axe is evaluated through the DevTools protocol, as the page's own Content-Security-Policy
    (script-src 'self') would refuse it as a script element; the page itself is not changed."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    assert page.evaluate("() => window.axe.version") == AXE_VERSION
    result = page.evaluate(
        "() => window.axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v =>"
        " ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => ({ target: n.target.join(' '),"
        " why: n.failureSummary })) })))"
    )
    return [f"{v['id']} ({v['impact']}): {n['target']}: {n['why']}" for v in result for n in v["nodes"]]


def wait_outfit(page) -> list[dict]:
    page.wait_for_function(OUTFIT_SHOWN)
    page.wait_for_function(PICTURES_LOADED, arg="#recs img.photo")
    return cards(page)


def tab_to(page, predicate: str, limit: int = 40) -> list[str]:
    """Press Tab until ``predicate`` holds for the focused element; the ids/classes passed on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement.id || document.activeElement.className"))
        if page.evaluate(predicate):
            return seen
    raise AssertionError(f"focus never reached {predicate}: {seen}")


def server_error(url: str, body: bytes, content_type: str) -> dict:
    r = httpx.post(url + "/invocations", content=body, headers={"Content-Type": content_type}, timeout=30)
    return {"status": r.status_code, **r.json()["error"]}


# ---- tests --------------------------------------------------------------------------------------
def test_page_and_assets_are_served_read_only(lite_server):
    r = httpx.get(lite_server + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert f'content="{DEFAULT_MAX_REQUEST_BYTES}"' in r.text  # the request limit the page checks against
    for asset, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        a = httpx.get(f"{lite_server}/static/{asset}")
        assert a.status_code == 200 and kind in a.headers["content-type"], asset
    for escape in ("/static/../web.py", "/static/%2e%2e/web.py", "/static/..%2fapp.py"):
        assert httpx.get(lite_server + escape).status_code == 404, escape


def test_photo_upload_shows_the_outfit_with_pictures(lite_server, desktop, shirt_photo):
    page = desktop.open(lite_server)
    assert page.is_disabled("#text-input")  # the lite encoder cannot read text
    assert "CLIP" in page.inner_text("#text-note")
    page.set_input_files("#photo-input", str(shirt_photo))
    recs = wait_outfit(page)
    assert 3 <= len(recs) <= 6
    q = query_card(page)
    assert q["category"] == "shirt" and q["title"] == "Shirt"
    assert q["source"] == "vote" and "similar catalog pieces" in q["how"] and "% confidence" in q["how"]
    assert q["picture"] > 0 and q["swatches"] and all(s.startswith("rgb(") for s in q["swatches"])
    for rec in recs:
        assert rec["category"] not in TOPS, rec  # a shirt is completed by bottoms, shoes, bags...
        assert rec["picture"] > 0 and rec["alt"].lower() == rec["name"].lower()
        assert rec["score"].endswith("%") and 0 < int(rec["score"][:-1]) <= 100
        assert rec["reason"] and rec["swatches"]
    assert "Outfit ready" in page.inner_text("#status")
    assert desktop.invocations and "top_k=6" in desktop.invocations[-1]
    desktop.shot("desktop-outfit", full_page=True)


def test_one_colour_chip_per_colour_name(lite_server, desktop, lite_artifact):
    # issue 18.8: two dominant greys showed as "grey, grey"
    from stygig.recommend.engine import Recommender

    def unique(colours, n):
        return list(dict.fromkeys(c["name"] for c in colours))[:n]

    rec = Recommender.load(lite_artifact, verify=False)
    for it in rec.items:
        photo = Path(it["source"])
        answer = httpx.post(f"{lite_server}/invocations?top_k=6", content=photo.read_bytes(),
                            headers={"Content-Type": "image/jpeg"}, timeout=30).json()
        cards = (answer.get("outfit") or {}).get("pieces") or answer["recommendations"]  # what the page shows
        shown = [[c["name"] for c in answer["query_item"]["colors"][:5]]]
        shown += [[c["name"] for c in r["colors"][:3]] for r in cards]
        if any(len(set(names)) < len(names) for names in shown):
            break
    else:
        raise AssertionError("no photo of the sample catalog gives an outfit with a repeated colour name")
    page = desktop.open(lite_server)
    page.set_input_files("#photo-input", str(photo))
    wait_outfit(page)
    chips = page.evaluate(
        """() => ({ query: [...document.querySelectorAll('#query-colours .swatch-name')].map(n => n.textContent),
                    cards: Object.fromEntries([...document.querySelectorAll('#recs .card')].map(c =>
                        [c.dataset.itemId, [...c.querySelectorAll('.swatch-name')].map(n => n.textContent)])) })"""
    )
    assert chips["query"] == unique(answer["query_item"]["colors"], 5)
    assert chips["cards"] == {r["item_id"]: unique(r["colors"], 3) for r in cards}


def test_keyboard_only(lite_server, desktop, shirt_photo):
    page = desktop.open(lite_server)
    path = tab_to(page, "() => document.activeElement.id === 'pick-photo'", limit=6)
    assert path[0] == "skip-link"
    page.keyboard.press("Enter")
    desktop.file_chooser().set_files(str(shirt_photo))
    wait_outfit(page)

    # the gender filter: arrow keys move between the radio buttons and re-run the outfit
    tab_to(page, "() => document.activeElement.name === 'gender'", limit=4)
    with page.expect_response(lambda r: "/invocations" in r.url and "gender=female" in r.url):
        page.keyboard.press("ArrowRight")
    assert page.is_checked("#gender-female")
    recs = wait_outfit(page)
    assert {r["gender"] for r in recs} <= {"female", "unisex"}
    assert page.evaluate("() => getComputedStyle(document.querySelector('#gender-female + label')).outlineStyle") != "none"

    # a recommended piece, styled in turn: Tab to its button, Enter
    tab_to(page, "() => document.activeElement.classList.contains('card-action')")
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    name = page.evaluate("() => document.activeElement.closest('.card').querySelector('.card-name').textContent")
    page.keyboard.press("Enter")
    page.wait_for_function("(n) => document.getElementById('query-title').textContent === n", arg=name)
    wait_outfit(page)
    assert query_card(page)["source"] == "item"
    assert page.evaluate("() => document.activeElement.id") == "query-card"  # focus is not lost

    # the tabs answer arrow keys
    page.focus("#tab-photo")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.id") == "tab-text"
    assert page.is_visible("#panel-text") and not page.is_visible("#panel-photo")
    desktop.shot("keyboard")


def test_the_category_hint_belongs_to_one_query(lite_server, desktop, shirt_photo):
    # issue 18.1: "The piece is: Jacket" stuck to the next query, so "Style this piece" on shorts
    # styled the shorts as a jacket and a near-copy of them came back first
    page = desktop.open(lite_server)
    page.select_option("#category-hint", "dress")  # chosen before the first piece: it is that piece's
    with page.expect_request(lambda r: "/invocations" in r.url) as first:
        page.set_input_files("#photo-input", str(shirt_photo))
    assert "category=dress" in first.value.url
    wait_outfit(page)
    assert query_card(page)["source"] == "hint"
    with page.expect_request(lambda r: "/invocations" in r.url) as again:
        page.set_input_files("#photo-input", str(shirt_photo))  # a new piece starts from "detected"
    assert "category=" not in again.value.url
    wait_outfit(page)
    assert query_card(page)["source"] == "vote" and page.input_value("#category-hint") == ""

    with page.expect_request(lambda r: "/invocations" in r.url and "category=jacket" in r.url):
        page.select_option("#category-hint", "jacket")  # re-styles the piece on show
    wait_outfit(page)
    assert query_card(page)["category"] == "jacket"
    with page.expect_request(lambda r: "/invocations" in r.url) as rerun:
        page.click("label[for=gender-female]")  # the same piece, still a jacket
    assert "category=jacket" in rerun.value.url and "gender=female" in rerun.value.url
    recs = wait_outfit(page)

    target = recs[0]
    with page.expect_request(lambda r: "/invocations" in r.url) as styled:
        page.locator("#recs .card").first.locator(".card-action").click()
    assert json.loads(styled.value.post_data) == {"item_id": target["id"], "top_k": 6, "gender": "female"}
    page.wait_for_function("(n) => document.getElementById('query-title').textContent === n", arg=target["name"])
    after = wait_outfit(page)
    q = query_card(page)
    assert q["source"] == "item" and q["category"] == target["category"]
    assert page.input_value("#category-hint") == ""
    group = TAX.group_of(target["category"])
    assert target["id"] not in {r["id"] for r in after}
    assert all(TAX.group_of(r["category"]) != group for r in after), after  # no near-copies of the piece


def test_catalog_browser_completes_a_piece(lite_server, desktop):
    page = desktop.open(lite_server)
    page.click("#tab-catalog")  # draws a page of every category first: wait for the dresses'
    catalog_after(page, lambda: page.select_option("#catalog-category", "dress"), asks="category=dress")
    items = page.locator(".catalog-item")
    assert items.count() == 6  # PER_CATEGORY in tests/conftest.py
    second = items.nth(1)
    name = second.inner_text().strip()
    second.click()
    recs = wait_outfit(page)
    q = query_card(page)
    assert q["title"].lower() == name.lower() and q["source"] == "item" and q["category"] == "dress"
    assert q["picture"] > 0
    assert second.get_attribute("aria-pressed") == "true"
    assert {r["category"] for r in recs} <= OVER_A_DRESS  # a dress needs no top or bottom
    desktop.shot("catalog")


def test_shop_options_filter_and_boost_the_outfit(lite_server, desktop, shirt_photo, lite_artifact):
    # issue 14.2/14.3 on the page: in stock only, a price range and popular first, for a picture
    # (the query string's filter= and boost=) and for several pieces (JSON)
    from stygig.recommend.engine import Recommender

    attrs = {it["id"]: it["attributes"] for it in Recommender.load(lite_artifact, verify=False).items}
    page = desktop.open(lite_server)
    for sel in ("#shop-options", "#in-stock", "#price-min", "#price-max", "#popular"):
        assert page.is_visible(sel), sel
    page.set_input_files("#photo-input", str(shirt_photo))
    wait_outfit(page)
    with page.expect_request(lambda r: "/invocations" in r.url) as stocked:
        page.check("#in-stock")
    assert "filter=in_stock%3Dtrue" in stocked.value.url
    recs = wait_outfit(page)
    assert recs and all(attrs[r["id"]]["in_stock"] for r in recs)

    page.fill("#price-min", "20")
    page.press("#price-min", "Tab")
    with page.expect_request(lambda r: "/invocations" in r.url and "price%3C%3D90" in r.url) as priced:
        page.fill("#price-max", "90")
        page.press("#price-max", "Tab")
    assert "filter=price%3E%3D20" in priced.value.url and "filter=in_stock%3Dtrue" in priced.value.url
    page.wait_for_function("() => !document.getElementById('outfit').hasAttribute('aria-busy')")
    recs = wait_outfit(page)
    assert recs and all(attrs[r["id"]]["in_stock"] and 20 <= attrs[r["id"]]["price"] <= 90 for r in recs)

    with page.expect_request(lambda r: "/invocations" in r.url) as popular:
        page.check("#popular")
    assert "boost=popularity%3A0.2" in popular.value.url
    page.wait_for_function("() => !document.getElementById('outfit').hasAttribute('aria-busy')")
    recs = wait_outfit(page)
    assert page.locator("#recs .card").first.locator("dt", has_text="Popularity").count() == 1

    # a second piece: the same options go in the JSON body
    with page.expect_request(lambda r: "/invocations" in r.url) as both:
        page.locator("#recs .card .card-lock").first.click()  # the photo and a locked piece
    body = json.loads(both.value.post_data)
    assert len(body["items"]) == 2
    assert body["filters"] == {"in_stock": True, "price": {"gte": 20, "lte": 90}} and body["boost"] == {"popularity": 0.2}
    recs = wait_outfit(page)
    assert all(attrs[r["id"]]["in_stock"] and 20 <= attrs[r["id"]]["price"] <= 90 for r in recs)

    page.fill("#price-min", "95")
    page.press("#price-min", "Tab")
    assert page.is_visible("#price-note")
    assert "above the highest" in page.inner_text("#price-note")
    desktop.shot("shop-options")
    assert not desktop.problems, desktop.problems


def catalog_grid(page) -> list[dict]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#catalog-grid .catalog-item')].map(b => {
            const n = b.querySelector('.catalog-name');
            return { id: b.dataset.itemId, gender: b.dataset.gender, category: b.dataset.category,
                     name: n.textContent, cut: n.scrollHeight > n.clientHeight + 1 || n.scrollWidth > n.clientWidth + 1 }; })"""
    )


def catalog_after(page, action, asks: str = "") -> list[dict]:
    """Do ``action`` (which asks GET /items, with ``asks`` in its query) and wait for the grid it draws."""
    with page.expect_response(lambda r: "/items?" in r.url and asks in r.url):
        action()
    page.wait_for_function("() => !document.getElementById('catalog-grid').hasAttribute('aria-busy')")
    if page.locator("#catalog-grid img.photo").count():
        page.wait_for_function(PICTURES_LOADED, arg="#catalog-grid img.photo")
    return catalog_grid(page)


def test_catalog_tab_pages_once_names_whole_searches_and_follows_dress_for(lite_server, desktop):
    # issue 18.11: a scroll box of 9 inside pages of 24, cut names, "30 trousers pieces", no search,
    # and "Dress for" did not filter the grid
    every = httpx.get(lite_server + "/items", params={"limit": 1000}).json()["items"]
    page = desktop.open(lite_server)
    shown = catalog_after(page, lambda: page.click("#tab-catalog"))  # every category, page 1
    assert [c["id"] for c in shown] == [it["item_id"] for it in every[:24]]
    assert [c["name"] for c in shown] == [it["name"][:1].upper() + it["name"][1:] for it in every[:24]]
    assert not any(c["cut"] for c in shown), [c["name"] for c in shown if c["cut"]]
    assert page.evaluate(
        "() => [...document.querySelectorAll('#panel-catalog, #panel-catalog *')].every(e =>"
        " !['auto', 'scroll'].includes(getComputedStyle(e).overflowY) || e.scrollHeight <= e.clientHeight)"
    ), "a scroll box inside the catalog"
    pages = -(-len(every) // 24)
    assert page.inner_text("#catalog-page") == f"Page 1 of {pages}" and page.is_disabled("#catalog-prev")
    assert page.inner_text("#catalog-hint") == f"{len(every)} pieces. Pick one to see what goes with it."
    shown = catalog_after(page, lambda: page.click("#catalog-next"))
    assert [c["id"] for c in shown] == [it["item_id"] for it in every[24:48]]
    assert page.inner_text("#catalog-page") == f"Page 2 of {pages}"
    desktop.shot("catalog-all")

    shown = catalog_after(page, lambda: page.select_option("#catalog-category", "pants"))
    assert {c["category"] for c in shown} == {"pants"} and len(shown) == 6  # PER_CATEGORY
    assert page.inner_text("#catalog-hint") == "Trousers: 6 pieces. Pick one to see what goes with it."
    assert not page.is_visible("#catalog-pager")

    shown = catalog_after(page, lambda: page.click("label[for=gender-female]"))  # "Dress for: Women"
    women = [it for it in every if it["category"] == "pants" and it["gender"] in ("female", "unisex")]
    assert [c["id"] for c in shown] == [it["item_id"] for it in women] and len(women) < 6
    assert page.inner_text("#catalog-hint").startswith(f"Trousers: {len(women)} piece")
    assert " for women." in page.inner_text("#catalog-hint")

    word = every[0]["name"].split()[0]
    catalog_after(page, lambda: page.select_option("#catalog-category", ""))
    shown = catalog_after(page, lambda: page.fill("#catalog-search", word.upper()), asks="q=")
    found = [it for it in every if it["gender"] in ("female", "unisex")
             and word.casefold() in (it["item_id"] + "\n" + it["name"]).casefold()]
    assert [c["id"] for c in shown] == [it["item_id"] for it in found[:24]] and found
    assert f"for women matching “{word.upper()}”" in page.inner_text("#catalog-hint")
    target = every[5]["item_id"]
    shown = catalog_after(page, lambda: (page.click("label[for=gender-any]"), page.fill("#catalog-search", target)), asks="q=" + target)
    assert [c["id"] for c in shown] == [target]
    assert page.inner_text("#catalog-hint") == f"1 piece matching “{target}”. Pick one to see what goes with it."
    catalog_after(page, lambda: page.fill("#catalog-search", "no-such-piece"), asks="q=no-such-piece")
    assert page.inner_text("#catalog-hint") == "No pieces matching “no-such-piece”."
    desktop.shot("catalog-search")


def test_non_image_upload_shows_the_servers_422_message(lite_server, desktop, shirt_photo):
    page = desktop.open(lite_server)
    page.set_input_files("#photo-input", str(shirt_photo))
    wait_outfit(page)
    expected = server_error(lite_server, b"these are my notes\n", "application/x-image")
    assert expected["status"] == 422
    # dropped on the drop zone, as a user would
    data = page.evaluate_handle(
        "() => { const dt = new DataTransfer();"
        " dt.items.add(new File(['these are my notes\\n'], 'notes.txt', {type: 'text/plain'})); return dt; }"
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": data})
    page.wait_for_function(ERROR_SHOWN)
    message = page.inner_text("#error")
    assert expected["message"] in message and "notes.txt" in message
    assert page.get_attribute("#error", "role") == "alert"
    assert not page.is_visible("#result") and page.locator("#recs .card:visible").count() == 0
    desktop.shot("error-not-an-image")


def test_too_large_pictures_are_refused_with_a_clear_message(lite_server, desktop):
    page = desktop.open(lite_server)
    limit = DEFAULT_MAX_REQUEST_BYTES
    before = len(desktop.invocations)
    page.set_input_files("#photo-input", {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * (limit + 1)})
    page.wait_for_function(ERROR_SHOWN)
    assert "huge.jpg" in page.inner_text("#error") and "6 MB" in page.inner_text("#error")
    assert len(desktop.invocations) == before  # refused in the page, never uploaded

    # had the page not known the limit, the server's 413 says why
    page.evaluate("() => { document.querySelector('meta[name=stygig-max-request-bytes]').content = String(1 << 30); }")
    body = b"\xff" * (limit + 4096)
    expected = server_error(lite_server, body, "image/jpeg")
    assert expected["status"] == 413
    page.set_input_files("#photo-input", {"name": "huge2.jpg", "mimeType": "image/jpeg", "buffer": body})
    page.wait_for_function("() => document.getElementById('error').textContent.includes('huge2.jpg')")
    assert expected["message"] in page.inner_text("#error")
    assert len(desktop.invocations) == before + 1


def test_phone_width_has_no_horizontal_scroll(lite_server, phone, shirt_photo):
    page = phone.open(lite_server)
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    page.set_input_files("#photo-input", str(shirt_photo))
    recs = wait_outfit(page)
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    lefts = page.evaluate("() => [...document.querySelectorAll('#recs .card')].map(c => Math.round(c.getBoundingClientRect().left))")
    assert len(set(lefts)) == 1 and len(lefts) == len(recs)  # one column of cards
    phone.page.wait_for_function("() => document.getElementById('outfit').getBoundingClientRect().top < 200")
    phone.shot("phone-outfit")
    page.click("#tab-catalog")
    catalog_after(page, lambda: page.select_option("#catalog-category", "jumpsuit"), asks="category=jumpsuit")
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    page.set_input_files("#photo-input", {"name": "a-very-long-file-name-" + "x" * 120 + ".txt", "mimeType": "text/plain", "buffer": b"no"})
    page.wait_for_function(ERROR_SHOWN)
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    box = page.evaluate("() => { const r = document.getElementById('error').getBoundingClientRect(); return [r.top, r.bottom]; }")
    assert 0 <= box[0] and box[1] <= PHONE["height"], box  # scrolled to where it can be read
    phone.shot("phone-error")


def test_text_query_on_a_clip_artifact(clip_server, desktop):
    page = desktop.open(clip_server)
    page.click("#tab-text")
    assert page.is_enabled("#text-input")
    page.fill("#text-input", "navy linen blazer")
    page.press("#text-input", "Enter")
    recs = wait_outfit(page)
    q = query_card(page)
    model = httpx.get(clip_server + "/model").json()
    assert q["category"] in model["categories"]
    display = (model.get("category_display") or {}).get(q["category"]) or re.sub(r"[_-]+", " ", q["category"])
    assert q["title"] == display[:1].upper() + display[1:]
    assert q["source"] == "zero-shot+vote" and "from your words" in q["how"] and "% confidence" in q["how"]
    assert q["quote"] == "“navy linen blazer”"
    assert recs and all(r["picture"] > 0 for r in recs)
    assert len(desktop.invocations) == 1 and desktop.invocations[0].endswith("/invocations")  # JSON, no query string

    page.click("#add-piece")  # a second description joins the first
    page.fill("#text-input", "white leather sneakers")
    with page.expect_request(lambda r: "/invocations" in r.url) as asked:
        page.press("#text-input", "Enter")
    assert json.loads(asked.value.post_data)["items"] == [{"text": "navy linen blazer"}, {"text": "white leather sneakers"}]
    wait_outfit(page)
    assert page.locator("#pieces .piece[data-kind=text]").count() == 2
    desktop.shot("desktop-text")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_violation(lite_server, browser, tmp_path, shirt_photo, axe_source, viewport):
    # issue 18.13: axe-core found label-content-name-mismatch on the "Style this piece" buttons
    p = Page(browser, viewport, tmp_path)
    try:
        page = p.open(lite_server)
        found = {"landing": audit(page, axe_source)}
        page.set_input_files("#photo-input", str(shirt_photo))
        first = wait_outfit(page)[0]
        found["outfit"] = audit(page, axe_source)
        name = re.compile("^Style this piece, " + re.escape(first["name"]) + "$", re.IGNORECASE)
        assert page.get_by_role("button", name=name).count() == 1  # the words shown, then the piece
        page.locator("#recs .card").first.locator(".card-lock").click()  # your pieces, one locked
        wait_outfit(page)
        assert page.is_visible("#recs .card[data-locked] .card-lock[aria-pressed=true]")
        assert page.evaluate(NO_HORIZONTAL_SCROLL)
        found["pieces"] = audit(page, axe_source)
        catalog_after(page, lambda: page.click("#tab-catalog"))
        found["catalog"] = audit(page, axe_source)
        page.click("#tab-photo")
        page.set_input_files("#photo-input", {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"my notes"})
        page.wait_for_function(ERROR_SHOWN)
        found["error"] = audit(page, axe_source)
    finally:
        p.context.close()
    assert not p.problems, p.problems
    assert found == {"landing": [], "outfit": [], "pieces": [], "catalog": [], "error": []}, json.dumps(found, indent=1)


def group_of(category: str) -> str:
    return TAX.group_of(category)


def test_add_pieces_one_by_one_lock_and_remove(lite_server, desktop, shirt_photo, axe_source):
    # issue 12.2 (the web page: add pieces one by one) and 12.7 (lock a piece, add one's own)
    import base64

    page = desktop.open(lite_server)
    page.set_input_files("#photo-input", str(shirt_photo))
    wait_outfit(page)
    assert not page.is_visible("#pieces-box")

    page.click("#add-piece")
    assert page.inner_text("#composer-title") == "Add a piece to the outfit" and page.is_visible("#cancel-add")
    sneakers = catalog_after(page, lambda: (page.click("#tab-catalog"), page.select_option("#catalog-category", "sneakers")),
                             asks="category=sneakers")[0]
    with page.expect_request(lambda r: "/invocations" in r.url) as asked:
        page.click(f".catalog-item[data-item-id='{sneakers['id']}']")
    body = json.loads(asked.value.post_data)
    assert [list(p) for p in body["items"]] == [["image"], ["item_id"]] and body["items"][1]["item_id"] == sneakers["id"]
    assert base64.b64decode(body["items"][0]["image"]) == shirt_photo.read_bytes() and body["top_k"] == 6
    recs = wait_outfit(page)
    assert page.inner_text("#composer-title") == "Start from a piece"
    assert page.locator("#pieces .piece").count() == 2 and not page.is_visible("#query-card")
    assert page.inner_text("#pieces-title") == "Your pieces (2)"
    assert all(r["category"] not in TOPS and group_of(r["category"]) != "footwear" for r in recs), recs  # slots filled

    locked = recs[0]
    with page.expect_request(lambda r: "/invocations" in r.url) as asked:
        page.get_by_role("button", name=f"Lock, {locked['name']}", exact=False).first.click()
    body = json.loads(asked.value.post_data)
    assert body["items"][1:] == [{"item_id": sneakers["id"]}, {"item_id": locked["id"]}]
    recs = wait_outfit(page)
    shown = page.evaluate("() => [...document.querySelectorAll('#pieces .piece')].map(p => p.dataset.itemId || p.dataset.kind)")
    assert shown == ["image", sneakers["id"]]  # your own pieces; the locked one stays in the outfit
    kept = page.evaluate("() => [...document.querySelectorAll('#recs .card[data-locked]')].map(c => c.dataset.itemId)")
    assert kept == [recs[0]["id"]] == [locked["id"]]
    assert page.get_attribute("#recs .card[data-locked] .card-lock", "aria-pressed") == "true"
    composed = recs[1:]
    assert locked["id"] not in {r["id"] for r in composed}
    assert all(r["category"] != locked["category"] for r in composed), recs
    assert audit(page, axe_source) == []
    desktop.shot("pieces-locked", full_page=True)

    # a piece that cannot be added is taken back out; the outfit stays
    page.click("#add-piece")
    page.click("#tab-photo")
    page.set_input_files("#photo-input", {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"my notes"})
    page.wait_for_function(ERROR_SHOWN)
    assert "Could not add that piece" in page.inner_text("#error") and "notes.txt" in page.inner_text("#error")
    assert page.is_visible("#result") and page.locator("#pieces .piece").count() == 2
    assert page.inner_text("#composer-title") == "Start from a piece"

    with page.expect_request(lambda r: "/invocations" in r.url) as asked:
        page.locator("#pieces .piece").first.locator(".piece-remove").click()
    assert json.loads(asked.value.post_data)["items"] == [{"item_id": sneakers["id"]}, {"item_id": locked["id"]}]
    wait_outfit(page)
    with page.expect_request(lambda r: "/invocations" in r.url) as asked:
        page.click("#recs .card[data-locked] .card-lock")  # pressed again: unlocked
    assert json.loads(asked.value.post_data) == {"item_id": sneakers["id"], "top_k": 6}
    wait_outfit(page)
    assert page.is_visible("#query-card") and not page.is_visible("#pieces-box")
    assert query_card(page)["category"] == "sneakers"
