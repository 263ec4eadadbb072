"""Regenerate the binary fixtures of the bundled ``offline`` registry.

The offline registry (``data/registries/offline/servers.json``) points its servers at a small,
consistent workspace (``data/registries/offline/workspace/``): a shop's sales as CSV and
XLSX, a report (DOCX), an invoice (PDF), a deck (PPTX), notes, an Obsidian-style vault, code,
web pages and a DuckDB database (shipped gzipped). The text files are kept as they are; the few binary ones are
made by this script with the libraries that write those formats, which firefly itself does
not depend on, so the results are committed. Run it from the repository root:

    .venv/bin/uv run --no-project --with openpyxl --with python-docx --with reportlab \\
        --with python-pptx --with duckdb python scripts/make_offline_fixtures.py

Creation times are fixed where the formats keep them, so a rerun changes little.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "data" / "registries" / "offline" / "workspace"
WHEN = dt.datetime(2024, 5, 2, 12, 0, 0)


def sales_rows() -> list[list[str]]:
    with open(ROOT / "data" / "sales.csv", newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def xlsx() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    rows = sales_rows()
    ws.append(rows[0])
    for r in rows[1:]:
        ws.append([int(r[0]), r[1], r[2], float(r[3]), int(r[4]), r[5]])
    wb.properties.creator = "firefly"
    wb.properties.created = wb.properties.modified = WHEN
    wb.save(ROOT / "data" / "sales.xlsx")


def docx() -> None:
    import docx as python_docx

    d = python_docx.Document()
    d.add_heading("Quarterly Report", 0)
    d.add_paragraph("Revenue grew 12% in Q1 2024 driven by electronics.")
    d.add_paragraph("Costs were flat.")
    d.core_properties.author = "firefly"
    d.core_properties.created = d.core_properties.modified = WHEN
    d.save(ROOT / "data" / "report.docx")


def pdf() -> None:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(ROOT / "data" / "sample.pdf"), invariant=1)
    c.drawString(72, 750, "Invoice 2024-001")
    c.drawString(72, 730, "Customer: ACME Corp. Total due: 1,234.56 EUR")
    c.showPage()
    c.drawString(72, 750, "Page two: terms and conditions apply.")
    c.save()


def pptx() -> None:
    import pptx as python_pptx

    p = python_pptx.Presentation()
    s = p.slides.add_slide(p.slide_layouts[1])
    s.shapes.title.text = "Roadmap"
    s.placeholders[1].text = "Ship v2 in June"
    p.core_properties.author = "firefly"
    p.core_properties.created = p.core_properties.modified = WHEN
    p.save(ROOT / "data" / "deck.pptx")


def duckdb_file() -> None:
    import duckdb

    target = ROOT / "db" / "shop.duckdb"
    target.parent.mkdir(exist_ok=True)
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    con.execute(
        "CREATE TABLE sales(id INTEGER, product VARCHAR, category VARCHAR, price DOUBLE, qty INTEGER, date DATE)")
    for r in sales_rows()[1:]:
        con.execute("INSERT INTO sales VALUES (?, ?, ?, ?, ?, ?)", [int(r[0]), r[1], r[2], float(r[3]), int(r[4]), r[5]])
    con.execute("CHECKPOINT")
    con.close()
    # mostly empty blocks: shipped gzipped (mtime 0, so the bytes repeat), unpacked into each sandbox
    with open(target, "rb") as raw, open(target.with_name(target.name + ".gz"), "wb") as out, \
            gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as packed:
        shutil.copyfileobj(raw, packed)
    target.unlink()


if __name__ == "__main__":
    for make in (xlsx, docx, pdf, pptx, duckdb_file):
        make()
    print(f"fixtures written under {ROOT}")
