"""The report's Data section: images per split and class, rejected files and why, StatisticsGen's highlights,
ExampleValidator's anomalies."""

from report import charts, formatting
from report.html_elements import cell, escape, figure, note, table
from report.report_data import REJECTED_ROWS_SHOWN, ReportData, in_split_order

OUTSIDE_SPLITS = "outside train/ and test/"


def _ingestion_table(data: ReportData) -> str:
    ingested = in_split_order(data.ingestion.ingested)
    rejected = data.ingestion.rejected
    class_names = sorted({name for by_class in ingested.values() for name in by_class})
    rows, row_classes = [], []
    for split, by_class in ingested.items():
        rows.append([cell(split)]
                    + [cell(formatting.count(by_class.get(name, 0)), numeric=True) for name in class_names]
                    + [cell(formatting.count(sum(by_class.values())), numeric=True),
                       cell(formatting.count(sum(rejected.get(split, {}).values())), numeric=True)])
        row_classes.append("")
    outside = sum(sum(by_class.values()) for split, by_class in rejected.items() if split not in ingested)
    if outside:  # e.g. DATA/README.txt: rejected without a split
        rows.append([cell(OUTSIDE_SPLITS)] + [cell("") for _ in class_names]
                    + [cell(""), cell(formatting.count(outside), numeric=True)])
        row_classes.append("")
    class_totals = [sum(by_class.get(name, 0) for by_class in ingested.values()) for name in class_names]
    rows.append([cell("all")] + [cell(formatting.count(total), numeric=True) for total in class_totals]
                + [cell(formatting.count(data.ingestion.ingested_total), numeric=True),
                   cell(formatting.count(data.ingestion.rejected_total), numeric=True)])
    row_classes.append("primary")
    return table(["split"] + class_names + ["ingested", "rejected"], rows,
                 numeric=tuple(range(1, len(class_names) + 3)), row_classes=row_classes)


def _rejected_files(data: ReportData) -> str:
    total = data.ingestion.rejected_total
    if total == 0:
        return "<h3>Rejected files</h3><p>No file was rejected.</p>"
    rows = [[cell(row["path"], css_class="path"), cell(row["split"] or "none"), cell(row["reason"])]
            for row in data.rejected_rows]
    parts = [f"<h3>Rejected files ({escape(formatting.count(total))})</h3>",
             table(["file (relative to the data folder)", "split", "why"], rows)]
    if total > len(data.rejected_rows):
        parts.append(note(f"The first {REJECTED_ROWS_SHOWN} are shown; all {total:,} are in {data.rejected_csv}."))
    else:
        parts.append(f"<p>Also listed in {escape(data.rejected_csv)}.</p>")
    return "".join(parts)


def _statistics(data: ReportData) -> str:
    parts = ["<h3>Statistics (StatisticsGen)</h3>"]
    if data.statistics is None:
        return "".join(parts) + note(f"No statistics: {data.notes.get('statistics')}.", warning=True)
    class_names = sorted({name for split in data.statistics for name in (split.class_counts or {})})
    rows = []
    for split in data.statistics:
        counts = split.class_counts or {}
        missing = ", ".join(f"{name}: {count}" for name, count in split.examples_missing.items()) or "none"
        rows.append([cell(split.split), cell(formatting.count(split.examples), numeric=True)]
                    + [cell(formatting.count(counts.get(name)), numeric=True) for name in class_names]
                    + [cell(formatting.byte_size(split.mean_image_bytes), numeric=True),
                       cell(formatting.count(split.distinct_images), numeric=True), cell(missing)])
    parts.append(table(["split", "examples"] + [f"label {name}" for name in class_names]
                       + ["mean encoded image", "distinct images", "examples missing a value"], rows,
                       numeric=tuple(range(1, len(class_names) + 4))))
    ingested = data.ingestion.ingested
    mismatched = [split.split for split in data.statistics
                  if split.split in ingested and split.examples != sum(ingested[split.split].values())]
    duplicated = [split.split for split in data.statistics
                  if split.distinct_images is not None and split.distinct_images < split.examples]
    if mismatched:
        parts.append(note(f"StatisticsGen counted a different number of examples than ImageExampleGen ingested in "
                          f"{', '.join(mismatched)}.", warning=True))
    if duplicated:
        parts.append(note(f"Some images occur more than once (byte-identical) in {', '.join(duplicated)}.",
                          warning=True))
    return "".join(parts)


def _anomalies(data: ReportData) -> str:
    parts = ["<h3>Anomalies (ExampleValidator against the curated schema)</h3>"]
    if data.anomalies is None:
        return "".join(parts) + note(f"No anomalies report: {data.notes.get('anomalies')}.", warning=True)
    found = {split: anomalies for split, anomalies in data.anomalies.items() if anomalies}
    if not found:
        return "".join(parts) + f"<p>None in {escape(', '.join(data.anomalies))}.</p>"
    rows = [[cell(split), cell(anomaly.feature), cell(anomaly.short_description), cell(anomaly.description)]
            for split, anomalies in found.items() for anomaly in anomalies]
    return "".join(parts) + table(["split", "feature", "anomaly", "details"], rows)


def data_section(data: ReportData) -> str:
    """The section, headed `<h2 id="data">`."""
    ingested = in_split_order(data.ingestion.ingested)
    return "".join([
        '<h2 id="data">Data</h2>',
        f"<p>Images ingested by ImageExampleGen from {escape(data.ingestion.data_folder)}. The eval split "
        f"(validation during training: {escape(data.ingestion.eval_percent)} % of train/, chosen by "
        f"file-name hash) is carved from train/; the test split is never seen in training.</p>",
        _ingestion_table(data),
        figure(charts.class_balance(ingested), "Images per split and class, as ingested."),
        _rejected_files(data),
        _statistics(data),
        _anomalies(data),
    ])
