"""Monthly revenue from the sales export (cancelled and refunded orders excluded).

Usage: python src/sales_summary.py [data/sales_2025_q1.csv]
Author: Priya Raman, 2025-03-03.
"""

import csv
import sys
from collections import defaultdict
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "sales_2025_q1.csv"
EXCLUDED = {"cancelled", "refunded"}


def summarize(path: Path) -> dict[str, tuple[int, float]]:
    revenue: dict[str, float] = defaultdict(float)
    orders: dict[str, set[str]] = defaultdict(set)
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["status"] in EXCLUDED:
                continue
            month = row["order_date"][:7]
            revenue[month] += float(row["line_total"])
            orders[month].add(row["order_id"])
    return {m: (len(orders[m]), round(revenue[m], 2)) for m in sorted(revenue)}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    for month, (n, total) in summarize(path).items():
        print(f"{month}  orders {n:>3}  revenue ${total:>9,.2f}  avg ${total / n:,.2f}")


if __name__ == "__main__":
    main()
