#!/usr/bin/env python3
"""Drives the dashboard of a running `kasvu central serve` in headless Chromium (Selenium and
Debian's chromedriver), as the central office would: signs in with an admin token, opens every
page, reads every table's cells (their data-value attributes), sorts a table by clicking its
header, opens an issued invoice, downloads a CSV through the browser, runs the axe-core
accessibility check on each page, signs out. Saves a screenshot of each page in --artefacts.

Prints one JSON object on stdout: {"pages": {name: {"tables": {id: [row…]}, "title": …}},
"invoice": …, "csv": text, "sorted": […], "violations": [...], "afterSignOut": url}.
Exits non-zero only when the browser cannot be driven; the Swift test judges the results.
"""
import argparse
import json
import pathlib
import sys
import time

from axe_core_python.selenium import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as arrived
from selenium.webdriver.support.ui import WebDriverWait

PAGES = ["caseload", "funnel", "outcomes", "invoices", "replicas", "conflicts"]
# WCAG 2.1 A and AA: labels, headings and structure, colour contrast among them.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}


def tables(driver, shown_differently=None):
    """Each table's rows as {column key: data-value}. A number whose shown text is not its
    data-value is listed in shown_differently: the figures compared are the figures shown."""
    found = {}
    for table in driver.find_elements(By.CSS_SELECTOR, "table[id]"):
        rows = []
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr"):
            cells = row.find_elements(By.CSS_SELECTOR, "td[data-key]")
            if cells:
                rows.append({cell.get_attribute("data-key"): cell.get_attribute("data-value") for cell in cells})
            for cell in cells:
                if shown_differently is not None and "num" in (cell.get_attribute("class") or "") and cell.text != cell.get_attribute("data-value"):
                    shown_differently.append([table.get_attribute("id"), cell.get_attribute("data-key"), cell.text, cell.get_attribute("data-value")])
        found[table.get_attribute("id")] = rows
    return found


def accessibility(driver, page, violations):
    result = Axe().run(driver, options=AXE_OPTIONS)
    for violation in result["violations"]:
        violations.append({"page": page, "id": violation["id"], "impact": violation.get("impact"),
                           "nodes": [node["html"][:200] for node in violation["nodes"][:3]]})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--artefacts", required=True)
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    artefacts = pathlib.Path(args.artefacts)
    downloads = artefacts / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100",
                 f"--lang={args.language}", "--no-first-run", "--disable-extensions", "--disable-background-networking"]:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    out = {"pages": {}, "violations": [], "shownDifferently": []}
    try:
        driver.get(args.url + "/?lang=" + args.language)
        out["signInUrl"] = driver.current_url
        accessibility(driver, "login", out["violations"])
        driver.save_screenshot(str(artefacts / "login.png"))
        driver.find_element(By.ID, "token").send_keys(args.token)
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
        # A click does not wait for the page it leads to: wait for it (bounded).
        wait = WebDriverWait(driver, 30)
        wait.until(arrived.url_changes(out["signInUrl"]))
        out["afterSignIn"] = driver.current_url

        for page in PAGES:
            driver.get(f"{args.url}/{page}")
            out["pages"][page] = {"url": driver.current_url, "title": driver.title,
                                  "h1": driver.find_element(By.TAG_NAME, "h1").text,
                                  "charts": len(driver.find_elements(By.CSS_SELECTOR, "figure.chart svg")),
                                  "chartValues": [t.text for t in driver.find_elements(By.CSS_SELECTOR, "figure.chart svg text.value")],
                                  "warnings": [p.text for p in driver.find_elements(By.CSS_SELECTOR, ".warnings p")],
                                  "tables": tables(driver, out["shownDifferently"])}
            accessibility(driver, page, out["violations"])
            driver.save_screenshot(str(artefacts / f"{page}.png"))

        # Sorting: click the header of the caseload's "active" column twice (ascending, then descending).
        driver.get(f"{args.url}/caseload")
        out["sorted"] = {}
        for order in ["asc", "desc"]:
            driver.find_element(By.CSS_SELECTOR, "table#caseload th[data-key=active] a").click()
            wait.until(arrived.url_contains(f"dir={order}"))
            out["sorted"][order] = {"active": [row["active"] for row in tables(driver)["caseload"]],
                                    "aria": driver.find_element(By.CSS_SELECTOR, "table#caseload th[data-key=active]").get_attribute("aria-sort")}

        # The first issued invoice's printable page.
        driver.get(f"{args.url}/invoices")
        links = driver.find_elements(By.CSS_SELECTOR, "table#invoices td[data-key=number] a")
        if links:
            links[0].click()
            wait.until(arrived.url_contains("/invoices/"))
            out["invoice"] = {"url": driver.current_url, "h1": driver.find_element(By.TAG_NAME, "h1").text,
                              "facts": {dd.get_attribute("data-key"): dd.text for dd in driver.find_elements(By.CSS_SELECTOR, "dl.facts dd")},
                              "tables": tables(driver)}
            accessibility(driver, "invoice", out["violations"])
            driver.save_screenshot(str(artefacts / "invoice.png"))

        # A CSV downloaded by the browser itself, from the caseload page's link.
        driver.get(f"{args.url}/caseload")
        driver.find_element(By.CSS_SELECTOR, "a.csv[href*='table=caseload']").click()
        target = downloads / "caseload-caseload.csv"
        for _ in range(300):  # a download of a few hundred bytes; bounded at 30 s
            if target.exists() and target.stat().st_size > 0 and not (downloads / "caseload-caseload.csv.crdownload").exists():
                break
            time.sleep(0.1)
        out["csv"] = target.read_bytes().decode("utf-8") if target.exists() else None  # bytes: keep the CRLF line ends

        # The other language.
        driver.get(f"{args.url}/caseload?lang=fi")
        out["finnishH1"] = driver.find_element(By.TAG_NAME, "h1").text
        out["htmlLang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
        driver.get(f"{args.url}/caseload?lang={args.language}")

        driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
        wait.until(arrived.url_contains("/login"))
        driver.get(f"{args.url}/caseload")
        out["afterSignOut"] = driver.current_url
    finally:
        driver.quit()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
