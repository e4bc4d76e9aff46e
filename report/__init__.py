"""The standalone HTML report of a local run: what people without a notebook need to review the Evaluator.

`build.build_report(output_root)` reads the latest run from ML Metadata and writes `report/index.html` (self-contained:
charts inline, no network requests) and `report/summary.json` (the same numbers for machines).
"""
