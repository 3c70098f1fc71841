"""HashiCorp Vault through hvac: mounts, KV v1/v2, policies, tokens, permission denied and expiry."""

import re

import hvac
import hvac.exceptions
import pytest
import requests

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# Vault's checkToken answers: an ACL refusal is a one-entry multierror, an unknown/expired/revoked token two.
ACL_DENIED = "1 error occurred:\n\t* permission denied\n\n"
INVALID_TOKEN = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"
ENVELOPE = {"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"}


@pytest.fixture(scope="module")
def root(vault_info):
    client = hvac.Client(url=vault_info["url"], token=vault_info["rootToken"])
    assert client.is_authenticated()
    return client


@pytest.fixture(scope="module")
def kv2(root, uniq_mod):
    path = f"kv2-{uniq_mod}"
    root.sys.enable_secrets_engine("kv", path=path, options={"version": "2"})
    return path


@pytest.fixture(scope="module")
def kv1(root, uniq_mod):
    path = f"kv1-{uniq_mod}"
    root.sys.enable_secrets_engine("kv", path=path, options={"version": "1"})
    return path


@pytest.fixture(scope="module")
def uniq_mod():
    import uuid

    return uuid.uuid4().hex[:8]


def test_health_and_default_mount(root, vault_info):
    health = requests.get(vault_info["url"] + "/v1/sys/health", timeout=5)
    assert health.status_code == 200
    body = health.json()
    assert body["initialized"] is True and body["sealed"] is False and body["standby"] is False
    assert "version" in body
    assert requests.get(vault_info["url"] + "/v1/sys/health?activecode=299", timeout=5).status_code == 299
    mounts = root.sys.list_mounted_secrets_engines()
    assert mounts["secret/"]["type"] == "kv"
    assert mounts["secret/"]["options"]["version"] == "2"
    assert mounts["data"]["secret/"]["type"] == "kv"


def test_mounts_enable_list_disable(root, kv1, kv2):
    mounts = root.sys.list_mounted_secrets_engines()["data"]
    assert mounts[f"{kv2}/"]["options"]["version"] == "2"
    assert mounts[f"{kv1}/"]["options"]["version"] in ("1", None) or mounts[f"{kv1}/"]["options"] == {}
    root.sys.enable_secrets_engine("kv", path="tmp-mount", options={"version": "2"})
    with pytest.raises(hvac.exceptions.InvalidRequest) as info:
        root.sys.enable_secrets_engine("kv", path="tmp-mount", options={"version": "2"})
    assert "path is already in use at tmp-mount/" in info.value.errors[0]
    root.sys.disable_secrets_engine("tmp-mount")
    assert "tmp-mount/" not in root.sys.list_mounted_secrets_engines()["data"]


def test_kv2_versions(root, kv2):
    kv = root.secrets.kv.v2
    first = kv.create_or_update_secret("app/db", secret={"password": "one"}, mount_point=kv2)
    assert set(first) >= ENVELOPE
    assert first["data"]["version"] == 1
    assert RFC3339.match(first["data"]["created_time"])
    assert first["data"]["deletion_time"] == "" and first["data"]["destroyed"] is False
    kv.create_or_update_secret("app/db", secret={"password": "two"}, mount_point=kv2)
    latest = kv.read_secret_version("app/db", mount_point=kv2, raise_on_deleted_version=True)
    assert set(latest) >= ENVELOPE
    assert latest["data"]["data"] == {"password": "two"}
    assert latest["data"]["metadata"]["version"] == 2
    assert latest["lease_id"] == "" and latest["renewable"] is False and latest["lease_duration"] == 0
    v1 = kv.read_secret_version("app/db", version=1, mount_point=kv2, raise_on_deleted_version=True)
    assert v1["data"]["data"] == {"password": "one"}
    with pytest.raises(hvac.exceptions.InvalidPath) as info:
        kv.read_secret_version("app/none", mount_point=kv2, raise_on_deleted_version=True)
    assert info.value.errors == []
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version("app/db", version=7, mount_point=kv2, raise_on_deleted_version=True)


def test_kv2_metadata(root, kv2):
    kv = root.secrets.kv.v2
    kv.create_or_update_secret("meta/x", secret={"a": "1"}, mount_point=kv2)
    kv.create_or_update_secret("meta/x", secret={"a": "2"}, mount_point=kv2)
    kv.update_metadata("meta/x", max_versions=5, custom_metadata={"owner": "py"}, mount_point=kv2)
    meta = kv.read_secret_metadata("meta/x", mount_point=kv2)["data"]
    assert meta["current_version"] == 2 and meta["oldest_version"] in (0, 1)
    assert meta["max_versions"] == 5 and meta["cas_required"] is False
    assert meta["custom_metadata"] == {"owner": "py"}
    assert meta["delete_version_after"] == "0s"
    assert set(meta["versions"]) == {"1", "2"}
    assert set(meta["versions"]["1"]) >= {"created_time", "deletion_time", "destroyed"}
    assert RFC3339.match(meta["created_time"]) and RFC3339.match(meta["updated_time"])
    listed = kv.list_secrets("meta", mount_point=kv2)
    assert listed["data"]["keys"] == ["x"]
    kv.create_or_update_secret("meta/sub/y", secret={"a": "1"}, mount_point=kv2)
    assert kv.list_secrets("meta", mount_point=kv2)["data"]["keys"] == ["sub/", "x"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.list_secrets("nothing-here", mount_point=kv2)
    kv.delete_metadata_and_all_versions("meta/x", mount_point=kv2)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata("meta/x", mount_point=kv2)


def test_kv2_delete_undelete_destroy(root, kv2, vault_info):
    kv = root.secrets.kv.v2
    for v in ("1", "2", "3"):
        kv.create_or_update_secret("life", secret={"v": v}, mount_point=kv2)
    kv.delete_latest_version_of_secret("life", mount_point=kv2)
    # a soft-deleted version: 404 with the full envelope (data.data null + metadata)
    r = requests.get(f"{vault_info['url']}/v1/{kv2}/data/life",
                     headers={"X-Vault-Token": vault_info["rootToken"]}, timeout=5)
    assert r.status_code == 404
    body = r.json()
    assert body["data"]["data"] is None
    assert body["data"]["metadata"]["version"] == 3
    assert body["data"]["metadata"]["deletion_time"] != ""
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version("life", mount_point=kv2, raise_on_deleted_version=True)
    kv.undelete_secret_versions("life", versions=[3], mount_point=kv2)
    assert kv.read_secret_version("life", mount_point=kv2, raise_on_deleted_version=True)["data"]["data"] == {"v": "3"}
    kv.delete_secret_versions("life", versions=[1], mount_point=kv2)
    kv.destroy_secret_versions("life", versions=[2], mount_point=kv2)
    meta = kv.read_secret_metadata("life", mount_point=kv2)["data"]["versions"]
    assert meta["1"]["deletion_time"] != "" and meta["1"]["destroyed"] is False
    assert meta["2"]["destroyed"] is True
    destroyed = requests.get(f"{vault_info['url']}/v1/{kv2}/data/life?version=2",
                             headers={"X-Vault-Token": vault_info["rootToken"]}, timeout=5)
    assert destroyed.status_code == 404 and destroyed.json()["data"]["metadata"]["destroyed"] is True
    with pytest.raises(hvac.exceptions.InvalidRequest) as info:
        root.write_data(f"{kv2}/destroy/life", data={"versions": []})
    assert info.value.errors


def test_kv2_patch(root, kv2):
    kv = root.secrets.kv.v2
    kv.create_or_update_secret("patchme", secret={"a": "1", "b": "2"}, mount_point=kv2)
    out = kv.patch("patchme", secret={"b": "3", "c": "4"}, mount_point=kv2)
    assert out["data"]["version"] == 2
    got = kv.read_secret_version("patchme", mount_point=kv2, raise_on_deleted_version=True)["data"]["data"]
    assert got == {"a": "1", "b": "3", "c": "4"}


def test_kv2_cas(root, kv2):
    kv = root.secrets.kv.v2
    kv.create_or_update_secret("cas", secret={"a": "1"}, cas=0, mount_point=kv2)
    with pytest.raises(hvac.exceptions.InvalidRequest) as info:
        kv.create_or_update_secret("cas", secret={"a": "2"}, cas=0, mount_point=kv2)
    assert info.value.errors == ["check-and-set parameter did not match the current version"]
    assert kv.create_or_update_secret("cas", secret={"a": "2"}, cas=1, mount_point=kv2)["data"]["version"] == 2
    kv.update_metadata("cas", cas_required=True, mount_point=kv2)
    with pytest.raises(hvac.exceptions.InvalidRequest) as info:
        kv.create_or_update_secret("cas", secret={"a": "3"}, mount_point=kv2)
    assert info.value.errors == ["check-and-set parameter required for this call"]


def test_kv2_invalid_path_warning(root, vault_info):
    r = requests.get(f"{vault_info['url']}/v1/secret/foo", headers={"X-Vault-Token": vault_info["rootToken"]},
                     timeout=5)
    assert r.status_code == 404
    body = r.json()
    assert body["warnings"] == [
        "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to "
        "use. If using the Vault CLI, use 'vault kv get' for this operation."
    ]


def test_kv1(root, kv1):
    kv = root.secrets.kv.v1
    assert kv.create_or_update_secret("cfg/app", secret={"a": "1", "b": "2"}, mount_point=kv1).status_code == 204
    got = kv.read_secret("cfg/app", mount_point=kv1)
    assert set(got) >= ENVELOPE
    assert got["data"] == {"a": "1", "b": "2"}
    assert got["lease_duration"] == 2764800 and got["lease_id"] == "" and got["renewable"] is False
    kv.create_or_update_secret("cfg/app", secret={"c": "3"}, mount_point=kv1)
    assert kv.read_secret("cfg/app", mount_point=kv1)["data"] == {"c": "3"}
    kv.create_or_update_secret("cfg/other", secret={"x": "y"}, mount_point=kv1)
    assert kv.list_secrets("cfg", mount_point=kv1)["data"]["keys"] == ["app", "other"]
    kv.delete_secret("cfg/app", mount_point=kv1)
    with pytest.raises(hvac.exceptions.InvalidPath) as info:
        kv.read_secret("cfg/app", mount_point=kv1)
    assert info.value.errors == []


def test_policies(root, kv2):
    rules = f'path "{kv2}/data/allowed/*" {{\n  capabilities = ["read"]\n}}\n'
    root.sys.create_or_update_policy(name="py-reader", policy=rules)
    got = root.sys.read_policy("py-reader")
    assert got["data"]["rules"] == rules and got["data"]["name"] == "py-reader"
    assert "py-reader" in root.sys.list_policies()["data"]["policies"]
    acl = root.sys.read_acl_policy("py-reader")
    assert acl["data"]["policy"] == rules
    root.sys.create_or_update_acl_policy(name="py-temp", policy='path "x" { capabilities = ["read"] }')
    root.sys.delete_acl_policy("py-temp")
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.sys.read_acl_policy("py-temp")


def test_token_and_permission_denied(root, kv2, vault_info):
    rules = (f'path "{kv2}/data/allowed/*" {{ capabilities = ["read", "create", "update"] }}\n'
             f'path "{kv2}/data/allowed/secret-denied" {{ capabilities = ["deny"] }}\n')
    root.sys.create_or_update_policy(name="py-app", policy=rules)
    root.secrets.kv.v2.create_or_update_secret("allowed/one", secret={"k": "v"}, mount_point=kv2)
    root.secrets.kv.v2.create_or_update_secret("other", secret={"k": "v"}, mount_point=kv2)
    created = root.auth.token.create(policies=["py-app"], ttl="1h")
    auth = created["auth"]
    assert set(auth) >= {"client_token", "accessor", "policies", "token_policies", "lease_duration", "renewable",
                         "entity_id", "token_type", "orphan"}
    assert auth["policies"] == ["default", "py-app"] and auth["lease_duration"] == 3600 and auth["renewable"] is True
    assert auth["token_type"] == "service"
    app = hvac.Client(url=vault_info["url"], token=auth["client_token"])
    me = app.auth.token.lookup_self()["data"]
    assert me["policies"] == ["default", "py-app"]
    assert 3500 <= me["ttl"] <= 3600
    got = app.secrets.kv.v2.read_secret_version("allowed/one", mount_point=kv2, raise_on_deleted_version=True)
    assert got["data"]["data"] == {"k": "v"}
    with pytest.raises(hvac.exceptions.Forbidden) as info:
        app.secrets.kv.v2.read_secret_version("other", mount_point=kv2, raise_on_deleted_version=True)
    assert info.value.errors == [ACL_DENIED]
    with pytest.raises(hvac.exceptions.Forbidden) as info:
        app.secrets.kv.v2.create_or_update_secret("allowed/secret-denied", secret={"a": "b"}, mount_point=kv2)
    assert info.value.errors == [ACL_DENIED]
    with pytest.raises(hvac.exceptions.Forbidden) as info:
        app.sys.create_or_update_policy(name="escalate", policy='path "*" { capabilities = ["sudo"] }')
    assert info.value.errors == [ACL_DENIED]
    renewed = app.auth.token.renew_self(increment="2h")
    assert renewed["auth"]["client_token"] == auth["client_token"]
    app.auth.token.revoke_self()
    with pytest.raises(hvac.exceptions.Forbidden) as info:
        app.auth.token.lookup_self()
    assert info.value.errors == [INVALID_TOKEN]


def test_token_expiry(root, kv2, vault_info, advance_clock):
    root.secrets.kv.v2.create_or_update_secret("exp", secret={"k": "v"}, mount_point=kv2)
    token = root.auth.token.create(ttl="30s")["auth"]["client_token"]
    short = hvac.Client(url=vault_info["url"], token=token)
    assert short.auth.token.lookup_self()["data"]["ttl"] <= 30
    advance_clock(31)
    with pytest.raises(hvac.exceptions.Forbidden) as info:
        short.secrets.kv.v2.read_secret_version("exp", mount_point=kv2, raise_on_deleted_version=True)
    assert info.value.errors == [INVALID_TOKEN]
    assert not short.is_authenticated()


def test_bad_token(vault_info):
    bad = hvac.Client(url=vault_info["url"], token="s.not-a-token")
    with pytest.raises(hvac.exceptions.Forbidden) as info:
        bad.secrets.kv.v2.read_secret_version("x", raise_on_deleted_version=True)
    assert info.value.errors == [INVALID_TOKEN]
