//! Key Vault's REST paths, mapped to an operation name (journal and fault rules), the object
//! kind and the access-policy permission it needs.

use axum::http::Method;

use super::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    List,
    ListVersions,
    Get,
    /// `PUT /secrets/{n}` (set) and `PUT /keys/{n}` (import).
    Put,
    Update,
    Delete,
    ListDeleted,
    GetDeleted,
    Recover,
    Purge,
    Create,
    Import,
    GetPolicy,
    GetPending,
    /// A real Key Vault operation this emulator does not serve.
    Unsupported,
    /// A Key Vault path, with a method Key Vault does not serve there.
    MethodNotAllowed,
    /// Not a Key Vault path at all.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub op: &'static str,
    pub kind: Option<Kind>,
    pub action: Action,
    pub permission: &'static str,
    pub name: Option<String>,
    /// `Some("")` is the latest version (`/secrets/{n}/`).
    pub version: Option<String>,
    pub writes: bool,
    /// The methods Key Vault serves on this path (for `Allow` with a 405).
    pub allow: &'static [&'static str],
    pub method: Method,
}

const COLLECTIONS: [&str; 6] = [
    "secrets",
    "keys",
    "certificates",
    "deletedsecrets",
    "deletedkeys",
    "deletedcertificates",
];

pub fn is_keyvault_path(path: &str) -> bool {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    COLLECTIONS.iter().any(|c| c.eq_ignore_ascii_case(first))
}

fn op_name(kind: Kind, action: Action) -> &'static str {
    use Action as A;
    use Kind as K;
    match (kind, action) {
        (K::Secret, A::List) => "ListSecrets",
        (K::Secret, A::ListVersions) => "ListSecretVersions",
        (K::Secret, A::Get) => "GetSecret",
        (K::Secret, A::Put) => "SetSecret",
        (K::Secret, A::Update) => "UpdateSecret",
        (K::Secret, A::Delete) => "DeleteSecret",
        (K::Secret, A::ListDeleted) => "ListDeletedSecrets",
        (K::Secret, A::GetDeleted) => "GetDeletedSecret",
        (K::Secret, A::Recover) => "RecoverDeletedSecret",
        (K::Secret, A::Purge) => "PurgeDeletedSecret",
        (K::Key, A::List) => "ListKeys",
        (K::Key, A::ListVersions) => "ListKeyVersions",
        (K::Key, A::Get) => "GetKey",
        (K::Key, A::Put) | (K::Key, A::Import) => "ImportKey",
        (K::Key, A::Create) => "CreateKey",
        (K::Key, A::Update) => "UpdateKey",
        (K::Key, A::Delete) => "DeleteKey",
        (K::Key, A::ListDeleted) => "ListDeletedKeys",
        (K::Key, A::GetDeleted) => "GetDeletedKey",
        (K::Key, A::Recover) => "RecoverDeletedKey",
        (K::Key, A::Purge) => "PurgeDeletedKey",
        (K::Certificate, A::List) => "ListCertificates",
        (K::Certificate, A::ListVersions) => "ListCertificateVersions",
        (K::Certificate, A::Get) => "GetCertificate",
        (K::Certificate, A::Create) => "CreateCertificate",
        (K::Certificate, A::Import) | (K::Certificate, A::Put) => "ImportCertificate",
        (K::Certificate, A::Update) => "UpdateCertificate",
        (K::Certificate, A::Delete) => "DeleteCertificate",
        (K::Certificate, A::ListDeleted) => "ListDeletedCertificates",
        (K::Certificate, A::GetDeleted) => "GetDeletedCertificate",
        (K::Certificate, A::Recover) => "RecoverDeletedCertificate",
        (K::Certificate, A::Purge) => "PurgeDeletedCertificate",
        (K::Certificate, A::GetPolicy) => "GetCertificatePolicy",
        (K::Certificate, A::GetPending) => "GetCertificateOperation",
        (_, A::Unsupported) => "Unsupported",
        (_, A::MethodNotAllowed) => "MethodNotAllowed",
        _ => "Unknown",
    }
}

/// The access-policy permission an action of `kind` needs. `PUT` is "Set Secret" for secrets
/// but "Import Key" for keys, which Key Vault checks against `keys/import` (keys have no `set`
/// permission).
fn permission(kind: Option<Kind>, action: Action) -> &'static str {
    match action {
        Action::List | Action::ListVersions | Action::ListDeleted | Action::GetDeleted => "list",
        Action::Get | Action::GetPolicy | Action::GetPending => "get",
        Action::Put if matches!(kind, Some(Kind::Key)) => "import",
        Action::Put => "set",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Recover => "recover",
        Action::Purge => "purge",
        Action::Create => "create",
        Action::Import => "import",
        Action::Unsupported | Action::MethodNotAllowed | Action::Unknown => "get",
    }
}

pub fn parse(method: &Method, path: &str) -> Route {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let collection = segs
        .first()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    let (kind, deleted) = match collection.as_str() {
        "secrets" => (Some(Kind::Secret), false),
        "keys" => (Some(Kind::Key), false),
        "certificates" => (Some(Kind::Certificate), false),
        "deletedsecrets" => (Some(Kind::Secret), true),
        "deletedkeys" => (Some(Kind::Key), true),
        "deletedcertificates" => (Some(Kind::Certificate), true),
        _ => (None, false),
    };
    let rest: Vec<&str> = segs.iter().skip(1).copied().collect();
    let name = rest
        .first()
        .filter(|n| !n.is_empty())
        .map(|n| (*n).to_owned());
    let m = method.as_str();
    let mut version = None;
    let action = match (kind, deleted, m, rest.as_slice()) {
        (None, ..) => Action::Unknown,
        (Some(_), false, "GET", [] | [""]) => Action::List,
        (Some(_), true, "GET", [] | [""]) => Action::ListDeleted,
        (Some(_), true, "GET", [_]) => Action::GetDeleted,
        (Some(_), true, "DELETE", [_]) => Action::Purge,
        (Some(_), true, "POST", [_, "recover"]) => Action::Recover,
        (Some(_), false, "GET", [_, "versions"]) => Action::ListVersions,
        (Some(Kind::Certificate), false, "GET", [_, "policy"]) => Action::GetPolicy,
        (Some(Kind::Certificate), false, "GET", [_, "pending"]) => Action::GetPending,
        (Some(_), false, "GET", [_]) => {
            version = Some(String::new());
            Action::Get
        }
        (Some(_), false, "GET", [_, v]) => {
            version = Some((*v).to_owned());
            Action::Get
        }
        (Some(Kind::Secret | Kind::Key), false, "PUT", [_]) => Action::Put,
        (Some(Kind::Key | Kind::Certificate), false, "POST", [_, "create"]) => Action::Create,
        (Some(Kind::Certificate), false, "POST", [_, "import"]) => Action::Import,
        (Some(_), false, "PATCH", [_]) => {
            version = Some(String::new());
            Action::Update
        }
        (Some(_), false, "PATCH", [_, v]) => {
            version = Some((*v).to_owned());
            Action::Update
        }
        (Some(_), false, "DELETE", [_]) => Action::Delete,
        // Backup, restore, crypto operations, rotation, issuers, contacts, merge; or a method
        // Key Vault does not serve on the path; or no Key Vault path at all.
        (Some(k), ..) => match methods(k, deleted, rest.as_slice()) {
            Some(allowed) if allowed.contains(&m) => Action::Unsupported,
            Some(_) => Action::MethodNotAllowed,
            None => Action::Unknown,
        },
    };
    let allow = kind
        .and_then(|k| methods(k, deleted, rest.as_slice()))
        .unwrap_or_default();
    let kind_for_name = kind;
    let op = match kind_for_name {
        Some(k) => op_name(k, action),
        None => "Unknown",
    };
    let writes = matches!(
        action,
        Action::Put
            | Action::Update
            | Action::Delete
            | Action::Recover
            | Action::Purge
            | Action::Create
            | Action::Import
    );
    Route {
        op,
        kind: if matches!(
            action,
            Action::Unknown | Action::Unsupported | Action::MethodNotAllowed
        ) {
            None
        } else {
            kind
        },
        action,
        permission: permission(kind, action),
        name: if action == Action::List || action == Action::ListDeleted {
            None
        } else {
            name
        },
        version,
        writes,
        allow,
        method: method.clone(),
    }
}

/// The methods Key Vault serves on a path of `kind` (after the collection segment), whether this
/// emulator serves them or not; `None` when no Key Vault operation has that path (the REST API
/// specs, `specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.6`).
fn methods(kind: Kind, deleted: bool, rest: &[&str]) -> Option<&'static [&'static str]> {
    const GET: &[&str] = &["GET"];
    const POST: &[&str] = &["POST"];
    const GET_DELETE: &[&str] = &["GET", "DELETE"];
    // `/{n}/{v}` reads or updates a version; a known word in the version's place may add a verb.
    const VERSION: &[&str] = &["GET", "PATCH"];
    const VERSION_OR_POST: &[&str] = &["GET", "PATCH", "POST"];
    const VERSION_OR_PUT: &[&str] = &["GET", "PATCH", "PUT"];
    const VERSION_OR_DELETE: &[&str] = &["GET", "PATCH", "DELETE"];
    const OBJECT: &[&str] = &["GET", "PUT", "PATCH", "DELETE"];
    const OBJECT_OR_POST: &[&str] = &["GET", "PUT", "PATCH", "DELETE", "POST"];
    const CERTIFICATE: &[&str] = &["GET", "PATCH", "DELETE"];
    const CERTIFICATE_OR_POST: &[&str] = &["GET", "PATCH", "DELETE", "POST"];
    const CONTACTS: &[&str] = &["GET", "PUT", "PATCH", "DELETE"];
    const CRYPTO: [&str; 7] = [
        "encrypt",
        "decrypt",
        "sign",
        "verify",
        "wrapkey",
        "unwrapkey",
        "release",
    ];
    if deleted {
        return match rest {
            [] | [""] => Some(GET),
            [_] => Some(GET_DELETE),
            [_, "recover"] => Some(POST),
            _ => None,
        };
    }
    match (kind, rest) {
        (_, [] | [""]) => Some(GET),
        (Kind::Certificate, ["contacts"]) => Some(CONTACTS),
        (Kind::Certificate, ["issuers"]) => Some(GET),
        (Kind::Certificate, ["issuers", _]) => Some(OBJECT),
        (Kind::Certificate, ["restore"]) => Some(CERTIFICATE_OR_POST),
        (Kind::Certificate, [_]) => Some(CERTIFICATE),
        (_, ["restore"]) => Some(OBJECT_OR_POST),
        (_, [_]) => Some(OBJECT),
        (_, [_, "versions"]) => Some(GET),
        (_, [_, "backup"]) => Some(VERSION_OR_POST),
        (Kind::Key, [_, "create" | "rotate"]) => Some(VERSION_OR_POST),
        (Kind::Key, [_, "rotationpolicy"]) => Some(VERSION_OR_PUT),
        (Kind::Key, [_, _, op]) if CRYPTO.contains(op) => Some(POST),
        (Kind::Key, [_, _, "attestation"]) => Some(GET),
        (Kind::Certificate, [_, "create" | "import"]) => Some(VERSION_OR_POST),
        (Kind::Certificate, [_, "pending"]) => Some(VERSION_OR_DELETE),
        (Kind::Certificate, [_, "pending", "merge"]) => Some(POST),
        (_, [_, _]) => Some(VERSION),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed expectation is the test failing
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_operations() {
        let cases = [
            ("GET", "/secrets/a/", "GetSecret", Some("")),
            ("GET", "/secrets/a", "GetSecret", Some("")),
            ("GET", "/secrets/a/abc", "GetSecret", Some("abc")),
            ("GET", "/secrets/a/versions", "ListSecretVersions", None),
            ("PUT", "/secrets/a", "SetSecret", None),
            ("PATCH", "/secrets/a/v1", "UpdateSecret", Some("v1")),
            (
                "POST",
                "/deletedsecrets/a/recover",
                "RecoverDeletedSecret",
                None,
            ),
            ("DELETE", "/deletedsecrets/a", "PurgeDeletedSecret", None),
            ("POST", "/keys/k/create", "CreateKey", None),
            ("PUT", "/keys/k", "ImportKey", None),
            ("POST", "/certificates/c/import", "ImportCertificate", None),
            (
                "GET",
                "/certificates/c/policy",
                "GetCertificatePolicy",
                None,
            ),
            ("POST", "/secrets/a/backup", "Unsupported", None),
            ("POST", "/keys/k/v1/sign", "Unsupported", None),
            ("POST", "/secrets/a", "MethodNotAllowed", None),
            ("OPTIONS", "/secrets/a", "MethodNotAllowed", None),
            ("HEAD", "/secrets/a", "MethodNotAllowed", None),
            ("BREW", "/secrets/a/v1", "MethodNotAllowed", None),
            ("PUT", "/deletedsecrets/a", "MethodNotAllowed", None),
            ("GET", "/secrets/a/versions/x/y/z", "Unknown", None),
            ("GET", "/deletedsecrets/a/b", "Unknown", None),
        ];
        for (m, p, op, v) in cases {
            let r = parse(&Method::from_bytes(m.as_bytes()).expect("method"), p);
            assert_eq!(r.op, op, "{m} {p}");
            assert_eq!(r.version.as_deref(), v, "{m} {p}");
        }
        assert!(is_keyvault_path("/secrets") && !is_keyvault_path("/tenant/oauth2/v2.0/token"));
        // The permission each write needs: `PUT` is "Set Secret" (secrets/set) for secrets,
        // "Import Key" (keys/import) for keys.
        for (m, p, permission) in [
            ("PUT", "/secrets/a", "set"),
            ("PUT", "/keys/k", "import"),
            ("POST", "/keys/k/create", "create"),
            ("POST", "/certificates/c/import", "import"),
        ] {
            let r = parse(&Method::from_bytes(m.as_bytes()).expect("method"), p);
            assert_eq!(r.permission, permission, "{m} {p}");
        }
        let post = parse(&Method::POST, "/secrets/a");
        assert_eq!(post.allow, ["GET", "PUT", "PATCH", "DELETE"]);
    }
}
