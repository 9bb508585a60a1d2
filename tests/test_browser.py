"""The workbook as a learner uses it: JupyterLab in a real browser (headless Chromium driven by
Playwright). A notebook opens and runs, a slider of the output-size explorer moves, and the
displayed result changes. Screenshots go to test-artifacts/.

Needs Debian's chromium at /usr/bin/chromium (``make browser-deps``) and Playwright's Python
package; the test is skipped, saying which is missing, where they cannot be installed.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
NOTEBOOK = "02_spatial_arrangement.ipynb"

# JupyterLab settings for a quiet, deterministic page: render every cell (no windowing, so
# widgets below the fold exist in the page) and do not ask about news.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _requirements() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (`make browser-deps`) to run "
                    "the browser test")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright's Python package is not installed (pip install -e '.[dev]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: ``url(name)`` opens notebook ``name`` of its folder ``root``."""

    def __init__(self, root: Path, port: int, token: str) -> None:
        self.root, self.port, self.token = root, port, token

    def url(self, name: str) -> str:
        """A workspace of its own, reset: no tab of an earlier test is reopened beside it."""
        workspace = Path(name).stem.replace(".", "-")
        return (f"http://127.0.0.1:{self.port}/lab/workspaces/{workspace}/tree/{name}"
                f"?reset&token={self.token}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free localhost port with a random token, serving a copy of the
    notebook with its stored outputs removed (everything shown comes from this run); the
    explorer tests add their own small notebooks to its folder."""
    _requirements()
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, root / NOTEBOOK)
    settings = root / ".lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(root / ".lab-workspaces"))
    log = open(root / "jupyterlab.log", "w")
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n"
                                + (root / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield Lab(root, port, token)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _record(what: str, cases: dict[str, float]) -> None:
    """Add timings (ms) to test-artifacts/browser-timings.json, which bench_viz.py reports."""
    path = ARTIFACTS / "browser-timings.json"
    recorded = json.loads(path.read_text()) if path.exists() else {}
    recorded.setdefault(what, {}).update({case: round(ms, 1) for case, ms in cases.items()})
    path.write_text(json.dumps(recorded, indent=1) + "\n")


@contextlib.contextmanager
def _browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _open_and_run_all(page, url: str) -> None:
    """Open a notebook, wait for its kernel, then Run > Run All Cells."""
    from playwright.sync_api import expect

    page.goto(url)
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    idle = page.locator(".jp-StatusBar-TextItem", has_text="Idle").first
    expect(idle).to_be_visible(timeout=60_000)
    page.click('.lm-MenuBar-item:has-text("Run")')
    page.click('li[data-command="runmenu:run-all"]')


def test_notebook_runs_and_the_output_size_explorer_responds(lab):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _open_and_run_all(page, lab.url(NOTEBOOK))
        expect(page.get_by_text("public tests passed: 5/5")).to_be_visible(timeout=240_000)
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                            ).count() == 0, "a cell wrote to stderr"
        assert page.get_by_text("Traceback").count() == 0

        explorer = page.locator(".widget-vbox", has_text="Output size: (W - F + 2P)/S + 1").first
        explorer.scroll_into_view_if_needed()
        output = explorer.locator(".widget-output")
        expect(output).to_contain_text("(5 - 3 + 2*1)/2 + 1 = 3")
        expect(output).to_contain_text("output volume: 3x3x2")
        page.screenshot(path=str(ARTIFACTS / "browser-01-notebook-ran.png"))
        explorer.screenshot(path=str(ARTIFACTS / "browser-02-explorer-stride-2.png"))

        # move the stride slider one step right with the keyboard: S = 2 -> 3 (invalid)
        stride = explorer.locator(".widget-slider", has=page.locator("label", has_text="stride S"))
        handle = stride.locator(".noUi-handle")
        handle.focus()
        start = time.perf_counter()
        handle.press("ArrowRight")
        expect(output).to_contain_text("7/3", timeout=10_000)
        invalid_ms = (time.perf_counter() - start) * 1e3
        expect(stride.locator(".widget-readout")).to_have_text("3")
        expect(output).to_contain_text("This setting does not work")
        expect(output).not_to_contain_text("output volume: 3x3x2")
        explorer.screenshot(path=str(ARTIFACTS / "browser-03-explorer-stride-3-invalid.png"))

        # back left, one press at a time: S = 2, then S = 1 (valid settings again)
        start = time.perf_counter()
        handle.press("ArrowLeft")
        expect(output).to_contain_text("(5 - 3 + 2*1)/2 + 1 = 3", timeout=10_000)
        back_ms = (time.perf_counter() - start) * 1e3
        handle.press("ArrowLeft")
        expect(output).to_contain_text("(5 - 3 + 2*1)/1 + 1 = 5", timeout=10_000)
        expect(output).to_contain_text("output volume: 5x5x2")
        expect(stride.locator(".widget-readout")).to_have_text("1")
        explorer.screenshot(path=str(ARTIFACTS / "browser-04-explorer-stride-1.png"))
    _record("output-size explorer, key press to new output shown (ms)",
            {"S 2 -> 3 (invalid)": invalid_ms, "S 3 -> 2 (valid)": back_ms})


# --------------------------------------------------------------------------------------------
# Every explorer, once, in a real browser: it renders, a control moves, the output changes.
# --------------------------------------------------------------------------------------------
# (name, the cell that shows it, a title word of the widget, the control's label, what to do
#  with it: a number of ArrowRight presses on a slider, or the option to pick in a menu,
#  a text the output shows afterwards or None)
EXPLORERS = [
    ("output-size-227", "viz.output_size_widget(W=224, F=11, S=4, P=0, C=3, K=96)",
     "Output size", "input W", 3, "55x55x96"),
    ("receptive-field", 'viz.receptive_field_widget(photo="astronaut", preset="three 3x3 (7x7 view)")',
     "Receptive", "row", 5, None),
    ("conv-stepper", "viz.conv_stepper_widget()", "", "output number", 1, None),
    ("im2col", "viz.im2col_widget()", "", "window (column)", 2, None),
    ("memory", "viz.memory_explorer_widget()", "Memory", "batch size", 1, None),
    ("pool-stepper", "viz.pool_stepper_widget()", "Pooling", "stride S", 1, None),
    ("score-map", "viz.score_map_widget()", "Score map", "crop col", 1, None),
    ("batchnorm", "viz.batchnorm_widget()", "Batch normalization", "training batches seen", 5, None),
    ("augmentation", "viz.augmentation_widget()", "Augmentation", "rotation", 5, None),
    ("strides", "viz.strides_widget()", "Strides", "result =", "x[:, ::2]", "strides(12, 8, 1)"),
    ("gradient-descent", "viz.gd_widget()", "gradient descent", "epochs", 1, None),
]


def _explorer_notebook(lab, name: str, cell: str) -> str:
    """Write a one-cell notebook showing an explorer into the lab's folder; its file name."""
    notebook = f"explore-{name}.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"from cs231n_lib import viz\n{cell}")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab.root / notebook)
    return notebook


def _slider(explorer, page, label: str):
    return explorer.locator(".widget-slider", has=page.locator("label", has_text=label)).first


@pytest.mark.parametrize("name, cell, title, label, presses, after", EXPLORERS,
                         ids=[case[0] for case in EXPLORERS])
def test_explorer_responds_in_the_browser(lab, name, cell, title, label, presses, after):
    from playwright.sync_api import expect

    notebook = _explorer_notebook(lab, name, cell)
    ARTIFACTS.mkdir(exist_ok=True)
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _open_and_run_all(page, lab.url(notebook))
        explorer = page.locator(".widget-vbox", has=page.locator(".widget-output")).filter(
            has_text=title).first
        expect(explorer).to_be_visible(timeout=120_000)
        output = explorer.locator(".widget-output").first
        expect(output.locator(".jp-OutputArea-output").first).to_be_visible(timeout=120_000)
        before = output.inner_html()     # text, or an image: what is drawn either way
        explorer.screenshot(path=str(ARTIFACTS / f"explorer-{name}-1-before.png"))
        start = time.perf_counter()
        if isinstance(presses, str):       # a menu: pick the option
            menu = explorer.locator(".widget-dropdown", has=page.locator("label", has_text=label))
            menu.locator("select").select_option(label=presses)
        else:
            handle = _slider(explorer, page, label).locator(".noUi-handle")
            handle.focus()
            for _ in range(presses):
                handle.press("ArrowRight")
        deadline = time.monotonic() + 20
        while output.inner_html() == before:
            assert time.monotonic() < deadline, f"moving {label!r} did not change the output"
            time.sleep(0.05)
        changed_ms = (time.perf_counter() - start) * 1e3
        if after:
            expect(output).to_contain_text(after, timeout=10_000)
        assert "Traceback" not in output.inner_text()
        explorer.screenshot(path=str(ARTIFACTS / f"explorer-{name}-2-after.png"))
    _record("explorers, slider key presses to a changed output (ms)", {name: changed_ms})


def test_hyperparameter_explorer_trains_live_and_stops(lab):
    """Press Train: the curves are redrawn while it trains; press Stop: training ends, the run
    stays in the table as stopped."""
    from playwright.sync_api import expect

    notebook = _explorer_notebook(lab, "hyperparams", "viz.hyperparams_widget(num_epochs=40)")
    ARTIFACTS.mkdir(exist_ok=True)
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _open_and_run_all(page, lab.url(notebook))
        train = page.locator(".cs231n-hyperparams-train")
        expect(train).to_be_visible(timeout=120_000)
        explorer = page.locator(".widget-vbox", has=train).first
        output = explorer.locator(".widget-output").first
        start = time.perf_counter()
        train.click()
        drawn, deadline, last = [], time.monotonic() + 60, output.inner_html()
        while len(drawn) < 3:       # three different pictures while it trains
            assert time.monotonic() < deadline, f"the curves changed {len(drawn)} times in 60 s"
            html = output.inner_html()
            if html != last:
                drawn.append(time.perf_counter() - start)
                last = html
            time.sleep(0.05)
        explorer.screenshot(path=str(ARTIFACTS / "explorer-hyperparams-1-training.png"))
        stop_clicked = time.perf_counter()
        explorer.locator(".cs231n-hyperparams-stop").click()
        expect(explorer.locator(".cs231n-runs")).to_contain_text("stopped", timeout=10_000)
        stopped_ms = (time.perf_counter() - stop_clicked) * 1e3
        explorer.screenshot(path=str(ARTIFACTS / "explorer-hyperparams-2-stopped.png"))
    _record("hyperparameter explorer in the browser (ms)", {
        "Train click to the first new picture": drawn[0] * 1e3,
        "between the first and the third picture": (drawn[2] - drawn[0]) * 1e3,
        "Stop click to 'stopped' in the runs table": stopped_ms})
