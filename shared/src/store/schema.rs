//! The payouts table, defined once, as data.
//!
//! [`TABLE`] is the single definition: [`create_table`] builds the DynamoDB request from it, and
//! [`describe`] renders it in CloudFormation `AWS::DynamoDB::Table` property shape so that
//! template.yaml can be checked against it.
//!
//! Layout (single table):
//! - payout: `pk = "PAYOUT#<external_invoice_ref>"`, `sk = "PAYOUT"`, every `Payout` field as a
//!   top-level attribute, its history as the `history` list (one write changes status, version
//!   and history together).
//! - `by_invoice_no` (KEYS_ONLY, sparse): `invoice_no`, present once LeanX accepted the payout.
//! - `due_for_check` (ALL, sparse): `due_pk = "OPEN"`, `due_at` = fixed-width next check time;
//!   present only while the payout is open and has a next check.
//! - `by_created` (ALL, on every payout): `list_pk = "PAYOUT#<YYYY-MM>"` (the month of
//!   `created_at`), `list_sk = "<created_at fixed-width>#<external_invoice_ref>"`. GET /payouts
//!   reads it newest first, month by month (see [`LIST_PK_PREFIX`]).
//! - `by_batch` (ALL, sparse): `batch_pk = "BATCH#<batch_ref>"`, `batch_sk` = the item's
//!   fixed-width index in its batch; present only on a batch's items. A batch's counts and its
//!   items list are Queries on it, never a Scan.
//! - batch: `pk = "BATCH#<batch_ref>"`, `sk = "BATCH"`: what was asked (fingerprint, count,
//!   total), whether every item is recorded and queued, and the final tally once complete.
//! - unmatched callback: `pk = "UNMATCHED"`, `sk = "<received_at fixed-width>#<id>"`.
//! - recipient verification: `pk = "VERIFICATION#<payout_service_id>#<account>"`, `sk = "LATEST"`
//!   (the account's latest, one GetItem away) and `sk = "RV#<verification_id>"` (each one made).
//! - TTL: `expires_at_epoch` (Unix seconds), set on verifications only (30 days); payouts never
//!   carry it, so they are never expired.
//! - the table's stream (NEW_AND_OLD_IMAGES) feeds `publish-events`: each status change becomes
//!   a merchant event (`crate::events`).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection as SdkProjection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use serde_json::{Value, json};

/// Partition key of every item.
pub const PK: &str = "pk";
/// Sort key of every item.
pub const SK: &str = "sk";
/// LeanX's invoice number: hash key of [`BY_INVOICE_NO`], absent until LeanX accepted.
pub const INVOICE_NO: &str = "invoice_no";
/// Hash key of [`DUE_FOR_CHECK`]: always [`DUE_PK_OPEN`] where present.
pub const DUE_PK: &str = "due_pk";
/// Range key of [`DUE_FOR_CHECK`]: the next check time, fixed-width (see [`DUE_AT_FORMAT`]).
pub const DUE_AT: &str = "due_at";

/// Hash key of [`BY_CREATED`]: [`LIST_PK_PREFIX`] + the month of `created_at`.
pub const LIST_PK: &str = "list_pk";
/// Range key of [`BY_CREATED`]: fixed-width `created_at`, `#`, the ref (unique, time-ordered).
pub const LIST_SK: &str = "list_sk";

/// Hash key of [`BY_BATCH`]: [`BATCH_PK_PREFIX`] + the batch's ref; only on a batch's items.
pub const BATCH_PK: &str = "batch_pk";
/// Range key of [`BY_BATCH`]: the item's place in its batch, fixed-width
/// ([`BATCH_SK_DIGITS`]), so string order is the merchant's order.
pub const BATCH_SK: &str = "batch_sk";
pub const BATCH_SK_DIGITS: usize = 6;

pub const BY_INVOICE_NO: &str = "by_invoice_no";
pub const BY_BATCH: &str = "by_batch";
pub const DUE_FOR_CHECK: &str = "due_for_check";
pub const BY_CREATED: &str = "by_created";

/// `list_pk` is sharded by creation month (`PAYOUT#2026-11`), not one constant: a merchant
/// paying thousands a day would otherwise write every payout (each ~4 times) into one index
/// partition forever. A month is also the usual question ("the month's payouts"), answered from
/// one partition; an open range walks the months newest first, one Query each.
pub const LIST_PK_PREFIX: &str = "PAYOUT#";
/// `list_pk`'s month, as chrono formats it.
pub const LIST_MONTH_FORMAT: &str = "%Y-%m";
/// The oldest month a listing with no `created_from` walks back to: no payout of this service
/// was created before it (the service's first release).
pub const FIRST_LISTED_MONTH: (i32, u32) = (2026, 1);

/// The one value of `due_pk`: every open payout with a next check shares it, so one Query reads
/// them in due order. (Fine at this service's volume; shard the value if it ever is not.)
pub const DUE_PK_OPEN: &str = "OPEN";
/// Fixed width so that string order is time order (chrono's serde format drops trailing zeros).
pub const DUE_AT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

pub const PAYOUT_PK_PREFIX: &str = "PAYOUT#";
pub const PAYOUT_SK: &str = "PAYOUT";
pub const UNMATCHED_PK: &str = "UNMATCHED";
/// A batch's own record: `pk = "BATCH#<batch_ref>"`, `sk = "BATCH"`; and its items' `batch_pk`.
pub const BATCH_PK_PREFIX: &str = "BATCH#";
pub const BATCH_RECORD_SK: &str = "BATCH";
pub const VERIFICATION_PK_PREFIX: &str = "VERIFICATION#";
pub const VERIFICATION_LATEST_SK: &str = "LATEST";
pub const VERIFICATION_ID_SK_PREFIX: &str = "RV#";
/// The table's TTL attribute (Unix seconds): DynamoDB deletes an item some time after it.
pub const EXPIRES_AT_EPOCH: &str = "expires_at_epoch";

/// DynamoDB scalar type of a key attribute. Only strings are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    S,
}

impl AttrType {
    pub const fn as_str(self) -> &'static str {
        match self {
            AttrType::S => "S",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub attr_type: AttrType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDef {
    pub hash: &'static str,
    pub range: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    KeysOnly,
    All,
}

impl Projection {
    pub const fn as_str(self) -> &'static str {
        match self {
            Projection::KeysOnly => "KEYS_ONLY",
            Projection::All => "ALL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsiDef {
    pub name: &'static str,
    pub key: KeyDef,
    pub projection: Projection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    /// Every attribute used in a key of the table or an index (DynamoDB wants exactly these).
    pub attributes: &'static [AttributeDef],
    pub key: KeyDef,
    pub gsis: &'static [GsiDef],
    /// Always on-demand: traffic is spiky and small.
    pub billing_mode: &'static str,
    /// The TTL attribute, if the table has one.
    pub ttl_attribute: Option<&'static str>,
    /// The change stream's view: both images, so an event can tell a status change (a new
    /// history entry) from a bookkeeping write.
    pub stream_view_type: &'static str,
}

/// The payouts table.
pub const TABLE: TableDef = TableDef {
    attributes: &[
        AttributeDef {
            name: PK,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: SK,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: INVOICE_NO,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: DUE_PK,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: DUE_AT,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: LIST_PK,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: LIST_SK,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: BATCH_PK,
            attr_type: AttrType::S,
        },
        AttributeDef {
            name: BATCH_SK,
            attr_type: AttrType::S,
        },
    ],
    key: KeyDef {
        hash: PK,
        range: Some(SK),
    },
    gsis: &[
        GsiDef {
            name: BY_INVOICE_NO,
            key: KeyDef {
                hash: INVOICE_NO,
                range: None,
            },
            // Lookups by invoice number then GetItem the payout consistently.
            projection: Projection::KeysOnly,
        },
        GsiDef {
            name: DUE_FOR_CHECK,
            key: KeyDef {
                hash: DUE_PK,
                range: Some(DUE_AT),
            },
            // The reconciler reads whole payouts straight from the index.
            projection: Projection::All,
        },
        GsiDef {
            name: BY_CREATED,
            key: KeyDef {
                hash: LIST_PK,
                range: Some(LIST_SK),
            },
            // GET /payouts answers whole payout resources from the index: no GetItem per row.
            projection: Projection::All,
        },
        GsiDef {
            name: BY_BATCH,
            key: KeyDef {
                hash: BATCH_PK,
                range: Some(BATCH_SK),
            },
            // A batch's items are listed as whole payout resources, and counted, from it.
            projection: Projection::All,
        },
    ],
    billing_mode: "PAY_PER_REQUEST",
    // Recipient verifications expire after their 30 days; nothing else carries the attribute.
    ttl_attribute: Some(EXPIRES_AT_EPOCH),
    stream_view_type: "NEW_AND_OLD_IMAGES",
};

fn key_schema_json(key: &KeyDef) -> Value {
    let mut elements = vec![json!({ "AttributeName": key.hash, "KeyType": "HASH" })];
    if let Some(range) = key.range {
        elements.push(json!({ "AttributeName": range, "KeyType": "RANGE" }));
    }
    Value::Array(elements)
}

/// [`TABLE`] as CloudFormation `AWS::DynamoDB::Table` properties (without `TableName`).
pub fn describe() -> Value {
    let mut described = json!({
        "AttributeDefinitions": TABLE
            .attributes
            .iter()
            .map(|a| json!({ "AttributeName": a.name, "AttributeType": a.attr_type.as_str() }))
            .collect::<Vec<_>>(),
        "KeySchema": key_schema_json(&TABLE.key),
        "GlobalSecondaryIndexes": TABLE
            .gsis
            .iter()
            .map(|g| json!({
                "IndexName": g.name,
                "KeySchema": key_schema_json(&g.key),
                "Projection": { "ProjectionType": g.projection.as_str() },
            }))
            .collect::<Vec<_>>(),
        "BillingMode": TABLE.billing_mode,
        "StreamSpecification": { "StreamViewType": TABLE.stream_view_type },
    });
    if let Some(attribute) = TABLE.ttl_attribute {
        described["TimeToLiveSpecification"] =
            json!({ "AttributeName": attribute, "Enabled": true });
    }
    described
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// [`TABLE`] could not be turned into a request (a bug in the definition).
    #[error("invalid table definition: {0}")]
    Definition(String),
    #[error("DynamoDB {operation} failed: {message}")]
    Dynamo {
        operation: &'static str,
        message: String,
    },
    #[error("table {table} not ACTIVE after {waited_seconds} s")]
    NotActive { table: String, waited_seconds: u64 },
}

/// Whether [`create_table`] made the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableCreation {
    Created,
    AlreadyExisted,
}

/// How long [`create_table`] waits for the table and its indexes to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);
const ACTIVE_POLL: Duration = Duration::from_millis(250);

fn key_schema(key: &KeyDef) -> Result<Vec<KeySchemaElement>, SchemaError> {
    let mut elements = vec![(key.hash, KeyType::Hash)];
    if let Some(range) = key.range {
        elements.push((range, KeyType::Range));
    }
    elements
        .into_iter()
        .map(|(name, key_type)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(|e| SchemaError::Definition(e.to_string()))
        })
        .collect()
}

fn dynamo_error<E, R>(operation: &'static str, err: &SdkError<E, R>) -> SchemaError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    SchemaError::Dynamo {
        operation,
        message: DisplayErrorContext(err).to_string(),
    }
}

/// Creates `table_name` as [`TABLE`] describes it, or accepts an existing one, and waits until
/// it and its indexes are ACTIVE. An existing table is not compared with the definition.
pub async fn create_table(client: &Client, table_name: &str) -> Result<TableCreation, SchemaError> {
    let attributes = TABLE
        .attributes
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(a.name)
                .attribute_type(match a.attr_type {
                    AttrType::S => ScalarAttributeType::S,
                })
                .build()
                .map_err(|e| SchemaError::Definition(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let gsis = TABLE
        .gsis
        .iter()
        .map(|g| {
            let projection_type = match g.projection {
                Projection::KeysOnly => ProjectionType::KeysOnly,
                Projection::All => ProjectionType::All,
            };
            GlobalSecondaryIndex::builder()
                .index_name(g.name)
                .set_key_schema(Some(key_schema(&g.key)?))
                .projection(
                    SdkProjection::builder()
                        .projection_type(projection_type)
                        .build(),
                )
                .build()
                .map_err(|e| SchemaError::Definition(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let created = client
        .create_table()
        .table_name(table_name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&TABLE.key)?))
        .set_global_secondary_indexes(Some(gsis))
        .billing_mode(BillingMode::from(TABLE.billing_mode))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(TABLE.stream_view_type))
                .build()
                .map_err(|e| SchemaError::Definition(e.to_string()))?,
        )
        .send()
        .await;
    let outcome = match created {
        Ok(_) => TableCreation::Created,
        Err(SdkError::ServiceError(e))
            if matches!(e.err(), CreateTableError::ResourceInUseException(_)) =>
        {
            TableCreation::AlreadyExisted
        }
        Err(e) => return Err(dynamo_error("CreateTable", &e)),
    };
    wait_until_active(client, table_name).await?;
    if let Some(attribute) = TABLE.ttl_attribute {
        enable_ttl(client, table_name, attribute).await?;
    }
    Ok(outcome)
}

/// Turns the table's TTL on (once: DynamoDB refuses to enable it twice, so it is read first).
async fn enable_ttl(client: &Client, table_name: &str, attribute: &str) -> Result<(), SchemaError> {
    let described = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(|e| dynamo_error("DescribeTimeToLive", &e))?;
    let on = described.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(attribute)
            && matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    });
    if on {
        return Ok(());
    }
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(true)
        .build()
        .map_err(|e| SchemaError::Definition(e.to_string()))?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|e| dynamo_error("UpdateTimeToLive", &e))?;
    Ok(())
}

async fn wait_until_active(client: &Client, table_name: &str) -> Result<(), SchemaError> {
    let started = tokio::time::Instant::now();
    loop {
        let described = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|e| dynamo_error("DescribeTable", &e))?;
        let active = described.table().is_some_and(|t| {
            t.table_status() == Some(&TableStatus::Active)
                && t.global_secondary_indexes()
                    .iter()
                    .all(|g| g.index_status() == Some(&IndexStatus::Active))
        });
        if active {
            return Ok(());
        }
        if started.elapsed() >= ACTIVE_TIMEOUT {
            return Err(SchemaError::NotActive {
                table: table_name.to_owned(),
                waited_seconds: ACTIVE_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(ACTIVE_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_attribute_is_defined_and_every_definition_is_a_key() {
        let mut keys = vec![TABLE.key.hash];
        keys.extend(TABLE.key.range);
        for g in TABLE.gsis {
            keys.push(g.key.hash);
            keys.extend(g.key.range);
        }
        keys.sort_unstable();
        keys.dedup();
        let mut defined: Vec<&str> = TABLE.attributes.iter().map(|a| a.name).collect();
        defined.sort_unstable();
        assert_eq!(keys, defined);
    }

    #[test]
    fn describe_has_cloudformation_shape() {
        let d = describe();
        assert_eq!(d["BillingMode"], "PAY_PER_REQUEST");
        assert_eq!(
            d["StreamSpecification"]["StreamViewType"],
            "NEW_AND_OLD_IMAGES"
        );
        assert_eq!(
            d["KeySchema"][0],
            json!({ "AttributeName": "pk", "KeyType": "HASH" })
        );
        assert_eq!(
            d["KeySchema"][1],
            json!({ "AttributeName": "sk", "KeyType": "RANGE" })
        );
        let gsis = d["GlobalSecondaryIndexes"].as_array().map(Vec::len);
        assert_eq!(gsis, Some(4));
        assert_eq!(
            d["GlobalSecondaryIndexes"][0]["Projection"]["ProjectionType"],
            "KEYS_ONLY"
        );
        assert_eq!(
            d["GlobalSecondaryIndexes"][1]["KeySchema"][1]["AttributeName"],
            "due_at"
        );
        assert_eq!(
            d["TimeToLiveSpecification"],
            json!({ "AttributeName": "expires_at_epoch", "Enabled": true })
        );
    }
}
