"""Warnings that mean nothing to a person starting StudyChat, silenced when the app starts.

On the first start the embedding model is exported to ONNX once (studychat/embedder.py), and
torch's exporter warns while it traces the model: TracerWarnings that the traced Python conditions
become constants (true for a fixed encoder) and a UserWarning about negative indices in advanced
indexing (the encoder uses none). They read like errors but change nothing, so `main()` hides
exactly these messages; every other warning is still shown.
"""

from __future__ import annotations

import warnings

# (message at the start of the warning, module that raises it): only these are hidden.
MEANINGLESS = (
    (r"Converting a tensor to a Python boolean might cause the trace to be incorrect", r"transformers\."),
    (r"Exporting aten::index operator of advanced indexing", r"torch\.onnx\."),
)


def silence_meaningless_warnings() -> None:
    """Hide the ONNX export's trace warnings (see the module's docstring); call it in `main()`."""
    for message, module in MEANINGLESS:
        warnings.filterwarnings("ignore", message=message, module=module)
