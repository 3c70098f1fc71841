"""Azure Key Vault + Entra ID through azure-identity and azure-keyvault-*, over TLS trusting the emulator's CA."""

import datetime

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.certificates import CertificateClient, CertificatePolicy
from azure.keyvault.keys import KeyClient, KeyType
from azure.keyvault.secrets import SecretClient


@pytest.fixture(scope="module")
def ca(azure_info):
    return azure_info["caFile"]


@pytest.fixture(scope="module")
def vault_url(azure_info):
    return azure_info["vaults"][0]


@pytest.fixture(scope="module")
def credential(azure_info, ca):
    return ClientSecretCredential(
        azure_info["tenantId"],
        azure_info["clientId"],
        azure_info["clientSecret"],
        authority=azure_info["url"],
        disable_instance_discovery=True,
        connection_verify=ca,
    )


@pytest.fixture(scope="module")
def secrets(vault_url, credential, ca):
    return SecretClient(vault_url, credential, connection_verify=ca)


@pytest.fixture(scope="module")
def keys(vault_url, credential, ca):
    return KeyClient(vault_url, credential, connection_verify=ca)


@pytest.fixture(scope="module")
def certs(vault_url, credential, ca):
    return CertificateClient(vault_url, credential, connection_verify=ca)


def test_challenge_on_unauthenticated_call(vault_url, ca):
    r = requests.get(f"{vault_url}/secrets/anything?api-version=7.4", verify=ca, timeout=10)
    assert r.status_code == 401
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer authorization=")
    assert 'resource="' in challenge
    body = r.json()
    assert body["error"]["code"] == "Unauthorized"


def test_token_endpoint(azure_info, ca):
    url = f"{azure_info['url']}/{azure_info['tenantId']}/oauth2/v2.0/token"
    r = requests.post(url, data={"grant_type": "client_credentials", "client_id": azure_info["clientId"],
                                 "client_secret": azure_info["clientSecret"],
                                 "scope": "https://vault.azure.net/.default"}, verify=ca, timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int) and body["access_token"]
    bad = requests.post(url, data={"grant_type": "client_credentials", "client_id": azure_info["clientId"],
                                   "client_secret": "wrong", "scope": "https://vault.azure.net/.default"},
                        verify=ca, timeout=10)
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"
    assert bad.json()["error_description"].startswith("AADSTS7000215")


def test_wrong_secret_is_refused(azure_info, vault_url, ca):
    from azure.identity import CredentialUnavailableError  # noqa: F401
    from azure.core.exceptions import ClientAuthenticationError

    cred = ClientSecretCredential(azure_info["tenantId"], azure_info["clientId"], "wrong",
                                  authority=azure_info["url"], disable_instance_discovery=True,
                                  connection_verify=ca)
    client = SecretClient(vault_url, cred, connection_verify=ca)
    with pytest.raises(ClientAuthenticationError):
        client.get_secret("whatever")


def test_set_get_versions(secrets, vault_url, uniq):
    name = f"py-{uniq}"
    first = secrets.set_secret(name, "one", content_type="text/plain", tags={"t": "1"})
    assert first.value == "one" and first.name == name
    assert len(first.properties.version) == 32 and all(c in "0123456789abcdef" for c in first.properties.version)
    assert first.id == f"{vault_url}/secrets/{name}/{first.properties.version}"
    assert first.properties.content_type == "text/plain"
    assert first.properties.tags == {"t": "1"}
    assert first.properties.enabled is True
    assert isinstance(first.properties.created_on, datetime.datetime)
    assert first.properties.recovery_level == "Recoverable+Purgeable"
    assert first.properties.recoverable_days == 90
    second = secrets.set_secret(name, "two")
    assert second.properties.version != first.properties.version
    assert second.properties.created_on >= first.properties.created_on
    assert secrets.get_secret(name).value == "two"
    assert secrets.get_secret(name, first.properties.version).value == "one"
    versions = list(secrets.list_properties_of_secret_versions(name))
    assert {v.version for v in versions} == {first.properties.version, second.properties.version}
    names = {p.name for p in secrets.list_properties_of_secrets()}
    assert name in names
    listed = next(p for p in secrets.list_properties_of_secrets() if p.name == name)
    assert listed.version is None


def test_paging(secrets, uniq):
    name = f"page-{uniq}"
    for i in range(5):
        secrets.set_secret(name, str(i))
    pages = list(secrets.list_properties_of_secret_versions(name, max_page_size=2).by_page())
    counts = [len(list(p)) for p in pages]
    assert sum(counts) == 5 and len(counts) >= 3
    for i in range(3):
        secrets.set_secret(f"{name}-n{i}", "x")
    listed = [p.name for p in secrets.list_properties_of_secrets(max_page_size=1)]
    assert len(listed) == len(set(listed))
    assert {f"{name}-n{i}" for i in range(3)} <= set(listed)


def test_get_missing(secrets, uniq):
    with pytest.raises(ResourceNotFoundError) as info:
        secrets.get_secret(f"missing-{uniq}")
    err = info.value
    assert err.status_code == 404
    assert err.error.code == "SecretNotFound"
    assert err.error.message.startswith(f"A secret with (name/id) missing-{uniq} was not found in this key vault.")


def test_disabled_version(secrets, uniq):
    name = f"dis-{uniq}"
    s = secrets.set_secret(name, "x")
    props = secrets.update_secret_properties(name, s.properties.version, enabled=False, content_type="c")
    assert props.enabled is False and props.content_type == "c"
    with pytest.raises(HttpResponseError) as info:
        secrets.get_secret(name)
    assert info.value.status_code == 403
    assert info.value.error.code == "Forbidden"
    assert info.value.error.message == "Operation get is not allowed on a disabled secret."
    assert info.value.error.innererror["code"] == "SecretDisabled"


def test_delete_recover_purge(secrets, uniq):
    name = f"del-{uniq}"
    secrets.set_secret(name, "x")
    deleted = secrets.begin_delete_secret(name).result()
    assert deleted.name == name
    assert deleted.recovery_id.endswith(f"/deletedsecrets/{name}")
    assert isinstance(deleted.deleted_date, datetime.datetime)
    assert isinstance(deleted.scheduled_purge_date, datetime.datetime)
    assert (deleted.scheduled_purge_date - deleted.deleted_date).days == 90
    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret(name)
    with pytest.raises(ResourceExistsError) as info:
        secrets.set_secret(name, "again")
    assert info.value.status_code == 409 and info.value.error.code == "Conflict"
    got = secrets.get_deleted_secret(name)
    assert got.name == name and got.recovery_id == deleted.recovery_id
    assert name in {d.name for d in secrets.list_deleted_secrets()}
    recovered = secrets.begin_recover_deleted_secret(name).result()
    assert recovered.name == name
    assert secrets.get_secret(name).value == "x"
    secrets.begin_delete_secret(name).result()
    secrets.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError) as info:
        secrets.get_deleted_secret(name)
    assert info.value.error.code == "SecretNotFound"
    secrets.set_secret(name, "fresh")
    assert secrets.get_secret(name).value == "fresh"


def test_keys(keys, vault_url, uniq):
    rsa = keys.create_rsa_key(f"rsa-{uniq}", size=2048)
    assert rsa.key_type == KeyType.rsa
    assert rsa.id.startswith(f"{vault_url}/keys/rsa-{uniq}/")
    assert rsa.key.kid == rsa.id
    assert len(rsa.key.n) == 256 and rsa.key.e == b"\x01\x00\x01"
    ec = keys.create_ec_key(f"ec-{uniq}", curve="P-256")
    assert ec.key_type == KeyType.ec and ec.key.crv == "P-256"
    assert len(ec.key.x) == 32 and len(ec.key.y) == 32
    got = keys.get_key(f"rsa-{uniq}")
    assert got.key.n == rsa.key.n and got.properties.version == rsa.properties.version
    keys.create_rsa_key(f"rsa-{uniq}", size=2048)
    assert len(list(keys.list_properties_of_key_versions(f"rsa-{uniq}"))) == 2
    with pytest.raises(ResourceNotFoundError) as info:
        keys.get_key(f"nokey-{uniq}")
    assert info.value.error.code == "KeyNotFound"


def test_certificate_create(certs, secrets, vault_url, uniq):
    name = f"cert-{uniq}"
    poller = certs.begin_create_certificate(name, CertificatePolicy.get_default())
    cert = poller.result()
    assert cert.name == name
    assert cert.cer and cert.properties.x509_thumbprint
    assert cert.key_id.startswith(f"{vault_url}/keys/{name}/")
    assert cert.secret_id.startswith(f"{vault_url}/secrets/{name}/")
    backing = secrets.get_secret(name)
    assert backing.properties.content_type == "application/x-pkcs12"
    assert backing.properties.key_id == cert.key_id
    assert backing.properties.managed is True
    with pytest.raises(ResourceNotFoundError) as info:
        certs.get_certificate(f"nocert-{uniq}")
    assert info.value.error.code == "CertificateNotFound"
