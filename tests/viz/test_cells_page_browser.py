"""The cell page in a real headless Chromium (tests/viz/conftest.py's `browser`): it loads from
file:// without console errors, draws a non-blank page, re-colours the text when another cell,
quantity or layer is chosen, shows exact values on hover, and ranks first the "quote" cell of a
hand-wired LSTM (Karpathy et al. 2015, Sec. 4.1) both in Python and in the page."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch

from lstmkit.nn import LSTM
from lstmkit.viz.cells_page import write_cell_page
from lstmkit.viz.features import compute_features, rank_cells
from lstmkit.viz.saturation import gate_saturation
from lstmkit.viz.trace import record

VOCAB = ["b", "c", '"', " "]
QUOTE_UNIT = 2
HIDDEN = 4


def _quote_text(seed: int = 0, words: int = 90) -> str:
    """Words of b/c with some runs of words in double quotes, not starting inside one."""
    rng = np.random.default_rng(seed)
    out, inside = ["bc cb"], False
    for _ in range(words):
        word = "".join(rng.choice(["b", "c"], size=int(rng.integers(1, 5))))
        if rng.random() < 0.25:
            word = ('"' + word) if not inside else (word + '"')
            inside = not inside
        out.append(word)
    if inside:
        out[-1] += '"'
    return " ".join(out)


def _quote_lstm(seed: int = 0) -> LSTM:
    """Unit QUOTE_UNIT's cell flips sign at every double quote and holds its value elsewhere.

    On a quote, i = sigmoid(10) ~ 1 and f = sigmoid(-10) ~ 0, so c becomes the candidate
    g = tanh(3 - 10 h_prev): +1 when h_prev <= 0 (an opening quote), -1 when h_prev = tanh(1)
    (a closing one). On other characters i ~ 0 and f ~ 1 keep c. The other units have small
    random weights and do not see this unit, so only it tracks the quotes.
    """
    torch.manual_seed(seed)
    lstm = LSTM(len(VOCAB), HIDDEN, batch_first=True)
    k, H, q = QUOTE_UNIT, HIDDEN, VOCAB.index('"')
    rows = {"i": k, "f": H + k, "g": 2 * H + k, "o": 3 * H + k}
    with torch.no_grad():
        for p in lstm.parameters():
            p.mul_(0.5)
        lstm.weight_hh_l0[:, k] = 0.0
        for row in rows.values():
            lstm.weight_ih_l0[row] = 0.0
            lstm.weight_hh_l0[row] = 0.0
            lstm.bias_ih_l0[row] = 0.0
            lstm.bias_hh_l0[row] = 0.0
        lstm.weight_ih_l0[rows["i"], q], lstm.bias_ih_l0[rows["i"]] = 20.0, -10.0
        lstm.weight_ih_l0[rows["f"], q], lstm.bias_ih_l0[rows["f"]] = -20.0, 10.0
        lstm.weight_hh_l0[rows["g"], k], lstm.bias_ih_l0[rows["g"]] = -10.0, 3.0
        lstm.bias_ih_l0[rows["o"]] = 10.0
    return lstm


def _one_hot(text: str) -> torch.Tensor:
    ids = torch.tensor([[VOCAB.index(ch) for ch in text]])
    return torch.nn.functional.one_hot(ids, len(VOCAB)).float()


@pytest.fixture(scope="module")
def quote_page(tmp_path_factory):
    text = _quote_text()
    traces = record(_quote_lstm(), _one_hot(text))
    path = write_cell_page(tmp_path_factory.mktemp("quote") / "cells.html", text, traces,
                           saturation=gate_saturation(traces))
    return path, text, traces


@pytest.fixture(scope="module")
def stacked_page(tmp_path_factory):
    text = "ROMEO:\nShe said \"(yes)\"; he\tdid not.\n\nJULIET:\nAy, me! \u00e9\U0001f600 ok\n" * 3
    vocab = sorted(set(text))
    torch.manual_seed(1)
    lstm = LSTM(len(vocab), 6, num_layers=2, batch_first=True)
    x = torch.nn.functional.one_hot(torch.tensor([[vocab.index(ch) for ch in text]]), len(vocab)).float()
    traces = record(lstm, x)
    path = write_cell_page(tmp_path_factory.mktemp("stacked") / "cells.html", text, traces)
    return path, text, traces


def _backgrounds(browser) -> list[str]:
    return browser.js("return Array.from(document.querySelectorAll('#text span'), "
                      "s => getComputedStyle(s).backgroundColor);")


def _set_cell(browser, unit: int) -> None:
    """Type the cell number over the box's content, as a user would, then leave the box."""
    from selenium.webdriver.common.keys import Keys

    box = browser.driver.find_element("id", "unit")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(unit), Keys.TAB)


def _expected_colour(d: float) -> tuple[int, ...]:
    """The page's diverging scale: white at 0 to rgb(178, 24, 43) at +1, rgb(33, 102, 172) at -1."""
    end = (178, 24, 43) if d >= 0 else (33, 102, 172)
    a = min(1.0, abs(d))
    return tuple(round(255 + (e - 255) * a) for e in end)


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(v) for v in css[css.index("(") + 1 : css.index(")")].split(","))


def test_the_quote_cell_is_ranked_first_in_python(quote_page):
    _, text, traces = quote_page
    c = traces[0]["c"][0]
    inside = compute_features(text)["in_quotes"].astype(bool)
    assert (c[inside, QUOTE_UNIT] > 0.99).all() and (c[~inside & (np.cumsum(inside) > 0), QUOTE_UNIT] < -0.99).all()
    best = rank_cells(c, compute_features(text))[0]
    assert (best.feature, best.unit) == ("in_quotes", QUOTE_UNIT) and best.correlation > 0.95


def test_page_loads_without_console_errors_and_ranks_the_quote_cell_first(browser, quote_page):
    path, text, traces = quote_page
    browser.open(path)
    assert browser.severe() == []
    assert browser.js("return document.querySelectorAll('#text span').length") == len(text)
    first = browser.js("return Array.from(document.querySelector('#ranking tbody tr').cells, c => c.textContent)")
    assert first[1:3] == ["in_quotes", str(QUOTE_UNIT)] and float(first[3]) > 0.95
    assert browser.driver.find_element("id", "unit").get_attribute("value") == str(QUOTE_UNIT)  # starts there
    shown = np.array([_rgb(css) for css in _backgrounds(browser)])
    expected = np.array([_expected_colour(d) for d in np.tanh(traces[0]["c"][0, :, QUOTE_UNIT])])
    assert np.abs(shown - expected).max() <= 1  # tanh(c), coloured as documented
    inside = compute_features(text)["in_quotes"].astype(bool)
    assert (shown[inside, 0] > 190).all() and (shown[inside, 2] < 100).all()  # red inside the quotes
    assert browser.js("return document.querySelectorAll('#saturation circle[fill-opacity]').length") == 3 * HIDDEN


def test_screenshot_is_not_blank(browser, quote_page):
    try:
        from PIL import Image  # Pillow comes with matplotlib (the apps extra)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("decoding the screenshot needs Pillow (pip install pillow)")
    browser.open(quote_page[0])
    image = Image.open(io.BytesIO(browser.driver.get_screenshot_as_png())).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24)
    assert len(colours) > 100
    assert max(n for n, _ in colours) < 0.95 * image.width * image.height  # not one flat colour
    assert browser.severe() == []


def test_choosing_a_cell_quantity_or_layer_recolours_the_text(browser, stacked_page):
    from selenium.webdriver.support.ui import Select

    path, text, traces = stacked_page
    browser.open(path)
    assert browser.js("return document.querySelectorAll('#text span').length") == len(text)  # code points
    before = _backgrounds(browser)
    assert len(set(before)) > 5
    other = (int(browser.driver.find_element("id", "unit").get_attribute("value")) + 1) % 6
    _set_cell(browser, other)
    after = _backgrounds(browser)
    assert after != before
    browser.driver.find_element("id", "next").click()
    assert browser.driver.find_element("id", "unit").get_attribute("value") == str((other + 1) % 6)
    assert _backgrounds(browser) != after
    quantity = Select(browser.driver.find_element("id", "quantity"))
    assert [o.text for o in quantity.options] == ["i", "f", "g", "o", "tanh(c)", "h"]
    colours = _backgrounds(browser)
    quantity.select_by_value("f")
    assert _backgrounds(browser) != colours
    colours = _backgrounds(browser)
    Select(browser.driver.find_element("id", "layer")).select_by_index(1)
    assert _backgrounds(browser) != colours
    assert Select(browser.driver.find_element("id", "quantity")).first_selected_option.get_attribute("value") == "f"
    assert browser.severe() == []


def test_clicking_a_ranked_row_shows_its_cell_and_hover_shows_the_value(browser, stacked_page):
    from selenium.webdriver.common.action_chains import ActionChains

    path, text, traces = stacked_page
    browser.open(path)
    rows = browser.driver.find_elements("css selector", "#ranking tbody tr")
    assert len(rows) == 10
    target = rows[3]
    unit, feature = int(target.get_attribute("data-unit")), target.get_attribute("data-feature")
    target.click()
    assert browser.driver.find_element("id", "unit").get_attribute("value") == str(unit)
    assert browser.driver.find_element("id", "feature").get_attribute("value") == feature
    assert "current" in browser.driver.find_elements("css selector", "#ranking tbody tr")[3].get_attribute("class")
    t = text.index("yes")
    span = browser.driver.find_elements("css selector", "#text span")[t]
    ActionChains(browser.driver).move_to_element(span).perform()
    tip = browser.driver.find_element("id", "tooltip")
    assert tip.is_displayed()
    c = traces[0]["c"][0, t, unit]
    assert f"c[{unit}] = {c:.3f}" in tip.text and f"tanh(c) = {np.tanh(c):.3f}" in tip.text
    assert '"y"' in tip.text and "in_quotes = 1" in tip.text and "in_parens = 1" in tip.text
    assert browser.severe() == []
