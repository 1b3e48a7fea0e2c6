"""The AWS requests StyGig sends, built by pure functions of the configuration.

Tests compare what was created with what these return, and the dry run prints exactly them.
"""

from __future__ import annotations

from typing import Any

from stygig import __version__
from stygig.aws.config import VARIANT_NAME, DeploymentConfig
from stygig.aws.names import SCALABLE_DIMENSION, alarm_name, resource_id, tags

TRAIN_ENTRYPOINT = ["python", "-m", "stygig.aws.train_entry"]


def model_request(
    cfg: DeploymentConfig, model_name: str, model_uri: str, endpoint_name: str, *, instance_type: str | None = None
) -> dict[str, Any]:
    """CreateModel: the image (for ``instance_type``, default the endpoint's), the archive, the
    audited environment, the VPC. Endpoints and transform jobs get the same model."""
    req: dict[str, Any] = {
        "ModelName": model_name,
        "ExecutionRoleArn": cfg.aws.role_arn,
        "PrimaryContainer": {
            "Image": cfg.image_uri(instance_type),
            "ModelDataUrl": model_uri,
            "Environment": cfg.container_environment(),
        },
        "EnableNetworkIsolation": cfg.endpoint.network_isolation,
        "Tags": tags(endpoint_name),
    }
    if cfg.vpc_config():
        req["VpcConfig"] = cfg.vpc_config()
    return req


def endpoint_config_request(
    cfg: DeploymentConfig,
    config_name: str,
    model_name: str,
    endpoint_name: str,
    *,
    asynchronous: bool = False,
    variant_name: str = VARIANT_NAME,
) -> dict[str, Any]:
    variant = {
        "VariantName": variant_name,
        "ModelName": model_name,
        "InstanceType": cfg.endpoint.instance_type,
        "InitialInstanceCount": cfg.endpoint.instance_count,
        "InitialVariantWeight": 1.0,
        **cfg.variant_timeouts(),
    }
    req: dict[str, Any] = {"EndpointConfigName": config_name, "ProductionVariants": [variant], "Tags": tags(endpoint_name)}
    kms = cfg.aws.kms_key_id
    if kms:
        req["KmsKeyId"] = kms  # the instances' storage volumes
    if asynchronous:
        output: dict[str, Any] = {"S3OutputPath": cfg.async_output_uri().rstrip("/")}
        failure = cfg.async_output_uri().rstrip("/") + "-failures"
        output["S3FailurePath"] = failure
        if kms:
            output["KmsKeyId"] = kms
        notify = {}
        if cfg.async_.sns_success:
            notify["SuccessTopic"] = cfg.async_.sns_success
        if cfg.async_.sns_error:
            notify["ErrorTopic"] = cfg.async_.sns_error
        if notify:
            output["NotificationConfig"] = notify
        req["AsyncInferenceConfig"] = {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": cfg.async_.max_concurrent},
            "OutputConfig": output,
        }
    return req


def update_endpoint_request(
    cfg: DeploymentConfig, endpoint_name: str, config_name: str, *, retain_variant_properties: bool = False
) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
            "TerminationWaitInSeconds": cfg.redeploy.termination_wait,
            "MaximumExecutionTimeoutInSeconds": cfg.redeploy.max_execution_timeout,
        }
    }
    if cfg.redeploy.rollback_alarms:
        policy["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in cfg.redeploy.rollback_alarms]}
    return {
        "EndpointName": endpoint_name,
        "EndpointConfigName": config_name,
        "RetainAllVariantProperties": retain_variant_properties,
        "DeploymentConfig": policy,
    }


def scaling_requests(cfg: DeploymentConfig, endpoint_name: str, variant: str = VARIANT_NAME) -> dict[str, Any]:
    """RegisterScalableTarget + the target-tracking policy (+ scale-from-zero step policy and alarm)."""
    rid = resource_id(endpoint_name, variant)
    common = {"ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": SCALABLE_DIMENSION}
    out: dict[str, Any] = {
        "target": {**common, "MinCapacity": cfg.async_.min_capacity, "MaxCapacity": cfg.async_.max_capacity},
        "backlog_policy": {
            **common,
            "PolicyName": f"{endpoint_name}-stygig-backlog",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": float(cfg.async_.target_backlog_per_instance),
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance",
                    "Namespace": "AWS/SageMaker",
                    "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
                    "Statistic": "Average",
                },
                "ScaleInCooldown": cfg.async_.scale_in_cooldown,
                "ScaleOutCooldown": cfg.async_.scale_out_cooldown,
            },
        },
    }
    if cfg.async_.min_capacity == 0:
        # target tracking cannot leave zero instances (no backlog-per-instance without instances):
        # a step policy driven by HasBacklogWithoutCapacity starts the first one.
        out["zero_policy"] = {
            **common,
            "PolicyName": f"{endpoint_name}-stygig-scale-from-zero",
            "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Average",
                "Cooldown": cfg.async_.scale_out_cooldown,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            },
        }
        out["alarm"] = {
            "AlarmName": alarm_name(endpoint_name),
            "AlarmDescription": f"StyGig: start an instance of {endpoint_name} when requests wait with none running",
            "MetricName": "HasBacklogWithoutCapacity",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
            "Statistic": "Average",
            "Period": 60,
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 2,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "missing",
            # AlarmActions: the step policy's ARN, known once it exists
        }
    return out


def training_request(
    cfg: DeploymentConfig,
    job_name: str,
    catalog_uri: str,
    *,
    kind: str,
    instance_count: int,
) -> dict[str, Any]:
    """CreateTrainingJob for ``stygig build`` on SageMaker.

    * a manifest catalog: every host reads the manifest from S3 and builds the items of its shard
      (``shard_of(id) == host index``), fetching only those images - no input channel;
    * a folder catalog: the ``catalog`` channel is ``ShardedByS3Key`` (each host receives a share of
      the image files) and each host builds what it received.
    With more than one host each uploads its shard under ``shard_exchange``; the first host merges
    them into the one artifact the job outputs.
    """
    out_prefix = cfg.s3_prefix_uri("training")
    hp = {
        "catalog_kind": kind,
        "encoder": "lite" if cfg.training.encoder == "lite" else "channel",
        "shard_exchange": cfg.s3_prefix_uri("training", job_name, "shards") + "/",
        "shard_wait_seconds": str(cfg.training.max_runtime),
        "stygig_version": __version__,
    }
    if cfg.training.precision:
        hp["precision"] = cfg.training.precision
    channels: list[dict[str, Any]] = []
    if kind == "manifest":
        hp["catalog"] = catalog_uri
    else:
        channels.append(
            {
                "ChannelName": "catalog",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": catalog_uri,
                        "S3DataDistributionType": "ShardedByS3Key" if instance_count > 1 else "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        )
    if cfg.training.encoder.startswith("s3://"):
        channels.append(
            {
                "ChannelName": "encoder",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": cfg.training.encoder,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        )
    req: dict[str, Any] = {
        "TrainingJobName": job_name,
        "RoleArn": cfg.aws.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": cfg.train_image_uri(),
            "TrainingInputMode": "File",
            "ContainerEntrypoint": TRAIN_ENTRYPOINT,
        },
        "HyperParameters": hp,
        "OutputDataConfig": {"S3OutputPath": out_prefix},
        "ResourceConfig": {
            "InstanceType": cfg.training.instance_type,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": cfg.training.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": cfg.training.max_runtime},
        "Tags": [{"Key": "stygig:version", "Value": __version__}],
    }
    if channels:
        req["InputDataConfig"] = channels
    if cfg.vpc_config():
        req["VpcConfig"] = cfg.vpc_config()
    if cfg.aws.kms_key_id:
        req["ResourceConfig"]["VolumeKmsKeyId"] = cfg.aws.kms_key_id
        req["OutputDataConfig"]["KmsKeyId"] = cfg.aws.kms_key_id
    return req


#: what a transform job sends the container and gets back: the server's JSON Lines path
JSONLINES = "application/jsonlines"


def transform_job_request(
    cfg: DeploymentConfig, job_name: str, model_name: str, input_uri: str, output_uri: str, *, instance_count: int
) -> dict[str, Any]:
    """CreateTransformJob: every object under ``input_uri`` split by line, lines packed into requests
    of at most MaxPayloadInMB (MultiRecord), the answers joined by line into ``<object>.out``."""
    b = cfg.batch
    req: dict[str, Any] = {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "MaxConcurrentTransforms": b.max_concurrent_transforms,
        "MaxPayloadInMB": b.max_payload_mb,
        "BatchStrategy": "MultiRecord",
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": b.invocations_timeout, "InvocationsMaxRetries": 0},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": JSONLINES,
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output_uri, "Accept": JSONLINES, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": b.instance_type, "InstanceCount": instance_count},
        "Tags": [{"Key": "stygig:batch", "Value": job_name}, {"Key": "stygig:version", "Value": __version__}],
    }
    if cfg.aws.kms_key_id:
        req["TransformOutput"]["KmsKeyId"] = cfg.aws.kms_key_id
        req["TransformResources"]["VolumeKmsKeyId"] = cfg.aws.kms_key_id
    return req
