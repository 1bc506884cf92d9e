//! `publish-events`: each record of the table's stream (NEW_AND_OLD_IMAGES) → its events
//! ([`crate::events::events_of_change`]) → PutEvents on the stack's bus, at most 10 entries a
//! call. Entries EventBridge refuses are retried; if one still fails, the batch reports its
//! record as the first failure, so Lambda retries the stream from there (and after bounded
//! retries, bisecting, hands the record to the on-failure destination).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;

use super::{BatchResponse, PipelineConfigError};
use crate::crashpoint::{self, CrashPoint};
use crate::domain::Payout;
use crate::events::{EVENT_SOURCE, Event, events_of_change};
use crate::store::schema::{PAYOUT_PK_PREFIX, PK};
use crate::store::{StoreError, payout_from_item};

/// PutEvents takes at most 10 entries.
pub const PUT_EVENTS_MAX_ENTRIES: usize = 10;
/// Attempts per entry before its record is reported failed.
pub const PUT_ATTEMPTS: u32 = 3;

/// Where events go: the bus. One answer per entry, in order: `None` = accepted, `Some(why)`.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn put(&self, events: &[Event]) -> Vec<Option<String>>;
}

/// The stack's EventBridge bus.
pub struct EventBridgeSink {
    pub client: aws_sdk_eventbridge::Client,
    pub bus_name: String,
}

#[async_trait]
impl EventSink for EventBridgeSink {
    async fn put(&self, events: &[Event]) -> Vec<Option<String>> {
        let entries = events
            .iter()
            .map(|e| {
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(EVENT_SOURCE)
                    .detail_type(e.event_type.as_str())
                    .detail(e.to_json())
                    .build()
            })
            .collect::<Vec<_>>();
        match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                let answers = out.entries();
                (0..events.len())
                    .map(|i| match answers.get(i) {
                        Some(entry)
                            if entry.error_code().is_none() && entry.event_id().is_some() =>
                        {
                            None
                        }
                        Some(entry) => Some(format!(
                            "{}: {}",
                            entry.error_code().unwrap_or("no event id"),
                            entry.error_message().unwrap_or_default()
                        )),
                        None => Some("no answer for the entry".into()),
                    })
                    .collect()
            }
            Err(e) => {
                let why = aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string();
                vec![Some(why); events.len()]
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("stream record without a sequence number")]
    NoSequenceNumber,
    #[error(transparent)]
    Corrupt(#[from] StoreError),
}

/// A write's old and new payout (absent before an insert, after a delete).
pub type PayoutImages = (Option<Payout>, Option<Payout>);

/// The payout images of a record, or `None` for an item that is not a payout (e.g. an
/// unmatched callback).
pub fn payout_images(record: &EventRecord) -> Result<Option<PayoutImages>, RecordError> {
    let is_payout = |item: &serde_dynamo::Item| match item.get(PK) {
        Some(serde_dynamo::AttributeValue::S(pk)) => pk.starts_with(PAYOUT_PK_PREFIX),
        _ => false,
    };
    if !is_payout(&record.change.keys) {
        return Ok(None);
    }
    let image = |item: &serde_dynamo::Item| -> Result<Option<Payout>, StoreError> {
        if item.is_empty() {
            return Ok(None);
        }
        let item: HashMap<String, AttributeValue> = item.clone().into();
        payout_from_item(item).map(Some)
    };
    Ok(Some((
        image(&record.change.old_image)?,
        image(&record.change.new_image)?,
    )))
}

pub struct Publisher<S> {
    pub sink: S,
}

impl Publisher<EventBridgeSink> {
    /// From the environment: `EVENT_BUS_NAME` names the bus.
    pub async fn from_env() -> Result<Self, PipelineConfigError> {
        let bus_name = std::env::var("EVENT_BUS_NAME")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or(PipelineConfigError::Missing("EVENT_BUS_NAME"))?;
        let (_tls, aws) = super::aws_config().await?;
        Ok(Publisher {
            sink: EventBridgeSink {
                client: aws_sdk_eventbridge::Client::new(&aws),
                bus_name,
            },
        })
    }
}

impl<S: EventSink> Publisher<S> {
    /// Publishes a batch of stream records in order; the answer names the first record not
    /// fully published (Lambda retries the stream from it), or nothing.
    pub async fn run(&self, event: StreamEvent) -> BatchResponse {
        let records = event.records;
        let mut entries: Vec<(usize, Event)> = Vec::new();
        let mut first_failed: Option<usize> = None;
        for (index, record) in records.iter().enumerate() {
            let decoded = match &record.change.sequence_number {
                None => Err(RecordError::NoSequenceNumber),
                Some(_) => payout_images(record),
            };
            match decoded {
                Ok(Some((old, new))) => entries.extend(
                    events_of_change(old.as_ref(), new.as_ref())
                        .into_iter()
                        .map(|e| (index, e)),
                ),
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, event_id = %record.event_id, "stream record not decoded");
                    first_failed = Some(index);
                    break;
                }
            }
        }
        let mut put_calls = 0usize;
        for chunk in entries.chunks(PUT_EVENTS_MAX_ENTRIES) {
            let mut waiting: Vec<&(usize, Event)> = chunk.iter().collect();
            for attempt in 1..=PUT_ATTEMPTS {
                let events: Vec<Event> = waiting.iter().map(|(_, e)| e.clone()).collect();
                let answers = self.sink.put(&events).await;
                put_calls += 1;
                if put_calls == 1 {
                    crashpoint::reached(CrashPoint::PublishAfterFirstPut);
                }
                let mut still = Vec::new();
                for (entry, answer) in waiting.into_iter().zip(answers) {
                    if let Some(why) = answer {
                        tracing::warn!(event_id = %entry.1.id, attempt, why = %why, "event not accepted by the bus");
                        still.push(entry);
                    }
                }
                waiting = still;
                if waiting.is_empty() {
                    break;
                }
            }
            if let Some(earliest) = waiting.iter().map(|(index, _)| *index).min() {
                first_failed = Some(first_failed.map_or(earliest, |f| f.min(earliest)));
                break;
            }
        }
        tracing::info!(
            records = records.len(),
            events = entries.len(),
            failed_from = ?first_failed,
            "stream batch published"
        );
        BatchResponse::failing(
            first_failed.and_then(|index| records[index].change.sequence_number.clone()),
        )
    }
}

#[cfg(test)]
mod tests;
