"""What the bert_gpt scene needs of the one-stack families (`model/families.py`): their parameter
counts, and the published sizes of the famous models they stand for. (Their vocabularies: `words.py`.)"""

from __future__ import annotations

import numpy as np


def parameter_count(trace) -> int:
    """How many numbers the model learned: the sum of the sizes of the trace's parameters (`param.*`)."""
    return int(sum(np.asarray(trace.param(n)).size for n in trace.param_names))


def readable_count(n: float) -> str:
    """12345 → "12 thousand", 110e6 → "110 million", 175e9 → "175 billion" (a count as a listener hears it)."""
    for size, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if n >= size:
            v = n / size
            return f"{v:.0f} {word}" if v >= 10 else f"{v:.1f} {word}"
    return f"{int(n)}"


# Published sizes, cited (not tensor values: they are drawn as plain labels, never as traced numbers).
FAMOUS = {
    "bert": ("BERT-base", 110e6, "Devlin et al., 2018"),
    "gpt": ("GPT-3", 175e9, "Brown et al., 2020"),
    "translator": ("Transformer (base)", 65e6, "Vaswani et al., 2017"),
}

# The families, for the closing map: (family, how it attends, members).
FAMILY_MAP = (
    ("Encoder only", "full mask: reads both ways", ("BERT", "RoBERTa", "ALBERT", "DistilBERT")),
    ("Decoder only", "causal mask: writes left to right", ("GPT", "GPT-2", "GPT-3", "LLaMA")),
    ("Encoder\u2013decoder", "full, then causal + cross-attention", ("Transformer", "T5", "BART", "mBART")),
)
