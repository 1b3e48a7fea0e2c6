"""DeploymentConfig: defaults, precedence and provenance, image resolution, one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stygig.aws.config import (
    DEFAULT_ENVIRONMENT,
    DLC_ACCOUNTS,
    ConfigError,
    DeploymentConfig,
    audit_settings,
    load_config,
    parse_env_flags,
    resolve_image,
)
from stygig.cli import main

REPO = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/StygigSageMaker"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "stygig.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_are_the_audit_reference_values():
    cfg = DeploymentConfig()
    assert cfg.endpoint.environment == {
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "300",
        "MODEL_SERVER_TIMEOUT": "300",
        "TS_DEFAULT_RESPONSE_TIMEOUT": "300",
        "MODEL_SERVER_WORKERS": "1",
        "TS_DEFAULT_WORKERS_PER_MODEL": "1",
        "TS_MAX_REQUEST_SIZE": "100000000",
        "TS_MAX_RESPONSE_SIZE": "100000000",
        "OMP_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
        "TOKENIZERS_PARALLELISM": "false",
    }
    assert cfg.variant_timeouts() == {
        "ContainerStartupHealthCheckTimeoutInSeconds": 600,
        "ModelDataDownloadTimeoutInSeconds": 600,
    }
    assert cfg.problems() == []
    # the environment a model gets: all strings, the DLC's handler variables added
    env = cfg.container_environment()
    assert all(isinstance(v, str) for v in env.values())
    assert env["SAGEMAKER_PROGRAM"] == "inference.py"
    assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert env["SAGEMAKER_REGION"] == "us-east-1"
    assert "STYGIG_ALLOWED_S3_BUCKETS" not in env  # default: no bucket may be read
    # editing one config's environment never touches the defaults
    cfg.endpoint.environment["X"] = "1"
    assert "X" not in DeploymentConfig().endpoint.environment and "X" not in DEFAULT_ENVIRONMENT


def test_image_resolution_without_network():
    assert resolve_image("dlc", "us-east-1", "2.6.0", "ml.m5.xlarge", None) == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
    )
    assert resolve_image("dlc", "af-south-1", "2.5.1", "ml.c5.large", None) == (
        "626614931356.dkr.ecr.af-south-1.amazonaws.com/pytorch-inference:2.5.1-cpu-py311"
    )
    assert resolve_image("dlc", "cn-north-1", "2.4.0", "ml.g4dn.xlarge", None) == (
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-inference:2.4.0-gpu-py311"
    )
    assert resolve_image("stygig", "eu-west-1", "2.6.0", "ml.m5.xlarge", "123456789012").startswith(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/stygig:"
    )
    uri = "111122223333.dkr.ecr.us-west-2.amazonaws.com/custom:1"
    assert resolve_image(uri, "us-east-1", "2.6.0", "ml.m5.xlarge", None) == uri
    assert all(len(a) == 12 and a.isdigit() for a in DLC_ACCOUNTS.values())
    with pytest.raises(ConfigError, match="no PyTorch DLC registry"):
        resolve_image("dlc", "xx-nowhere-1", "2.6.0", "ml.m5.xlarge", None)
    with pytest.raises(ConfigError, match="needs aws.role_arn"):
        resolve_image("stygig", "us-east-1", "2.6.0", "ml.m5.xlarge", None)


def test_precedence_and_provenance(tmp_path):
    f = _write(
        tmp_path,
        """
[aws]
region = "eu-west-1"
bucket = "file-bucket"
[endpoint]
instance_type = "ml.c5.xlarge"
instance_count = 2
[endpoint.environment]
OMP_NUM_THREADS = "4"
""",
    )
    environ = {"AWS_REGION": "eu-central-1", "STYGIG_ROLE_ARN": ROLE}
    cfg = load_config(f, flags={"endpoint.instance_count": 3, "aws.bucket": None}, env_flags={"MKL_NUM_THREADS": "3"}, environ=environ)
    assert (cfg.aws.region, cfg.aws.role_arn, cfg.aws.bucket, cfg.endpoint.instance_type, cfg.endpoint.instance_count) == (
        "eu-central-1", ROLE, "file-bucket", "ml.c5.xlarge", 3,
    )
    env = cfg.endpoint.environment
    assert env["OMP_NUM_THREADS"] == "4" and env["MKL_NUM_THREADS"] == "3"
    assert env["MODEL_SERVER_TIMEOUT"] == "300"  # untouched defaults stay
    src = cfg.sources
    assert src["aws.region"] == "env AWS_REGION"
    assert src["aws.role_arn"] == "env STYGIG_ROLE_ARN"
    assert src["aws.bucket"] == f"file {f}"
    assert src["endpoint.instance_type"] == f"file {f}"
    assert src["endpoint.instance_count"] == "flag --instance-count"
    assert src["endpoint.environment.OMP_NUM_THREADS"] == f"file {f}"
    assert src["endpoint.environment.MKL_NUM_THREADS"] == "flag --env"
    assert src["endpoint.environment.MODEL_SERVER_TIMEOUT"] == "default"
    assert src["aws.prefix"] == "default"
    rows = {k: (v, s) for k, v, s in cfg.effective()}
    assert rows["endpoint.instance_count"] == (3, "flag --instance-count")
    assert rows["endpoint.environment.SAGEMAKER_REGION"] == ("eu-central-1", "derived")
    assert rows["endpoint.image_uri"][1] == "derived"


def test_config_show_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("STYGIG_S3_BUCKET", "env-bucket")
    _write(tmp_path, '[aws]\nregion = "us-west-2"\n')  # ./stygig.toml is found by default
    rc = main(["aws", "config", "show", "--json", "--instance-type", "ml.c5.2xlarge"])
    assert rc == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["aws.region"] == {"value": "us-west-2", "source": "file stygig.toml"}
    assert shown["aws.bucket"] == {"value": "env-bucket", "source": "env STYGIG_S3_BUCKET"}
    assert shown["endpoint.instance_type"] == {"value": "ml.c5.2xlarge", "source": "flag --instance-type"}
    assert shown["endpoint.environment.SAGEMAKER_MODEL_SERVER_TIMEOUT"] == {"value": "300", "source": "default"}
    assert shown["endpoint.image_uri"]["value"].startswith("763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference:")
    # a refused value is shown, and explained, and the exit status says so
    rc = main(["aws", "config", "show", "--env", "MODEL_SERVER_TIMEOUT=180"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "endpoint.environment.MODEL_SERVER_TIMEOUT" in out and "flag --env" in out
    assert "refused: environment MODEL_SERVER_TIMEOUT: 180 is below the minimum 300" in err


BAD_FILES = [
    ('[endpoint.environment]\nMODEL_SERVER_TIMEOUT = "180"\n', "environment MODEL_SERVER_TIMEOUT: 180 is below the minimum 300"),
    ('[endpoint.environment]\nSAGEMAKER_MODEL_SERVER_TIMEOUT = "60"\n', "SAGEMAKER_MODEL_SERVER_TIMEOUT: 60 is below the minimum 300"),
    ('[endpoint.environment]\nTS_DEFAULT_RESPONSE_TIMEOUT = "120"\n', "TS_DEFAULT_RESPONSE_TIMEOUT: 120 is below the minimum 300"),
    ("[endpoint.environment]\nMODEL_SERVER_TIMEOUT = 300\n", 'MODEL_SERVER_TIMEOUT: must be a string, got int 300 (write "300" with quotes)'),
    ("[endpoint.environment]\nOMP_NUM_THREADS = 2\n", "OMP_NUM_THREADS: must be a string"),
    ('[endpoint.environment]\nMODEL_SERVER_TIMEOUT = "five minutes"\n', "'five minutes' is not a whole number of seconds"),
    ('[endpoint.environment]\nMODEL_SERVER_WORKERS = "0"\n', "MODEL_SERVER_WORKERS: '0' must be a positive whole number"),
    ('[endpoint.environment]\nTOKENIZERS_PARALLELISM = "no"\n', 'must be "true" or "false"'),
    ("[endpoint]\nstartup_health_check_timeout = 300\n", "ContainerStartupHealthCheckTimeoutInSeconds: 300 is below the minimum 600"),
    ("[endpoint]\nmodel_data_download_timeout = 300\n", "ModelDataDownloadTimeoutInSeconds: 300 is below the minimum 600"),
    ("[endpoint]\nmodel_data_download_timeout = 4000\n", "4000 is above SageMaker's maximum 3600"),
    ('[endpoint]\ninstance_count = "2"\n', 'endpoint.instance_count must be an integer, got "2"'),
    ("[endpoint]\ninstance_count = 0\n", "endpoint.instance_count must be between 1 and 100, got 0"),
    ('[endpoint]\ninstance_type = "m5.xlarge"\n', "is not a SageMaker instance type"),
    ('[endpoint]\nimage = "not an image"\n', 'must be "dlc", "stygig" or an image URI'),
    ('[endpoint]\nframework_version = "1.13.1"\n', "is not a supported PyTorch DLC version"),
    ('[endpoint]\nallowed_s3_buckets = "one-bucket"\n', "endpoint.allowed_s3_buckets must be a list of strings"),
    ('[endpoint]\nallowed_s3_buckets = ["Bad_Bucket"]\n', "'Bad_Bucket' is not a valid S3 bucket name"),
    ('[aws]\nregion = "Europe"\n', "is not an AWS region name"),
    ('[aws]\nrole_arn = "StygigRole"\n', "is not an IAM role ARN"),
    ('[aws]\nbucket = "x"\n', "is not a valid S3 bucket name"),
    ('[async]\nsns_success = "topic"\n', "async.sns_success 'topic' is not an SNS topic ARN"),
    ("[async]\nmin_capacity = 3\nmax_capacity = 2\n", "async.min_capacity (3) is above async.max_capacity (2)"),
    ('[async]\noutput = "https://example.com/out"\n', "async.output: not an s3:// URI"),
    ('[training]\nencoder = "/local/path"\n', 'training.encoder must be "lite" or the s3:// prefix'),
    ("[endpoint]\ninstance_typ = \"ml.m5.large\"\n", "unknown key 'instance_typ' in [endpoint] (did you mean 'instance_type'?)"),
    ('[endpiont]\nimage = "dlc"\n', "unknown section [endpiont] (did you mean 'endpoint'?)"),
    ("[aws\nregion = 1\n", "not valid TOML"),
    ('[aws]\nsubnets = ["subnet-0123abcd"]\n', "aws.subnets and aws.security_group_ids go together"),
    ('[aws]\nsubnets = ["vpc-0123abcd"]\nsecurity_group_ids = ["sg-0123abcd"]\n', "'vpc-0123abcd' is not a subnet id"),
    ('[aws]\nsubnets = ["subnet-0123abcd"]\nsecurity_group_ids = ["default"]\n', "'default' is not a security group id"),
    ('[aws]\nsubnets = "subnet-0123abcd"\n', "aws.subnets must be a list of strings"),
    ('[aws]\nkms_key_id = "my key"\n', "aws.kms_key_id 'my key' is not a KMS key id, key ARN or alias"),
]


@pytest.mark.parametrize("text, expected", BAD_FILES, ids=[e[:40] for _, e in BAD_FILES])
def test_refusals_are_one_line_each(tmp_path, text, expected):
    f = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(f, environ={}).validate()
    assert expected in e.value.message
    assert "\n" not in e.value.message
    assert e.value.status == 422


def test_several_problems_are_all_named_on_one_line(tmp_path):
    f = _write(tmp_path, '[endpoint]\nstartup_health_check_timeout = 300\nmodel_data_download_timeout = 300\n'
               '[endpoint.environment]\nMODEL_SERVER_TIMEOUT = "180"\n')
    with pytest.raises(ConfigError) as e:
        load_config(f, environ={}).validate()
    msg = e.value.message
    assert msg.startswith("3 problems: ") and "\n" not in msg
    for part in ("MODEL_SERVER_TIMEOUT: 180", "ContainerStartupHealthCheckTimeoutInSeconds: 300", "ModelDataDownloadTimeoutInSeconds: 300"):
        assert part in msg


def test_short_timeouts_need_the_explicit_flag(tmp_path):
    f = _write(tmp_path, "[endpoint]\nstartup_health_check_timeout = 300\n")
    with pytest.raises(ConfigError):
        load_config(f, environ={}).validate()
    cfg = load_config(f, flags={"endpoint.allow_short_timeouts": True}, environ={})
    cfg.validate()
    checks = audit_settings(cfg.container_environment(), cfg.variant_timeouts(), allow_short=True)
    short = [c for c in checks if "ContainerStartup" in c.item]
    assert short[0].status == "warn" and "allowed by --allow-short-timeouts" in short[0].detail
    # non-string values are refused even then
    with pytest.raises(ConfigError, match="must be a string"):
        DeploymentConfig().with_values(
            {"endpoint.environment": {**DEFAULT_ENVIRONMENT, "OMP_NUM_THREADS": 2}, "endpoint.allow_short_timeouts": True}
        ).validate()


def test_deploy_needs_role_and_bucket():
    cfg = DeploymentConfig()
    with pytest.raises(ConfigError) as e:
        cfg.validate(need_role=True, need_bucket=True)
    assert "aws.role_arn is not set" in e.value.message and "aws.bucket is not set" in e.value.message


def test_env_flag_parsing():
    assert parse_env_flags(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_env_flags(["NOEQUALS"])


def test_example_config_passes_doctor_but_its_placeholders_are_warned_about(capsys):
    rc = main(["aws", "doctor", "--config", str(REPO / "stygig.toml.example")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "0 failed, 2 warnings" in out
    warned = [" ".join(l.split()) for l in out.splitlines() if " warn " in l]
    assert warned == [
        "aws.role_arn warn account 123456789012 is stygig.toml.example's placeholder: put your own execution role's ARN",
        "aws.bucket warn my-stygig-models is stygig.toml.example's placeholder: put your own bucket",
    ]
    assert "variant ContainerStartupHealthCheckTimeoutInSeconds" in out and "600 (minimum 600)" in out
    cfg = load_config(REPO / "stygig.toml.example", environ={})
    cfg.validate(need_role=True, need_bucket=True)
    assert cfg.container_environment()["STYGIG_ALLOWED_S3_BUCKETS"] == "my-stygig-models"


def test_doctor_config_fails_the_old_values(tmp_path, capsys):
    f = _write(
        tmp_path,
        "[endpoint]\nstartup_health_check_timeout = 300\nmodel_data_download_timeout = 300\n"
        '[endpoint.environment]\nMODEL_SERVER_TIMEOUT = "180"\n',
    )
    rc = main(["aws", "doctor", "--config", str(f)])
    out = capsys.readouterr().out
    assert rc == 1
    lines = [l for l in out.splitlines() if " FAIL " in l]
    assert any("environment MODEL_SERVER_TIMEOUT" in l and "180 is below the minimum 300" in l for l in lines)
    assert any("ContainerStartupHealthCheckTimeoutInSeconds" in l and "300 is below the minimum 600" in l for l in lines)
    assert any("ModelDataDownloadTimeoutInSeconds" in l and "300 is below the minimum 600" in l for l in lines)
    assert "3 failed" in out


def test_doctor_without_name_or_config_is_a_one_line_error(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    rc = main(["aws", "doctor"])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip().count("\n") == 0 and "give an endpoint NAME" in err


def test_own_values_are_not_warned_about_and_vpc_and_kms_are_reported(tmp_path, capsys):
    f = _write(tmp_path, '''
[aws]
region = "eu-west-1"
role_arn = "arn:aws:iam::210987654321:role/Shop"
bucket = "shop-models"
subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9"]
security_group_ids = ["sg-0123abcd"]
kms_key_id = "alias/shop"
''')
    rc = main(["aws", "doctor", "--config", str(f)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "placeholder" not in out
    rows = {" ".join(l.split()[:2]): " ".join(l.split()[2:]) for l in out.splitlines() if l.startswith(("network", "encryption"))}
    assert rows["network ok"] == "VPC subnets subnet-0123456789abcdef0, subnet-0fedcba9; security groups sg-0123abcd"
    assert rows["network warn"].startswith("a DLC archive that still lists packages in code/requirements.txt (made with "
                                          "stygig package --no-vendor) pip-installs them at every start")
    assert rows["encryption ok"] == "KMS key alias/shop"
    # the StyGig image installs nothing: no NAT warning
    rc = main(["aws", "doctor", "--config", str(f), "--image", "stygig"])
    assert rc == 0 and "network warn" not in " ".join(capsys.readouterr().out.split())


def test_vpc_and_kms_go_into_the_requests():
    from stygig.aws.requests import endpoint_config_request, model_request, training_request

    cfg = DeploymentConfig().with_values({
        "aws.role_arn": ROLE, "aws.bucket": "shop-models", "aws.subnets": ["subnet-0123abcd"],
        "aws.security_group_ids": ["sg-0123abcd", "sg-4567ef01"], "aws.kms_key_id": "alias/shop",
    }).validate()
    vpc = {"SecurityGroupIds": ["sg-0123abcd", "sg-4567ef01"], "Subnets": ["subnet-0123abcd"]}
    assert model_request(cfg, "m", "s3://b/k.tar.gz", "shop")["VpcConfig"] == vpc
    ec = endpoint_config_request(cfg, "c", "m", "shop", asynchronous=True)
    assert ec["KmsKeyId"] == "alias/shop" and ec["AsyncInferenceConfig"]["OutputConfig"]["KmsKeyId"] == "alias/shop"
    job = training_request(cfg, "j", "s3://b/manifest.jsonl", kind="manifest", instance_count=1)
    assert job["VpcConfig"] == vpc
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == "alias/shop" and job["OutputDataConfig"]["KmsKeyId"] == "alias/shop"
    # without them, no key appears at all (SageMaker's defaults)
    plain = DeploymentConfig().with_values({"aws.role_arn": ROLE, "aws.bucket": "shop-models"})
    assert "VpcConfig" not in model_request(plain, "m", "s3://b/k.tar.gz", "shop")
    assert "KmsKeyId" not in endpoint_config_request(plain, "c", "m", "shop")
    # the flags reach the same settings
    cfg = load_config(None, flags={"aws.subnets": ["subnet-0123abcd"], "aws.kms_key_id": "alias/x"}, environ={},
                      use_default_file=False)
    assert cfg.aws.subnets == ("subnet-0123abcd",) and cfg.sources["aws.kms_key_id"] == "flag --kms-key"


def test_example_placeholders_are_the_ones_doctor_knows():
    from stygig.aws.config.schema import EXAMPLE_ACCOUNT, EXAMPLE_BUCKET

    cfg = load_config(REPO / "stygig.toml.example", environ={})
    assert cfg.account_id == EXAMPLE_ACCOUNT and cfg.aws.bucket == EXAMPLE_BUCKET
