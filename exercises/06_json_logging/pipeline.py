"""Nightly orders pipeline: extract the day's orders, clean them, load daily totals.

TODO (exercise 06): this pipeline reports with print(). Make it log instead:
  - call jsonlog.setup() once at start-up (in main()),
  - get a logger with logging.getLogger(__name__),
  - replace each print with log.info / log.warning / log.debug,
  - in the except block, log the failure WITH its traceback (log.exception does that).
"""

RAW_ORDERS = [
    ("A-1001", "2024-05-01", "19.90"),
    ("A-1002", "2024-05-01", "5.00"),
    ("A-1003", "2024-05-01", "n/a"),
    ("A-1004", "2024-05-02", "42.50"),
    ("A-1005", "2024-05-02", "7.25"),
]


def extract():
    print(f"extracted {len(RAW_ORDERS)} orders")
    return list(RAW_ORDERS)


def parse_amount(text):
    return round(float(text), 2)


def transform(rows):
    clean = []
    for order_id, day, amount in rows:
        try:
            clean.append((order_id, day, parse_amount(amount)))
        except ValueError as exc:
            print(f"ERROR could not parse the amount of {order_id}: {exc}")
    skipped = len(rows) - len(clean)
    if skipped:
        print(f"WARNING skipped {skipped} of {len(rows)} orders")
    return clean


def load(rows):
    totals = {}
    for _, day, amount in rows:
        totals[day] = round(totals.get(day, 0.0) + amount, 2)
    for day, total in sorted(totals.items()):
        print(f"total for {day}: {total:.2f} EUR")
    print(f"loaded {len(rows)} orders into daily_totals")
    return totals


def main():
    print("pipeline started")
    load(transform(extract()))
    print("pipeline finished")


if __name__ == "__main__":
    main()
