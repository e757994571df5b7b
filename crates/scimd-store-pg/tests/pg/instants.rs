//! `scimd_instant`, the SQL function that makes dateTimes compare as instants, agrees with the
//! Rust parser the in-memory evaluator uses (RFC 3339 §5.6 as the `time` crate reads it, no
//! offset taken as UTC), on valid, invalid and odd date-times.

use proptest::prelude::*;

use super::server::{admin_client, new_schema};

/// What the store computes in Rust (and the evaluator compares): canonical UTC text.
fn expected(s: &str) -> Option<String> {
    scimd_store::stored_time::instant(s)
}

fn two(max: u32) -> impl Strategy<Value = String> {
    (0..=max).prop_map(|n| format!("{n:02}"))
}

/// Date-times near and over the edges: month and day ranges, leap years and seconds,
/// separators, fractions, offsets.
fn date_time() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["0000", "1900", "1969", "1970", "2000", "2016", "2024", "2100", "9999"]),
        two(13),
        two(32),
        prop::sample::select(vec!["T", "t", " ", "_", "é", ""]),
        two(24),
        two(60),
        two(61),
        prop::sample::select(vec!["", ".", ".5", ".123456789", ".1234567891", ".000000001"]),
        prop::sample::select(vec![
            "", "Z", "z", "+00:00", "-00:30", "+01:00", "+23:59", "-23:59", "+24:00", "+01:60", "+1:00", "Zx",
        ]),
    )
        .prop_map(|(y, mo, d, sep, h, mi, s, frac, off)| format!("{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}"))
}

async fn check(client: &tokio_postgres::Client, schema: &str, cases: &[String]) {
    let rows = client
        .query(&format!("SELECT x, {schema}.scimd_instant(x) FROM unnest($1::text[]) AS x"), &[&cases])
        .await
        .unwrap();
    for row in rows {
        let (input, got): (String, Option<String>) = (row.get(0), row.get(1));
        assert_eq!(got, expected(&input), "scimd_instant({input:?})");
    }
}

#[test]
fn scimd_instant_agrees_with_the_rust_parser() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (client, schema) = rt.block_on(async {
        let schema = new_schema().await;
        let url = super::server::url_with_schema(&super::server::base_url(), &schema);
        drop(scimd_store_pg::PgStore::connect(&url, 1).await.unwrap());
        (admin_client().await, schema)
    });
    let fixed: Vec<String> = [
        "2016-12-31T23:59:60Z",
        "2016-12-31T22:59:60-01:00",
        "2016-12-30T23:59:60Z",
        "2024-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2000-02-29T12:00:00+01:00",
        "1900-02-29T12:00:00Z",
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59-00:01",
        "1969-12-31T23:59:59.5-00:30",
        "2024-01-01T00:00:00",
        "2024-01-01",
        "bjensen",
        "",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    rt.block_on(check(&client, &schema, &fixed));
    let mut runner =
        proptest::test_runner::TestRunner::new(ProptestConfig { cases: 20, ..ProptestConfig::default() });
    runner
        .run(&prop::collection::vec(date_time(), 50), |cases| {
            rt.block_on(check(&client, &schema, &cases));
            Ok(())
        })
        .unwrap();
}
