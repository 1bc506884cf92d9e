use super::*;

fn query(pairs: &[(&str, &str)]) -> Result<ListQuery, ValidationError> {
    ListQuery::from_pairs(pairs.iter().copied())
}

fn refused_field(pairs: &[(&str, &str)]) -> Option<String> {
    query(pairs).expect_err("refused").field
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn position(time: &str, reference: &str) -> ListPosition {
    ListPosition {
        listed_at: at(time),
        external_invoice_ref: InvoiceRef::parse(reference).unwrap(),
    }
}

#[test]
fn no_parameters_list_everything_fifty_at_a_time() {
    let q = query(&[]).unwrap();
    assert_eq!(q.filter, ListFilter::default());
    assert_eq!((q.limit, q.cursor), (50, None));
}

#[test]
fn every_filter_is_read() {
    let q = query(&[
        ("status", "FAILED"),
        ("created_from", "2026-11-01T00:00:00+08:00"),
        ("created_to", "2026-12-01T00:00:00Z"),
        ("limit", "100"),
    ])
    .unwrap();
    assert_eq!(q.filter.status, Some(PayoutStatus::Failed));
    assert_eq!(q.filter.created_from, Some(at("2026-10-31T16:00:00Z")));
    assert_eq!(q.filter.created_to, Some(at("2026-12-01T00:00:00Z")));
    assert_eq!(q.limit, 100);
}

#[test]
fn each_bad_parameter_is_refused_naming_it() {
    for (pairs, field) in [
        (vec![("status", "DONE")], "status"),
        (vec![("status", "failed")], "status"),
        (vec![("created_from", "yesterday")], "created_from"),
        (vec![("created_from", "2026-11-01")], "created_from"),
        (vec![("created_to", "2026-13-01T00:00:00Z")], "created_to"),
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "101")], "limit"),
        (vec![("limit", "-1")], "limit"),
        (vec![("limit", "+5")], "limit"),
        (vec![("limit", "ten")], "limit"),
        (vec![("limit", "")], "limit"),
        (vec![("cursor", "")], "cursor"),
        (vec![("limit", "5"), ("limit", "6")], "limit"),
        (
            vec![("created_form", "2026-11-01T00:00:00Z")],
            "created_form",
        ),
    ] {
        assert_eq!(refused_field(&pairs).as_deref(), Some(field), "{pairs:?}");
    }
}

#[test]
fn a_range_that_ends_before_it_starts_is_refused_naming_created_to() {
    let field = refused_field(&[
        ("created_from", "2026-11-02T00:00:00Z"),
        ("created_to", "2026-11-01T00:00:00Z"),
    ]);
    assert_eq!(field.as_deref(), Some("created_to"));
}

#[test]
fn bounds_compare_at_millisecond_precision() {
    let q = query(&[("created_from", "2026-11-01T00:00:00.123456789Z")]).unwrap();
    assert_eq!(q.filter.created_from, Some(at("2026-11-01T00:00:00.123Z")));
}

#[test]
fn a_cursor_opens_to_the_position_it_was_sealed_with() {
    let key = CursorKey::derive(b"hash-key");
    let filter = ListFilter {
        status: Some(PayoutStatus::Succeeded),
        ..ListFilter::default()
    };
    let last = position("2026-11-23T10:15:02.113Z", "INV-2026:0001");
    let cursor = key.seal(&last, &filter);
    assert!(
        cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "{cursor} is not URL-safe"
    );
    assert_eq!(key.open(&cursor, &filter), Ok(last));
}

#[test]
fn a_cursor_for_other_filters_is_refused() {
    let key = CursorKey::derive(b"hash-key");
    let cursor = key.seal(
        &position("2026-11-23T10:15:02.113Z", "INV-1"),
        &ListFilter::default(),
    );
    let other = ListFilter {
        status: Some(PayoutStatus::Failed),
        ..ListFilter::default()
    };
    assert_eq!(
        key.open(&cursor, &other).unwrap_err().field.as_deref(),
        Some("cursor")
    );
}

#[test]
fn a_cursor_sealed_under_another_key_is_refused() {
    let filter = ListFilter::default();
    let cursor = CursorKey::derive(b"another-key")
        .seal(&position("2026-11-23T10:15:02.113Z", "INV-1"), &filter);
    assert!(
        CursorKey::derive(b"hash-key")
            .open(&cursor, &filter)
            .is_err()
    );
}

#[test]
fn a_cursor_whose_position_was_changed_is_refused() {
    let key = CursorKey::derive(b"hash-key");
    let filter = ListFilter::default();
    let cursor = key.seal(&position("2026-11-23T10:15:02.113Z", "INV-1"), &filter);
    let (_, tag) = cursor.split_once('.').unwrap();
    let forged = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode("2026-11-30T00:00:00.000Z#INV-1")
    );
    assert!(key.open(&forged, &filter).is_err());
    for garbage in ["x", "x.y", ".", "not base64!.AAAA"] {
        assert!(key.open(garbage, &filter).is_err(), "{garbage}");
    }
}

#[test]
fn a_repeated_or_unknown_payouts_parameter_is_refused_naming_it() {
    let twice = query(&[("status", "FAILED"), ("status", "FAILED")]).expect_err("refused");
    assert_eq!(twice.field.as_deref(), Some("status"));
    assert_eq!(twice.message, "status is given more than once");
    let unknown = query(&[("limit", "5"), ("sort", "asc")]).expect_err("refused");
    assert_eq!(unknown.field.as_deref(), Some("sort"));
    assert_eq!(unknown.message, "unknown query parameter sort");
}

#[test]
fn a_repeated_or_unknown_batch_items_parameter_is_refused_naming_it() {
    let items = |pairs: &[(&str, &str)]| BatchItemsQuery::from_pairs(pairs.iter().copied());
    let twice = items(&[("cursor", "a.b"), ("cursor", "a.b")]).expect_err("refused");
    assert_eq!(twice.field.as_deref(), Some("cursor"));
    assert_eq!(twice.message, "cursor is given more than once");
    // `created_from` filters `GET /payouts`, not a batch's items.
    let unknown = items(&[("created_from", "2026-11-01T00:00:00Z")]).expect_err("refused");
    assert_eq!(unknown.field.as_deref(), Some("created_from"));
    assert_eq!(unknown.message, "unknown query parameter created_from");
}
