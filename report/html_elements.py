"""The page's building blocks (escaped text, notes, figures, tables) and the stylesheet they rely on.

Every helper escapes what it is given, so text from the run (file names, reasons, paths) can never become markup.
"""
import html
from typing import Iterable, Mapping, Optional, Sequence

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.5; color: #1d1d1f; background: #fff; margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 8px; border-top: 1px solid #e3e3e3; }
h3 { font-size: 16px; margin: 22px 0 6px; }
.meta { color: #555; margin: 0 0 16px; }
nav a { margin-right: 14px; }
a { color: #0b5cad; }
.verdict { border-radius: 8px; padding: 14px 18px; margin: 16px 0; border: 1px solid; }
.verdict.pushed { background: #eef8f0; border-color: #8cc79a; }
.verdict.not-pushed { background: #fff6e5; border-color: #e5b55c; }
.verdict p { margin: 4px 0; }
.verdict .headline { font-size: 18px; font-weight: 600; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top; }
th { background: #f5f5f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.primary td { font-weight: 600; }
td.path { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px;
  word-break: break-all; max-width: 420px; }
.better-gc { color: #0072B2; font-weight: 600; }
.better-baseline { color: #D55E00; font-weight: 600; }
.note { background: #f6f6f6; border-left: 4px solid #b0b0b0; padding: 8px 12px; margin: 10px 0; }
.note.warning { background: #fff6e5; border-left-color: #e5a00d; }
figure { margin: 12px 0 18px; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 13px; margin-top: 4px; }
pre { background: #f5f5f7; padding: 10px 14px; border-radius: 6px; overflow-x: auto; font-size: 13px;
  white-space: pre-wrap; word-break: break-all; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
footer { color: #666; font-size: 13px; margin-top: 40px; border-top: 1px solid #e3e3e3; padding-top: 10px; }
"""


def escape(value: object) -> str:
    """Text or attribute value as HTML: quotes too, so it is safe inside attributes."""
    return html.escape(str(value), quote=True)


def note(message: str, warning: bool = False) -> str:
    """A boxed remark, e.g. why a chart is missing; `warning` for what a reviewer must not miss."""
    return f'<p class="note{" warning" if warning else ""}">{escape(message)}</p>'


def figure(data_uri: str, description: str) -> str:
    """An inline chart; its description is both the alt text and the caption."""
    return (f'<figure><img src="{escape(data_uri)}" alt="{escape(description)}">'
            f"<figcaption>{escape(description)}</figcaption></figure>")


def cell(content: object, numeric: bool = False, css_class: str = "",
         data_attributes: Optional[Mapping[str, object]] = None) -> str:
    """One `<td>`; `numeric` right-aligns it, `data_attributes` become `data-NAME` attributes (for machines)."""
    classes = " ".join(part for part in ("num" if numeric else "", css_class) if part)
    attributes = f' class="{escape(classes)}"' if classes else ""
    attributes += "".join(f' data-{escape(name)}="{escape(value)}"' for name, value in (data_attributes or {}).items())
    return f"<td{attributes}>{escape(content)}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = (),
          row_classes: Optional[Sequence[str]] = None) -> str:
    """A table of `cell()` rows; the `numeric` columns' headers are right-aligned like their cells."""
    head = "".join(f'<th class="num">{escape(header)}</th>' if index in numeric else f"<th>{escape(header)}</th>"
                   for index, header in enumerate(headers))
    body = []
    for index, cells in enumerate(rows):
        row_class = f' class="{escape(row_classes[index])}"' if row_classes and row_classes[index] else ""
        body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
