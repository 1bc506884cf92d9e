//! template.yaml against the code: least privilege, the one table schema, the configuration
//! names of docs/api.md, and the routes. Reads the template as plain YAML (it is written with
//! long-form intrinsics only), so no AWS tool is needed; `scripts/check-template.sh` runs
//! cfn-lint and `sam validate` on top.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use leanx_payouts::store::schema;
use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

fn template_text() -> String {
    std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml is readable")
}

fn template() -> Value {
    serde_norway::from_str(&template_text()).expect("template.yaml is plain YAML")
}

fn resources(t: &Value) -> &serde_json::Map<String, Value> {
    t["Resources"].as_object().expect("Resources is a map")
}

fn of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

/// `X` or `[X, ...]` as a list.
fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

/// Every IAM policy statement anywhere in the template (roles, inline policies, topic
/// policies...), with the logical id of the resource holding it.
fn statements(t: &Value) -> Vec<(&str, &Value)> {
    fn walk<'a>(owner: &'a str, v: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
        match v {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "Statement" {
                        out.extend(one_or_many(child).into_iter().map(|s| (owner, s)));
                    } else {
                        walk(owner, child, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(owner, i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (name, resource) in resources(t) {
        walk(name, resource, &mut out);
    }
    out
}

/// Whether `owner` is a KMS key, whose statements are its key policy.
/// The webhook queue's policy: EventBridge may send to it (tested on its own below).
fn is_webhook_queue_policy(t: &Value, owner: &str) -> bool {
    owner == "WebhookQueuePolicy" && t["Resources"][owner]["Type"] == "AWS::SQS::QueuePolicy"
}

fn is_key_policy(t: &Value, owner: &str) -> bool {
    t["Resources"][owner]["Type"] == "AWS::KMS::Key"
}

/// The functions by binary name: (logical id, resource).
fn functions(t: &Value) -> BTreeMap<String, (&str, &Value)> {
    of_type(t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, f)| {
            let binary = f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} names no Binary"))
                .to_owned();
            (binary, (name, f))
        })
        .collect()
}

/// The stream-level wildcard Lambda needs to write its own log group (stream names are chosen
/// at run time): the only `*` the template may hold in a Resource.
fn own_log_streams(log_group: &str) -> String {
    format!(
        "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{log_group}}}:log-stream:*"
    )
}

/// What a statement's Resource entry points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Table,
    Index(String),
    LeanxSecret,
    LogStreams(String),
    /// The table's stream (publish-events' event source mapping).
    Stream,
    EventBus,
    /// An SQS queue, by logical id.
    Queue(String),
    WebhookSecret,
    /// `"*"`: only for an action IAM cannot scope (see [`UNSCOPABLE_ACTIONS`]).
    Any,
}

/// Actions whose row in the Service Authorization Reference names no resource type: a policy
/// can grant them only on `"*"` (scoped to an ARN, they would match no request).
const UNSCOPABLE_ACTIONS: [&str; 1] = ["dynamodb:ListStreams"];

fn target(resource: &Value) -> Target {
    if resource == "*" {
        return Target::Any;
    }
    if resource["Fn::GetAtt"] == serde_json::json!(["PayoutsTable", "Arn"]) {
        return Target::Table;
    }
    if resource["Ref"] == "LeanxSecret" {
        return Target::LeanxSecret;
    }
    if resource["Ref"] == "MerchantWebhookSecret" {
        return Target::WebhookSecret;
    }
    if resource["Fn::GetAtt"] == serde_json::json!(["PayoutsTable", "StreamArn"]) {
        return Target::Stream;
    }
    if resource["Fn::GetAtt"] == serde_json::json!(["EventBus", "Arn"]) {
        return Target::EventBus;
    }
    if let (Some(queue), Some("Arn")) = (
        resource["Fn::GetAtt"][0].as_str(),
        resource["Fn::GetAtt"][1].as_str(),
    ) {
        if template()["Resources"][queue]["Type"] == "AWS::SQS::Queue" {
            return Target::Queue(queue.to_owned());
        }
    }
    if let Some(sub) = resource["Fn::Sub"].as_str() {
        if let Some(index) = sub.strip_prefix("${PayoutsTable.Arn}/index/") {
            assert!(
                !index.is_empty() && !index.contains(['*', '/', '$']),
                "index resource {sub}"
            );
            return Target::Index(index.to_owned());
        }
        if let Some(group) = sub
            .split("log-group:${")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
        {
            if sub == own_log_streams(group) {
                return Target::LogStreams(group.to_owned());
            }
        }
    }
    panic!(
        "unrecognised IAM resource {resource}: name the table, an index, the secret or the function's own log group"
    )
}

fn resource_strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(resource_strings).collect(),
        Value::Object(map) => map.values().flat_map(resource_strings).collect(),
        _ => vec![],
    }
}

#[test]
fn no_wildcard_action_or_resource() {
    let t = template();
    let all = statements(&t);
    assert!(all.len() >= 4, "no IAM statement found");
    for (owner, statement) in all {
        if is_key_policy(&t, owner) {
            // A key policy's Resource is always "*" (the key itself) and its administration
            // statement is the AWS default: checked statement by statement in
            // the_alarm_key_rotates_and_lets_cloudwatch_of_this_account_publish.
            continue;
        }
        for forbidden in ["NotAction", "NotResource", "NotPrincipal"] {
            assert!(
                statement.get(forbidden).is_none(),
                "{owner}: {forbidden} grants by exclusion"
            );
        }
        for action in one_or_many(&statement["Action"]) {
            let action = action.as_str().expect("an action is a string");
            assert!(!action.contains('*'), "{owner}: wildcard action {action}");
        }
        if let Some(principal) = statement.get("Principal") {
            assert!(
                !resource_strings(principal).iter().any(|p| p.contains('*')),
                "{owner}: wildcard principal"
            );
        }
        for resource in one_or_many(&statement["Resource"]) {
            for text in resource_strings(resource) {
                if text.contains('*') {
                    // Only a function's own log streams, exactly (see own_log_streams), or
                    // "*" in a statement of actions IAM cannot scope, and nothing else.
                    let unscopable = one_or_many(&statement["Action"])
                        .iter()
                        .all(|a| UNSCOPABLE_ACTIONS.contains(&a.as_str().unwrap_or_default()));
                    assert!(
                        matches!(target(resource), Target::LogStreams(_))
                            || (matches!(target(resource), Target::Any) && unscopable),
                        "{owner}: wildcard resource {text}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_function_has_its_own_role_and_no_managed_policy() {
    let t = template();
    for (binary, (name, f)) in functions(&t) {
        let props = &f["Properties"];
        assert!(
            props.get("Policies").is_none(),
            "{binary}: SAM Policies add AWSLambdaBasicExecutionRole (Resource *); use the role"
        );
        let role = props["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: Role must be Fn::GetAtt [<its role>, Arn]"));
        let role_resource = &t["Resources"][role];
        assert_eq!(role_resource["Type"], "AWS::IAM::Role", "{binary}");
        assert!(
            role_resource["Properties"]
                .get("ManagedPolicyArns")
                .is_none(),
            "{binary}: managed policies are not least privilege"
        );
        let trust = &role_resource["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        for s in one_or_many(trust) {
            assert_eq!(
                s["Principal"]["Service"], "lambda.amazonaws.com",
                "{binary}"
            );
            assert_eq!(s["Action"], "sts:AssumeRole", "{binary}");
        }
    }
    let roles: Vec<&str> = functions(&t)
        .values()
        .map(|(_, f)| f["Properties"]["Role"]["Fn::GetAtt"][0].as_str().unwrap())
        .collect();
    let distinct: BTreeSet<&str> = roles.iter().copied().collect();
    assert_eq!(distinct.len(), roles.len(), "functions share a role");
}

/// Exactly the calls each function's code makes. Derived from shared/src/service.rs (which
/// store methods each use case calls) and shared/src/store/dynamo.rs (which DynamoDB call each
/// method makes):
///
/// - `create_pending`: PutItem (conditional); on a server that returns no old item, `get`.
/// - `save`: PutItem (conditional). `record_unmatched_callback`: PutItem.
/// - `get`: GetItem. `find_by_invoice_no`: Query on `by_invoice_no`, then `get`.
/// - `due_for_check`: Query on `due_for_check` (projects whole payouts; no GetItem).
/// - `list` (`PayoutListing`): Query on `by_created` (projects whole payouts; no GetItem).
/// - `unmatched_callbacks` (Query on the table): payouts-admin only, never a function.
/// - batches (shared/src/store/batches.rs): `create_batch` PutItem (conditional), `get_batch`
///   GetItem, `mark_accepted` and `keep_final_tally` UpdateItem, `get_payouts` BatchGetItem,
///   `record_items` TransactWriteItems of conditional Puts (IAM has no TransactWriteItems
///   action: each Put is authorised as PutItem), `tally` and `batch_items` Query on `by_batch`.
///
/// Every function reads the LeanX secret at start (`config::load_credentials`) and writes its
/// own log group.
fn expected_grants(own_log_group: &str, binary: &str) -> BTreeSet<(String, Target)> {
    let table = |action: &str| (format!("dynamodb:{action}"), Target::Table);
    let query = |index: &str| ("dynamodb:Query".to_owned(), Target::Index(index.to_owned()));
    let mut grants: BTreeSet<(String, Target)> = match binary {
        // create_payout: create_pending (PutItem, GetItem fallback); claim_existing,
        // start_send, apply_event, release_unsent: save (PutItem); the recipient policy:
        // RecipientVerifications::latest_for (GetItem) and save (PutItem).
        "create-payout" => [table("PutItem"), table("GetItem")].into(),
        // get_payout: get (GetItem); apply_event after a refresh: save (PutItem).
        "get-payout" => [table("GetItem"), table("PutItem")].into(),
        // take_callback: get, find_by_invoice_no (Query by_invoice_no + GetItem),
        // record_unmatched_callback and apply_event (PutItem).
        "leanx-callback" => [
            table("GetItem"),
            table("PutItem"),
            query(schema::BY_INVOICE_NO),
        ]
        .into(),
        // reconcile: due_for_check (Query due_for_check); apply_event, back_off (PutItem).
        "reconcile-payouts" => [table("PutItem"), query(schema::DUE_FOR_CHECK)].into(),
        // list_payouts: list (Query by_created) and nothing else: no GetItem, no write.
        "list-payouts" => [query(schema::BY_CREATED)].into(),
        // accept_batch: create_batch (PutItem), get_batch and a payout's read-back (GetItem),
        // get_payouts (BatchGetItem), record_items and save (PutItem: a transaction's Puts),
        // mark_accepted (UpdateItem), a replay's tally (Query by_batch); the items are queued
        // with SendMessageBatch, authorised by sqs:SendMessage.
        "create-payout-batch" => {
            let mut g: BTreeSet<_> = [
                table("GetItem"),
                table("PutItem"),
                table("UpdateItem"),
                table("BatchGetItem"),
                query(schema::BY_BATCH),
            ]
            .into();
            g.insert((
                "sqs:SendMessage".to_owned(),
                Target::Queue("BatchSendQueue".into()),
            ));
            g
        }
        // get_batch: get_batch (GetItem), tally (Query by_batch), keep_final_tally (UpdateItem).
        "get-payout-batch" => [
            table("GetItem"),
            table("UpdateItem"),
            query(schema::BY_BATCH),
        ]
        .into(),
        // list_batch_items: get_batch (GetItem), batch_items (Query by_batch); no write.
        "list-payout-batch-items" => [table("GetItem"), query(schema::BY_BATCH)].into(),
        // send_batch_item: create-payout's path (get, take-over and send: GetItem, PutItem);
        // its event source mapping receives and deletes with the function's role. A message to
        // send again is reported back (ReportBatchItemFailures): no ChangeMessageVisibility.
        "send-batch-items" => {
            let mut g: BTreeSet<_> = [table("PutItem"), table("GetItem")].into();
            for a in ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"] {
                g.insert((format!("sqs:{a}"), Target::Queue("BatchSendQueue".into())));
            }
            g
        }
        // list_payout_services and get_balance: LeanX only, no table.
        "list-payout-services" | "get-balance" => BTreeSet::new(),
        // verify_recipient: RecipientVerifications::save (PutItem by id, PutItem latest).
        "verify-recipient" => [table("PutItem")].into(),
        // publish-events: its event source mapping reads the stream (with the function's
        // role), the function puts events on the bus, the mapping's on-failure destination is
        // sent to with the function's role. No LeanX, no table access.
        "publish-events" => {
            let stream = ["DescribeStream", "GetRecords", "GetShardIterator"]
                .map(|a| (format!("dynamodb:{a}"), Target::Stream));
            let mut g: BTreeSet<_> = stream.into();
            // No resource type in IAM: "*" or nothing (UNSCOPABLE_ACTIONS).
            g.insert(("dynamodb:ListStreams".to_owned(), Target::Any));
            g.insert(("events:PutEvents".to_owned(), Target::EventBus));
            g.insert((
                "sqs:SendMessage".to_owned(),
                Target::Queue("PublishEventsDeadLetterQueue".into()),
            ));
            g
        }
        // deliver-webhooks: the mapping receives and deletes, the function stretches a failed
        // message's visibility (its back-off) and reads the merchant's signing secret.
        "deliver-webhooks" => {
            let queue = [
                "ReceiveMessage",
                "DeleteMessage",
                "GetQueueAttributes",
                "ChangeMessageVisibility",
            ]
            .map(|a| (format!("sqs:{a}"), Target::Queue("WebhookQueue".into())));
            let mut g: BTreeSet<_> = queue.into();
            g.insert((
                "secretsmanager:GetSecretValue".to_owned(),
                Target::WebhookSecret,
            ));
            g
        }
        other => panic!("unexpected function {other}"),
    };
    // Every function that loads the LeanX credentials, at start; the batch's acceptance and
    // progress never call LeanX (`LeanxUse::Never`), and the pipeline has its own secret.
    if !matches!(
        binary,
        "publish-events" | "deliver-webhooks" | "create-payout-batch" | "get-payout-batch"
    ) {
        grants.insert((
            "secretsmanager:GetSecretValue".to_owned(),
            Target::LeanxSecret,
        ));
    }
    for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
        grants.insert((
            action.to_owned(),
            Target::LogStreams(own_log_group.to_owned()),
        ));
    }
    grants
}

#[test]
fn each_function_holds_exactly_the_actions_its_code_calls() {
    let t = template();
    let fns = functions(&t);
    assert_eq!(
        fns.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "create-payout",
            "create-payout-batch",
            "deliver-webhooks",
            "get-balance",
            "get-payout",
            "get-payout-batch",
            "leanx-callback",
            "list-payout-batch-items",
            "list-payout-services",
            "list-payouts",
            "publish-events",
            "reconcile-payouts",
            "send-batch-items",
            "verify-recipient",
        ]
    );
    for (binary, (name, f)) in &fns {
        let role = f["Properties"]["Role"]["Fn::GetAtt"][0].as_str().unwrap();
        let log_group = f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: LoggingConfig.LogGroup must Ref its log group"));
        assert_eq!(
            t["Resources"][log_group]["Type"], "AWS::Logs::LogGroup",
            "{binary}"
        );
        let mut held = BTreeSet::new();
        for (owner, statement) in statements(&t) {
            if owner != role || statement["Principal"].is_object() {
                continue;
            }
            assert_eq!(statement["Effect"], "Allow", "{binary}: {statement}");
            for action in one_or_many(&statement["Action"]) {
                for resource in one_or_many(&statement["Resource"]) {
                    held.insert((action.as_str().unwrap().to_owned(), target(resource)));
                }
            }
        }
        let expected = expected_grants(log_group, binary);
        let extra: Vec<_> = held.difference(&expected).collect();
        let missing: Vec<_> = expected.difference(&held).collect();
        assert!(
            extra.is_empty(),
            "{binary} holds actions its code does not call: {extra:?}"
        );
        assert!(
            missing.is_empty(),
            "{binary} lacks actions its code calls: {missing:?}"
        );
    }
    // No other role or policy in the template grants anything.
    let roles: BTreeSet<&str> = fns
        .values()
        .map(|(_, f)| f["Properties"]["Role"]["Fn::GetAtt"][0].as_str().unwrap())
        .collect();
    for (owner, statement) in statements(&t) {
        assert!(
            roles.contains(owner) || is_key_policy(&t, owner) || is_webhook_queue_policy(&t, owner),
            "{owner} holds a statement no test covers: {statement}"
        );
    }
}

/// The schema test promised by the DynamoDB issue: the deployed table is the one the code
/// creates locally (`schema::TABLE`).
#[test]
fn the_table_is_the_one_schema() {
    let t = template();
    let tables = of_type(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "exactly one table");
    let (name, table) = tables[0];
    assert_eq!(name, "PayoutsTable");
    let props = &table["Properties"];
    let described = schema::describe();
    let described = described.as_object().unwrap();
    for (key, value) in described {
        assert_eq!(
            &props[key], value,
            "template.yaml's {key} differs from shared/src/store/schema.rs"
        );
    }
    // Nothing else that shapes the data: no stream, TTL or extra attribute defined elsewhere.
    let allowed: BTreeSet<&str> = described
        .keys()
        .map(String::as_str)
        .chain([
            "PointInTimeRecoverySpecification",
            "DeletionProtectionEnabled",
            "SSESpecification",
            "Tags",
        ])
        .collect();
    for key in props.as_object().unwrap().keys() {
        assert!(
            allowed.contains(key.as_str()),
            "table property {key} is not in the schema"
        );
    }
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(props["DeletionProtectionEnabled"], true);
    assert_eq!(props["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(table["DeletionPolicy"], "Retain");
}

/// The names in docs/api.md's configuration table.
fn documented_settings() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(repo_root().join("docs/api.md")).unwrap();
    let section = doc
        .split("## Configuration (environment)")
        .nth(1)
        .expect("docs/api.md has a configuration section");
    let mut names = BTreeSet::new();
    for line in section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
    {
        let first_cell = line.split('|').nth(1).unwrap_or("");
        for (i, part) in first_cell.split('`').enumerate() {
            if i % 2 == 1 {
                names.insert(part.to_owned());
            }
        }
    }
    assert!(names.contains("TABLE_NAME") && names.contains("LEANX_SECRET_ARN"));
    names
}

/// Each function's environment: the globals merged with its own, as SAM does.
fn environments(t: &Value) -> BTreeMap<String, serde_json::Map<String, Value>> {
    let globals = t["Globals"]["Function"]["Environment"]["Variables"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    functions(t)
        .into_iter()
        .map(|(binary, (_, f))| {
            let mut env = globals.clone();
            if let Some(own) = f["Properties"]["Environment"]["Variables"].as_object() {
                env.extend(own.clone());
            }
            (binary, env)
        })
        .collect()
}

#[test]
fn environment_names_are_docs_api_md_and_hold_no_credential() {
    let t = template();
    let documented = documented_settings();
    for (binary, env) in environments(&t) {
        for name in env.keys() {
            assert!(
                documented.contains(name),
                "{binary}: {name} is not in docs/api.md's configuration table"
            );
            assert!(
                name != "LEANX_AUTH_TOKEN" && name != "LEANX_HASH_KEY",
                "{binary}: credentials must come from Secrets Manager, not {name}"
            );
        }
        assert_eq!(env["LEANX_SECRET_ARN"]["Ref"], "LeanxSecret", "{binary}");
        assert_eq!(env["TABLE_NAME"]["Ref"], "PayoutsTable", "{binary}");
    }
    // No credential variable anywhere, whatever the nesting.
    let text = template_text();
    for credential in ["LEANX_AUTH_TOKEN", "LEANX_HASH_KEY"] {
        assert!(!text.contains(credential), "{credential} in template.yaml");
    }
    // The secret is created without a value; the operator puts it (docs/operations.md).
    let secrets = of_type(&t, "AWS::SecretsManager::Secret");
    assert_eq!(
        secrets.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>(),
        ["LeanxSecret", "MerchantWebhookSecret"].into()
    );
    for (_, secret) in secrets {
        for forbidden in ["SecretString", "GenerateSecretString"] {
            assert!(secret["Properties"].get(forbidden).is_none());
        }
    }
}

#[test]
fn create_payout_has_what_it_needs_and_its_claim_outlives_it() {
    let t = template();
    let env = &environments(&t)["create-payout"];
    // config::Needs::Sending.
    assert_eq!(
        env["LEANX_VIRTUAL_POOL_REFERENCE"]["Ref"],
        "LeanxVirtualPoolReference"
    );
    let callback = env["CALLBACK_URL"]["Fn::Sub"].as_str().unwrap();
    assert!(callback.starts_with("https://${CallbackApi}.execute-api."));
    assert!(callback.ends_with("/callbacks/leanx"));
    // The claim TTL must be at least the function's timeout (docs/api.md).
    let (_, create) = functions(&t)["create-payout"];
    let timeout = create["Properties"]["Timeout"].as_u64().unwrap();
    let claim_ttl: u64 = env["CLAIM_TTL_SECONDS"].as_str().unwrap().parse().unwrap();
    assert!(
        claim_ttl >= timeout,
        "CLAIM_TTL_SECONDS {claim_ttl} < Timeout {timeout}"
    );
    // API Gateway gives up on an integration after 30 s.
    assert!(timeout < 30);
    // The LeanX request timeout every Timeout is sized from: connect 3 s within 10 s.
    let leanx_ms: u64 = t["Globals"]["Function"]["Environment"]["Variables"]["LEANX_TIMEOUT_MS"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (_, get) = functions(&t)["get-payout"];
    assert!(get["Properties"]["Timeout"].as_u64().unwrap() * 1000 > leanx_ms);
    // Two refused connects (3 s each) and one full request, at worst.
    assert!(timeout * 1000 > 2 * 3_000 + leanx_ms);
}

#[test]
fn functions_are_the_workspace_binaries_on_arm64_al2023() {
    let t = template();
    let g = &t["Globals"]["Function"];
    assert_eq!(g["Runtime"], "provided.al2023");
    assert_eq!(g["Architectures"], serde_json::json!(["arm64"]));
    assert_eq!(g["Handler"], "bootstrap");
    assert_eq!(g["MemorySize"], 128);
    for (binary, (name, f)) in functions(&t) {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        let manifest = repo_root()
            .join("functions")
            .join(&binary)
            .join("Cargo.toml");
        assert!(manifest.exists(), "{name}: no package functions/{binary}");
        assert!(f["Properties"]["Timeout"].as_u64().is_some(), "{name}");
    }
    let (_, reconcile) = functions(&t)["reconcile-payouts"];
    let props = &reconcile["Properties"];
    assert_eq!(props["ReservedConcurrentExecutions"], 1);
    let events: Vec<&Value> = props["Events"].as_object().unwrap().values().collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["Type"], "Schedule");
    assert_eq!(events[0]["Properties"]["Schedule"], "rate(1 minute)");
}

/// Routes as docs/api.md's table: the merchant's behind AWS_IAM, LeanX's callback on an
/// API with no authorizer at all (the function verifies the JWT).
#[test]
fn routes_and_their_authorization_follow_docs_api_md() {
    let t = template();
    let mut routes = BTreeMap::new();
    for (binary, (name, f)) in functions(&t) {
        for event in f["Properties"]["Events"].as_object().unwrap().values() {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let p = &event["Properties"];
            let api = p["ApiId"]["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: HttpApi event without ApiId"));
            let route = format!(
                "{} {}",
                p["Method"].as_str().unwrap(),
                p["Path"].as_str().unwrap()
            );
            assert!(
                p.get("Auth").is_none(),
                "{name}: {route} overrides its API's auth"
            );
            routes.insert(route, (binary.clone(), api.to_owned()));
        }
    }
    let expected: BTreeMap<String, (String, String)> = [
        ("POST /payouts", "create-payout", "PayoutsApi"),
        ("GET /payouts", "list-payouts", "PayoutsApi"),
        (
            "GET /payouts/{external_invoice_ref}",
            "get-payout",
            "PayoutsApi",
        ),
        ("POST /callbacks/leanx", "leanx-callback", "CallbackApi"),
        ("GET /payout-services", "list-payout-services", "PayoutsApi"),
        (
            "POST /recipient-verifications",
            "verify-recipient",
            "PayoutsApi",
        ),
        ("GET /balance", "get-balance", "PayoutsApi"),
        ("POST /payout-batches", "create-payout-batch", "PayoutsApi"),
        (
            "GET /payout-batches/{batch_ref}",
            "get-payout-batch",
            "PayoutsApi",
        ),
        (
            "GET /payout-batches/{batch_ref}/items",
            "list-payout-batch-items",
            "PayoutsApi",
        ),
    ]
    .into_iter()
    .map(|(r, f, a)| (r.to_owned(), (f.to_owned(), a.to_owned())))
    .collect();
    assert_eq!(routes, expected);

    let api = |name: &str| t["Resources"][name].clone();
    let payouts_api = api("PayoutsApi");
    assert_eq!(payouts_api["Type"], "AWS::Serverless::HttpApi");
    assert_eq!(
        payouts_api["Properties"]["Auth"]["DefaultAuthorizer"],
        "AWS_IAM"
    );
    assert_eq!(
        payouts_api["Properties"]["Auth"]["EnableIamAuthorizer"],
        true
    );
    let callback_api = api("CallbackApi");
    assert_eq!(callback_api["Type"], "AWS::Serverless::HttpApi");
    assert!(
        callback_api["Properties"].get("Auth").is_none(),
        "the callback API must not have an authorizer LeanX cannot satisfy"
    );
    assert_eq!(of_type(&t, "AWS::Serverless::HttpApi").len(), 2);
}

#[test]
fn template_uses_no_yaml_short_form_tags() {
    for (n, line) in template_text().lines().enumerate() {
        let code = line.split(" #").next().unwrap_or("").trim_start();
        assert!(
            !code.contains(": !") && !code.starts_with("- !") && !code.starts_with('!'),
            "template.yaml:{}: short-form tag; use Ref:/Fn::Sub:/Fn::GetAtt:",
            n + 1
        );
    }
}

#[test]
fn every_function_logs_to_a_log_group_with_retention_and_has_alarms() {
    let t = template();
    for (_, group) in of_type(&t, "AWS::Logs::LogGroup") {
        assert_eq!(
            group["Properties"]["RetentionInDays"]["Ref"],
            "LogRetentionInDays"
        );
    }
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    for (_, (name, _)) in functions(&t) {
        for metric in ["Errors", "Throttles"] {
            assert!(
                alarms.iter().any(|(_, a)| {
                    let p = &a["Properties"];
                    p["Namespace"] == "AWS/Lambda"
                        && p["MetricName"] == metric
                        && p["Dimensions"][0]["Value"]["Ref"] == name
                }),
                "no {metric} alarm for {name}"
            );
        }
    }
    // Payouts stuck open, from the reconciler's EMF metrics (shared/src/metrics.rs).
    for metric in [
        leanx_payouts::metrics::OLDEST_OPEN_PAYOUT_AGE_SECONDS,
        leanx_payouts::metrics::RECONCILER_LAG_SECONDS,
    ] {
        assert!(
            alarms.iter().any(|(_, a)| {
                a["Properties"]["Namespace"] == leanx_payouts::metrics::NAMESPACE
                    && a["Properties"]["MetricName"] == metric
            }),
            "no alarm on {metric}"
        );
    }
}

// ---------------------------------------------------------------- LeanX's host follows the stage

const LEANX_PRODUCTION: &str = "https://api.leanx.io";
const LEANX_SANDBOX: &str = "https://api.leanx.dev";

/// One deployment of the template: its parameters (the defaults, overridden by what the
/// operator passes) and the intrinsics CloudFormation resolves from them before creating
/// anything: `Ref` to a parameter, `Fn::If`, `Condition` and the condition functions
/// (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Fn::Contains`). A `Ref` to a resource or a
/// pseudo parameter stays as written.
struct Deployment<'a> {
    template: &'a Value,
    parameters: BTreeMap<String, String>,
}

impl<'a> Deployment<'a> {
    fn new(template: &'a Value, given: &[(&str, &str)]) -> Self {
        let declared = template["Parameters"].as_object().expect("Parameters");
        let mut parameters: BTreeMap<String, String> = declared
            .iter()
            .filter_map(|(name, p)| {
                p.get("Default").map(|d| match d {
                    Value::String(s) => (name.clone(), s.clone()),
                    other => (name.clone(), other.to_string()),
                })
            })
            .collect();
        for (name, value) in given {
            assert!(declared.contains_key(*name), "no parameter {name}");
            parameters.insert((*name).to_owned(), (*value).to_owned());
        }
        Deployment {
            template,
            parameters,
        }
    }

    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Object(map) if map.len() == 1 => {
                let (function, arg) = map.iter().next().unwrap();
                match function.as_str() {
                    "Ref" => match self.parameters.get(arg.as_str().unwrap()) {
                        Some(value) => Value::String(value.clone()),
                        None => v.clone(),
                    },
                    "Fn::If" => {
                        let arms = arg.as_array().expect("Fn::If takes a list");
                        assert_eq!(arms.len(), 3, "Fn::If [condition, then, else]");
                        if self.condition(arms[0].as_str().unwrap()) {
                            self.resolve(&arms[1])
                        } else {
                            self.resolve(&arms[2])
                        }
                    }
                    "Condition" | "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or"
                    | "Fn::Contains" => Value::Bool(self.holds(v)),
                    _ => v.clone(),
                }
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| self.resolve(i)).collect()),
            other => other.clone(),
        }
    }

    fn holds(&self, v: &Value) -> bool {
        let map = v.as_object().expect("a condition function");
        let (function, arg) = map.iter().next().unwrap();
        let args = || arg.as_array().expect("a condition function takes a list");
        match function.as_str() {
            "Condition" => self.condition(arg.as_str().unwrap()),
            "Fn::Equals" => self.resolve(&args()[0]) == self.resolve(&args()[1]),
            "Fn::Not" => !self.holds(&args()[0]),
            "Fn::And" => args().iter().all(|c| self.holds(c)),
            "Fn::Or" => args().iter().any(|c| self.holds(c)),
            "Fn::Contains" => {
                let list = self.resolve(&args()[0]);
                let item = self.resolve(&args()[1]);
                list.as_array()
                    .expect("Fn::Contains [list, value]")
                    .contains(&item)
            }
            other => panic!("not a condition function: {other}"),
        }
    }

    fn condition(&self, name: &str) -> bool {
        let condition = &self.template["Conditions"][name];
        assert!(!condition.is_null(), "no condition {name}");
        self.holds(condition)
    }

    /// Whether CloudFormation lets this deployment start: every rule whose `RuleCondition`
    /// holds has all its assertions true (template `Rules`).
    fn accepted(&self) -> bool {
        let Some(rules) = self.template.get("Rules").and_then(Value::as_object) else {
            return true;
        };
        rules.values().all(|rule| {
            let applies = rule
                .get("RuleCondition")
                .is_none_or(|condition| self.holds(condition));
            !applies
                || one_or_many(&rule["Assertions"])
                    .into_iter()
                    .all(|a| self.holds(&a["Assert"]))
        })
    }

    /// LEANX_BASE_URL as each function gets it.
    fn leanx_base_urls(&self) -> BTreeMap<String, Value> {
        environments(self.template)
            .into_iter()
            .map(|(binary, env)| {
                let url = env.get("LEANX_BASE_URL").expect("LEANX_BASE_URL is set");
                (binary, self.resolve(url))
            })
            .collect()
    }
}

#[test]
fn a_prod_stack_pays_through_leanx_production_host_by_default() {
    let t = template();
    let prod = Deployment::new(&t, &[("Stage", "prod")]);
    assert!(prod.accepted());
    for (binary, url) in prod.leanx_base_urls() {
        assert_eq!(url, LEANX_PRODUCTION, "{binary} in a prod stack");
    }
    // The template's own default stage is prod, and gets the same.
    let default = Deployment::new(&t, &[]);
    assert_eq!(default.parameters["Stage"], "prod");
    for (binary, url) in default.leanx_base_urls() {
        assert_eq!(url, LEANX_PRODUCTION, "{binary} with the default stage");
    }
}

#[test]
fn other_stages_default_to_the_sandbox_and_may_name_another_host() {
    let t = template();
    let staging = Deployment::new(&t, &[("Stage", "staging")]);
    assert!(staging.accepted());
    for (binary, url) in staging.leanx_base_urls() {
        assert_eq!(url, LEANX_SANDBOX, "{binary} in a staging stack");
    }
    let elsewhere = "https://leanx-sim.staging.example.com";
    let overridden = Deployment::new(&t, &[("Stage", "staging"), ("LeanxBaseUrl", elsewhere)]);
    assert!(overridden.accepted());
    for (binary, url) in overridden.leanx_base_urls() {
        assert_eq!(url, elsewhere, "{binary} with LeanxBaseUrl given");
    }
}

/// Whatever LeanxBaseUrl is given, a prod stack that CloudFormation accepts pays through
/// LeanX's production host, and naming the sandbox for prod is refused before anything is
/// created (never silently ignored).
#[test]
fn a_prod_stack_can_never_pay_in_the_sandbox() {
    let t = template();
    let candidates: [Option<&str>; 6] = [
        None,
        Some(""),
        Some(LEANX_SANDBOX),
        Some("https://API.LEANX.DEV"),
        Some("https://leanx-sim.staging.example.com"),
        Some(LEANX_PRODUCTION),
    ];
    for candidate in candidates {
        let mut given = vec![("Stage", "prod")];
        given.extend(candidate.map(|url| ("LeanxBaseUrl", url)));
        let prod = Deployment::new(&t, &given);
        if !prod.accepted() {
            continue;
        }
        for (binary, url) in prod.leanx_base_urls() {
            assert_eq!(
                url, LEANX_PRODUCTION,
                "{binary} in a prod stack with LeanxBaseUrl {candidate:?}"
            );
        }
    }
    let sandbox = Deployment::new(&t, &[("Stage", "prod"), ("LeanxBaseUrl", LEANX_SANDBOX)]);
    assert!(
        !sandbox.accepted(),
        "a prod stack naming the sandbox host must be refused"
    );
}

// ---------------------------------------------------------------- the callback API's throttle

/// LeanX settles a batch of 5,000 payouts within minutes and may deliver a callback more than
/// once (shared/LEANX.md): the callback API must take the whole batch in a minute, each
/// callback twice, without a 429, and a burst of its own on top (docs/operations.md).
const SETTLING_BATCH: u64 = 5_000;
const SETTLING_SECONDS: u64 = 60;
const DELIVERIES_PER_CALLBACK: u64 = 2;

/// (rate per second, burst) of an HTTP API's default route settings.
fn throttle(t: &Value, api: &str) -> (u64, u64) {
    let settings = &t["Resources"][api]["Properties"]["DefaultRouteSettings"];
    let rate = settings["ThrottlingRateLimit"]
        .as_u64()
        .unwrap_or_else(|| panic!("{api} has no ThrottlingRateLimit of its own"));
    let burst = settings["ThrottlingBurstLimit"]
        .as_u64()
        .unwrap_or_else(|| panic!("{api} has no ThrottlingBurstLimit of its own"));
    (rate, burst)
}

#[test]
fn the_callback_api_takes_a_settling_batch_under_its_own_throttle() {
    let t = template();
    let (rate, burst) = throttle(&t, "CallbackApi");
    assert!(
        rate * SETTLING_SECONDS >= SETTLING_BATCH * DELIVERIES_PER_CALLBACK,
        "{rate}/s cannot take {SETTLING_BATCH} callbacks, each delivered {DELIVERIES_PER_CALLBACK} times, in {SETTLING_SECONDS} s"
    );
    assert!(burst >= rate, "burst {burst} below the rate {rate}");
    // The merchant's API keeps a throttle of its own: neither is sized for the other.
    let (merchant_rate, merchant_burst) = throttle(&t, "PayoutsApi");
    assert!(merchant_rate > 0 && merchant_burst >= merchant_rate);
    for (api, resource) in of_type(&t, "AWS::Serverless::HttpApi") {
        assert!(
            resource["Properties"].get("RouteSettings").is_none(),
            "{api}: a per-route throttle would hide the documented one"
        );
    }
}

#[test]
fn docs_operations_md_states_the_throttles_the_template_sets() {
    let t = template();
    let doc = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    for api in ["PayoutsApi", "CallbackApi"] {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{api}` |")))
            .unwrap_or_else(|| panic!("docs/operations.md has no throttle row for {api}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let documented = (
            cells[2].parse::<u64>().expect("rate cell is a number"),
            cells[3].parse::<u64>().expect("burst cell is a number"),
        );
        assert_eq!(documented, throttle(&t, api), "{api}: (rate, burst)");
    }
}

// ---------------------------------------------------------------- alarms reach a person

#[test]
fn the_alarm_topic_is_encrypted_with_a_key_of_this_stack_not_alias_aws_sns() {
    let t = template();
    let topic = &t["Resources"]["AlarmTopic"];
    assert_eq!(topic["Type"], "AWS::SNS::Topic");
    let key = &topic["Properties"]["KmsMasterKeyId"];
    assert!(
        !key.is_null(),
        "the alarm topic must be encrypted (with a key CloudWatch may use)"
    );
    assert!(
        !key.is_string(),
        "KmsMasterKeyId {key}: an AWS-managed key (alias/aws/sns) refuses CloudWatch, so alarms would never publish"
    );
    let key_id = key["Fn::GetAtt"][0]
        .as_str()
        .or_else(|| key["Ref"].as_str())
        .unwrap_or_else(|| panic!("KmsMasterKeyId {key} names no key of this template"));
    assert_eq!(t["Resources"][key_id]["Type"], "AWS::KMS::Key");
    // Every alarm notifies that topic, going off and clearing.
    for (name, alarm) in of_type(&t, "AWS::CloudWatch::Alarm") {
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(
                alarm["Properties"][actions],
                serde_json::json!([{ "Ref": "AlarmTopic" }]),
                "{name}: {actions}"
            );
        }
    }
}

/// The template's one KMS key, the alarm topic's: (logical id, resource).
fn alarm_key(t: &Value) -> (&str, &Value) {
    let keys = of_type(t, "AWS::KMS::Key");
    assert_eq!(keys.len(), 1, "one KMS key: the alarm topic's");
    keys[0]
}

#[test]
fn the_alarm_key_rotates_and_lets_cloudwatch_of_this_account_publish() {
    let t = template();
    let (key_id, key) = alarm_key(&t);
    let props = &key["Properties"];
    assert_eq!(props["EnableKeyRotation"], true, "{key_id}");
    // SNS encrypts only with symmetric keys.
    for (property, symmetric) in [
        ("KeySpec", "SYMMETRIC_DEFAULT"),
        ("KeyUsage", "ENCRYPT_DECRYPT"),
    ] {
        assert!(
            props.get(property).is_none_or(|v| v == symmetric),
            "{key_id}: {property}"
        );
    }
    let statements = one_or_many(&props["KeyPolicy"]["Statement"]);
    assert_eq!(
        statements.len(),
        2,
        "{key_id}: administration and CloudWatch, nothing else"
    );
    for s in &statements {
        assert_eq!(s["Effect"], "Allow");
        // In a key policy "*" is the key itself.
        assert_eq!(s["Resource"], "*");
    }
    let by_principal = |principal: Value| {
        statements
            .iter()
            .find(|s| s["Principal"] == principal)
            .unwrap_or_else(|| panic!("{key_id}: no statement for {principal}"))
    };
    // The account administers the key through IAM, the AWS default key policy: without it
    // the key could be left unmanageable. It grants no one anything by itself.
    let account = by_principal(serde_json::json!({
        "AWS": { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" }
    }));
    assert_eq!(account["Action"], "kms:*");
    assert!(account.get("Condition").is_none());
    // CloudWatch alarms publish to the topic: SNS asks KMS on the publisher's behalf for a
    // data key and to decrypt it. Only for alarms of this account.
    let cloudwatch = by_principal(serde_json::json!({ "Service": "cloudwatch.amazonaws.com" }));
    let actions: BTreeSet<&str> = one_or_many(&cloudwatch["Action"])
        .into_iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from(["kms:Decrypt", "kms:GenerateDataKey*"])
    );
    assert_eq!(
        cloudwatch["Condition"],
        serde_json::json!({ "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } } })
    );
    // An alias, so that the key is findable in the console and in CloudTrail.
    let aliases = of_type(&t, "AWS::KMS::Alias");
    assert_eq!(aliases.len(), 1);
    let alias = &aliases[0].1["Properties"];
    assert_eq!(alias["TargetKeyId"]["Ref"], key_id);
    let name = alias["AliasName"]["Fn::Sub"]
        .as_str()
        .expect("the alias is named after the stack");
    assert!(name.starts_with("alias/${AWS::StackName}"), "{name}");
}

/// The metrics shared/src/metrics.rs publishes for evidence the service refuses to act on
/// alone; any function may meet one (a callback, a GET's refresh, a reconciler pass, a
/// create's answer): (metric, alarm threshold, period in seconds).
const EVIDENCE_METRICS: [(&str, u64, u64); 5] = [
    ("PayoutsContradicted", 1, 300),
    ("CallbacksUnmatched", 1, 300),
    ("UndecodableItems", 1, 300),
    ("UnknownLeanxStatuses", 1, 300),
    // One unrecognised answer is a blip that backs off; three in 15 minutes is LeanX
    // answering something the code does not know (docs/operations.md).
    ("UnrecognisedLeanxAnswers", 3, 900),
];

/// Functions that never read or write a payout (they only ask LeanX, or keep verifications),
/// so they never meet the evidence those metrics count.
const NEVER_TOUCH_A_PAYOUT: [&str; 3] = ["list-payout-services", "verify-recipient", "get-balance"];

/// Whether `function` (logical id) can never publish evidence `metric`. list-payouts and
/// list-payout-batch-items only read stored payouts (skipping what they cannot decode) and never
/// ask LeanX: of the evidence they can only meet an undecodable item. create-payout-batch and
/// get-payout-batch never ask LeanX either, and refuse (rather than skip) an item they cannot
/// read. send-batch-items sends as create-payout does, and meets what it meets.
fn never_publishes(function: &str, metric: &str) -> bool {
    match function {
        "ListPayoutsFunction" | "ListPayoutBatchItemsFunction" => {
            metric != leanx_payouts::metrics::UNDECODABLE_ITEMS
        }
        "CreatePayoutBatchFunction" | "GetPayoutBatchFunction" => true,
        _ => false,
    }
}

#[test]
fn each_evidence_metric_alarms_whichever_function_publishes_it() {
    let t = template();
    // The event functions only relay status changes: they meet no LeanX evidence.
    let functions: BTreeSet<String> = functions(&t)
        .iter()
        .filter(|(binary, _)| !NEVER_TOUCH_A_PAYOUT.contains(&binary.as_str()))
        .filter(|(binary, _)| !matches!(binary.as_str(), "publish-events" | "deliver-webhooks"))
        .map(|(_, (name, _))| (*name).to_owned())
        .collect();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    for (metric, threshold, period) in EVIDENCE_METRICS {
        let watching: Vec<_> = alarms
            .iter()
            .filter(|(_, a)| {
                one_or_many(&a["Properties"]["Metrics"])
                    .iter()
                    .any(|m| m["MetricStat"]["Metric"]["MetricName"] == metric)
            })
            .collect();
        assert_eq!(watching.len(), 1, "one alarm on {metric}");
        let (name, alarm) = watching[0];
        let p = &alarm["Properties"];
        let queries = one_or_many(&p["Metrics"]);
        let mut covered = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for q in queries.iter().filter(|q| q.get("MetricStat").is_some()) {
            let stat = &q["MetricStat"];
            assert_eq!(
                stat["Metric"]["Namespace"],
                leanx_payouts::metrics::NAMESPACE,
                "{name}"
            );
            assert_eq!(stat["Metric"]["MetricName"], metric, "{name}");
            assert_eq!(stat["Stat"], "Sum", "{name}");
            assert_eq!(stat["Period"], period, "{name}");
            assert_eq!(q["ReturnData"], false, "{name}");
            // FunctionName only: the Service dimension mixes every stack of the account.
            let dimensions = stat["Metric"]["Dimensions"].as_array().unwrap();
            assert_eq!(dimensions.len(), 1, "{name}");
            assert_eq!(dimensions[0]["Name"], "FunctionName", "{name}");
            covered.insert(dimensions[0]["Value"]["Ref"].as_str().unwrap().to_owned());
            ids.insert(q["Id"].as_str().unwrap().to_owned());
        }
        let publishers: BTreeSet<String> = functions
            .iter()
            .filter(|f| !never_publishes(f, metric))
            .cloned()
            .collect();
        assert_eq!(
            covered, publishers,
            "{name} must watch {metric} from every function that can publish it"
        );
        // One result: the functions' counts added (metric math counts a missing value as 0).
        let results: Vec<_> = queries
            .iter()
            .filter(|q| q.get("Expression").is_some())
            .collect();
        assert_eq!(results.len(), 1, "{name}");
        assert_eq!(results[0]["ReturnData"], true, "{name}");
        let terms: BTreeSet<String> = results[0]["Expression"]
            .as_str()
            .unwrap()
            .split('+')
            .map(|term| term.trim().to_owned())
            .collect();
        assert_eq!(
            terms, ids,
            "{name}: the expression adds every function's count"
        );
        assert_eq!(p["Threshold"], threshold, "{name}");
        assert_eq!(
            p["ComparisonOperator"], "GreaterThanOrEqualToThreshold",
            "{name}"
        );
        assert_eq!(p["EvaluationPeriods"], 1, "{name}");
        // Published only when it happens: no data is the good news.
        assert_eq!(p["TreatMissingData"], "notBreaching", "{name}");
    }
}

/// A single payout open past the grace period (15 min) and LeanX's longest documented hold
/// (STATUS_PENDING_APPROVAL, 30-40 min) fires at the first reconciler pass that sees it.
#[test]
fn one_payout_open_past_the_grace_period_and_approval_hold_fires_an_alarm() {
    let t = template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let (name, alarm) = alarms
        .iter()
        .find(|(_, a)| {
            a["Properties"]["MetricName"] == leanx_payouts::metrics::OLDEST_OPEN_PAYOUT_AGE_SECONDS
        })
        .expect("an alarm on the oldest open payout's age");
    let p = &alarm["Properties"];
    assert_eq!(p["Namespace"], leanx_payouts::metrics::NAMESPACE);
    assert_eq!(p["Dimensions"][0]["Name"], "FunctionName");
    assert_eq!(
        p["Dimensions"][0]["Value"]["Ref"],
        "ReconcilePayoutsFunction"
    );
    assert_eq!(
        p["Statistic"], "Maximum",
        "{name}: the oldest, not an average"
    );
    assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(
        p["EvaluationPeriods"], 1,
        "{name}: one pass seeing it is enough"
    );
    assert_eq!(p["DatapointsToAlarm"], 1, "{name}");
    let threshold: u64 = Deployment::new(&t, &[])
        .resolve(&p["Threshold"])
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| p["Threshold"].as_u64())
        .expect("a threshold in seconds");
    let grace = 15 * 60;
    let approval_hold = 40 * 60;
    assert!(
        threshold > grace && threshold > approval_hold,
        "{threshold} s would page for payouts LeanX is still settling"
    );
    assert!(
        threshold <= 45 * 60,
        "{threshold} s: a stuck payout waits too long for a person"
    );
}

/// The reconciler publishes the oldest open payout's age every pass (0 when none is open), so
/// no data means it is not running: that is the reconciler-lag alarm's to report. The stuck
/// alarm keeps its state meanwhile: it never reports "no stuck payout" when nobody looked.
#[test]
fn a_silent_reconciler_never_clears_the_stuck_payout_alarm() {
    let t = template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let on = |metric: &str| {
        alarms
            .iter()
            .find(|(_, a)| a["Properties"]["MetricName"] == metric)
            .map(|(_, a)| &a["Properties"])
            .unwrap_or_else(|| panic!("no alarm on {metric}"))
    };
    let stuck = on(leanx_payouts::metrics::OLDEST_OPEN_PAYOUT_AGE_SECONDS);
    assert_eq!(stuck["TreatMissingData"], "ignore");
    let lag = on(leanx_payouts::metrics::RECONCILER_LAG_SECONDS);
    assert_eq!(lag["TreatMissingData"], "breaching");
}

#[test]
fn every_alarm_is_in_docs_operations_md() {
    let t = template();
    let doc = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    let section = doc
        .split("## Alarms")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/operations.md has an Alarms section");
    for (id, alarm) in of_type(&t, "AWS::CloudWatch::Alarm") {
        let name = alarm["Properties"]["AlarmName"]["Fn::Sub"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: AlarmName is Fn::Sub ${{AWS::StackName}}-<name>"));
        let short = name
            .strip_prefix("${AWS::StackName}-")
            .unwrap_or_else(|| panic!("{id}: {name} is not <stack>-<name>"));
        assert!(
            section.contains(&format!("`{short}`")),
            "docs/operations.md's alarm table lacks `{short}`"
        );
    }
}

// ---------------------------------------------------------------- the event pipeline

/// The stream's event source mapping fails safe: bisect, bounded retries, partial batch
/// responses, an on-failure destination with an alarm, and an iterator-age alarm.
#[test]
fn the_stream_mapping_retries_boundedly_and_dead_letters_with_alarms() {
    let t = template();
    let (_, publish) = functions(&t)["publish-events"];
    let events: Vec<&Value> = publish["Properties"]["Events"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(events.len(), 1);
    let p = &events[0]["Properties"];
    assert_eq!(events[0]["Type"], "DynamoDB");
    assert_eq!(
        p["Stream"]["Fn::GetAtt"],
        serde_json::json!(["PayoutsTable", "StreamArn"])
    );
    assert_eq!(p["BisectBatchOnFunctionError"], true);
    let retries = p["MaximumRetryAttempts"].as_u64().expect("bounded retries");
    assert!((1..=100).contains(&retries));
    assert_eq!(
        p["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        p["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"],
        serde_json::json!(["PublishEventsDeadLetterQueue", "Arn"])
    );
    assert_eq!(
        publish["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"]["Ref"],
        "EventBus"
    );
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let alarmed = |metric: &str, dimension: &Value| {
        alarms.iter().any(|(_, a)| {
            a["Properties"]["MetricName"] == metric
                && &a["Properties"]["Dimensions"][0]["Value"] == dimension
        })
    };
    assert!(alarmed(
        "IteratorAge",
        &serde_json::json!({"Ref": "PublishEventsFunction"})
    ));
    for dlq in ["PublishEventsDeadLetterQueue", "WebhookDeadLetterQueue"] {
        assert!(
            alarmed(
                "ApproximateNumberOfMessagesVisible",
                &serde_json::json!({"Fn::GetAtt": [dlq, "QueueName"]})
            ),
            "no depth alarm on {dlq}"
        );
    }
}

/// Webhooks exist only when the URL parameter is set; the rule feeds the queue, whose
/// redrive keeps retrying for more than 24 hours before the dead-letter queue.
#[test]
fn webhooks_are_conditional_and_retried_for_a_day_before_dead_lettering() {
    let t = template();
    let r = resources(&t);
    for id in [
        "WebhookQueue",
        "WebhookDeadLetterQueue",
        "WebhookRule",
        "WebhookQueuePolicy",
        "MerchantWebhookSecret",
        "DeliverWebhooksFunction",
        "DeliverWebhooksRole",
        "DeliverWebhooksLogGroup",
        "WebhookDeadLettersAlarm",
    ] {
        assert_eq!(r[id]["Condition"], "HasMerchantWebhookUrl", "{id}");
    }
    assert!(
        r["EventBus"]["Condition"].is_null() && r["PublishEventsFunction"]["Condition"].is_null()
    );
    let rule = &r["WebhookRule"]["Properties"];
    assert_eq!(rule["EventBusName"]["Ref"], "EventBus");
    assert_eq!(
        rule["EventPattern"]["source"],
        serde_json::json!(["leanx-payouts"])
    );
    assert_eq!(
        rule["Targets"][0]["Arn"]["Fn::GetAtt"],
        serde_json::json!(["WebhookQueue", "Arn"])
    );
    let queue = &r["WebhookQueue"]["Properties"];
    let receives = queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap() as u32;
    let waited: std::time::Duration = (1..receives)
        .map(|n| {
            leanx_payouts::pipeline::deliver::retry_delay(
                n,
                leanx_payouts::pipeline::deliver::DEFAULT_RETRY_BASE,
            )
        })
        .sum();
    assert!(
        waited.as_secs() >= 24 * 3600,
        "{receives} receives span only {waited:?}"
    );
    assert!(queue["MessageRetentionPeriod"].as_u64().unwrap() > waited.as_secs());
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"],
        serde_json::json!(["WebhookDeadLetterQueue", "Arn"])
    );
    let (_, deliver) = functions(&t)["deliver-webhooks"];
    let timeout = deliver["Properties"]["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= timeout);
    let mapping = deliver["Properties"]["Events"]["WebhookQueue"]["Properties"].clone();
    assert_eq!(
        mapping["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    assert!(
        mapping["ScalingConfig"]["MaximumConcurrency"]
            .as_u64()
            .is_some()
    );
    // Only EventBridge, for this rule only, may send to the queue.
    let policy = &r["WebhookQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let statements = one_or_many(policy);
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0]["Principal"]["Service"],
        "events.amazonaws.com"
    );
    assert_eq!(statements[0]["Action"], "sqs:SendMessage");
    assert_eq!(
        statements[0]["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"],
        serde_json::json!(["WebhookRule", "Arn"])
    );
}

// ---------------------------------------------------------------- batch payouts

/// The default of `BATCH_SEND_RATE` (docs/api.md, shared/API.md): sends per second in total.
const DEFAULT_BATCH_SEND_RATE: u64 = 10;
/// `BATCH_QUEUE_TTL_SECONDS`' default: after it the reconciler closes an item never sent.
const BATCH_QUEUE_TTL_SECONDS: u64 = 6 * 3600;

/// send-batch-items' queue mapping runs at most `MaximumConcurrency` invocations, and each
/// container spaces its sends `BATCH_SEND_CONCURRENCY / BATCH_SEND_RATE` seconds apart: the two
/// must be the same number for the containers together to keep to the stack's rate.
#[test]
fn batch_sends_keep_to_the_stack_rate_through_the_mappings_concurrency() {
    let t = template();
    let (_, send) = functions(&t)["send-batch-items"];
    let events: Vec<&Value> = send["Properties"]["Events"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["Type"], "SQS");
    let mapping = &events[0]["Properties"];
    assert_eq!(
        mapping["Queue"]["Fn::GetAtt"],
        serde_json::json!(["BatchSendQueue", "Arn"])
    );
    // An item not sent now goes back alone; the others of its invocation are done.
    assert_eq!(
        mapping["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    let max_concurrency = mapping["ScalingConfig"]["MaximumConcurrency"]
        .as_u64()
        .expect("the mapping's concurrency is capped");
    let env = &environments(&t)["send-batch-items"];
    let concurrency: u64 = env["BATCH_SEND_CONCURRENCY"]
        .as_str()
        .expect("BATCH_SEND_CONCURRENCY is set")
        .parse()
        .unwrap();
    assert_eq!(
        concurrency, max_concurrency,
        "BATCH_SEND_CONCURRENCY must be the mapping's MaximumConcurrency"
    );
    assert_eq!(env["BATCH_SEND_RATE"]["Ref"], "BatchSendRate");
    let rate = &t["Parameters"]["BatchSendRate"];
    assert_eq!(rate["Type"], "Number");
    assert_eq!(rate["Default"], DEFAULT_BATCH_SEND_RATE);
    let slowest = rate["MinValue"].as_u64().expect("a smallest rate");
    assert!(slowest >= 1);
    assert!(
        rate["MaxValue"].as_u64().is_some(),
        "an upper bound, so that LeanX is never flooded by a typo"
    );
    // A whole invocation's pacing fits its timeout even at the slowest rate the stack allows.
    let messages = mapping["BatchSize"].as_u64().expect("a batch size");
    let items = messages * leanx_payouts::usecases::ITEMS_PER_MESSAGE as u64;
    let timeout = send["Properties"]["Timeout"].as_u64().unwrap();
    assert!(
        items * concurrency < timeout * slowest,
        "{items} items {concurrency}/{slowest} s apart do not fit a {timeout} s timeout"
    );
    // And at LeanX's slowest answer (LEANX_TIMEOUT_MS, 10 s) for every item.
    assert!(
        items * 10 < timeout,
        "{items} items at 10 s each do not fit a {timeout} s timeout"
    );
}

/// An item is sent exactly as POST /payouts sends (config::Needs::Sending), and its claim
/// outlives one item's worst case: a verification, two refused connects, one full request.
#[test]
fn batch_items_are_sent_with_create_payouts_settings_under_a_claim_that_outlives_a_send() {
    let t = template();
    let envs = environments(&t);
    let (create, send) = (&envs["create-payout"], &envs["send-batch-items"]);
    for name in [
        "LEANX_VIRTUAL_POOL_REFERENCE",
        "CALLBACK_URL",
        "CLAIM_TTL_SECONDS",
        "LEANX_BASE_URL",
        "LEANX_SECRET_ARN",
        "LEANX_SIGN_REQUESTS",
        "LEANX_TIMEOUT_MS",
        "TABLE_NAME",
    ] {
        assert!(create.contains_key(name), "create-payout has no {name}");
        assert_eq!(send.get(name), create.get(name), "send-batch-items' {name}");
    }
    let leanx_ms: u64 = send["LEANX_TIMEOUT_MS"].as_str().unwrap().parse().unwrap();
    let claim_ttl: u64 = send["CLAIM_TTL_SECONDS"].as_str().unwrap().parse().unwrap();
    assert!(
        claim_ttl * 1000 > leanx_ms + 2 * 3_000 + leanx_ms,
        "CLAIM_TTL_SECONDS {claim_ttl} does not outlive one item's send"
    );
    let (_, accept) = functions(&t)["create-payout-batch"];
    assert_eq!(
        accept["Properties"]["Environment"]["Variables"]["BATCH_QUEUE_URL"]["Ref"],
        "BatchSendQueue"
    );
    // API Gateway gives up on an integration after 30 s.
    assert!(accept["Properties"]["Timeout"].as_u64().unwrap() < 30);
}

/// The batch queue hands a message back after six of the function's timeouts (AWS's advice for
/// an SQS event source), dead-letters it after bounded receives, keeps it past the time the
/// reconciler takes over, and a dead letter fires an alarm.
#[test]
fn the_batch_queue_redelivers_boundedly_then_dead_letters_with_an_alarm() {
    let t = template();
    let r = resources(&t);
    for id in ["BatchSendQueue", "BatchSendDeadLetterQueue"] {
        assert_eq!(r[id]["Type"], "AWS::SQS::Queue", "{id}");
        assert!(r[id]["Condition"].is_null(), "{id}: batches are always on");
        assert_eq!(r[id]["Properties"]["SqsManagedSseEnabled"], true, "{id}");
    }
    let queue = &r["BatchSendQueue"]["Properties"];
    let (_, send) = functions(&t)["send-batch-items"];
    let timeout = send["Properties"]["Timeout"].as_u64().unwrap();
    let visibility = queue["VisibilityTimeout"].as_u64().unwrap();
    assert_eq!(visibility, 6 * timeout);
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"],
        serde_json::json!(["BatchSendDeadLetterQueue", "Arn"])
    );
    let receives = queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
    assert!((2..=100).contains(&receives), "{receives} receives");
    let retention = queue["MessageRetentionPeriod"].as_u64().unwrap();
    // Retention never drops a message before its receives are spent and it is dead-lettered.
    assert!(retention > receives * visibility);
    assert!(retention >= BATCH_QUEUE_TTL_SECONDS);
    let dlq_retention = r["BatchSendDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
        .as_u64()
        .unwrap();
    assert!(dlq_retention > retention);
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let on_dlq: Vec<_> = alarms
        .iter()
        .filter(|(_, a)| {
            a["Properties"]["Dimensions"][0]["Value"]
                == serde_json::json!({"Fn::GetAtt": ["BatchSendDeadLetterQueue", "QueueName"]})
        })
        .collect();
    assert_eq!(on_dlq.len(), 1, "one alarm on the batch dead-letter queue");
    let p = &on_dlq[0].1["Properties"];
    assert_eq!(p["Namespace"], "AWS/SQS");
    assert_eq!(p["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(p["Statistic"], "Maximum");
    assert_eq!(p["Threshold"], 1);
    assert_eq!(p["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
}
