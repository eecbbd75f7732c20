"""Offline stand-ins for the text corpora of the programs: short reviews / posts made of class
words and shared filler words, so a small model can learn them in a few epochs."""

from __future__ import annotations

import numpy as np

#: why the programs' end-to-end string models are xfail tests
STRING_INPUTS = ("missing feature: string inputs in a functional model (keras.Input(dtype='string') feeding "
                 "TextVectorization inside the graph, and fit/evaluate/predict/__call__ passing string arrays through)")

FILLER = "the a of and to is in it this that was for on with as movie film story one".split()
CLASS_WORDS = {
    "pos": "great wonderful superb moving brilliant loved enjoyable fine".split(),
    "neg": "awful boring terrible dull worst hated waste poor".split(),
    "comp.graphics": "render pixel shader polygon texture image 3d modeling".split(),
    "rec.autos": "engine car wheel brake gear drive tire motor".split(),
    "sci.space": "orbit rocket nasa launch planet moon shuttle star".split(),
}


def make_texts(class_names, n_per_class, seed=0, length=(20, 60), html=False):
    """``(texts, labels)``: ``n_per_class`` texts for each class, shuffled; with ``html`` some
    contain ``<br />`` and punctuation, as the IMDB reviews do."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, name in enumerate(class_names):
        for _ in range(n_per_class):
            n = int(rng.integers(*length))
            words = [str(rng.choice(CLASS_WORDS[name])) if rng.random() < 0.3 else str(rng.choice(FILLER))
                     for _ in range(n)]
            text = " ".join(words).capitalize() + "."
            if html:
                text = text.replace(" the ", " the<br />", 1).replace(" and ", ", and ", 1)
            texts.append(text)
            labels.append(label)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [labels[i] for i in order]


def write_text_folders(root, split, class_names, n_per_class, seed):
    """``root/split/<class>/<i>.txt``, the layout of aclImdb and of text_dataset_from_directory."""
    texts, labels = make_texts(class_names, n_per_class, seed=seed, html=True)
    for i, (text, label) in enumerate(zip(texts, labels)):
        folder = root / split / class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}_{label}.txt").write_text(text, encoding="utf-8")
