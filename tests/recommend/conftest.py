"""Small hand-made orders shared by the recommendation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_orders() -> pd.DataFrame:
    """Six orders: o1 A B C | o2 A B | o3 A B D | o4 C D | o5 A D | o6 E (plus noise)."""
    lines = [
        ("o1", "c1", "2024-01-01 10:00", "A", 1.0),
        ("o1", "c1", "2024-01-01 10:01", "B", 2.0),
        ("o1", "c1", "2024-01-01 10:00", "C", 3.0),
        ("o1", "c1", "2024-01-01 10:00", "A", 1.0),  # same item twice in an order: counted once
        ("o2", "c1", "2024-02-01 10:00", "A", 1.0),
        ("o2", "c1", "2024-02-01 10:00", "B", 2.0),
        ("o3", "c2", "2024-01-05 10:00", "A", 1.0),
        ("o3", "c2", "2024-01-05 10:00", "B", 2.0),
        ("o3", "c2", "2024-01-05 10:00", "D", 4.0),
        ("o3", "c2", "2024-01-06 10:00", "E", -5.0),  # a return: not a purchase
        ("o4", "c3", "2024-01-07 10:00", "C", 3.0),
        ("o4", "c3", "2024-01-07 10:00", "D", 4.0),
        ("o5", "c3", "2024-03-07 10:00", "A", 1.0),
        ("o5", "c3", "2024-03-07 10:00", "D", 4.0),
        ("o6", "c4", "2024-01-09 10:00", "E", 5.0),
        ("o7", "c4", "2024-01-10 10:00", "C", 3.0),  # cancelled order
    ]
    df = pd.DataFrame(lines, columns=["order_id", "customer_id", "ordered_at", "sku", "amount"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df["product"] = "Product " + df["sku"]
    df["unit_price"] = df["amount"].abs()
    df["category"] = df["sku"].map({"A": "mugs", "B": "mugs", "C": "tea", "D": "tea", "E": "x"})
    df["status"] = np.where(df["order_id"] == "o7", "cancelled", None)
    return df


@pytest.fixture
def small_orders() -> pd.DataFrame:
    """Six orders: o1 A B C | o2 A B | o3 A B D | o4 C D | o5 A D | o6 E (plus noise)."""
    return make_orders()
