"""End to end in headless Chromium: browser -> nginx -> gunicorn API."""

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
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def by_testid(driver, testid):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def test_page_shows_version_and_adds_and_removes_items(browser, web, api, svc_tmp):
    browser.get(web.url + "/")
    wait(browser, lambda d: by_testid(d, "version-number"))
    assert by_testid(browser, "version-number")[0].text == "1.2.3-test"
    assert by_testid(browser, "colour")[0].text == "green"
    assert not by_testid(browser, "outage")

    name = f"e2e-{uuid.uuid4().hex[:8]}"
    by_testid(browser, "new-item")[0].send_keys(name)
    by_testid(browser, "add")[0].click()
    wait(browser, lambda d: any(name in li.text for li in by_testid(d, "item")))
    stored = requests.get(api.url + "/api/items", params={"limit": 100}).json()["items"]
    item = next(i for i in stored if i["name"] == name)
    browser.save_screenshot(str(svc_tmp / "items.png"))

    by_testid(browser, f"remove-{item['id']}")[0].click()
    wait(browser, lambda d: not any(name in li.text for li in by_testid(d, "item")))
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
    alert = by_testid(browser, "outage")[0]
    assert alert.is_displayed()
    assert "The API is unavailable" in alert.text
    # the rest of the page is still rendered
    from selenium.webdriver.common.by import By

    assert browser.find_element(By.TAG_NAME, "h1").text == "seed.fargate"
    browser.save_screenshot(str(svc_tmp / "outage.png"))
    shutil.copy(svc_tmp / "outage.png", tempfile.gettempdir() + "/seed-e2e-outage.png")
