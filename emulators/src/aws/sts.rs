//! STS over the query protocol: form-encoded requests (`POST /` or `GET /?Action=...`), XML
//! answers in AWS's shape, and XML errors.
//!
//! Two operations are served, the ones the CSI provider and SDK credential chains use:
//! `GetCallerIdentity` (signed) and `AssumeRoleWithWebIdentity` (unsigned, the IRSA exchange).
//! Any other action gets AWS's `InvalidAction`.
//!
//! Web identity tokens are judged as STS judges them (`judge_trust`): an OIDC provider for the
//! token's issuer must be registered in the role's account (seed `openIdConnectProviders`) and
//! list one of its audiences, then the role's `trust` (issuer, audience, exact and pattern
//! subjects) must hold. The signature is verified only when the seed provides the issuer's JWKS
//! (`webIdentity`): without one the emulator has no key to check with, and fetching the issuer's
//! discovery document would mean contacting an address the bench did not create. Claims are
//! always checked. The same routes are served over HTTPS for clients that reach STS by its own
//! names ([`super::tls`]); the region of an unsigned call comes from that name.

pub(crate) mod jwt;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use time::{Duration, OffsetDateTime};

use super::error::{self, AwsError, xml_escape};
use super::iam::{self, Issued, Mode};
use super::json_protocol::{Caller, Signed, read_body, resolve_caller};
use super::{AwsEmulator, DEFAULT_REGION};
use crate::core::faults::Scope;
use crate::core::journal::Record;
use crate::core::tenant::RequestTenant;

pub use jwt::check_jwks;

pub const VERSION: &str = "2011-06-15";
pub const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const CONTENT_TYPE: &str = "text/xml";

const MIN_DURATION: i64 = 900;
const MAX_DURATION: i64 = 43_200;
const DEFAULT_DURATION: i64 = 3600;

/// Every action of the STS API, so a known-but-unserved one is told apart in the logs.
const KNOWN_ACTIONS: [&str; 10] = [
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetDelegatedAccessToken",
    "GetFederationToken",
    "GetSessionToken",
];

/// `POST /` without `X-Amz-Target` (json_protocol hands these over).
pub(crate) async fn post_root(
    aws: Arc<AwsEmulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let request_id = aws.core.request_id();
    let body = read_body(&aws.core, &headers, body).await;
    serve(&aws, &method, &uri, &headers, body, started, &request_id).await
}

/// `GET /?Action=...&Version=2011-06-15`: the query protocol allows parameters in the URL.
pub(crate) async fn get_root(
    State(aws): State<Arc<AwsEmulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let request_id = aws.core.request_id();
    serve(
        &aws,
        &method,
        &uri,
        &headers,
        Ok(Bytes::new()),
        started,
        &request_id,
    )
    .await
}

async fn serve(
    aws: &AwsEmulator,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, AwsError>,
    started: Instant,
    request_id: &str,
) -> Response {
    let mut record = Record::new("sts", "");
    let result = match body {
        Ok(bytes) => {
            let req = Signed {
                method,
                uri,
                headers,
                body: &bytes,
            };
            dispatch(aws, &req, request_id, &mut record).await
        }
        Err(e) => Err(e),
    };
    let (status, error, response) = match result {
        Ok(xml) => (
            StatusCode::OK,
            None,
            xml_response(StatusCode::OK, request_id, xml),
        ),
        Err(err) => (
            err.status,
            Some(err.code.to_string()),
            xml_response(err.status, request_id, error::xml_body(&err, request_id)),
        ),
    };
    aws.core
        .journal_request(record, started, status.as_u16(), error);
    response
}

fn xml_response(status: StatusCode, request_id: &str, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    response
}

/// Query-string and form parameters; the query protocol accepts either, the body winning.
fn parameters(uri: &Uri, body: &[u8]) -> Result<BTreeMap<String, String>, AwsError> {
    let malformed = |e: serde_urlencoded::de::Error| {
        AwsError::client(
            "MalformedQueryString",
            format!("The request is not well-formed: {e}"),
        )
    };
    let mut params = BTreeMap::new();
    if let Some(query) = uri.query() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(malformed)?;
        params.extend(pairs);
    }
    if !body.is_empty() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(malformed)?;
        params.extend(pairs);
    }
    Ok(params)
}

async fn dispatch(
    aws: &AwsEmulator,
    req: &Signed<'_>,
    request_id: &str,
    record: &mut Record,
) -> Result<String, AwsError> {
    let params = parameters(req.uri, req.body)?;
    let Some(action) = params.get("Action").filter(|a| !a.is_empty()) else {
        return Err(AwsError::client("MissingAction", "Missing Action"));
    };
    record.operation.clone_from(action);
    let version = params.get("Version").map(String::as_str).unwrap_or(VERSION);
    if version != VERSION
        || !matches!(
            action.as_str(),
            "GetCallerIdentity" | "AssumeRoleWithWebIdentity"
        )
    {
        if KNOWN_ACTIONS.contains(&action.as_str()) {
            tracing::warn!(action, "STS action not emulated");
        }
        return Err(AwsError::client(
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
        ));
    }
    match action.as_str() {
        "GetCallerIdentity" => {
            let caller = resolve_caller(aws, req, "sts").map_err(query_auth_error)?;
            record.region = Some(caller.region.clone());
            record.identity = Some(caller.identity.arn.clone());
            let tenant = caller.tenant();
            record.tenant = Some(tenant.clone());
            apply_faults(
                aws,
                action,
                &caller.region,
                Scope::Request(Some(&tenant.id)),
            )
            .await?;
            Ok(get_caller_identity(aws, req.headers, &caller, request_id))
        }
        _ => {
            // Unsigned, so the region can only come from the host name the client dialled
            // (`sts.<region>.amazonaws.com` when names are redirected to the emulator).
            let region = region_from_host(req.headers).unwrap_or_else(|| DEFAULT_REGION.to_owned());
            record.region = Some(region.clone());
            // Rules for every tenant first, where they always fired; the tenant's own once the
            // role (whose account the credentials will act in) is known.
            apply_faults(aws, action, &region, Scope::Request(None)).await?;
            let request = WebIdentityRequest::from_params(&params)?;
            record.key("roleArn", request.role_arn.clone());
            record.key("roleSessionName", request.session_name.clone());
            let tenant = role_tenant(aws, &request.role_arn);
            record.tenant = Some(tenant.clone());
            apply_faults(aws, action, &region, Scope::TenantOnly(&tenant.id)).await?;
            let xml = assume_role_with_web_identity(aws, &request, record, request_id)?;
            aws.state.persister().commit().await.map_err(|e| {
                tracing::error!(error = %e, "cannot persist state");
                AwsError::internal("InternalFailure", "An internal error occurred.")
            })?;
            Ok(xml)
        }
    }
}

/// The tenant of credentials for `role_arn`: the role's account, else the emulator's own.
pub(crate) fn role_tenant(aws: &AwsEmulator, role_arn: &str) -> RequestTenant {
    let own = aws.read().account_id.clone();
    let account = super::accounts::account_of_arn(role_arn).unwrap_or(&own);
    RequestTenant::new("aws", account, account == own)
}

async fn apply_faults(
    aws: &AwsEmulator,
    action: &str,
    region: &str,
    scope: Scope<'_>,
) -> Result<(), AwsError> {
    if let Some(injected) = aws
        .core
        .inject_faults("sts", action, Some(region), scope)
        .await
    {
        return Err(AwsError::new(
            injected.status_code(),
            injected.code,
            injected.message,
        ));
    }
    Ok(())
}

fn region_from_host(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = host.split(':').next()?;
    let region = host.strip_prefix("sts.")?.strip_suffix(".amazonaws.com")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_owned())
}

/// `resolve_caller` speaks the JSON services' error codes; STS's query protocol names the same
/// failures differently (botocore `sts` and the IAM guide's common errors).
fn query_auth_error(err: AwsError) -> AwsError {
    let (status, code, message): (StatusCode, &'static str, Option<&str>) = match err.code.as_ref()
    {
        "MissingAuthenticationTokenException" => (
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            Some("Request is missing Authentication Token"),
        ),
        "UnrecognizedClientException" => (StatusCode::FORBIDDEN, "InvalidClientTokenId", None),
        "ExpiredTokenException" => (StatusCode::BAD_REQUEST, "ExpiredToken", None),
        "InvalidSignatureException" => (StatusCode::FORBIDDEN, "SignatureDoesNotMatch", None),
        "IncompleteSignatureException" => (StatusCode::BAD_REQUEST, "IncompleteSignature", None),
        _ => return err,
    };
    AwsError::new(status, code, message.map_or(err.message, str::to_owned))
}

/// A stable unique id for a principal, as IAM gives every role (`AROA...`) and user (`AIDA...`):
/// derived from its name so it survives restarts and matches across deterministic runs.
pub fn unique_id(prefix: &str, name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(name.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("{prefix}{tail}")
}

fn get_caller_identity(
    aws: &AwsEmulator,
    headers: &HeaderMap,
    caller: &Caller,
    request_id: &str,
) -> String {
    let (account, arn) = (caller.account.as_str(), caller.identity.arn.as_str());
    let access_key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| super::sigv4::parse(v).ok())
        .map(|a| a.access_key_id);
    let user_id = {
        let state = aws.read();
        match access_key.as_deref() {
            Some(key) if state.iam.issued.contains_key(key) => state
                .iam
                .issued
                .get(key)
                .map(|i| format!("{}:{}", unique_id("AROA", &i.role_arn), i.session_name)),
            Some(key) if state.iam.users.contains_key(key) => Some(unique_id("AIDA", arn)),
            _ => None,
        }
    };
    // Anonymous callers are the account root, whose UserId is the account number.
    let user_id = user_id.unwrap_or_else(|| account.to_owned());
    format!(
        "<GetCallerIdentityResponse xmlns=\"{XMLNS}\">\n  <GetCallerIdentityResult>\n    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n  </GetCallerIdentityResult>\n{}</GetCallerIdentityResponse>\n",
        xml_escape(arn),
        xml_escape(&user_id),
        xml_escape(account),
        response_metadata(request_id),
    )
}

fn response_metadata(request_id: &str) -> String {
    format!(
        "  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  </ResponseMetadata>\n",
        xml_escape(request_id)
    )
}

/// The parameters of `AssumeRoleWithWebIdentity`, validated as Coral does (all violations of the
/// members' constraints reported together).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WebIdentityRequest {
    pub role_arn: String,
    pub session_name: String,
    pub token: String,
    pub duration: i64,
    pub policy: Option<String>,
    pub provider_id: Option<String>,
}

fn session_name_ok(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

impl WebIdentityRequest {
    pub fn from_params(params: &BTreeMap<String, String>) -> Result<Self, AwsError> {
        let mut violations = Vec::new();
        let mut length = |member: &str,
                          shown: Option<&str>,
                          value: Option<&String>,
                          min: usize,
                          max: usize,
                          required: bool| {
            let Some(value) = value else {
                if required {
                    violations.push(format!(
                        "Value null at '{member}' failed to satisfy constraint: Member must not be null"
                    ));
                }
                return;
            };
            let shown = shown.unwrap_or(value);
            let len = value.chars().count();
            if len < min {
                violations.push(format!(
                    "Value '{shown}' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
                ));
            } else if len > max {
                violations.push(format!(
                    "Value '{shown}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
                ));
            }
        };
        let role_arn = params.get("RoleArn");
        let session_name = params.get("RoleSessionName");
        let token = params.get("WebIdentityToken");
        let policy = params.get("Policy");
        let provider_id = params.get("ProviderId");
        length("roleArn", None, role_arn, 20, 2048, true);
        length("roleSessionName", None, session_name, 2, 64, true);
        // The token is a credential: never echo it back.
        length("webIdentityToken", Some("***"), token, 4, 20_000, true);
        length("policy", None, policy, 1, 2048, false);
        length("providerId", None, provider_id, 4, 2048, false);
        if let Some(name) = session_name
            && !session_name_ok(name)
        {
            violations.push(format!(
                "Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            ));
        }
        let mut duration = DEFAULT_DURATION;
        if let Some(raw) = params.get("DurationSeconds") {
            match raw.trim().parse::<i64>() {
                Ok(d) if d < MIN_DURATION => violations.push(format!(
                    "Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}"
                )),
                Ok(d) if d > MAX_DURATION => violations.push(format!(
                    "Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {MAX_DURATION}"
                )),
                Ok(d) => duration = d,
                Err(_) => {
                    return Err(AwsError::client(
                        "MalformedInput",
                        format!("Value '{raw}' for DurationSeconds is not a valid integer"),
                    ));
                }
            }
        }
        if !violations.is_empty() {
            let count = violations.len();
            let noun = if count == 1 { "error" } else { "errors" };
            return Err(AwsError::client(
                "ValidationError",
                format!(
                    "{count} validation {noun} detected: {}",
                    violations.join("; ")
                ),
            ));
        }
        let (Some(role_arn), Some(session_name), Some(token)) = (role_arn, session_name, token)
        else {
            return Err(AwsError::client(
                "ValidationError",
                "Missing required parameter",
            ));
        };
        if parse_role_arn(role_arn).is_none() {
            return Err(AwsError::client(
                "ValidationError",
                "Request ARN is invalid",
            ));
        }
        Ok(Self {
            role_arn: role_arn.clone(),
            session_name: session_name.clone(),
            token: token.clone(),
            duration,
            policy: policy.cloned(),
            provider_id: provider_id.cloned(),
        })
    }
}

/// `(account, role name)` of `arn:<partition>:iam::<account>:role/<path/>name`.
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    let account_ok = super::accounts::is_account_id(account);
    (partition.starts_with("aws") && account_ok && !name.is_empty()).then_some((account, name))
}

fn invalid_token(message: impl Into<String>) -> AwsError {
    AwsError::client("InvalidIdentityToken", message)
}

fn not_authorized() -> AwsError {
    AwsError::new(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    )
}

/// AWS's wording for a token that is not a JWT at all.
const NOT_A_JWT: &str = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";

/// `exp` must lie ahead of the emulator's clock (never the wall clock: scenarios move time).
fn check_lifetime(claims: &jwt::Claims, now: OffsetDateTime) -> Result<(), AwsError> {
    let now = now.unix_timestamp();
    let Some(exp) = claims.exp else {
        return Err(invalid_token(
            "Missing claim 'exp' in the web identity token",
        ));
    };
    if exp <= now {
        return Err(AwsError::client(
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {now} must be before the expiration date/time{exp}"
            ),
        ));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now) {
        return Err(invalid_token(
            "The web identity token is not valid yet (nbf)",
        ));
    }
    Ok(())
}

/// Why a token was refused, beside the error AWS answers with.
struct Refusal {
    error: AwsError,
    reason: String,
}

fn refused(error: AwsError, reason: String) -> Refusal {
    Refusal { error, reason }
}

/// What STS checks once the token itself is sound, in its order: the account must have an OIDC
/// provider for the token's issuer that lists one of its audiences (else `InvalidIdentityToken`,
/// a client fault), then the role's trust policy must name that provider and hold for the
/// token's claims (else `AccessDenied`, which never says which condition failed).
fn judge_trust(
    trust: &iam::Trust,
    provider: Option<&iam::OidcProvider>,
    claims: &jwt::Claims,
    issuer: &str,
    subject: &str,
) -> Result<(), Refusal> {
    match (provider, &trust.issuer) {
        (Some(p), _) => {
            if !p.client_ids.iter().any(|c| claims.has_audience(c)) {
                return Err(refused(
                    invalid_token("Incorrect token audience"),
                    format!(
                        "the OIDC provider {} lists none of the token's audiences ({})",
                        p.url,
                        claims.aud.join(", ")
                    ),
                ));
            }
        }
        (None, Some(_)) => {
            return Err(refused(
                invalid_token(format!(
                    "No OpenIDConnect provider found in your account for {issuer}"
                )),
                format!("no OIDC provider for {issuer} in the role's account"),
            ));
        }
        // No issuer in the trust: the role's audience is the only client id.
        (None, None) => {
            if !claims.has_audience(&trust.audience) {
                return Err(refused(
                    invalid_token("Incorrect token audience"),
                    format!("the token is not for {}", trust.audience),
                ));
            }
        }
    }
    if let Some(expected) = &trust.issuer
        && iam::issuer_key(expected) != iam::issuer_key(issuer)
    {
        return Err(refused(
            not_authorized(),
            format!("the role trusts the OIDC provider {expected}, not {issuer}"),
        ));
    }
    if !claims.has_audience(&trust.audience) {
        return Err(refused(
            not_authorized(),
            format!("the role's trust requires the audience {}", trust.audience),
        ));
    }
    if !trust.trusts_subject(subject) {
        return Err(refused(
            not_authorized(),
            format!("the role does not trust the subject {subject}"),
        ));
    }
    Ok(())
}

fn assume_role_with_web_identity(
    aws: &AwsEmulator,
    req: &WebIdentityRequest,
    record: &mut Record,
    request_id: &str,
) -> Result<String, AwsError> {
    let token = jwt::parse(&req.token).map_err(|e| {
        tracing::debug!(error = %e, "refused web identity token");
        invalid_token(NOT_A_JWT)
    })?;
    record.identity.clone_from(&token.claims.sub);
    let issuer = token.claims.iss.clone().unwrap_or_default();
    let role_account = parse_role_arn(&req.role_arn).map(|(a, _)| a.to_owned());
    let (account, trust, mode, jwks, provider) = {
        let state = aws.read();
        let role_account = role_account.unwrap_or_else(|| state.account_id.clone());
        (
            state.account_id.clone(),
            state
                .iam
                .roles
                .get(&req.role_arn)
                .and_then(|r| r.trust.clone()),
            state.iam.authorization,
            state.iam.jwks.clone(),
            state
                .iam
                .oidc_providers
                .get(&iam::oidc_provider_arn(&role_account, &issuer))
                .cloned(),
        )
    };
    if let Some(jwks) = &jwks {
        token.verify(jwks).map_err(|e| {
            tracing::debug!(error = %e, "web identity token signature refused");
            invalid_token(
                "Couldn't verify the signature of the web identity token with the configured JWKS",
            )
        })?;
    }
    check_lifetime(&token.claims, aws.core.clock.now())?;
    let Some(subject) = token.claims.sub.clone() else {
        return Err(invalid_token(
            "Missing claim 'sub' in the web identity token",
        ));
    };
    // A role without web identity trust is the permissive mode's open door: any well-formed token
    // meant for STS gets in. Strict mode treats it as AWS does a trust policy that names no
    // federated principal.
    let trust = match (trust, mode) {
        (Some(trust), _) => trust,
        (None, Mode::Permissive) => iam::Trust::default_for_any_issuer(),
        (None, Mode::Strict) => return Err(not_authorized()),
    };
    judge_trust(&trust, provider.as_ref(), &token.claims, &issuer, &subject).map_err(
        |refusal| {
            // Not in AWS's answer (it never says why), but the journal is where a bench user
            // looks for the reason.
            record.key("refused", refusal.reason);
            refusal.error
        },
    )?;

    let issued = issue(
        aws,
        &req.role_arn,
        &req.session_name,
        Duration::seconds(req.duration),
    );
    record.key("accessKeyId", issued.access_key_id.clone());
    let role_account = parse_role_arn(&req.role_arn).map_or(account.as_str(), |(a, _)| a);
    let provider = req
        .provider_id
        .clone()
        .unwrap_or_else(|| iam::oidc_provider_arn(role_account, &issuer));
    let packed = req.policy.as_ref().map_or(String::new(), |p| {
        // AWS reports the packed size as a percentage of the limit; length is a fair stand-in.
        format!(
            "    <PackedPolicySize>{}</PackedPolicySize>\n",
            (p.len() * 100).div_ceil(2048)
        )
    });
    Ok(format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{XMLNS}\">\n  <AssumeRoleWithWebIdentityResult>\n    <Audience>{}</Audience>\n    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Provider>{}</Provider>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n    <SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken>\n{packed}  </AssumeRoleWithWebIdentityResult>\n{}</AssumeRoleWithWebIdentityResponse>\n",
        xml_escape(&trust.audience),
        xml_escape(&format!(
            "{}:{}",
            unique_id("AROA", &req.role_arn),
            req.session_name
        )),
        xml_escape(&iam::assumed_role_arn(
            role_account,
            &req.role_arn,
            &req.session_name
        )),
        xml_escape(&provider),
        xml_escape(&issued.access_key_id),
        xml_escape(&issued.secret_access_key),
        xml_escape(&issued.session_token),
        timestamp(issued.expiration),
        xml_escape(&subject),
        response_metadata(request_id),
    ))
}

/// Temporary credentials just handed out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: OffsetDateTime,
}

/// Credentials that expired longer ago than this are forgotten; until then a caller still using
/// them is told they expired, rather than being taken for an unknown (anonymous) caller.
const FORGET_AFTER: Duration = Duration::days(1);

/// Mints credentials for `role_arn` and records them, so SigV4 calls made with them resolve to
/// the role. The caller persists the change.
pub(crate) fn issue(
    aws: &AwsEmulator,
    role_arn: &str,
    session_name: &str,
    lifetime: Duration,
) -> NewCredentials {
    const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const SECRET_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let ids = &aws.core.ids;
    let now = aws.core.clock.now();
    let creds = NewCredentials {
        access_key_id: format!("ASIA{}", ids.from_alphabet(UPPER_ALNUM, 16)),
        secret_access_key: ids.from_alphabet(SECRET_ALPHABET, 40),
        // Real session tokens are opaque base64 of a few hundred bytes; clients only pass them on.
        session_token: format!(
            "FwoGZXIvYXdzE{}",
            base64::engine::general_purpose::STANDARD.encode(ids.bytes(180))
        ),
        // AWS states expirations to the second.
        expiration: (now + lifetime)
            .replace_nanosecond(0)
            .unwrap_or(now + lifetime),
    };
    let mut state = aws.write();
    state
        .iam
        .issued
        .retain(|_, i| i.expiration + FORGET_AFTER > now);
    state.iam.issued.insert(
        creds.access_key_id.clone(),
        Issued {
            secret_access_key: creds.secret_access_key.clone(),
            session_token: creds.session_token.clone(),
            role_arn: role_arn.to_owned(),
            session_name: session_name.to_owned(),
            expiration: creds.expiration,
        },
    );
    creds
}

/// ISO 8601 / RFC 3339 in UTC with whole seconds, as STS and the agent print them.
pub fn timestamp(t: OffsetDateTime) -> String {
    crate::core::clock::rfc3339(t.replace_nanosecond(0).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/app";

    #[test]
    fn web_identity_parameters_default_and_validate() {
        let ok = WebIdentityRequest::from_params(&params(&[
            ("RoleArn", ROLE),
            ("RoleSessionName", "a.b@c=d,e+f_g-h"),
            ("WebIdentityToken", "a.b.c"),
        ]))
        .expect("valid");
        assert_eq!(ok.duration, DEFAULT_DURATION);
        assert_eq!(ok.policy, None);

        let e = WebIdentityRequest::from_params(&params(&[("RoleSessionName", "s")]))
            .expect_err("invalid");
        assert_eq!(e.code, "ValidationError");
        assert!(
            e.message.starts_with("3 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(e.message.contains("Value null at 'roleArn'"));
        assert!(e.message.contains("Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"));
        assert!(e.message.contains("Value null at 'webIdentityToken'"));

        let long = "x".repeat(65);
        let e = WebIdentityRequest::from_params(&params(&[
            ("RoleArn", ROLE),
            ("RoleSessionName", &long),
            ("WebIdentityToken", "secret-token-value"),
            ("DurationSeconds", "50000"),
        ]))
        .expect_err("too long");
        assert!(
            e.message
                .contains("Member must have length less than or equal to 64")
        );
        assert!(
            e.message
                .contains("Member must have value less than or equal to 43200")
        );
        assert!(!e.message.contains("secret-token-value"));

        let e = WebIdentityRequest::from_params(&params(&[
            ("RoleArn", ROLE),
            ("RoleSessionName", "ok"),
            ("WebIdentityToken", "abcd"),
            ("DurationSeconds", "soon"),
        ]))
        .expect_err("not a number");
        assert_eq!(e.code, "MalformedInput");
    }

    #[test]
    fn role_arns_are_parsed_strictly() {
        assert_eq!(parse_role_arn(ROLE), Some(("123456789012", "app")));
        assert_eq!(
            parse_role_arn("arn:aws-us-gov:iam::123456789012:role/path/to/app"),
            Some(("123456789012", "app"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/app"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::12345:role/app"), None);
        assert_eq!(parse_role_arn("arn:aws:s3:::bucket/role/app"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:role/"), None);
    }

    #[test]
    fn region_comes_from_the_regional_sts_host() {
        let mut h = HeaderMap::new();
        assert_eq!(region_from_host(&h), None);
        h.insert(
            header::HOST,
            HeaderValue::from_static("sts.eu-west-3.amazonaws.com:443"),
        );
        assert_eq!(region_from_host(&h).as_deref(), Some("eu-west-3"));
        h.insert(header::HOST, HeaderValue::from_static("sts.amazonaws.com"));
        assert_eq!(region_from_host(&h), None);
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4566"));
        assert_eq!(region_from_host(&h), None);
    }

    #[test]
    fn json_auth_errors_get_query_protocol_codes() {
        let e = query_auth_error(AwsError::client(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
        assert_eq!(
            (e.status, e.code.as_ref()),
            (StatusCode::FORBIDDEN, "InvalidClientTokenId")
        );
        let e = query_auth_error(AwsError::client(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
        assert_eq!(e.message, "Request is missing Authentication Token");
        let e = query_auth_error(AwsError::client("ExpiredTokenException", "expired"));
        assert_eq!(
            (e.status, e.code.as_ref()),
            (StatusCode::BAD_REQUEST, "ExpiredToken")
        );
        let other = AwsError::client("Whatever", "m");
        assert_eq!(query_auth_error(other.clone()), other);
    }

    #[test]
    fn unique_ids_are_stable_and_shaped_like_iam_ids() {
        let a = unique_id("AROA", ROLE);
        assert_eq!(a, unique_id("AROA", ROLE));
        assert_ne!(a, unique_id("AROA", "arn:aws:iam::123456789012:role/other"));
        assert_eq!(a.len(), 21);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn token_lifetime_follows_the_given_clock() {
        let now = time::macros::datetime!(2025-01-01 00:00 UTC);
        let t = now.unix_timestamp();
        let claims = |exp: Option<i64>, nbf: Option<i64>| jwt::Claims {
            exp,
            nbf,
            ..jwt::Claims::default()
        };
        check_lifetime(&claims(Some(t + 1), None), now).expect("valid");
        let e = check_lifetime(&claims(Some(t), None), now).expect_err("expired at exp");
        assert_eq!(e.code, "ExpiredTokenException");
        assert_eq!(
            e.message,
            format!(
                "Token expired: current date/time {t} must be before the expiration date/time{t}"
            )
        );
        assert_eq!(
            check_lifetime(&claims(None, None), now)
                .expect_err("no exp")
                .code,
            "InvalidIdentityToken"
        );
        assert_eq!(
            check_lifetime(&claims(Some(t + 60), Some(t + 30)), now)
                .expect_err("nbf")
                .code,
            "InvalidIdentityToken"
        );
    }

    #[test]
    fn timestamps_are_whole_seconds_in_utc() {
        let t = time::macros::datetime!(2025-01-01 01:02:03.456 UTC);
        assert_eq!(timestamp(t), "2025-01-01T01:02:03Z");
    }
}
