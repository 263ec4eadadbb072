"""Print the SKUs that are at or below their reorder point.

Usage: python src/inventory_report.py [data/inventory.csv]
Author: Priya Raman, 2025-02-11.
"""

import csv
import sys
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "inventory.csv"


def low_stock(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if int(r["on_hand"]) < int(r["reorder_point"])]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    rows = low_stock(path)
    print(f"{len(rows)} SKU(s) below reorder point")
    for r in rows:
        short = int(r["reorder_point"]) - int(r["on_hand"])
        print(f"  {r['sku']}  {r['name']:<28} on hand {r['on_hand']:>4}  short {short}")


if __name__ == "__main__":
    main()
