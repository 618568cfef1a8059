"""Nightly sales ETL: read the day's orders, aggregate them per region and category.

Usage:
  etl.py [--source=<csv>]

Options:
  --source=<csv>  the orders file [default: data/orders.csv]

Extract: the orders CSV (one row per order line).
Transform: revenue = quantity x unit_price; totals per (region, category).
Load: the report as CSV on stdout (a real job would write it to a warehouse table).

The check compares this output with the reference output, so keep the logic as it is:
the exercise is about the image, not the code.
"""

import sys
from pathlib import Path

import pandas as pd
from docopt import docopt

HERE = Path(__file__).resolve().parent


def build_report(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders, units and revenue per region and category, biggest revenue first."""
    orders = orders.assign(revenue=orders["quantity"] * orders["unit_price"])
    report = (
        orders.groupby(["region", "category"], as_index=False)
        .agg(
            orders=("order_id", "nunique"),
            units=("quantity", "sum"),
            revenue=("revenue", "sum"),
        )
        .sort_values(["region", "revenue"], ascending=[True, False])
    )
    report["revenue"] = report["revenue"].round(2)
    return report


def main() -> None:
    args = docopt(__doc__)
    orders = pd.read_csv(HERE / args["--source"], parse_dates=["ordered_at"])
    report = build_report(orders)
    sys.stdout.write(report.to_csv(index=False))
    print(f"# {len(orders)} order lines -> {len(report)} report rows", file=sys.stderr)


if __name__ == "__main__":
    main()
