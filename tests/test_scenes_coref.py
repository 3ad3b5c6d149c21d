"""The coreference scene's pieces of the kit: the fold that keeps chosen columns, the head whose row moves
most between two traces, and the decoder row that writes the pronoun."""

from __future__ import annotations

import numpy as np

from model.coref import pronoun_row
from scenes.kit.choose import moving_head
from scenes.kit.components import fold_keeping


def test_the_pronoun_row_is_the_one_reading_qu():
    tokens = ["<bos>", "le", "canard", "ne", "pousse", "pas", "la", "table", "parce", "qu'", "elle", "est"]
    assert pronoun_row(tokens) == 9 and tokens[pronoun_row(tokens) + 1] == "elle"
    assert pronoun_row(["<bos>", "le", "chat", "dort"]) is None


# ----------------------------------------------------------------------------- the kit pieces it added
def test_fold_keeping_keeps_the_words_that_matter():
    assert fold_keeping(10, 12, [3]) == list(range(10))
    shown = fold_keeping(21, 12, [1, 9, 15, 16, 19])
    assert len(shown) <= 12 and {1, 9, 15, 16, 19} <= set(shown)
    numbers = [i for i in shown if i is not None]
    assert numbers == sorted(numbers)
    # a ⋯ wherever indices are skipped, and only there
    for x, y in zip(shown, shown[1:]):
        if x is not None and y is not None:
            assert y == x + 1
    assert (shown[0] is None) == (0 not in numbers) and (shown[-1] is None) == (20 not in numbers)


def test_moving_head_picks_the_row_that_changes_most():
    rows = np.full((2, 2, 4), 0.25)
    other = rows.copy()
    other[1, 0] = [0.7, 0.1, 0.1, 0.1]  # total variation 0.45
    other[0, 1] = [0.35, 0.15, 0.25, 0.25]  # 0.1
    assert moving_head(rows, other) == (1, 0) == moving_head(other, rows)
