"""The review page end to end: a real server, headless Chromium, and the database afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import storage
from model.artifact import ModelArtifact
from tests.api.conftest import create_key
from tests.conftest import DATA_DIR, free_port, wait_ready

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is not installed (`apt-get install chromium`; `make test` does it when "
    "it runs as root)",
)

POST_WITH_AREA = "SAMPAH menumpuk di kel. Padang Harapan, dak diangkut la 3 ari!!"
POST_TO_CORRECT = "jalan berlubang besar bahaya untuk motor"


@dataclass
class Server:
    base: str
    database_url: str
    reviewer_key: str


@pytest.fixture
def server(tiny_model: ModelArtifact, tmp_path: Path) -> Iterator[Server]:
    database_url = f"sqlite:///{tmp_path / 'review.db'}"
    key = create_key(database_url, "reviewer", "ani")
    port = free_port()
    env = {
        **os.environ,
        "TANDAI_MODEL_DIR": str(tiny_model.path.parent),
        "TANDAI_DATABASE_URL": database_url,
        "TANDAI_DATA_DIR": str(DATA_DIR),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "training.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, seconds=30)
        for text in (POST_WITH_AREA, POST_TO_CORRECT):
            assert httpx.post(f"{base}/classify", json={"text": text}).status_code == 200
        yield Server(base, database_url, key)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def review_page(server: Server, path: str = "/review") -> Iterator[Any]:
    """Headless Chromium on `path`, signed in with the reviewer's key."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(f"{server.base}{path}")
        page.fill("#key", server.reviewer_key)
        page.click("#signin-form button[type=submit]")
        try:
            yield page
        finally:
            browser.close()


def test_review_page_accepts_one_post_and_corrects_another(server: Server, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(f"{server.base}/review")
        assert page.locator("html").get_attribute("lang") == "id"

        page.fill("#key", "tdk_wrong")
        page.click("#signin-form button[type=submit]")
        sync_api.expect(page.locator("#signin-error")).to_contain_text("Kunci tidak dikenal")

        page.fill("#key", server.reviewer_key)
        page.click("#signin-form button[type=submit]")
        sync_api.expect(page.locator("#who")).to_contain_text("ani")
        sync_api.expect(page.locator("#post")).to_be_visible()

        # the runner-up topics, not the topic "Lainnya"
        sync_api.expect(page.locator("#alternatives")).to_contain_text("Kemungkinan lain: ")
        accepted_text = page.locator("#post-text").inner_text()
        if accepted_text == POST_WITH_AREA:
            sync_api.expect(page.locator("#post-text mark.evidence")).to_have_text("Padang Harapan")
        page.screenshot(path=str(tmp_path / "review-page.png"), full_page=True)
        page.keyboard.press("a")
        sync_api.expect(page.locator("#saved-list li")).to_have_count(1)
        sync_api.expect(page.locator("#saved-list li").first).to_contain_text("Diterima")

        corrected_text = page.locator("#post-text").inner_text()
        assert corrected_text != accepted_text
        page.select_option("#c-topic", "banjir_drainase")
        page.select_option("#c-kecamatan", "Selebar")
        kelurahan = page.locator("#c-kelurahan option").all_inner_texts()
        assert "Pagar Dewa" in kelurahan and "Padang Harapan" not in kelurahan
        page.select_option("#c-kelurahan", "Pagar Dewa")
        page.fill("#c-note", "genangan, bukan jalan")
        page.click("#save-correction")
        sync_api.expect(page.locator("#saved-list li")).to_have_count(2)
        sync_api.expect(page.locator("#saved-list li").first).to_contain_text("Dikoreksi")
        sync_api.expect(page.locator("#saved-list li").first).to_contain_text("Pagar Dewa")
        sync_api.expect(page.locator("#empty")).to_be_visible()
        browser.close()

    db = storage.Database(server.database_url)
    with db.session() as session:
        posts, _ = storage.list_posts(session, limit=10, offset=0)
        reviews = {p.text: p.reviews for p in posts}
    db.dispose()
    (accept,) = reviews[accepted_text]
    assert (accept.decision, accept.reviewer) == ("accept", "ani")
    assert accept.after_topic == accept.before_topic
    (correct,) = reviews[corrected_text]
    assert correct.decision == "correct"
    assert (correct.after_topic, correct.after_kecamatan, correct.after_kelurahan) == (
        "banjir_drainase",
        "Selebar",
        "Pagar Dewa",
    )
    # unedited tags follow the corrected topic and area
    assert set(correct.after_tags) == {"pupr", "camat-selebar", "lurah-pagar-dewa"}
    assert correct.note == "genangan, bukan jalan"


STREET_POST = "lampu jalan mati di Jl. Sawah Lebar, gelap nian"


def test_saving_an_unsure_area_unchanged_tags_its_camat_and_lurah(server: Server) -> None:
    """A street named after an area is read below the tagging threshold, so the camat is not
    tagged; the reviewer who saves the area as it was read vouches for it, and the tag rules
    then tag its camat and lurah."""
    sync_api = pytest.importorskip("playwright.sync_api")
    answer = httpx.post(f"{server.base}/classify", json={"text": STREET_POST}).json()
    assert answer["area"]["kelurahan"] == "Sawah Lebar" and answer["area"]["confidence"] < 0.7
    predicted = {t["official_id"] for t in answer["tags"]}
    assert "camat-ratu-agung" not in predicted
    with review_page(server) as page:
        sync_api.expect(page.locator("#post")).to_be_visible()
        for _ in range(3):  # the queue's order is the model's to decide
            if page.locator("#post-text").inner_text() == STREET_POST:
                break
            page.keyboard.press("j")
        sync_api.expect(page.locator("#post-text")).to_have_text(STREET_POST)
        sync_api.expect(page.locator("#reasons")).to_contain_text("wilayah kurang pasti")
        page.click("#save-correction")
        sync_api.expect(page.locator("#saved-list li").first).to_contain_text("Sawah Lebar")

    db = storage.Database(server.database_url)
    with db.session() as session:
        posts, _ = storage.list_posts(session, limit=10, offset=0)
        (review,) = next(p.reviews for p in posts if p.text == STREET_POST)
    db.dispose()
    assert (review.after_kecamatan, review.after_kelurahan) == ("Ratu Agung", "Sawah Lebar")
    assert {"camat-ratu-agung", "lurah-sawah-lebar"} <= set(review.after_tags)
    assert predicted <= set(review.after_tags)


def test_the_queue_is_filtered_by_kecamatan_and_topic_and_the_address_keeps_it(
    server: Server,
) -> None:
    """A camat's desk bookmarks /review?kecamatan=...; the filters change the queue shown."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with review_page(server, "/review?kecamatan=Gading%20Cempaka") as page:
        sync_api.expect(page.locator("#post-text")).to_have_text(POST_WITH_AREA)
        sync_api.expect(page.locator("#f-kecamatan")).to_have_value("Gading Cempaka")
        sync_api.expect(page.locator("#queue-info")).to_contain_text(
            "1 unggahan menunggu tinjauan untuk Kecamatan Gading Cempaka"
        )

        page.select_option("#f-kecamatan", "")
        sync_api.expect(page.locator("#queue-info")).to_contain_text("2 unggahan menunggu")
        assert "?" not in page.url

        page.select_option("#f-topic", "jalan")
        page.select_option("#f-kecamatan", "Selebar")
        sync_api.expect(page.locator("#empty")).to_be_visible()
        sync_api.expect(page.locator("#empty")).to_contain_text("Kecamatan Selebar")
        assert page.url.endswith("/review?topic=jalan&kecamatan=Selebar")

        # the queue asked for first answers last: what is shown follows the filters chosen last
        held: list[Any] = []

        def hold(route: Any) -> None:
            held.append(route)

        page.route(lambda url: url.endswith("/reviews/queue?limit=50&topic=jalan"), hold)
        page.select_option("#f-kecamatan", "")
        page.focus("#f-topic")
        page.select_option("#f-topic", "")
        sync_api.expect(page.locator("#queue-info")).to_contain_text("2 unggahan menunggu")
        assert len(held) == 1
        held[0].continue_()
        page.wait_for_timeout(500)
        sync_api.expect(page.locator("#queue-info")).to_contain_text("2 unggahan menunggu")
        page.keyboard.press("a")  # the shortcuts still act on the post shown
        sync_api.expect(page.locator("#saved-list li")).to_have_count(1)


def test_the_page_fits_a_phone_screen(server: Server) -> None:
    """At a phone's width nothing runs off the side: the list of officials to add as a tag holds
    long names, and a select sized to its widest option widened the page beyond the screen."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with review_page(server) as page:
        sync_api.expect(page.locator("#post")).to_be_visible()
        page.set_viewport_size({"width": 390, "height": 844})
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth,"
            " document.getElementById('c-add-tag').getBoundingClientRect().right]"
        )
        page_width, screen_width, select_right = widths
        assert page_width <= screen_width, widths
        assert select_right <= screen_width, widths
