use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::testing::{ScriptedProvider, t0};

fn service(id: i64, name: &str) -> PayoutService {
    PayoutService {
        payout_service_id: id,
        name: name.into(),
        unique_reference: format!("REF_{id}"),
        payment_service: "DUITNOW_ACCOUNT".into(),
        active: true,
    }
}

fn world() -> (Arc<ScriptedProvider>, ListPayoutServices) {
    let leanx = Arc::new(ScriptedProvider::new());
    let list = ListPayoutServices::new(leanx.clone());
    (leanx, list)
}

fn down() -> Result<Vec<PayoutService>, LeanxError> {
    Err(LeanxError::NotSent("connection refused".into()))
}

fn names(list: &PayoutServices) -> Vec<&str> {
    list.services.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test]
async fn the_list_is_sorted_by_name() {
    let (leanx, list) = world();
    leanx.answer_services(Ok(vec![
        service(24, "CIMB BANK BERHAD"),
        service(41, "BOOST"),
        service(23, "MALAYAN BANKING BERHAD"),
    ]));
    let answer = list.run(t0()).await.unwrap();
    assert_eq!(
        names(&answer),
        ["BOOST", "CIMB BANK BERHAD", "MALAYAN BANKING BERHAD"]
    );
}

#[tokio::test]
async fn a_list_younger_than_five_minutes_is_served_without_asking_leanx() {
    let (leanx, list) = world();
    leanx.answer_services(Ok(vec![service(23, "MAYBANK")]));
    list.run(t0()).await.unwrap();
    let again = list
        .run(t0() + REFRESH_AFTER - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(names(&again), ["MAYBANK"]);
    assert_eq!(again.fetched_at, t0());
    assert_eq!(leanx.service_lists(), 1);
}

#[tokio::test]
async fn an_older_list_is_asked_for_again() {
    let (leanx, list) = world();
    leanx.answer_services(Ok(vec![service(23, "MAYBANK")]));
    leanx.answer_services(Ok(vec![service(23, "MAYBANK"), service(24, "CIMB")]));
    list.run(t0()).await.unwrap();
    let later = t0() + REFRESH_AFTER;
    let refreshed = list.run(later).await.unwrap();
    assert_eq!(names(&refreshed), ["CIMB", "MAYBANK"]);
    assert_eq!(refreshed.fetched_at, later);
    assert_eq!(leanx.service_lists(), 2);
}

#[tokio::test]
async fn leanx_down_serves_a_cached_list_younger_than_ten_minutes() {
    let (leanx, list) = world();
    leanx.answer_services(Ok(vec![service(23, "MAYBANK")]));
    leanx.answer_services(down());
    list.run(t0()).await.unwrap();
    let stale = list
        .run(t0() + SERVE_AT_MOST - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(names(&stale), ["MAYBANK"]);
    assert_eq!(leanx.service_lists(), 2);
}

#[tokio::test]
async fn leanx_down_never_serves_a_list_ten_minutes_old() {
    let (leanx, list) = world();
    leanx.answer_services(Ok(vec![service(23, "MAYBANK")]));
    leanx.answer_services(down());
    list.run(t0()).await.unwrap();
    let error = list.run(t0() + SERVE_AT_MOST).await.unwrap_err();
    assert!(matches!(error, ListServicesError::Unavailable(_)));
}

#[tokio::test]
async fn leanx_down_with_nothing_cached_is_unavailable() {
    let (leanx, list) = world();
    leanx.answer_services(down());
    assert!(matches!(
        list.run(t0()).await,
        Err(ListServicesError::Unavailable(LeanxError::NotSent(_)))
    ));
}

#[tokio::test]
async fn a_failed_refresh_does_not_replace_the_cached_list() {
    let (leanx, list) = world();
    leanx.answer_services(Ok(vec![service(23, "MAYBANK")]));
    leanx.answer_services(Err(LeanxError::Malformed("no list".into())));
    list.run(t0()).await.unwrap();
    list.run(t0() + Duration::minutes(6)).await.unwrap();
    // The cached copy is still the one fetched at t0: at 10 minutes it is too old.
    assert!(list.run(t0() + Duration::minutes(10)).await.is_err());
}

#[tokio::test]
async fn a_list_from_the_future_is_not_trusted_as_fresh() {
    let (leanx, list) = world();
    leanx.answer_services(Ok(vec![service(23, "MAYBANK")]));
    leanx.answer_services(Ok(vec![service(24, "CIMB")]));
    list.run(t0()).await.unwrap();
    let earlier = list.run(t0() - Duration::minutes(1)).await.unwrap();
    assert_eq!(names(&earlier), ["CIMB"]);
    assert_eq!(leanx.service_lists(), 2);
}
