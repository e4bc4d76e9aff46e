"""Model selection: push whichever of the GC and the baseline model is better, if it is good enough.

`rules` holds the decision (pure Python), `selection_record` the record it leaves (`selection.json`),
`tfma_metrics` reads the Evaluator's output, `component` is the TFX step. Importing the package loads none of them.
"""
