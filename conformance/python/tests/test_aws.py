"""AWS Secrets Manager, SSM Parameter Store and STS through boto3, pointed at the emulator."""

import base64
import datetime
import json

import boto3
import botocore.config
import jwt
import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"
CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"


def _client(url, service, region=REGION):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def sm(aws_url):
    return _client(aws_url, "secretsmanager")


@pytest.fixture(scope="module")
def ssm(aws_url):
    return _client(aws_url, "ssm")


@pytest.fixture(scope="module")
def sts(aws_url):
    return _client(aws_url, "sts")


def expect_error(fn, code, status=400, message=None, **kwargs):
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    err = info.value.response
    assert err["Error"]["Code"] == code, err
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status, err
    if message is not None:
        assert err["Error"]["Message"] == message, err
    return err


# --------------------------------------------------------------------------------------- Secrets Manager


def test_create_get_describe(sm, uniq):
    name = f"py/app-{uniq}"
    created = sm.create_secret(Name=name, SecretString='{"user":"u","password":"p"}', Description="d",
                               Tags=[{"Key": "team", "Value": "a"}])
    assert created["Name"] == name
    arn = created["ARN"]
    assert arn.startswith(f"arn:aws:secretsmanager:{REGION}:")
    suffix = arn.rsplit("-", 1)[1]
    assert len(suffix) == 6 and suffix.isalnum()
    assert arn.endswith(f":secret:{name}-{suffix}")
    assert "VersionId" in created
    assert set(created) - {"ResponseMetadata"} == {"ARN", "Name", "VersionId"}
    assert created["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")

    for secret_id in (name, arn, arn[: -7]):
        got = sm.get_secret_value(SecretId=secret_id)
        assert got["SecretString"] == '{"user":"u","password":"p"}'
        assert got["VersionId"] == created["VersionId"]
        assert got["VersionStages"] == [CURRENT]
        assert got["ARN"] == arn and got["Name"] == name
        assert isinstance(got["CreatedDate"], datetime.datetime)
        assert "SecretBinary" not in got

    desc = sm.describe_secret(SecretId=name)
    assert desc["ARN"] == arn and desc["Name"] == name and desc["Description"] == "d"
    assert desc["VersionIdsToStages"] == {created["VersionId"]: [CURRENT]}
    assert desc["Tags"] == [{"Key": "team", "Value": "a"}]
    assert isinstance(desc["CreatedDate"], datetime.datetime)
    assert isinstance(desc["LastChangedDate"], datetime.datetime)
    assert "DeletedDate" not in desc and "RotationEnabled" not in desc or desc["RotationEnabled"] is False


def test_client_request_token_is_version_id(sm, uniq):
    token = "a" * 8 + "-1111-4111-8111-" + "b" * 12
    out = sm.create_secret(Name=f"tok-{uniq}", SecretString="x", ClientRequestToken=token)
    assert out["VersionId"] == token


def test_secret_binary(sm, uniq):
    blob = bytes(range(256))
    sm.create_secret(Name=f"bin-{uniq}", SecretBinary=blob)
    got = sm.get_secret_value(SecretId=f"bin-{uniq}")
    assert got["SecretBinary"] == blob
    assert "SecretString" not in got


def test_create_errors(sm, uniq):
    name = f"dup-{uniq}"
    sm.create_secret(Name=name, SecretString="x")
    expect_error(sm.create_secret, "ResourceExistsException", 400,
                 f"The operation failed because the secret {name} already exists.",
                 Name=name, SecretString="y")
    expect_error(sm.create_secret, "ValidationException", 400, Name="bad name with spaces", SecretString="x")
    expect_error(sm.create_secret, "InvalidParameterException", 400,
                 Name=f"both-{uniq}", SecretString="x", SecretBinary=b"y")


def test_get_errors(sm, uniq):
    expect_error(sm.get_secret_value, "ResourceNotFoundException", 400,
                 "Secrets Manager can't find the specified secret.", SecretId=f"missing-{uniq}")
    expect_error(sm.describe_secret, "ResourceNotFoundException", 400,
                 "Secrets Manager can't find the specified secret.", SecretId=f"missing-{uniq}")
    name = f"ge-{uniq}"
    sm.create_secret(Name=name, SecretString="x")
    expect_error(sm.get_secret_value, "ResourceNotFoundException", 400,
                 "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
                 SecretId=name, VersionStage=PENDING)
    vid = "c" * 32 + "-0000"
    expect_error(sm.get_secret_value, "ResourceNotFoundException", 400,
                 f"Secrets Manager can't find the specified secret value for VersionId: {vid}",
                 SecretId=name, VersionId=vid)
    current = sm.get_secret_value(SecretId=name)["VersionId"]
    expect_error(sm.get_secret_value, "InvalidRequestException", 400,
                 "You provided a VersionStage that is not associated to the provided VersionId.",
                 SecretId=name, VersionId=current, VersionStage=PREVIOUS)


def test_put_value_moves_stages(sm, uniq):
    name = f"put-{uniq}"
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    put = sm.put_secret_value(SecretId=name, SecretString="two")
    v2 = put["VersionId"]
    assert put["VersionStages"] == [CURRENT]
    assert put["Name"] == name
    desc = sm.describe_secret(SecretId=name)
    assert desc["VersionIdsToStages"] == {v1: [PREVIOUS], v2: [CURRENT]}
    assert sm.get_secret_value(SecretId=name, VersionStage=PREVIOUS)["SecretString"] == "one"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"
    v3 = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v2: [PREVIOUS], v3: [CURRENT]}
    listed = sm.list_secret_version_ids(SecretId=name)
    assert {v["VersionId"] for v in listed["Versions"]} == {v2, v3}
    all_versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
    assert {v["VersionId"]: v.get("VersionStages", []) for v in all_versions["Versions"]} == {
        v1: [], v2: [PREVIOUS], v3: [CURRENT]}
    assert listed["Name"] == name and listed["ARN"].endswith(name + listed["ARN"][-7:])

    # a custom stage on a new version leaves AWSCURRENT where it is
    v4 = sm.put_secret_value(SecretId=name, SecretString="four", VersionStages=["custom"])["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "three"
    assert sm.get_secret_value(SecretId=name, VersionStage="custom")["VersionId"] == v4


def test_put_value_idempotency(sm, uniq):
    name = f"idem-{uniq}"
    sm.create_secret(Name=name, SecretString="one")
    token = "d" * 32
    first = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token)
    again = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token)
    assert first["VersionId"] == again["VersionId"] == token
    expect_error(sm.put_secret_value, "ResourceExistsException", 400,
                 SecretId=name, SecretString="different", ClientRequestToken=token)
    expect_error(sm.put_secret_value, "ResourceNotFoundException", 400,
                 "Secrets Manager can't find the specified secret.",
                 SecretId=f"nope-{uniq}", SecretString="x")


def test_update_secret(sm, uniq):
    name = f"upd-{uniq}"
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    out = sm.update_secret(SecretId=name, Description="new desc")
    assert "VersionId" not in out and out["Name"] == name
    assert sm.describe_secret(SecretId=name)["Description"] == "new desc"
    out = sm.update_secret(SecretId=name, SecretString="two")
    assert set(out) - {"ResponseMetadata"} == {"ARN", "Name", "VersionId"}
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v1: [PREVIOUS], out["VersionId"]: [CURRENT]}


def test_update_secret_version_stage(sm, uniq):
    name = f"uvs-{uniq}"
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two", VersionStages=[PENDING])["VersionId"]
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {v1: [CURRENT], v2: [PENDING]}
    err = expect_error(sm.update_secret_version_stage, "InvalidParameterException", 400,
                       SecretId=name, VersionStage=CURRENT, MoveToVersionId=v2)
    assert v1 in err["Error"]["Message"]
    out = sm.update_secret_version_stage(SecretId=name, VersionStage=CURRENT, MoveToVersionId=v2,
                                         RemoveFromVersionId=v1)
    assert set(out) - {"ResponseMetadata"} == {"ARN", "Name"}
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v1: [PREVIOUS], v2: sorted([CURRENT, PENDING]) } or \
        stages == {v1: [PREVIOUS], v2: [PENDING, CURRENT]}
    sm.update_secret_version_stage(SecretId=name, VersionStage=PENDING, RemoveFromVersionId=v2)
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {v1: [PREVIOUS], v2: [CURRENT]}


def test_rotate_secret(sm, uniq):
    name = f"rot-{uniq}"
    v1 = sm.create_secret(Name=name, SecretString='{"username":"u","password":"old"}')["VersionId"]
    expect_error(sm.rotate_secret, "InvalidRequestException", 400, SecretId=name)
    lam = f"arn:aws:lambda:{REGION}:123456789012:function:rotator"
    out = sm.rotate_secret(SecretId=name, RotationLambdaARN=lam, RotationRules={"AutomaticallyAfterDays": 7})
    assert out["Name"] == name and out["VersionId"] != v1
    desc = sm.describe_secret(SecretId=name)
    assert desc["RotationEnabled"] is True
    assert desc["RotationLambdaARN"] == lam
    assert desc["RotationRules"]["AutomaticallyAfterDays"] == 7
    assert desc["VersionIdsToStages"][out["VersionId"]] == [CURRENT]
    assert desc["VersionIdsToStages"][v1] == [PREVIOUS]
    assert isinstance(desc["LastRotatedDate"], datetime.datetime)
    assert isinstance(desc["NextRotationDate"], datetime.datetime)
    assert desc["NextRotationDate"] > desc["LastRotatedDate"]
    value = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    assert value["username"] == "u" and value["password"] != "old"


def test_delete_restore(sm, uniq, advance_clock):
    name = f"del-{uniq}"
    sm.create_secret(Name=name, SecretString="x")
    expect_error(sm.delete_secret, "InvalidParameterException", 400,
                 "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
                 SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    expect_error(sm.delete_secret, "InvalidParameterException", 400, SecretId=name, RecoveryWindowInDays=3)
    out = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert out["Name"] == name and isinstance(out["DeletionDate"], datetime.datetime)
    expect_error(sm.get_secret_value, "InvalidRequestException", 400,
                 "You can't perform this operation on the secret because it was marked for deletion.",
                 SecretId=name)
    expect_error(sm.create_secret, "InvalidRequestException", 400,
                 "You can't create this secret because a secret with this name is already scheduled for deletion.",
                 Name=name, SecretString="y")
    assert "DeletedDate" in sm.describe_secret(SecretId=name)
    names = [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
    assert names == []
    names = [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}],
                                                IncludePlannedDeletion=True)["SecretList"]]
    assert names == [name]
    restored = sm.restore_secret(SecretId=name)
    assert restored["Name"] == name
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "x"

    forced = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert forced["Name"] == name
    expect_error(sm.describe_secret, "ResourceNotFoundException", 400, SecretId=name)
    # force-deleting a secret that does not exist is not an error
    sm.delete_secret(SecretId=f"never-{uniq}", ForceDeleteWithoutRecovery=True)

    # a scheduled deletion happens when the recovery window passes on the emulator clock
    gone = f"gone-{uniq}"
    sm.create_secret(Name=gone, SecretString="x")
    sm.delete_secret(SecretId=gone, RecoveryWindowInDays=7)
    advance_clock(8 * 86400)
    expect_error(sm.describe_secret, "ResourceNotFoundException", 400, SecretId=gone)


def test_list_secrets_pagination_and_filters(sm, uniq):
    prefix = f"lst-{uniq}/"
    for i in range(5):
        sm.create_secret(Name=f"{prefix}{i}", SecretString="x", Tags=[{"Key": "k", "Value": f"v{i}"}])
    seen = []
    kwargs = {"Filters": [{"Key": "name", "Values": [prefix]}], "MaxResults": 2}
    pages = 0
    while True:
        page = sm.list_secrets(**kwargs)
        pages += 1
        assert len(page["SecretList"]) <= 2
        seen += [s["Name"] for s in page["SecretList"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == [f"{prefix}{i}" for i in range(5)]
    assert pages >= 3
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"{prefix}0"]}])["SecretList"][0]
    assert "SecretVersionsToStages" in entry and "ARN" in entry
    tagged = sm.list_secrets(Filters=[{"Key": "name", "Values": [prefix]},
                                      {"Key": "tag-value", "Values": ["v3"]}])["SecretList"]
    assert [s["Name"] for s in tagged] == [f"{prefix}3"]


def test_batch_get_secret_value(sm, uniq):
    a, b = f"bga-{uniq}", f"bgb-{uniq}"
    sm.create_secret(Name=a, SecretString="A")
    sm.create_secret(Name=b, SecretString="B")
    out = sm.batch_get_secret_value(SecretIdList=[a, b, f"bgmissing-{uniq}"])
    values = {v["Name"]: v["SecretString"] for v in out["SecretValues"]}
    assert values == {a: "A", b: "B"}
    assert len(out["Errors"]) == 1
    assert out["Errors"][0]["SecretId"] == f"bgmissing-{uniq}"
    assert out["Errors"][0]["ErrorCode"] == "ResourceNotFoundException"
    expect_error(sm.batch_get_secret_value, "InvalidParameterException", 400,
                 SecretIdList=[a], Filters=[{"Key": "name", "Values": [a]}])


def test_tags(sm, uniq):
    name = f"tag-{uniq}"
    sm.create_secret(Name=name, SecretString="x")
    sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.untag_resource(SecretId=name, TagKeys=["a"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    expect_error(sm.tag_resource, "ResourceNotFoundException", 400,
                 SecretId=f"nope-{uniq}", Tags=[{"Key": "a", "Value": "1"}])


def test_get_random_password(sm):
    out = sm.get_random_password(PasswordLength=40, ExcludePunctuation=True)
    pw = out["RandomPassword"]
    assert len(pw) == 40 and pw.isalnum()
    out = sm.get_random_password(PasswordLength=12, ExcludeNumbers=True, ExcludePunctuation=True,
                                 ExcludeUppercase=True)
    assert out["RandomPassword"].isalpha() and out["RandomPassword"].islower()
    expect_error(sm.get_random_password, "ValidationException", 400,
                 "1 validation error detected: Value '5000' at 'passwordLength' failed to satisfy constraint: "
                 "Member must have value less than or equal to 4096", PasswordLength=5000)


def test_regions_are_separate(aws_url, uniq):
    east = _client(aws_url, "secretsmanager", "us-east-1")
    west = _client(aws_url, "secretsmanager", "us-west-2")
    west.create_secret(Name=f"west-{uniq}", SecretString="w")
    expect_error(east.get_secret_value, "ResourceNotFoundException", 400, SecretId=f"west-{uniq}")
    assert west.get_secret_value(SecretId=f"west-{uniq}")["ARN"].startswith("arn:aws:secretsmanager:us-west-2:")


# --------------------------------------------------------------------------------------------------- SSM


def test_ssm_put_get(ssm, uniq):
    name = f"/py/{uniq}/db/user"
    out = ssm.put_parameter(Name=name, Value="alice", Type="String")
    assert out["Version"] == 1 and out["Tier"] == "Standard"
    p = ssm.get_parameter(Name=name)["Parameter"]
    assert p["Name"] == name and p["Value"] == "alice" and p["Type"] == "String" and p["Version"] == 1
    assert p["ARN"].startswith(f"arn:aws:ssm:{REGION}:") and p["ARN"].endswith(f":parameter{name}")
    assert p["DataType"] == "text"
    assert isinstance(p["LastModifiedDate"], datetime.datetime)
    expect_error(ssm.put_parameter, "ParameterAlreadyExists", 400,
                 "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
                 Name=name, Value="bob", Type="String")
    assert ssm.put_parameter(Name=name, Value="bob", Overwrite=True)["Version"] == 2
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "bob"
    expect_error(ssm.get_parameter, "ParameterNotFound", 400, Name=f"/py/{uniq}/missing")
    expect_error(ssm.get_parameter, "ParameterVersionNotFound", 400, Name=f"{name}:9")


def test_ssm_secure_string_and_list(ssm, uniq):
    sec = f"/py/{uniq}/secret"
    ssm.put_parameter(Name=sec, Value="hush", Type="SecureString")
    enc = ssm.get_parameter(Name=sec)["Parameter"]
    assert enc["Type"] == "SecureString" and enc["Value"] != "hush"
    assert ssm.get_parameter(Name=sec, WithDecryption=True)["Parameter"]["Value"] == "hush"
    lst = f"/py/{uniq}/list"
    ssm.put_parameter(Name=lst, Value="a,b,c", Type="StringList")
    assert ssm.get_parameter(Name=lst)["Parameter"]["Type"] == "StringList"


def test_ssm_get_parameters_selectors(ssm, uniq):
    name = f"/py/{uniq}/sel"
    ssm.put_parameter(Name=name, Value="v1", Type="String")
    ssm.put_parameter(Name=name, Value="v2", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["stable"])
    arn = ssm.get_parameter(Name=name)["Parameter"]["ARN"]
    out = ssm.get_parameters(Names=[f"{name}:1", f"{name}:stable", arn, f"/py/{uniq}/none", f"{name}:7",
                                    f"{name}:nolabel"], WithDecryption=True)
    by_selector = {(p.get("Selector"), p["Value"], p["Version"]) for p in out["Parameters"]}
    assert all(p["Name"] == name for p in out["Parameters"])
    assert all(p["ARN"] == arn for p in out["Parameters"])
    assert (":1", "v1", 1) in by_selector and (":stable", "v1", 1) in by_selector
    assert any(p["Value"] == "v2" and p["Version"] == 2 for p in out["Parameters"])
    assert sorted(out["InvalidParameters"]) == sorted([f"/py/{uniq}/none", f"{name}:7", f"{name}:nolabel"])
    p = ssm.get_parameter(Name=f"{name}:stable")["Parameter"]
    assert p["Name"] == name and p["Selector"] == ":stable" and p["Value"] == "v1"


def test_ssm_by_path_pagination(ssm, uniq):
    base = f"/py/{uniq}/tree"
    names = [f"{base}/a", f"{base}/b", f"{base}/c", f"{base}/sub/d", f"{base}/sub/e"]
    for n in names:
        ssm.put_parameter(Name=n, Value=n, Type="String")
    one_level = ssm.get_parameters_by_path(Path=base)
    assert sorted(p["Name"] for p in one_level["Parameters"]) == names[:3]
    seen, kwargs = [], {"Path": base, "Recursive": True, "MaxResults": 2}
    pages = 0
    while True:
        page = ssm.get_parameters_by_path(**kwargs)
        pages += 1
        assert len(page["Parameters"]) <= 2
        seen += [p["Name"] for p in page["Parameters"]]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == names and pages >= 3
    expect_error(ssm.get_parameters_by_path, "ValidationException", 400, Path=base, MaxResults=11)


def test_ssm_history_and_labels(ssm, uniq):
    name = f"/py/{uniq}/hist"
    for v in ("a", "b", "c"):
        ssm.put_parameter(Name=name, Value=v, Type="String", Overwrite=True)
    out = ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["blue", "1bad", "aws-no"])
    assert out["ParameterVersion"] == 2
    assert sorted(out["InvalidLabels"]) == ["1bad", "aws-no"]
    # labels move: attaching to the latest takes it off version 2
    ssm.label_parameter_version(Name=name, Labels=["blue"])
    hist = ssm.get_parameter_history(Name=name)["Parameters"]
    assert [h["Version"] for h in hist] == [1, 2, 3]
    assert [h["Value"] for h in hist] == ["a", "b", "c"]
    assert hist[1]["Labels"] == [] and hist[2]["Labels"] == ["blue"]
    assert hist[0]["Name"] == name
    expect_error(ssm.label_parameter_version, "ParameterVersionNotFound", 400,
                 Name=name, ParameterVersion=9, Labels=["x"])
    expect_error(ssm.get_parameter_history, "ParameterNotFound", 400, Name=f"/py/{uniq}/none")
    expect_error(ssm.label_parameter_version, "ParameterNotFound", 400, Name=f"/py/{uniq}/none", Labels=["x"])
    by_label = ssm.get_parameters_by_path(
        Path=f"/py/{uniq}", ParameterFilters=[{"Key": "Label", "Option": "Equals", "Values": ["blue"]}])
    assert [(p["Name"], p["Value"]) for p in by_label["Parameters"]] == [(name, "c")]


def test_ssm_describe_and_deletes(ssm, uniq):
    base = f"/py/{uniq}/d"
    for n in ("x", "y", "z"):
        ssm.put_parameter(Name=f"{base}/{n}", Value=n, Type="String")
    desc = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [base]}])
    assert sorted(p["Name"] for p in desc["Parameters"]) == [f"{base}/x", f"{base}/y", f"{base}/z"]
    assert all("Value" not in p for p in desc["Parameters"])
    ssm.delete_parameter(Name=f"{base}/x")
    expect_error(ssm.delete_parameter, "ParameterNotFound", 400, Name=f"{base}/x")
    out = ssm.delete_parameters(Names=[f"{base}/y", f"{base}/z", f"{base}/w"])
    assert sorted(out["DeletedParameters"]) == [f"{base}/y", f"{base}/z"]
    assert out["InvalidParameters"] == [f"{base}/w"]
    expect_error(ssm.get_parameter, "ParameterNotFound", 400, Name=f"{base}/y")


def test_ssm_name_rules(ssm, uniq):
    expect_error(ssm.put_parameter, "AccessDeniedException", 400, "No access to reserved parameter name: /aws/reserved.",
                 Name="/aws/reserved", Value="x", Type="String")
    deep = "/" + "/".join(f"l{i}" for i in range(16))
    expect_error(ssm.put_parameter, "HierarchyLevelLimitExceededException", 400, Name=deep, Value="x", Type="String")
    name = f"/py/{uniq}/typed"
    ssm.put_parameter(Name=name, Value="x", Type="String")
    expect_error(ssm.put_parameter, "HierarchyTypeMismatchException", 400,
                 Name=name, Value="x", Type="SecureString", Overwrite=True)
    expect_error(ssm.put_parameter, "ValidationException", 400,
                 Name=f"/py/{uniq}/big", Value="x" * 4097, Type="String")


# --------------------------------------------------------------------------------------------------- STS


def test_get_caller_identity(sts):
    out = sts.get_caller_identity()
    assert out["Account"] == "123456789012"
    assert out["Arn"].startswith("arn:aws:")
    assert out["UserId"]


def test_assume_role_with_web_identity(sts, emulator_now):
    # the token's lifetime is judged on the emulator's clock, which other tests move forward
    now = int(emulator_now().timestamp())
    token = jwt.encode(
        {"iss": "https://oidc.example.com", "sub": "system:serviceaccount:default:app", "aud": "sts.amazonaws.com",
         "iat": now, "exp": now + 3600},
        "secretbench-python-conformance-hmac-key", algorithm="HS256",
    )
    role = "arn:aws:iam::123456789012:role/app"
    out = sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="sess", WebIdentityToken=token)
    creds = out["Credentials"]
    assert creds["AccessKeyId"] and creds["SecretAccessKey"] and creds["SessionToken"]
    assert isinstance(creds["Expiration"], datetime.datetime)
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/app/sess"
    assert out["SubjectFromWebIdentityToken"] == "system:serviceaccount:default:app"
    assert out["Audience"] == "sts.amazonaws.com"
    expect_error(sts.assume_role_with_web_identity, "InvalidIdentityToken", 400,
                 RoleArn=role, RoleSessionName="sess", WebIdentityToken="not-a-jwt")
