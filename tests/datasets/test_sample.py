"""The sample store generator: determinism, schema, order structure and the story it tells."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from scipy.special import hyp2f1

from lifevalue.datasets import (
    SAMPLE_COLUMNS,
    SampleParams,
    customer_truth,
    generate_sample,
    product_bundles,
    product_catalogue,
    sample_file_format,
    sample_schema,
    summarize_sample,
    write_sample,
)
from lifevalue.errors import ConfigError

N = 20_000
SEED = 11


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return generate_sample(N, SEED)


@pytest.fixture(scope="module")
def con(table: pa.Table) -> duckdb.DuckDBPyConnection:
    """DuckDB over the sample, as ``t`` with text columns decoded, and the truth as ``truth``."""
    c = duckdb.connect()
    c.register("t_arrow", table)
    c.execute("CREATE TABLE t AS SELECT * FROM t_arrow")
    c.register("truth_arrow", customer_truth(N, SEED))
    c.execute("CREATE TABLE truth AS SELECT * FROM truth_arrow")
    return c


def one(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None
) -> tuple[object, ...]:
    """The single row of a query (timestamps must not be fetched: DuckDB needs pytz for them)."""
    row = con.execute(sql, params).fetchone()
    assert row is not None
    return tuple(row)


# --- determinism and schema ----------------------------------------------------------------------


def test_same_seed_same_table_other_seed_other_table(table: pa.Table) -> None:
    assert generate_sample(N, SEED).equals(table, check_metadata=True)
    other = generate_sample(N, SEED + 1)
    assert not other.equals(table)
    small = generate_sample(300, 5)
    assert small.equals(generate_sample(300, 5))


def test_schema_and_columns(table: pa.Table) -> None:
    assert tuple(table.column_names) == SAMPLE_COLUMNS
    assert table.schema.equals(sample_schema())
    assert table.schema.field("ordered_at").type == pa.timestamp("s", tz="UTC")
    for name in ("amount", "discount", "unit_price"):
        assert table.schema.field(name).type == pa.float64()
    assert table.schema.field("quantity").type == pa.int64()
    for name in SAMPLE_COLUMNS:
        assert table[name].null_count == 0, name
    # Text columns read back as plain strings from CSV and Parquet (checked in the write tests).
    assert pa.types.is_dictionary(table.schema.field("customer_id").type)


def test_metadata_records_how_it_was_made(table: pa.Table) -> None:
    info = json.loads(table.schema.metadata[b"lifevalue.sample"])
    assert info["customers"] == N and info["seed"] == SEED
    assert info["start"] == "2024-01-01" and info["end"] == "2025-12-31"
    assert info["params"]["r"] == SampleParams().r


def test_rows_in_time_order_inside_the_window(
    table: pa.Table, con: duckdb.DuckDBPyConnection
) -> None:
    seconds = table["ordered_at"].cast(pa.int64()).to_numpy()
    assert np.all(np.diff(seconds) >= 0)
    lo = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    hi = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert seconds.min() >= lo and seconds.max() < hi
    # Real times of day, with an evening peak.
    hours = (seconds % 86_400) // 3600
    counts = np.bincount(hours, minlength=24)
    assert counts[20] > 3 * counts[4]
    # Order numbers follow the time of the order.
    first_seen = one(
        con,
        "SELECT count(*) FROM (SELECT ts < lag(ts) OVER (ORDER BY order_id) AS early FROM "
        "(SELECT order_id, min(ordered_at) AS ts FROM t GROUP BY 1)) WHERE early",
    )
    assert first_seen == (0,)


# --- orders and line items -----------------------------------------------------------------------


def test_line_amounts_are_quantity_times_price_minus_discount(
    con: duckdb.DuckDBPyConnection,
) -> None:
    bad, discounted, rows = one(
        con,
        "SELECT count(*) FILTER (abs(amount - (quantity * unit_price - discount)) > 0.005), "
        "count(*) FILTER (discount > 0), count(*) FROM t WHERE status <> 'refunded'",
    )
    assert bad == 0
    assert 0.05 < discounted / rows < 0.3
    assert one(
        con, "SELECT min(quantity), max(quantity), min(discount) FROM t WHERE status <> 'refunded'"
    ) == (1, 10, 0.0)


def test_orders_have_one_to_four_consistent_lines(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        """
        SELECT count(*) AS lines, count(DISTINCT customer_id) AS customers,
               count(DISTINCT ordered_at) AS times, count(DISTINCT status) AS statuses,
               count(DISTINCT sku) AS skus, sum(amount) AS total,
               sum(quantity * unit_price) - sum(discount) AS expected
        FROM t WHERE status <> 'refunded' GROUP BY order_id
        """
    ).fetchnumpy()
    assert rows["lines"].min() == 1 and rows["lines"].max() == 4
    assert np.all(rows["customers"] == 1) and np.all(rows["times"] == 1)
    assert np.all(rows["statuses"] == 1)
    assert np.all(rows["skus"] == rows["lines"])  # no product twice in one order
    # The line items add up to the order total.
    assert np.all(rows["total"] > 0)
    np.testing.assert_allclose(rows["total"], rows["expected"], atol=0.01)
    assert 1.6 < rows["lines"].mean() < 2.0
    # Spend per order: Gamma-Gamma mean spend_p * spend_gamma / (spend_q - 1) = 60.
    assert 50 < rows["total"].mean() < 70


def test_unit_prices_and_names_come_from_the_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    con.register("catalogue", product_catalogue())
    mismatched = one(
        con,
        "SELECT count(*) FROM t JOIN catalogue c ON c.sku = t.sku "
        "WHERE c.unit_price <> t.unit_price OR c.product <> t.product "
        "OR c.category <> t.category",
    )
    assert mismatched == (0,)
    assert one(con, "SELECT count(*) FROM t WHERE sku NOT IN (SELECT sku FROM catalogue)") == (0,)
    catalogue = product_catalogue()
    assert catalogue.num_rows == 320
    assert len(set(catalogue["sku"].to_pylist())) == 320
    assert len(set(catalogue["category"].to_pylist())) == 8


def test_refunds_are_negative_rows_after_a_paid_order(con: duckdb.DuckDBPyConnection) -> None:
    refunds, bad_sign = one(
        con,
        "SELECT count(*), count(*) FILTER (amount >= 0 OR quantity >= 0 OR discount <> 0) "
        "FROM t WHERE status = 'refunded'",
    )
    assert refunds > 0 and bad_sign == 0
    # Each refund row matches a line of an earlier paid order of the same customer.
    matched = one(
        con,
        """
        SELECT count(DISTINCT r.rowid) FROM t AS r JOIN t AS o
          ON o.order_id = r.order_id AND o.customer_id = r.customer_id AND o.sku = r.sku
         AND o.status = 'paid' AND o.ordered_at < r.ordered_at
         AND abs(o.amount + r.amount) < 0.005 AND o.quantity = -r.quantity
        WHERE r.status = 'refunded'
        """,
    )
    assert matched == (refunds,)
    assert one(
        con,
        "SELECT max(n) FROM (SELECT count(*) n FROM t WHERE status = 'refunded' GROUP BY order_id)",
    ) == (1,)
    paid_orders = one(con, "SELECT count(DISTINCT order_id) FROM t WHERE status = 'paid'")[0]
    assert isinstance(paid_orders, int)
    assert 0.02 < refunds / paid_orders < 0.05


def test_cancelled_orders_are_extra_and_the_same_day(con: duckdb.DuckDBPyConnection) -> None:
    cancelled, paid = one(
        con,
        "SELECT count(DISTINCT order_id) FILTER (status = 'cancelled'), "
        "count(DISTINCT order_id) FILTER (status = 'paid') FROM t",
    )
    assert isinstance(cancelled, int) and isinstance(paid, int)
    assert 0.01 < cancelled / paid < 0.03
    # Placed before a paid order of the same customer on the same day.
    orphan = one(
        con,
        """
        SELECT count(*) FROM (SELECT DISTINCT order_id, customer_id, ordered_at FROM t
                              WHERE status = 'cancelled') AS c
        WHERE NOT EXISTS (SELECT 1 FROM t AS p WHERE p.customer_id = c.customer_id
                          AND p.status = 'paid' AND p.ordered_at >= c.ordered_at
                          AND p.ordered_at::DATE = c.ordered_at::DATE)
        """,
    )
    assert orphan == (0,)


# --- customers -----------------------------------------------------------------------------------


def test_customer_attributes(table: pa.Table, con: duckdb.DuckDBPyConnection) -> None:
    per_customer = one(
        con,
        "SELECT count(*), max(e), max(p), max(c) FROM (SELECT customer_id, "
        "count(DISTINCT email) e, count(DISTINCT phone) p, count(DISTINCT country) c "
        "FROM t GROUP BY 1)",
    )
    assert per_customer == (N, 1, 1, 1)
    assert one(con, "SELECT count(DISTINCT email) FROM t") == (N,)
    emails = table["email"].combine_chunks().dictionary.to_pylist()
    ids = table["customer_id"].combine_chunks().dictionary.to_pylist()
    assert emails[:2] == ["c000001@example.com", "c000002@example.com"]
    assert ids[:2] == ["C000001", "C000002"]
    assert all(e == i.lower() + "@example.com" for e, i in zip(emails, ids, strict=True))
    pairs = con.execute("SELECT DISTINCT phone, country FROM t LIMIT 2000").fetchall()
    assert len({country for _, country in pairs}) == 10
    for phone, country in pairs:
        assert re.fullmatch(r"\+[1-9]\d{7,14}", phone), phone
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == country
    shares = dict(
        con.execute(
            "SELECT country, count(DISTINCT customer_id) / $n FROM t GROUP BY 1", {"n": N}
        ).fetchall()
    )
    assert 0.36 < shares["GB"] < 0.44 and len(shares) == 10
    assert one(con, "SELECT DISTINCT currency FROM t") == ("GBP",)


def test_orders_per_customer_follow_bgnbd(con: duckdb.DuckDBPyConnection) -> None:
    # The paid repeat orders are exactly the simulated ones...
    counts = con.execute(
        """
        SELECT truth.repeat_orders, o.n - 1 AS repeats, epoch(truth.first_order_at) AS truth_at,
               epoch(o.first_at) AS first_at, truth.T_days
        FROM truth JOIN (SELECT customer_id, count(DISTINCT order_id) AS n,
                                min(ordered_at) AS first_at
                         FROM t WHERE status = 'paid' GROUP BY 1) AS o
          ON o.customer_id = truth.customer_id
        """
    ).fetchnumpy()
    assert len(counts["repeats"]) == N
    np.testing.assert_array_equal(counts["repeats"], counts["repeat_orders"])
    np.testing.assert_array_equal(counts["first_at"], counts["truth_at"])
    # ... and their mean matches the BG/NBD expectation E[X(T)] given each customer's T.
    p = SampleParams()
    t = counts["T_days"]
    expected = (p.a + p.b - 1) / (p.a - 1)
    expected *= 1 - (p.alpha / (p.alpha + t)) ** p.r * hyp2f1(
        p.r, p.b, p.a + p.b - 1, t / (p.alpha + t)
    )
    assert counts["repeats"].mean() == pytest.approx(expected.mean(), rel=0.05)
    # About 3 orders per customer over two years (paid and cancelled).
    orders = one(con, "SELECT count(DISTINCT order_id) / $n FROM t", {"n": N})[0]
    assert isinstance(orders, float) and 2.8 < orders < 3.2


def test_spend_follows_each_customers_gamma_gamma_mean(con: duckdb.DuckDBPyConnection) -> None:
    corr = one(
        con,
        """
        SELECT corr(ln(o.mean_spend), ln(truth.expected_spend)) FROM truth
        JOIN (SELECT customer_id, avg(total) AS mean_spend, count(*) AS n
              FROM (SELECT customer_id, order_id, sum(amount) AS total FROM t
                    WHERE status = 'paid' GROUP BY ALL) GROUP BY 1) AS o
          ON o.customer_id = truth.customer_id
        WHERE o.n >= 3
        """,
    )[0]
    assert isinstance(corr, float) and corr > 0.8


# --- what a "frequently bought together" miner should find ---------------------------------------


def test_bundles_and_categories_are_bought_together(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE baskets AS
        SELECT DISTINCT order_id, sku, category FROM t WHERE status = 'paid'
        """
    )
    n_orders = one(con, "SELECT count(DISTINCT order_id) FROM baskets")[0]
    pairs = con.execute(
        """
        WITH s AS (SELECT sku, count(*) AS c FROM baskets GROUP BY 1)
        SELECT a.sku, b.sku, a.category = b.category, count(*) AS n,
               count(*) * $orders / (any_value(sa.c) * any_value(sb.c)) AS lift
        FROM baskets a JOIN baskets b ON a.order_id = b.order_id AND a.sku < b.sku
        JOIN s sa ON sa.sku = a.sku JOIN s sb ON sb.sku = b.sku
        GROUP BY 1, 2, 3
        """,
        {"orders": n_orders},
    ).fetchall()
    bundle_pairs = set()
    for bundle in product_bundles():
        bundle_pairs.update((x, y) for x in bundle for y in bundle if x < y)
    bundle_lift = [lift for a, b, _, n, lift in pairs if (a, b) in bundle_pairs and n >= 20]
    other_same = [n for a, b, same, n, _ in pairs if same and (a, b) not in bundle_pairs]
    other_cross = [n for a, b, same, n, _ in pairs if not same and (a, b) not in bundle_pairs]
    assert len(bundle_lift) >= 30
    assert min(bundle_lift) > 3 and float(np.median(bundle_lift)) > 20
    # The twenty most frequent pairs are mostly bundles.
    top = sorted(pairs, key=lambda row: -row[3])[:20]
    assert sum((a, b) in bundle_pairs for a, b, *_ in top) >= 10
    # Same-category pairs: 1/8 of all pairs by chance, far more here.
    share_same = sum(other_same) / (sum(other_same) + sum(other_cross))
    assert share_same > 0.35
    assert len(product_bundles()) == 24
    assert all(2 <= len(b) <= 3 for b in product_bundles())


# --- arguments, windows, files -------------------------------------------------------------------


def test_short_window_and_a_single_customer() -> None:
    t = generate_sample(500, 3, start=date(2025, 3, 1), end=date(2025, 3, 31))
    seconds = t["ordered_at"].cast(pa.int64()).to_numpy()
    assert seconds.min() >= datetime(2025, 3, 1, tzinfo=UTC).timestamp()
    assert seconds.max() < datetime(2025, 4, 1, tzinfo=UTC).timestamp()
    one_customer = generate_sample(1, 0, start=date(2025, 1, 1), end=date(2025, 1, 1))
    assert one_customer.num_rows >= 1
    assert set(one_customer["customer_id"].to_pylist()) == {"C000001"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 0}, "at least 1"),
        ({"n_customers": -5}, "at least 1"),
        ({"n_customers": 2.5}, "integer"),
        ({"seed": -1}, "seed"),
        ({"start": date(2025, 2, 1), "end": date(2025, 1, 1)}, "before the start"),
        ({"params": SampleParams(r=0)}, "r must be > 0"),
        ({"params": SampleParams(refund_rate=1.5)}, "refund_rate"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"n_customers": 10, "seed": 1} | kwargs
    with pytest.raises(ConfigError, match=message):
        generate_sample(**args)  # type: ignore[arg-type]


def test_parameters_change_the_store() -> None:
    base = summarize_sample(generate_sample(3000, 2))
    loyal = summarize_sample(generate_sample(3000, 2, params=SampleParams(alpha=20.0)))
    assert loyal.orders > 1.5 * base.orders
    euro = generate_sample(50, 2, params=SampleParams(currency="EUR"))
    assert set(euro["currency"].to_pylist()) == {"EUR"}


def test_summary(table: pa.Table, con: duckdb.DuckDBPyConnection) -> None:
    info = summarize_sample(table)
    orders, revenue = one(
        con,
        "SELECT count(DISTINCT order_id), sum(amount) FILTER (status <> 'cancelled') FROM t",
    )
    assert (info.customers, info.orders, info.rows) == (N, orders, table.num_rows)
    assert info.revenue == pytest.approx(revenue)
    assert info.currency == "GBP"
    # Without the metadata the counts are computed.
    plain = summarize_sample(table.replace_schema_metadata(None))
    assert (plain.customers, plain.orders) == (N, orders)


@pytest.mark.parametrize("name", ["orders.csv", "nested/dir/orders.CSV.GZ", "orders.parquet"])
def test_write_and_read_back(tmp_path: Path, name: str) -> None:
    table = generate_sample(400, 9)
    path = write_sample(table, tmp_path / name)
    assert path.is_file() and path.stat().st_size > 0
    rel = duckdb.connect().sql(f"SELECT * FROM '{path.as_posix()}'")
    assert rel.columns == list(SAMPLE_COLUMNS)
    types = dict(zip(rel.columns, map(str, rel.types), strict=True))
    assert types["customer_id"] == "VARCHAR" and types["amount"] == "DOUBLE"
    assert types["ordered_at"].startswith("TIMESTAMP")
    assert rel.count("*").fetchall() == [(table.num_rows,)]
    if name.endswith(".parquet"):
        back = pq.read_table(path)
        assert back["amount"].equals(table["amount"])
        assert (
            back.schema.metadata[b"lifevalue.sample"] == table.schema.metadata[b"lifevalue.sample"]
        )
    elif name == "orders.csv":
        back = pa_csv.read_csv(path)
        assert back["order_id"].to_pylist() == table["order_id"].to_pylist()
        assert back["email"].to_pylist() == table["email"].to_pylist()


def test_unknown_file_type_is_a_config_error(tmp_path: Path) -> None:
    for name in ("orders.json", "orders", ".csv", "orders.csv.zip"):
        with pytest.raises(ConfigError, match=r"csv, \.csv\.gz or \.parquet"):
            write_sample(generate_sample(5, 1), tmp_path / name)
    assert sample_file_format("A.Parquet") == "parquet"
    assert sample_file_format(Path("x/y.csv.gz")) == "csv.gz"


def test_csv_files_are_reproducible_and_gzip_holds_the_same_text(tmp_path: Path) -> None:
    import gzip

    from lifevalue.datasets import sample as sample_module

    table = generate_sample(700, 4)
    # Small chunks, so that the file is written (and gzipped) in several parallel pieces.
    original = sample_module._CSV_CHUNK_ROWS
    sample_module._CSV_CHUNK_ROWS = 500
    try:
        a = write_sample(table, tmp_path / "a.csv").read_bytes()
        b = write_sample(table, tmp_path / "b.csv").read_bytes()
        gz = write_sample(table, tmp_path / "c.csv.gz").read_bytes()
    finally:
        sample_module._CSV_CHUNK_ROWS = original
    assert a == b
    assert gzip.decompress(gz) == a
    assert a.count(b"\n") == table.num_rows + 1
    assert a.splitlines()[0].decode().replace('"', "").split(",") == list(SAMPLE_COLUMNS)
    first = a.splitlines()[1].decode()
    assert re.search(r",20\d\d-\d\d-\d\d \d\d:\d\d:\d\dZ,", first), first


def test_csv_quotes_values_that_need_it(tmp_path: Path) -> None:
    table = pa.table({"a": ["x,y", 'say "hi"', "plain"], "b": [1, 2, 3]})
    path = write_sample(table, tmp_path / "q.csv")
    assert pa_csv.read_csv(path).equals(table)


def test_parquet_decodes_only_large_dictionaries(tmp_path: Path) -> None:
    n = 70_000
    ids = pa.array([f"C{i:06d}" for i in range(n)])
    table = pa.table(
        {
            "customer_id": pa.DictionaryArray.from_arrays(pa.array(np.arange(n)), ids),
            "status": pa.array(["paid", "refunded"] * (n // 2)).dictionary_encode(),
        }
    )
    back = pq.read_table(write_sample(table, tmp_path / "d.parquet"))
    assert back.schema.field("customer_id").type == pa.string()
    assert pa.types.is_dictionary(back.schema.field("status").type)
    assert back["customer_id"].to_pylist() == ids.to_pylist()
