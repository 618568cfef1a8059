"""Nightly orders pipeline: extract the day's orders, clean them, load daily totals."""

import logging

import jsonlog

log = logging.getLogger(__name__)

RAW_ORDERS = [
    ("A-1001", "2024-05-01", "19.90"),
    ("A-1002", "2024-05-01", "5.00"),
    ("A-1003", "2024-05-01", "n/a"),
    ("A-1004", "2024-05-02", "42.50"),
    ("A-1005", "2024-05-02", "7.25"),
]


def extract():
    log.info("extracted %d orders", len(RAW_ORDERS), extra={"rows": len(RAW_ORDERS)})
    return list(RAW_ORDERS)


def parse_amount(text):
    return round(float(text), 2)


def transform(rows):
    clean = []
    for order_id, day, amount in rows:
        try:
            clean.append((order_id, day, parse_amount(amount)))
        except ValueError:
            log.exception("could not parse the amount of %s", order_id, extra={"order_id": order_id})
    skipped = len(rows) - len(clean)
    if skipped:
        log.warning("skipped %d of %d orders", skipped, len(rows), extra={"skipped": skipped})
    return clean


def load(rows):
    totals = {}
    for _, day, amount in rows:
        totals[day] = round(totals.get(day, 0.0) + amount, 2)
    for day, total in sorted(totals.items()):
        log.debug("total for %s: %.2f EUR", day, total)
    log.info("loaded %d orders into daily_totals", len(rows), extra={"rows": len(rows)})
    return totals


def main():
    jsonlog.setup()
    log.info("pipeline started")
    load(transform(extract()))
    log.info("pipeline finished")


if __name__ == "__main__":
    main()
