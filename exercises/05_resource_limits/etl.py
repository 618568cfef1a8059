"""The nightly ETL: aggregate a day of (generated) orders with pandas. Small and well-behaved."""

import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
orders = pd.DataFrame(
    {
        "store": rng.integers(1, 50, 200_000),
        "amount": rng.gamma(2.0, 20.0, 200_000).round(2),
    }
)
by_store = orders.groupby("store")["amount"].agg(["count", "sum"])
print(f"etl: {len(orders)} orders, {len(by_store)} stores, total {by_store['sum'].sum():,.2f}",
      flush=True)
