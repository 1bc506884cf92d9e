//! The API Gateway HTTP API front: routes a request to its function, hands it over as a payload
//! format 2.0 event (the typed `aws_lambda_events` structs `lambda_http` itself reads) and turns
//! the function's answer back into the HTTP response, with API Gateway's failure modes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayV2httpResponse,
};
use lambda_http::aws_lambda_events::encodings::Body;
use lambda_http::aws_lambda_events::query_map::QueryMap;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::http::respond;
use crate::{ACCOUNT_ID, EmulatorError, EmulatorState, Route};

/// Serves the front on `listener` until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<EmulatorState>) {
    crate::http::serve(listener, move |peer| {
        let shared = shared.clone();
        move |req| handle(shared.clone(), peer, req)
    })
    .await;
}

async fn handle(
    shared: Arc<EmulatorState>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let request_id = BASE64.encode(&uuid::Uuid::new_v4().as_bytes()[..10]);
    let (parts, body) = req.into_parts();
    let mut response = match body.collect().await {
        Err(_) => bad_request(),
        Ok(body) => match match_route(&shared.routes, &parts.method, parts.uri.path()) {
            None => respond(
                StatusCode::NOT_FOUND,
                json!({"error": {"code": "not_found", "message": "no route"}}),
            ),
            Some((route, params)) => {
                let event = http_event(route, params, &parts, &body.to_bytes(), peer, &request_id);
                match serde_json::to_vec(&event) {
                    Err(_) => bad_request(),
                    Ok(event) => answer(shared.invoke(&route.function, event.into()).await),
                }
            }
        },
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    Ok(response)
}

/// The function's result as API Gateway answers it: 502 when the function failed, crashed or
/// answered nonsense, 504 when it timed out.
fn answer(result: Result<Bytes, EmulatorError>) -> Response<Full<Bytes>> {
    let internal_error = || {
        respond(
            StatusCode::BAD_GATEWAY,
            json!({"message": "Internal Server Error"}),
        )
    };
    match result {
        Ok(payload) => lambda_to_http(&payload).unwrap_or_else(internal_error),
        Err(EmulatorError::Timeout { .. }) => respond(
            StatusCode::GATEWAY_TIMEOUT,
            json!({"message": "Endpoint request timed out"}),
        ),
        Err(_) => internal_error(),
    }
}

fn bad_request() -> Response<Full<Bytes>> {
    respond(StatusCode::BAD_REQUEST, json!({"message": "Bad Request"}))
}

/// The matching route with the fewest parameters (literal segments win, like API Gateway).
fn match_route<'r>(
    routes: &'r [Route],
    method: &Method,
    path: &str,
) -> Option<(&'r Route, Vec<(String, String)>)> {
    routes
        .iter()
        .filter(|r| r.method == method || r.method.as_str() == "ANY")
        .filter_map(|r| match_template(&r.path_template, path).map(|params| (r, params)))
        .min_by_key(|(r, params)| (params.len(), r.path_template.contains("+}")))
}

fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let template: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = Vec::new();
    for (i, segment) in template.iter().enumerate() {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if name.ends_with('+') => {
                let rest = path.get(i..)?.join("/");
                params.push((name.trim_end_matches('+').to_owned(), decode(&rest, false)));
                return (!rest.is_empty()).then_some(params);
            }
            Some(name) => {
                let value = path.get(i).filter(|v| !v.is_empty())?;
                params.push((name.to_owned(), decode(value, false)));
            }
            None if path.get(i) == Some(segment) => {}
            None => return None,
        }
    }
    (template.len() == path.len()).then_some(params)
}

fn decode(s: &str, plus_is_space: bool) -> String {
    let s = if plus_is_space {
        s.replace('+', " ")
    } else {
        s.to_owned()
    };
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Builds an API Gateway HTTP API payload format 2.0 event.
fn http_event(
    route: &Route,
    params: Vec<(String, String)>,
    parts: &hyper::http::request::Parts,
    body: &[u8],
    peer: SocketAddr,
    request_id: &str,
) -> ApiGatewayV2httpRequest {
    let (headers, cookies) = event_headers(&parts.headers, peer);
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let host = header("host").unwrap_or_else(|| "localhost".into());
    let raw_query = parts.uri.query().unwrap_or_default();
    let route_key = format!("{} {}", route.method, route.path_template);
    let now = chrono::Utc::now();

    // The structs are `#[non_exhaustive]`: filled field by field from their defaults.
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_owned());
    http.protocol = Some(format!("{:?}", parts.version));
    http.source_ip = Some(peer.ip().to_string());
    http.user_agent = Some(header("user-agent").unwrap_or_default());

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.clone());
    context.account_id = Some(ACCOUNT_ID.into());
    context.stage = Some("$default".into());
    context.request_id = Some(request_id.into());
    context.apiid = Some("e2eemulator".into());
    context.domain_prefix = Some(host.split('.').next().unwrap_or_default().into());
    context.domain_name = Some(host);
    context.time = Some(now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    context.time_epoch = now.timestamp_millis();
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    // Only Custom Authorizer v1 payloads carry this field; it must not say GET for a POST.
    #[allow(deprecated)]
    {
        event.http_method = parts.method.clone();
    }
    event.version = Some("2.0".into());
    event.route_key = Some(route_key);
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(raw_query.to_owned());
    // API Gateway leaves cookies, query and path parameters out rather than sending them empty.
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.query_string_parameters = query_parameters(raw_query);
    event.path_parameters = params.into_iter().collect();
    event.request_context = context;
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event.body = Some(text.to_owned()),
            Err(_) => {
                event.body = Some(BASE64.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// HTTP API lower-cases header names, joins repeated headers with commas, moves cookies out of
/// the headers into their own list and adds the `x-forwarded-*` headers.
fn event_headers(request: &HeaderMap, peer: SocketAddr) -> (HeaderMap, Vec<String>) {
    let mut joined: Vec<(&hyper::header::HeaderName, String)> = Vec::new();
    let mut cookies = Vec::new();
    for name in request.keys() {
        let values: Vec<String> = request
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if name == hyper::header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        joined.push((name, values.join(",")));
    }
    // The event's headers are text: a value that is not UTF-8 arrives lossily converted.
    fn set(headers: &mut HeaderMap, name: &str, value: &str) {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.insert(name, value);
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &joined {
        set(&mut headers, name.as_str(), value);
    }
    set(&mut headers, "x-forwarded-for", &peer.ip().to_string());
    set(&mut headers, "x-forwarded-proto", "http");
    if !headers.contains_key("x-forwarded-port") {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let port = host.rsplit_once(':').map_or("80", |(_, p)| p).to_owned();
        set(&mut headers, "x-forwarded-port", &port);
    }
    (headers, cookies)
}

/// The query string as HTTP API decodes it: `+` is a space, repeated keys keep every value.
fn query_parameters(raw_query: &str) -> QueryMap {
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query
            .entry(decode(k, true))
            .or_default()
            .push(decode(v, true));
    }
    QueryMap::from(query)
}

/// Turns the function's result into the HTTP response, as API Gateway does for payload 2.0:
/// an object with `statusCode` is a response description, any other JSON is a 200 JSON body.
/// `None` (-> 502) when it cannot be interpreted.
fn lambda_to_http(payload: &[u8]) -> Option<Response<Full<Bytes>>> {
    let mut value: Value = serde_json::from_slice(payload).ok()?;
    let Some(obj) = value
        .as_object_mut()
        .filter(|o| o.contains_key("statusCode"))
    else {
        return Some(respond(StatusCode::OK, value));
    };
    // The typed response requires the list; a function may leave it out.
    obj.entry("cookies").or_insert_with(|| json!([]));
    let described: ApiGatewayV2httpResponse = serde_json::from_value(value).ok()?;
    let status = StatusCode::from_u16(u16::try_from(described.status_code).ok()?).ok()?;
    let body = match described.body {
        Some(Body::Text(text)) if described.is_base64_encoded => BASE64.decode(text).ok()?,
        Some(Body::Text(text)) => text.into_bytes(),
        Some(Body::Binary(bytes)) => bytes,
        _ => Vec::new(),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in described
        .headers
        .iter()
        .chain(described.multi_value_headers.iter())
    {
        headers.append(name, value.clone());
    }
    for cookie in &described.cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(hyper::header::SET_COOKIE, value);
        }
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_for(uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Value {
        let mut request = Request::builder().method(Method::POST).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (parts, ()) = request.body(()).unwrap().into_parts();
        let route = Route::new(Method::POST, "/things/{id}", "f");
        let params = vec![("id".to_owned(), "a b".to_owned())];
        let peer = SocketAddr::from(([127, 0, 0, 1], 5555));
        serde_json::to_value(http_event(&route, params, &parts, body, peer, "req-1")).unwrap()
    }

    #[test]
    fn the_event_is_an_http_api_payload_2_0() {
        let event = event_for(
            "/things/a%20b?x=1&x=2&y=a+b",
            &[("host", "api.local:9000"), ("cookie", "c1=v1; c2=v2")],
            b"{}",
        );
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "POST /things/{id}");
        assert_eq!(event["rawPath"], "/things/a%20b");
        assert_eq!(event["rawQueryString"], "x=1&x=2&y=a+b");
        assert_eq!(
            event["queryStringParameters"],
            json!({"x": "1,2", "y": "a b"})
        );
        assert_eq!(event["pathParameters"], json!({"id": "a b"}));
        assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["headers"]["x-forwarded-port"], "9000");
        assert_eq!(event["headers"]["x-forwarded-for"], "127.0.0.1");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["requestContext"]["domainPrefix"], "api");
        assert_eq!(event["requestContext"]["requestId"], "req-1");
        assert_eq!(event["requestContext"]["stage"], "$default");
        assert_eq!(event["body"], "{}");
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn empty_parts_are_left_out_of_the_event() {
        let event = event_for("/things/x", &[], b"");
        for key in ["cookies", "queryStringParameters", "body"] {
            assert!(event.get(key).is_none(), "{key}: {event}");
        }
    }

    #[test]
    fn repeated_headers_are_joined_with_commas() {
        let event = event_for("/things/x", &[("x-a", "1"), ("x-a", "2")], b"");
        assert_eq!(event["headers"]["x-a"], "1,2");
    }

    #[test]
    fn an_answer_without_status_code_is_a_200_json_body() {
        let response = lambda_to_http(br#"{"hello":"world"}"#).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
    }

    #[test]
    fn a_response_description_may_leave_out_cookies_and_headers() {
        let response = lambda_to_http(br#"{"statusCode":204}"#).unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let response =
            lambda_to_http(br#"{"statusCode":200,"headers":{"x-a":"1"},"cookies":["k=v"]}"#)
                .unwrap();
        assert_eq!(response.headers()["x-a"], "1");
        assert_eq!(response.headers()["set-cookie"], "k=v");
    }

    #[test]
    fn an_answer_that_cannot_be_read_is_none() {
        assert!(lambda_to_http(b"not json").is_none());
        assert!(lambda_to_http(br#"{"statusCode":99999}"#).is_none());
    }
}
