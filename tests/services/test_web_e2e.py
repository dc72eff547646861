"""End to end in headless Chromium: browser -> nginx -> API (granian)."""

from __future__ import annotations

import shutil
import tempfile
import uuid

import pytest
import requests

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail(
            "chromium/chromium-driver missing: run services/scripts/install-deps.sh"
        )
    profile = tempfile.mkdtemp(prefix="seed-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1000,800",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, timeout=15):
    """Poll ``condition`` until truthy. React re-renders the list on every poll
    (every 3 s) and after each click, so an element found in one poll can be
    gone in the next: a stale element means "not yet", never a failure."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.1,
        ignored_exceptions=[StaleElementReferenceException],
    ).until(condition)


def locator(testid):
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def by_testid(driver, testid):
    return driver.find_elements(*locator(testid))


def text_of(driver, testid) -> str:
    """The text of the first element with ``testid``, found afresh (waits for it)."""
    return wait(driver, lambda d: by_testid(d, testid) and by_testid(d, testid)[0].text)


def click(driver, testid) -> None:
    """Click the element with ``testid`` once it is enabled, finding it afresh on
    each try: a re-render between find and click only means "try again"."""
    from selenium.webdriver.support import expected_conditions as ec

    wait(driver, lambda d: ec.element_to_be_clickable(locator(testid))(d).click() or True)


def item_texts(driver) -> list[str]:
    """All list items' text in one DOM read inside the page, so a re-render
    cannot invalidate an element between finding it and reading it."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-testid=\"item\"]'),"
        " (li) => li.textContent)"
    )


def test_page_shows_version_and_adds_and_removes_items(browser, web, api, svc_tmp):
    browser.get(web.url + "/")
    assert text_of(browser, "version-number") == "1.2.3-test"
    assert text_of(browser, "colour") == "green"
    assert not by_testid(browser, "outage")

    name = f"e2e-{uuid.uuid4().hex[:8]}"
    wait(browser, lambda d: by_testid(d, "new-item")[0].send_keys(name) or True)
    click(browser, "add")
    wait(browser, lambda d: any(name in t for t in item_texts(d)))
    stored = requests.get(api.url + "/api/items", params={"limit": 100}).json()["items"]
    item = next(i for i in stored if i["name"] == name)
    browser.save_screenshot(str(svc_tmp / "items.png"))

    click(browser, f"remove-{item['id']}")
    wait(browser, lambda d: not any(name in t for t in item_texts(d)))
    assert requests.get(api.url + f"/api/items/{item['id']}").status_code == 404


def test_api_outage_shows_message_not_blank_page(
    browser, api_factory, nginx_factory, svc_tmp
):
    api = api_factory()
    web = nginx_factory(f"127.0.0.1:{api.port}")
    browser.get(web.url + "/")
    wait(browser, lambda d: by_testid(d, "version-number"))
    assert not by_testid(browser, "outage")

    api.stop()
    wait(browser, lambda d: by_testid(d, "outage"), timeout=15)
    assert wait(browser, lambda d: by_testid(d, "outage")[0].is_displayed())
    assert "The API is unavailable" in text_of(browser, "outage")
    # the rest of the page is still rendered
    from selenium.webdriver.common.by import By

    assert browser.find_element(By.TAG_NAME, "h1").text == "seed.fargate"
    browser.save_screenshot(str(svc_tmp / "outage.png"))
    shutil.copy(svc_tmp / "outage.png", tempfile.gettempdir() + "/seed-e2e-outage.png")
