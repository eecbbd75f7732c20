"""The attention page in a real headless Chromium: it loads with no console errors, draws one
cell per weight coloured by it, switching the example redraws, and hovering shows the weight."""

from __future__ import annotations

import numpy as np

from lstmkit.viz.attention import write_attention_page


def test_attention_page_draws_and_switches_examples(browser, tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.random((2, 4, 5)).astype("float32")
    scores = raw / raw.sum(-1, keepdims=True)
    scores[1] = 0.2  # a flat second example
    page = write_attention_page(tmp_path / "a.html", [{"name": "attention", "scores": scores}], title="t")
    browser.open(page)
    assert browser.severe() == []
    cells = browser.js("return Array.from(document.querySelectorAll('#grid .cell')).map(c => c.style.background)")
    assert len(cells) == 20 and len(set(cells)) > 5  # one per weight, coloured by it
    browser.js("var s = document.getElementById('example'); s.value = '1'; s.dispatchEvent(new Event('change'));")
    flat = browser.js("return Array.from(document.querySelectorAll('#grid .cell')).map(c => c.style.background)")
    assert len(set(flat)) == 1 and flat != cells
    from selenium.webdriver.common.action_chains import ActionChains

    first = browser.driver.find_element("css selector", "#grid .cell")
    ActionChains(browser.driver).move_to_element(first).perform()
    tip = browser.js("return document.getElementById('tip').textContent")
    assert "query 0" in tip and "key 0" in tip and "weight 0.2" in tip
    assert browser.severe() == []
