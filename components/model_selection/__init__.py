"""Model selection: push whichever of the GC and the baseline model is better, if it is good enough.

`rules` holds the decision (pure Python), `predictions` and `serving_model` the only inference it needs (McNemar's
paired predictions, the serving model's score), `component` is the TFX step; the record it leaves is
`results.selection`. Importing the package loads none of them.
"""
