"""Live state of emulated resources in CloudFormation property shape.

Each reader takes a resource's physical ID and returns its live configuration as the
properties of its CloudFormation resource type, read from moto's in-process backends,
or ``None`` when the resource no longer exists. Only the properties in
``COMPARED_PROPERTIES`` are read, so the drift detection extension leaves every other
declared property out of the comparison instead of reporting it as removed.

Nested settings that AWS fills in with a default (a table's SSE type, a bucket's
encryption key flag) appear only when the template declares them, because
``diff_properties`` reports undeclared nested keys as ``ADD``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import dynamodb_backends
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.sns.exceptions import TopicNotFound
from moto.sns.models import sns_backends
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import sqs_backends

Properties = dict[str, Any]
Reader = Callable[[str, str, str, Properties], "Properties | None"]

COMPARED_PROPERTIES: dict[str, frozenset[str]] = {
    "AWS::DynamoDB::Table": frozenset(
        {
            "TableName",
            "KeySchema",
            "AttributeDefinitions",
            "BillingMode",
            "ProvisionedThroughput",
            "StreamSpecification",
            "SSESpecification",
            "PointInTimeRecoverySpecification",
            "TimeToLiveSpecification",
            "DeletionProtectionEnabled",
            "TableClass",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "Tags",
        }
    ),
    "AWS::S3::Bucket": frozenset(
        {
            "BucketName",
            "VersioningConfiguration",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "OwnershipControls",
            "LifecycleConfiguration",
            "Tags",
        }
    ),
    "AWS::SNS::Topic": frozenset(
        {
            "TopicName",
            "DisplayName",
            "KmsMasterKeyId",
            "FifoTopic",
            "ContentBasedDeduplication",
            "Tags",
        }
    ),
    "AWS::SQS::Queue": frozenset(
        {
            "QueueName",
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "RedrivePolicy",
            "KmsMasterKeyId",
            "SqsManagedSseEnabled",
            "FifoQueue",
            "ContentBasedDeduplication",
            "Tags",
        }
    ),
}


def _user_tags(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    # CloudFormation adds aws:* tags itself and leaves them out of drift detection.
    return [
        {"Key": tag["Key"], "Value": tag["Value"]}
        for tag in tags
        if not tag["Key"].startswith("aws:")
    ]


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return _user_tags([{"Key": key, "Value": value} for key, value in tags.items()])


def _keep_declared(
    actual: Properties, declared: Any, optional: tuple[str, ...]
) -> None:
    """Drop the ``optional`` keys from ``actual`` that ``declared`` does not set."""
    declared_keys = declared if isinstance(declared, dict) else {}
    for key in optional:
        if key not in declared_keys:
            actual.pop(key, None)


def _read_table(
    physical_id: str, account: str, region: str, declared: Properties
) -> Properties | None:
    backend = dynamodb_backends[account][region]
    try:
        table = backend.get_table(physical_id)
    except ResourceNotFoundException:
        return None
    description = table.describe()["TableDescription"]
    billing_mode = description.get("BillingModeSummary", {}).get(
        "BillingMode", "PROVISIONED"
    )
    actual: Properties = {
        "TableName": description["TableName"],
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": description["AttributeDefinitions"],
        "BillingMode": billing_mode,
        "DeletionProtectionEnabled": bool(description.get("DeletionProtectionEnabled")),
        "TableClass": description.get("TableClassSummary", {}).get(
            "TableClass", "STANDARD"
        ),
        "Tags": _user_tags(backend.list_tags_of_resource(table.table_arn)),
    }
    if billing_mode == "PROVISIONED":
        throughput = description["ProvisionedThroughput"]
        actual["ProvisionedThroughput"] = {
            "ReadCapacityUnits": throughput["ReadCapacityUnits"],
            "WriteCapacityUnits": throughput["WriteCapacityUnits"],
        }

    stream = description.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        actual["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}

    sse = description.get("SSEDescription") or {}
    sse_actual: Properties = {"SSEEnabled": sse.get("Status") == "ENABLED"}
    if sse_actual["SSEEnabled"]:
        sse_actual["SSEType"] = sse.get("SSEType", "KMS")
        sse_actual["KMSMasterKeyId"] = sse.get("KMSMasterKeyArn")
    _keep_declared(
        sse_actual, declared.get("SSESpecification"), ("SSEType", "KMSMasterKeyId")
    )
    actual["SSESpecification"] = sse_actual

    backups = backend.describe_continuous_backups(physical_id)
    recovery = backups.get("PointInTimeRecoveryDescription", {})
    recovery_actual: Properties = {
        "PointInTimeRecoveryEnabled": recovery.get("PointInTimeRecoveryStatus")
        == "ENABLED",
        "RecoveryPeriodInDays": recovery.get("RecoveryPeriodInDays"),
    }
    _keep_declared(
        recovery_actual,
        declared.get("PointInTimeRecoverySpecification"),
        ("RecoveryPeriodInDays",),
    )
    actual["PointInTimeRecoverySpecification"] = recovery_actual

    ttl = backend.describe_time_to_live(physical_id)
    ttl_actual: Properties = {"Enabled": ttl.get("TimeToLiveStatus") == "ENABLED"}
    if "AttributeName" in ttl:
        ttl_actual["AttributeName"] = ttl["AttributeName"]
    actual["TimeToLiveSpecification"] = ttl_actual

    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = description.get(key) or []
        if indexes:
            actual[key] = [
                _index_properties(index, billing_mode == "PROVISIONED")
                for index in indexes
            ]
    return actual


def _index_properties(index: Properties, provisioned: bool) -> Properties:
    properties: Properties = {
        "IndexName": index["IndexName"],
        "KeySchema": index["KeySchema"],
        "Projection": index["Projection"],
    }
    if provisioned and "ProvisionedThroughput" in index:
        throughput = index["ProvisionedThroughput"]
        properties["ProvisionedThroughput"] = {
            "ReadCapacityUnits": throughput["ReadCapacityUnits"],
            "WriteCapacityUnits": throughput["WriteCapacityUnits"],
        }
    return properties


def _read_bucket(
    physical_id: str, account: str, region: str, declared: Properties
) -> Properties | None:
    backend = s3_backends[account]["aws"]
    try:
        bucket = backend.get_bucket(physical_id)
    except MissingBucket:
        return None
    actual: Properties = {"BucketName": bucket.name}
    if bucket.versioning_status:
        actual["VersioningConfiguration"] = {"Status": bucket.versioning_status}

    if bucket.encryption:
        rules = bucket.encryption.get("Rule", [])
        rules = rules if isinstance(rules, list) else [rules]
        declared_rules = (
            declared.get("BucketEncryption", {}).get(
                "ServerSideEncryptionConfiguration", []
            )
            if isinstance(declared.get("BucketEncryption"), dict)
            else []
        )
        actual["BucketEncryption"] = {
            "ServerSideEncryptionConfiguration": [
                _encryption_rule(rule, declared_rules[index : index + 1])
                for index, rule in enumerate(rules)
            ]
        }

    block = bucket.public_access_block
    if block is not None:
        actual["PublicAccessBlockConfiguration"] = {
            "BlockPublicAcls": _as_bool(block.block_public_acls),
            "BlockPublicPolicy": _as_bool(block.block_public_policy),
            "IgnorePublicAcls": _as_bool(block.ignore_public_acls),
            "RestrictPublicBuckets": _as_bool(block.restrict_public_buckets),
        }

    ownership = backend.get_bucket_ownership_controls(physical_id)
    if ownership:
        actual["OwnershipControls"] = {"Rules": [{"ObjectOwnership": ownership}]}

    if bucket.rules:
        actual["LifecycleConfiguration"] = {
            "Rules": [_lifecycle_rule(rule) for rule in bucket.rules]
        }

    actual["Tags"] = _user_tags(backend.get_bucket_tagging(physical_id)["Tags"])
    return actual


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _encryption_rule(rule: Properties, declared: list[Any]) -> Properties:
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    by_default: Properties = {"SSEAlgorithm": default.get("SSEAlgorithm")}
    if default.get("KMSMasterKeyID"):
        by_default["KMSMasterKeyID"] = default["KMSMasterKeyID"]
    properties: Properties = {"ServerSideEncryptionByDefault": by_default}
    if "BucketKeyEnabled" in rule:
        properties["BucketKeyEnabled"] = _as_bool(rule["BucketKeyEnabled"])
    _keep_declared(properties, declared[0] if declared else {}, ("BucketKeyEnabled",))
    return properties


def _lifecycle_rule(rule: Any) -> Properties:
    # NOTE: transitions and date-based expirations are not read, so a template that
    # declares them is reported as drifted on those keys.
    properties: Properties = {"Status": rule.status}
    if rule.id:
        properties["Id"] = rule.id
    prefix = rule.prefix
    if prefix is None and rule.filter is not None:
        prefix = rule.filter.prefix
    if prefix:
        properties["Prefix"] = prefix
    if rule.expiration_days is not None:
        properties["ExpirationInDays"] = int(rule.expiration_days)
    if rule.nve_noncurrent_days is not None:
        properties["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule.nve_noncurrent_days)
        }
    if rule.aimu_days is not None:
        properties["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule.aimu_days)
        }
    if rule.expired_object_delete_marker is not None:
        properties["ExpiredObjectDeleteMarker"] = _as_bool(
            rule.expired_object_delete_marker
        )
    return properties


def _read_topic(
    physical_id: str, account: str, region: str, declared: Properties
) -> Properties | None:
    backend = sns_backends[account][region]
    try:
        topic = backend.get_topic(physical_id)
    except TopicNotFound:
        return None
    actual: Properties = {
        "TopicName": topic.name,
        "FifoTopic": _as_bool(topic.fifo_topic),
        "ContentBasedDeduplication": _as_bool(topic.content_based_deduplication),
        "Tags": _tag_list(backend.list_tags_for_resource(physical_id)),
    }
    if topic.display_name:
        actual["DisplayName"] = topic.display_name
    if topic.kms_master_key_id:
        actual["KmsMasterKeyId"] = topic.kms_master_key_id
    return actual


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _read_queue(
    physical_id: str, account: str, region: str, declared: Properties
) -> Properties | None:
    # The physical ID of a queue is its URL, which ends with the queue name.
    name = physical_id.rstrip("/").rsplit("/", 1)[-1]
    backend = sqs_backends[account][region]
    try:
        queue = backend.get_queue(name)
    except QueueDoesNotExist:
        return None
    attributes = backend.get_queue_attributes(name, ["All"])
    actual: Properties = {"QueueName": name, "Tags": _tag_list(queue.tags or {})}
    for key in _QUEUE_ATTRIBUTES:
        value = attributes.get(key)
        if value is not None and value != "":
            actual[key] = value
    redrive = attributes.get("RedrivePolicy")
    if redrive:
        actual["RedrivePolicy"] = (
            redrive if isinstance(redrive, dict) else json.loads(redrive)
        )
    return actual


READERS: dict[str, Reader] = {
    "AWS::DynamoDB::Table": _read_table,
    "AWS::S3::Bucket": _read_bucket,
    "AWS::SNS::Topic": _read_topic,
    "AWS::SQS::Queue": _read_queue,
}


def read_actual_properties(
    resource_type: str,
    physical_id: str,
    account: str,
    region: str,
    declared: Properties,
) -> Properties | None:
    """Read a resource's live properties, or ``None`` when it no longer exists.

    ``declared`` is the resource's resolved template properties. It decides only which
    defaulted nested keys are read, never the values.

    Raises:
        KeyError: ``resource_type`` has no reader; check ``READERS`` first.
    """
    return READERS[resource_type](physical_id, account, region, declared)
