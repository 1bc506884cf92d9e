//! This workspace's stack, described once, for the end-to-end tests, the benchmark and
//! `make dev` alike:
//!
//! - **functions**: the workspace members under `functions/` (root `Cargo.toml`), by package
//!   name (= binary name);
//! - **routes**: `[workspace.metadata.lambda.watch.router]` in the same file, which
//!   `cargo lambda watch` (`make dev`) serves too;
//! - **environment**: [`StackEnv::vars`], the one list of variables every function is given
//!   locally (`make dev` writes it with `lambda-stack dev-env`).
//!
//! A new function with a route is one member and one router entry (plus its `template.yaml`
//! resource); a new variable is one line in [`StackEnv::vars`].

use std::path::{Path, PathBuf};

use hyper::Method;
use serde::Deserialize;

use crate::Route;

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid manifest: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("route {method} {path}: {problem}")]
    Route {
        method: String,
        path: String,
        problem: String,
    },
    #[error("a value for {name} contains a single quote, which the env file cannot carry")]
    Unquotable { name: String },
}

/// The workspace's root `Cargo.toml`.
pub fn workspace_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml")
}

/// The functions and their routes, as the workspace manifest declares them.
#[derive(Debug, Clone)]
pub struct StackDescription {
    functions: Vec<String>,
    routes: Vec<Route>,
}

#[derive(Deserialize)]
struct Manifest {
    workspace: Workspace,
}

#[derive(Deserialize)]
struct Workspace {
    members: Vec<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    lambda: Option<LambdaMetadata>,
}

#[derive(Deserialize)]
struct LambdaMetadata {
    watch: Option<WatchMetadata>,
}

#[derive(Deserialize)]
struct WatchMetadata {
    /// Path template -> the methods served there (cargo lambda's router format).
    #[serde(default)]
    router: toml::Table,
}

#[derive(Deserialize)]
struct RouterEntry {
    method: String,
    function: String,
}

#[derive(Deserialize)]
struct MemberManifest {
    package: MemberPackage,
}

#[derive(Deserialize)]
struct MemberPackage {
    name: String,
}

/// The members that are Lambda functions.
const FUNCTIONS_DIR: &str = "functions/";

impl StackDescription {
    /// Reads [`workspace_manifest`].
    pub fn load() -> Result<StackDescription, StackError> {
        Self::read(&workspace_manifest())
    }

    /// Reads a workspace manifest and its function members' manifests.
    pub fn read(manifest: &Path) -> Result<StackDescription, StackError> {
        let root = manifest.parent().unwrap_or(Path::new("."));
        Self::parse(&read(manifest)?, manifest, |member| {
            let path = root.join(member).join("Cargo.toml");
            let parsed: MemberManifest = parse(&read(&path)?, &path)?;
            Ok(parsed.package.name)
        })
    }

    /// Parses a workspace manifest's text; `package_of` names the package of a member path.
    pub fn parse(
        text: &str,
        path: &Path,
        package_of: impl Fn(&str) -> Result<String, StackError>,
    ) -> Result<StackDescription, StackError> {
        let manifest: Manifest = parse(text, path)?;
        let functions = manifest
            .workspace
            .members
            .iter()
            .filter(|m| m.starts_with(FUNCTIONS_DIR))
            .map(|m| package_of(m))
            .collect::<Result<Vec<_>, _>>()?;
        let router = manifest
            .workspace
            .metadata
            .and_then(|m| m.lambda)
            .and_then(|l| l.watch)
            .map(|w| w.router)
            .unwrap_or_default();
        let mut routes = Vec::new();
        for (template, entries) in router {
            let entries: Vec<RouterEntry> =
                entries
                    .try_into()
                    .map_err(|e: toml::de::Error| StackError::Route {
                        method: String::new(),
                        path: template.clone(),
                        problem: e.to_string(),
                    })?;
            for entry in entries {
                let problem = |problem: String| StackError::Route {
                    method: entry.method.clone(),
                    path: template.clone(),
                    problem,
                };
                let method = Method::from_bytes(entry.method.to_uppercase().as_bytes())
                    .map_err(|e| problem(e.to_string()))?;
                if !functions.contains(&entry.function) {
                    return Err(problem(format!(
                        "`{}` is not a member under {FUNCTIONS_DIR}",
                        entry.function
                    )));
                }
                routes.push(Route::new(method, template.clone(), entry.function));
            }
        }
        Ok(StackDescription { functions, routes })
    }

    /// Every function's name (its binary's name), in the manifest's order.
    pub fn functions(&self) -> &[String] {
        &self.functions
    }

    /// Every route of the HTTP API.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The routes served by one function.
    pub fn routes_of(&self, function: &str) -> Vec<Route> {
        self.routes
            .iter()
            .filter(|r| r.function == function)
            .cloned()
            .collect()
    }

    /// `base_url` + the path of `function`'s first route that has no parameters (e.g. the
    /// callback URL LeanX is given).
    pub fn url_of(&self, base_url: &str, function: &str) -> Option<String> {
        self.routes
            .iter()
            .find(|r| r.function == function && !r.path_template.contains('{'))
            .map(|r| format!("{}{}", base_url.trim_end_matches('/'), r.path_template))
    }
}

fn read(path: &Path) -> Result<String, StackError> {
    std::fs::read_to_string(path).map_err(|source| StackError::Read {
        path: path.to_owned(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, StackError> {
    toml::from_str(text).map_err(|source| StackError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// The function that receives LeanX's callbacks: `CALLBACK_URL` names its route.
pub const CALLBACK_FUNCTION: &str = "leanx-callback";

/// The configuration every function of the stack is given (`template.yaml`'s `Environment`
/// in AWS), pointed at local parts.
#[derive(Debug, Clone)]
pub struct StackEnv {
    pub table: String,
    pub dynamodb_endpoint: String,
    pub aws: AwsAccess,
    pub leanx: LeanxAccess,
    /// Where LeanX sends callbacks: see [`StackDescription::url_of`] and [`CALLBACK_FUNCTION`].
    pub callback_url: String,
    pub timing: Timing,
    pub rust_log: String,
}

/// How the functions reach AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsAccess {
    /// Static local credentials, the instance metadata service disabled (tests, `make dev`).
    Local,
    /// Env credentials with a session token as Lambda gives them, the metadata service not
    /// disabled (never reached: the env provider answers first): the benchmark measures the
    /// credential chain Lambda runs.
    AsInLambda,
}

#[derive(Debug, Clone)]
pub struct LeanxAccess {
    pub base_url: String,
    pub auth_token: String,
    pub hash_key: String,
    pub virtual_pool_reference: String,
    pub sign_requests: bool,
}

/// Timing knobs; `None` leaves the function's own default.
#[derive(Debug, Clone, Default)]
pub struct Timing {
    pub claim_ttl_seconds: Option<u32>,
    pub payout_grace_period_seconds: Option<u32>,
    pub refresh_after_seconds: Option<u32>,
    pub leanx_timeout_ms: Option<u32>,
    /// Recognised "not found" answers needed before "not received", and their spacing.
    pub not_found_lookups_required: Option<u32>,
    pub not_found_lookup_spacing_seconds: Option<u32>,
}

impl StackEnv {
    /// The variables, in a stable order.
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars: Vec<(&str, String)> = vec![
            ("TABLE_NAME", self.table.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb_endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "local".into()),
            ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ];
        match self.aws {
            AwsAccess::Local => {
                vars.push(("AWS_REGION", "us-east-1".into()));
                vars.push(("AWS_EC2_METADATA_DISABLED", "true".into()));
            }
            AwsAccess::AsInLambda => {
                vars.push(("AWS_SESSION_TOKEN", "local".into()));
                vars.push(("AWS_REGION", "us-east-1".into()));
            }
        }
        let leanx = &self.leanx;
        vars.extend([
            ("LEANX_BASE_URL", leanx.base_url.clone()),
            ("LEANX_AUTH_TOKEN", leanx.auth_token.clone()),
            ("LEANX_HASH_KEY", leanx.hash_key.clone()),
            (
                "LEANX_VIRTUAL_POOL_REFERENCE",
                leanx.virtual_pool_reference.clone(),
            ),
            ("LEANX_SIGN_REQUESTS", leanx.sign_requests.to_string()),
            ("CALLBACK_URL", self.callback_url.clone()),
        ]);
        let timing = [
            ("CLAIM_TTL_SECONDS", self.timing.claim_ttl_seconds),
            (
                "PAYOUT_GRACE_PERIOD_SECONDS",
                self.timing.payout_grace_period_seconds,
            ),
            ("REFRESH_AFTER_SECONDS", self.timing.refresh_after_seconds),
            ("LEANX_TIMEOUT_MS", self.timing.leanx_timeout_ms),
            (
                "NOT_FOUND_LOOKUPS_REQUIRED",
                self.timing.not_found_lookups_required,
            ),
            (
                "NOT_FOUND_LOOKUP_SPACING_SECONDS",
                self.timing.not_found_lookup_spacing_seconds,
            ),
        ];
        vars.extend(
            timing
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?.to_string()))),
        );
        vars.push(("RUST_LOG", self.rust_log.clone()));
        vars.into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }

    /// The variables as an env file both `cargo lambda watch --env-file` and a shell's `.`
    /// read: `NAME='value'`, one a line.
    pub fn env_file(&self) -> Result<String, StackError> {
        let mut out = String::new();
        for (name, value) in self.vars() {
            if value.contains('\'') {
                return Err(StackError::Unquotable { name });
            }
            out.push_str(&format!("{name}='{value}'\n"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StackDescription, StackError> {
        StackDescription::parse(text, Path::new("Cargo.toml"), |member| {
            Ok(member.trim_start_matches(FUNCTIONS_DIR).to_owned())
        })
    }

    const MANIFEST: &str = r#"
        [workspace]
        members = ["shared", "functions/create-thing", "functions/tick", "tools/x"]

        [workspace.metadata.lambda.watch.router]
        "/things" = [{ method = "POST", function = "create-thing" }]
        "/things/{id}" = [{ method = "GET", function = "create-thing" }]
    "#;

    #[test]
    fn functions_are_the_members_under_functions() {
        let stack = parse(MANIFEST).unwrap();
        assert_eq!(stack.functions(), ["create-thing", "tick"]);
    }

    #[test]
    fn routes_come_from_the_cargo_lambda_router() {
        let stack = parse(MANIFEST).unwrap();
        let routes: Vec<_> = stack
            .routes()
            .iter()
            .map(|r| {
                (
                    r.method.as_str(),
                    r.path_template.as_str(),
                    r.function.as_str(),
                )
            })
            .collect();
        assert_eq!(
            routes,
            [
                ("POST", "/things", "create-thing"),
                ("GET", "/things/{id}", "create-thing")
            ]
        );
        assert!(stack.routes_of("tick").is_empty());
        assert_eq!(
            stack
                .url_of("http://127.0.0.1:1/", "create-thing")
                .as_deref(),
            Some("http://127.0.0.1:1/things")
        );
    }

    #[test]
    fn a_route_to_an_unknown_function_is_an_error() {
        let text = MANIFEST.replace(
            r#"function = "create-thing" }]
        "/things/{id}""#,
            r#"function = "nope" }]
        "/things/{id}""#,
        );
        assert!(matches!(parse(&text), Err(StackError::Route { .. })));
    }

    #[test]
    fn the_workspace_manifest_describes_the_payout_functions_and_routes() {
        let stack = StackDescription::load().unwrap();
        for function in [
            "create-payout",
            "get-payout",
            "leanx-callback",
            "reconcile-payouts",
        ] {
            assert!(
                stack.functions().iter().any(|f| f == function),
                "{function}"
            );
        }
        assert_eq!(
            stack.url_of("http://h", CALLBACK_FUNCTION).as_deref(),
            Some("http://h/callbacks/leanx")
        );
    }

    fn env(aws: AwsAccess) -> StackEnv {
        StackEnv {
            table: "t".into(),
            dynamodb_endpoint: "http://d".into(),
            aws,
            leanx: LeanxAccess {
                base_url: "http://l".into(),
                auth_token: "a|b".into(),
                hash_key: "k".into(),
                virtual_pool_reference: "p".into(),
                sign_requests: true,
            },
            callback_url: "http://c/callbacks/leanx".into(),
            timing: Timing {
                refresh_after_seconds: Some(2),
                ..Timing::default()
            },
            rust_log: "info".into(),
        }
    }

    #[test]
    fn unset_timing_knobs_are_left_to_the_functions_defaults() {
        let vars = env(AwsAccess::Local).vars();
        let names: Vec<_> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"REFRESH_AFTER_SECONDS"));
        assert!(!names.contains(&"CLAIM_TTL_SECONDS"));
        assert!(names.contains(&"AWS_EC2_METADATA_DISABLED"));
        assert!(!names.contains(&"AWS_SESSION_TOKEN"));
    }

    #[test]
    fn as_in_lambda_has_a_session_token_and_the_metadata_service_enabled() {
        let vars = env(AwsAccess::AsInLambda).vars();
        let names: Vec<_> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"AWS_SESSION_TOKEN"));
        assert!(!names.contains(&"AWS_EC2_METADATA_DISABLED"));
    }

    #[test]
    fn the_env_file_quotes_every_value_and_refuses_a_quote() {
        let file = env(AwsAccess::Local).env_file().unwrap();
        assert!(file.contains("LEANX_AUTH_TOKEN='a|b'\n"), "{file}");
        let mut bad = env(AwsAccess::Local);
        bad.table = "it's".into();
        assert!(matches!(
            bad.env_file(),
            Err(StackError::Unquotable { name }) if name == "TABLE_NAME"
        ));
    }
}
