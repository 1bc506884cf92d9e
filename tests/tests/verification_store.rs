//! The recipient verifications on the real table (moto): one GetItem finds an account's latest,
//! an older verification never replaces a later one, every one carries the TTL attribute, and
//! the table's TTL is on.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use chrono::{DateTime, Duration, Utc};
use leanx_payouts::domain::RecipientVerification;
use leanx_payouts::store::RecipientVerifications;
use leanx_payouts::store::schema::EXPIRES_AT_EPOCH;
use payouts_e2e::dynamodb::fresh_store;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid instant")
}

fn verification(account: &str, holder: &str, verified_at: DateTime<Utc>) -> RecipientVerification {
    RecipientVerification::new(
        23,
        account,
        holder,
        Some("MBBEMYKL"),
        Some("John Doe"),
        verified_at,
    )
}

#[tokio::test]
async fn the_latest_verification_of_an_account_is_read_back_whole() {
    let (store, _client, _table) = fresh_store().await;
    assert_eq!(store.latest_for(23, "8011408168").await.unwrap(), None);
    let v = verification("8011408168", "JOHN DOE", at(0));
    store.save(&v).await.unwrap();
    assert_eq!(store.latest_for(23, "8011408168").await.unwrap(), Some(v));
    // Another bank, another account: nothing.
    assert_eq!(store.latest_for(24, "8011408168").await.unwrap(), None);
    assert_eq!(store.latest_for(23, "8011408169").await.unwrap(), None);
}

#[tokio::test]
async fn a_later_verification_replaces_the_latest_and_an_earlier_one_never_does() {
    let (store, _client, _table) = fresh_store().await;
    let first = verification("8011408168", "JOHN DOE", at(0));
    let later = verification("8011408168", "JOHN A DOE", at(60));
    let late_arrival = verification("8011408168", "SOMEONE ELSE", at(30));
    store.save(&first).await.unwrap();
    store.save(&later).await.unwrap();
    store.save(&late_arrival).await.unwrap();
    assert_eq!(
        store.latest_for(23, "8011408168").await.unwrap(),
        Some(later)
    );
}

#[tokio::test]
async fn every_verification_is_kept_with_the_ttl_attribute_thirty_days_on() {
    let (store, client, table) = fresh_store().await;
    let first = verification("8011408168", "JOHN DOE", at(0));
    let second = verification("8011408168", "JOHN DOE", at(60));
    store.save(&first).await.unwrap();
    store.save(&second).await.unwrap();
    let items = client
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S("VERIFICATION#23#8011408168".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let mut keys: Vec<String> = items
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect();
    keys.sort();
    let mut expected = vec![
        "LATEST".to_owned(),
        format!("RV#{}", first.verification_id),
        format!("RV#{}", second.verification_id),
    ];
    expected.sort();
    assert_eq!(keys, expected);
    for item in &items {
        let ttl: i64 = item[EXPIRES_AT_EPOCH].as_n().unwrap().parse().unwrap();
        let verified_at = if item["verification_id"].as_s().unwrap() == &first.verification_id {
            at(0)
        } else {
            at(60)
        };
        assert_eq!(ttl, (verified_at + Duration::days(30)).timestamp());
    }
}

#[tokio::test]
async fn the_table_expires_items_by_their_ttl_attribute() {
    let (_store, client, table) = fresh_store().await;
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let description = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(description.attribute_name(), Some(EXPIRES_AT_EPOCH));
    assert_eq!(
        description.time_to_live_status(),
        Some(&TimeToLiveStatus::Enabled)
    );
}
