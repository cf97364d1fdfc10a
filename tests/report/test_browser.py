"""report.html of a real run in headless Chromium (Debian's package, driven by Playwright):
no console errors, charts drawn, the table filters, sorts and explains, hostile text is text.

Skipped, saying why, only when no Chromium binary or no Playwright can be found
(`make browser` installs Chromium; Playwright comes with the `browser` extra).
"""

from __future__ import annotations

import os
import shutil

import pytest
from click.testing import CliRunner

from claims_audit.cli.main import main
from tests.conftest import SAMPLE
from tests.report.conftest import CLAIMS, HOSTILE_CODE, RUN_ARGS, SCRIPT_CLAIM

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    candidates = [
        os.environ.get("CLAIMS_AUDIT_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install '.[browser]')"
    )
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found at /usr/bin/chromium or on PATH (run `make browser`)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory, hostile_csv):
    """Two real runs: the sample, then the changed extract plus the hostile lines against it
    (--baseline, --suppress), so every section and chart of the report is there."""
    root = tmp_path_factory.mktemp("demo")
    runner = CliRunner()
    first = runner.invoke(main, ["run", str(CLAIMS), *RUN_ARGS, "--out", str(root / "one")])
    assert first.exit_code == 1, first.output
    second = runner.invoke(
        main,
        [
            "run",
            str(SAMPLE / "changed" / "claims.csv"),
            str(hostile_csv),
            *RUN_ARGS,
            "--out",
            str(root / "two"),
            "--baseline",
            str(root / "one"),
            "--suppress",
            str(SAMPLE / "changed" / "suppress.csv"),
        ],
    )
    assert second.exit_code == 1, second.output
    return root / "two" / "report.html"


@pytest.fixture
def page(browser, demo_report):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on(
        "request",
        lambda r: (
            problems.append(f"request: {r.url}")
            if not r.url.startswith(("file:", "data:"))
            else None
        ),
    )
    page.goto(demo_report.as_uri())
    page.wait_for_selector("#ft tbody tr")
    page.problems = problems
    yield page
    page.close()


def _cells(page, column: str) -> list[str]:
    """The text of one column of the table's visible rows."""
    return page.evaluate(
        """(key) => {
            const i = [...document.querySelectorAll('#ft thead th')]
                .findIndex(th => th.dataset.k === key);
            return [...document.querySelectorAll('#ft tbody tr')]
                .map(tr => tr.children[i].textContent);
        }""",
        column,
    )


def test_browser_report_loads_without_console_errors(page, tmp_path, capsys):
    assert page.title().startswith("claims-audit report")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    with capsys.disabled():
        print(f"\nreport screenshot: {shot}")
    assert page.problems == []


def test_browser_charts_render_as_svg(page):
    charts = page.evaluate(
        """() => [...document.querySelectorAll('figure.chart')].map(f => {
            const svg = f.querySelector('svg');
            const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return [f.id, box.width, box.height, svg ? svg.querySelectorAll('rect.bar').length : 0];
        })"""
    )
    names = [c[0] for c in charts]
    assert names == [
        "chart-by_rule",
        "chart-impact_by_code",
        "chart-by_payer",
        "chart-trend",
        "chart-rule_change",
    ]
    for name, width, height, marks in charts:
        assert width > 200 and height > 50 and marks >= 2, name


def test_browser_rule_chart_adds_up_to_the_headline(page):
    totals = page.evaluate(
        """() => [...document.querySelectorAll('#chart-by_rule text.total')]
            .map(t => Number(t.textContent.replace(/,/g, '')))"""
    )
    headline = page.text_content("#headline .sentence").split(" findings")[0]
    assert sum(totals) == int(headline.replace(",", "")) > 50


def test_browser_filter_by_rule_shows_only_that_rule(page):
    page.select_option("#f-rule", "C001")
    rules = _cells(page, "rule_code")
    assert rules == ["C001"] * 4  # 2 of the changed sample + the two hostile lines
    assert page.text_content("#f-count").startswith("4 of ")
    page.click("#f-clear")
    assert len(_cells(page, "rule_code")) > 4


def test_browser_filter_by_status_new_and_severity(page):
    page.select_option("#f-status", "new")
    page.select_option("#f-sev", "warning")
    assert set(_cells(page, "status")) == {"new"}
    assert set(_cells(page, "severity")) == {"warning"}


def test_browser_hostile_values_show_as_text(page):
    page.fill("#f-q", "alert(")
    claims = _cells(page, "claim_id")
    codes = _cells(page, "hcpcs_code")
    assert SCRIPT_CLAIM in claims
    assert HOSTILE_CODE.upper() in codes
    injected = page.evaluate("() => document.querySelectorAll('#ft script, #ft img').length")
    assert injected == 0
    assert page.problems == []  # no alert dialog, no error


def test_browser_rule_code_click_explains_rule(page):
    page.select_option("#f-rule", "U004")
    page.click("#ft tbody td.rule-link >> nth=0")
    dialog = page.locator("dialog#explain")
    assert dialog.is_visible()
    assert page.text_content("#x-title") == "U004 unit-of-measure-slip"
    assert "What it checks" in page.text_content("#x-body")
    page.click("#x-close")
    assert not dialog.is_visible()


def test_browser_sort_by_impact(page):
    page.click('#ft th[data-k="impact_usd"]')  # first click: largest first
    values = [float(v.replace("$", "").replace(",", "")) for v in _cells(page, "impact_usd") if v]
    assert values == sorted(values, reverse=True) and len(values) > 5


@pytest.fixture(scope="module")
def capped_report(tmp_path_factory, sample_result):
    """The sample's report with the table cut to 30 rows: each rule keeps its top findings."""
    from claims_audit.report.html import render_html

    path = tmp_path_factory.mktemp("capped") / "report.html"
    path.write_text(render_html(sample_result, max_rows=30), encoding="utf-8")
    return path


def test_browser_capped_table_reaches_every_rule_and_says_how_many_more(
    browser, capped_report, sample_result
):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(capped_report.as_uri())
    page.wait_for_selector("#ft tbody tr")
    counts = sample_result.findings["rule_code"].value_counts()
    options = page.evaluate(
        "() => [...document.querySelectorAll('#f-rule option')].map(o => o.value).filter(v => v)"
    )
    assert options == sorted(counts.index)  # every rule, not only those in the table
    code = counts.index[0]  # the rule with the most findings: cut short
    page.select_option("#f-rule", code)
    shown = _cells(page, "rule_code")
    assert shown and set(shown) == {code} and len(shown) < counts[code]
    note = page.text_content("#f-count")
    assert f"{counts[code] - len(shown):,} more findings of {code} are in findings.csv" in note
    assert errors == []
    page.close()
