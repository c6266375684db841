"""Live configuration of deployed resources, read with describe calls.

Each supported resource type has one reader: a function that takes a client factory,
the resource's physical id and its declared properties, and returns the live properties
named and shaped as in the CloudFormation resource reference. ``READERS`` maps a
resource type to its reader and to the properties the reader can return, so adding a
type means adding one function and one table row. ``compare_with_baseline`` compares
the declared properties of a recorded baseline with what the readers return.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from .diff import diff_properties
from .model import ResourceDrift, UncheckedResource

LOGGER = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]
Reader = Callable[[ClientFactory, str, Mapping[str, Any]], dict[str, Any]]

# Error codes with which describe calls report that the resource itself does not exist.
NOT_FOUND_CODES = frozenset(
    {
        "404",
        "NoSuchBucket",
        "NotFound",
        "NotFoundException",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def _align_kms_key(declared: Any, live: Any) -> Any:
    """Return the declared key id when ``live`` is the ARN of that same key.

    Services report a key ARN where the template may declare the bare key id.
    """
    same_key = (
        isinstance(declared, str)
        and isinstance(live, str)
        and (live.endswith(f"/{declared}") or live.endswith(f":{declared}"))
    )
    if same_key:
        return declared
    # NOTE: an alias (alias/name) declared for a key reported by ARN still differs.
    return live


def _declared_child(declared: Mapping[str, Any], name: str, key: str) -> Any:
    value = declared.get(name)
    return value.get(key) if isinstance(value, dict) else None


def read_dynamodb_table(
    clients: ClientFactory, physical_id: str, declared: Mapping[str, Any]
) -> dict[str, Any]:
    """Read an AWS::DynamoDB::Table named ``physical_id``."""
    dynamodb = clients("dynamodb")
    table = dynamodb.describe_table(TableName=physical_id)["Table"]
    billing_mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    live: dict[str, Any] = {
        "TableName": table["TableName"],
        "BillingMode": billing_mode,
        "KeySchema": table.get("KeySchema", []),
        "AttributeDefinitions": table.get("AttributeDefinitions", []),
        "TableClass": table.get("TableClassSummary", {}).get("TableClass", "STANDARD"),
        "DeletionProtectionEnabled": table.get("DeletionProtectionEnabled", False),
    }
    if billing_mode == "PROVISIONED":
        throughput = table.get("ProvisionedThroughput", {})
        live["ProvisionedThroughput"] = {
            "ReadCapacityUnits": throughput.get("ReadCapacityUnits"),
            "WriteCapacityUnits": throughput.get("WriteCapacityUnits"),
        }
    stream = table.get("StreamSpecification", {})
    if stream.get("StreamEnabled"):
        live["StreamSpecification"] = {"StreamViewType": stream.get("StreamViewType")}
    sse = table.get("SSEDescription", {})
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        declared_key = _declared_child(declared, "SSESpecification", "KMSMasterKeyId")
        live["SSESpecification"] = {
            "SSEEnabled": True,
            "SSEType": sse.get("SSEType"),
            "KMSMasterKeyId": _align_kms_key(declared_key, sse.get("KMSMasterKeyArn")),
        }
    else:
        live["SSESpecification"] = {"SSEEnabled": False}

    if "PointInTimeRecoverySpecification" in declared:
        backups = dynamodb.describe_continuous_backups(TableName=physical_id)
        recovery = backups["ContinuousBackupsDescription"].get(
            "PointInTimeRecoveryDescription", {}
        )
        enabled = recovery.get("PointInTimeRecoveryStatus") == "ENABLED"
        live["PointInTimeRecoverySpecification"] = {
            "PointInTimeRecoveryEnabled": enabled
        }
    if "TimeToLiveSpecification" in declared:
        ttl = dynamodb.describe_time_to_live(TableName=physical_id)
        description = ttl.get("TimeToLiveDescription", {})
        specification: dict[str, Any] = {
            "Enabled": description.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        }
        if "AttributeName" in description:
            specification["AttributeName"] = description["AttributeName"]
        live["TimeToLiveSpecification"] = specification
    if "Tags" in declared:
        tags: list[dict[str, str]] = []
        request = {"ResourceArn": table["TableArn"]}
        while True:
            page = dynamodb.list_tags_of_resource(**request)
            tags.extend(page.get("Tags", []))
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        live["Tags"] = tags
    return live


def _encryption_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    # The S3 API names the default ApplyServerSideEncryptionByDefault, the template
    # ServerSideEncryptionByDefault, with the same fields inside.
    converted = {
        key: value
        for key, value in rule.items()
        if key != "ApplyServerSideEncryptionByDefault"
    }
    if "ApplyServerSideEncryptionByDefault" in rule:
        converted["ServerSideEncryptionByDefault"] = rule[
            "ApplyServerSideEncryptionByDefault"
        ]
    return converted


def read_s3_bucket(
    clients: ClientFactory, physical_id: str, declared: Mapping[str, Any]
) -> dict[str, Any]:
    """Read an AWS::S3::Bucket named ``physical_id``.

    S3 reports an unset sub-configuration with a dedicated error code, which here
    means the property is absent rather than that the call failed.
    """
    s3 = clients("s3")
    s3.head_bucket(Bucket=physical_id)
    live: dict[str, Any] = {"BucketName": physical_id}

    def optional(call: Callable[[], Any], absent_code: str) -> Any:
        try:
            return call()
        except ClientError as error:
            if _error_code(error) == absent_code:
                return None
            raise

    if "VersioningConfiguration" in declared:
        versioning = s3.get_bucket_versioning(Bucket=physical_id)
        # A bucket that never had versioning reports no status at all.
        live["VersioningConfiguration"] = (
            {"Status": versioning["Status"]} if "Status" in versioning else {}
        )
    if "BucketEncryption" in declared:
        encryption = optional(
            lambda: s3.get_bucket_encryption(Bucket=physical_id),
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        if encryption is not None:
            rules = encryption["ServerSideEncryptionConfiguration"].get("Rules", [])
            live["BucketEncryption"] = {
                "ServerSideEncryptionConfiguration": [
                    _encryption_rule(rule) for rule in rules
                ]
            }
    if "PublicAccessBlockConfiguration" in declared:
        block = optional(
            lambda: s3.get_public_access_block(Bucket=physical_id),
            "NoSuchPublicAccessBlockConfiguration",
        )
        if block is not None:
            live["PublicAccessBlockConfiguration"] = block[
                "PublicAccessBlockConfiguration"
            ]
    if "OwnershipControls" in declared:
        ownership = optional(
            lambda: s3.get_bucket_ownership_controls(Bucket=physical_id),
            "OwnershipControlsNotFoundError",
        )
        if ownership is not None:
            rules = ownership["OwnershipControls"].get("Rules", [])
            live["OwnershipControls"] = {"Rules": rules}
    if "Tags" in declared:
        tagging = optional(
            lambda: s3.get_bucket_tagging(Bucket=physical_id), "NoSuchTagSet"
        )
        live["Tags"] = tagging.get("TagSet", []) if tagging is not None else []
    return live


def read_sns_topic(
    clients: ClientFactory, physical_id: str, declared: Mapping[str, Any]
) -> dict[str, Any]:
    """Read an AWS::SNS::Topic whose physical id is its ARN."""
    sns = clients("sns")
    attributes = sns.get_topic_attributes(TopicArn=physical_id)["Attributes"]
    live: dict[str, Any] = {
        "TopicName": physical_id.rsplit(":", 1)[-1],
        "DisplayName": attributes.get("DisplayName", ""),
        "FifoTopic": attributes.get("FifoTopic", "false"),
    }
    for name in ("KmsMasterKeyId", "ContentBasedDeduplication"):
        if name in attributes:
            live[name] = attributes[name]
    if "Tags" in declared:
        response = sns.list_tags_for_resource(ResourceArn=physical_id)
        live["Tags"] = response.get("Tags", [])
    return live


def read_lambda_function(
    clients: ClientFactory, physical_id: str, declared: Mapping[str, Any]
) -> dict[str, Any]:
    """Read an AWS::Lambda::Function named ``physical_id``; its code is not read."""
    lambda_client = clients("lambda")
    configuration = lambda_client.get_function_configuration(FunctionName=physical_id)
    live: dict[str, Any] = {
        "FunctionName": configuration["FunctionName"],
        "Role": configuration.get("Role"),
        "MemorySize": configuration.get("MemorySize"),
        "Timeout": configuration.get("Timeout"),
        "Description": configuration.get("Description", ""),
        "Architectures": configuration.get("Architectures", ["x86_64"]),
        "Layers": [layer["Arn"] for layer in configuration.get("Layers", [])],
    }
    # Container image functions have no runtime or handler.
    for name in ("Runtime", "Handler"):
        if name in configuration:
            live[name] = configuration[name]
    variables = configuration.get("Environment", {}).get("Variables")
    live["Environment"] = {"Variables": variables} if variables else {}
    if "TracingConfig" in configuration:
        live["TracingConfig"] = {"Mode": configuration["TracingConfig"].get("Mode")}
    if "EphemeralStorage" in configuration:
        size = configuration["EphemeralStorage"].get("Size")
        live["EphemeralStorage"] = {"Size": size}
    if "Tags" in declared:
        tags = lambda_client.list_tags(Resource=configuration["FunctionArn"])
        live["Tags"] = _tag_list(tags.get("Tags", {}))
    return live


_SQS_INTEGER_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "KmsDataKeyReusePeriodSeconds",
)
_SQS_TEXT_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def read_sqs_queue(
    clients: ClientFactory, physical_id: str, declared: Mapping[str, Any]
) -> dict[str, Any]:
    """Read an AWS::SQS::Queue whose physical id is its URL."""
    sqs = clients("sqs")
    response = sqs.get_queue_attributes(QueueUrl=physical_id, AttributeNames=["All"])
    attributes = response.get("Attributes", {})
    live: dict[str, Any] = {
        "QueueName": physical_id.rstrip("/").rsplit("/", 1)[-1],
        # SQS omits FifoQueue for standard queues.
        "FifoQueue": attributes.get("FifoQueue", "false"),
    }
    for name in _SQS_INTEGER_ATTRIBUTES:
        if name in attributes:
            live[name] = int(attributes[name])
    for name in _SQS_TEXT_ATTRIBUTES:
        if name in attributes:
            live[name] = attributes[name]
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        if name in attributes:
            live[name] = json.loads(attributes[name])
    if "Tags" in declared:
        tags = sqs.list_queue_tags(QueueUrl=physical_id).get("Tags", {})
        live["Tags"] = _tag_list(tags)
    return live


class ReaderEntry(NamedTuple):
    """A type's reader, the properties it returns and its free-form maps.

    A free-form map (such as a function's environment variables) is compared key by
    key, so keys added outside the template are reported. Other nested objects are
    compared only on the keys the template declares.
    """

    read: Reader
    properties: frozenset[str]
    free_form_maps: frozenset[str] = frozenset()


READERS: dict[str, ReaderEntry] = {
    "AWS::DynamoDB::Table": ReaderEntry(
        read_dynamodb_table,
        frozenset(
            {
                "TableName",
                "BillingMode",
                "ProvisionedThroughput",
                "KeySchema",
                "AttributeDefinitions",
                "StreamSpecification",
                "PointInTimeRecoverySpecification",
                "SSESpecification",
                "TimeToLiveSpecification",
                "TableClass",
                "DeletionProtectionEnabled",
                "Tags",
            }
        ),
    ),
    "AWS::S3::Bucket": ReaderEntry(
        read_s3_bucket,
        frozenset(
            {
                "BucketName",
                "VersioningConfiguration",
                "BucketEncryption",
                "PublicAccessBlockConfiguration",
                "OwnershipControls",
                "Tags",
            }
        ),
    ),
    "AWS::SNS::Topic": ReaderEntry(
        read_sns_topic,
        frozenset(
            {
                "TopicName",
                "DisplayName",
                "KmsMasterKeyId",
                "FifoTopic",
                "ContentBasedDeduplication",
                "Tags",
            }
        ),
    ),
    "AWS::Lambda::Function": ReaderEntry(
        read_lambda_function,
        frozenset(
            {
                "FunctionName",
                "Runtime",
                "Handler",
                "MemorySize",
                "Timeout",
                "Description",
                "Environment",
                "Architectures",
                "Layers",
                "Role",
                "TracingConfig",
                "EphemeralStorage",
                "Tags",
            }
        ),
        free_form_maps=frozenset({"/Environment/Variables"}),
    ),
    "AWS::SQS::Queue": ReaderEntry(
        read_sqs_queue,
        frozenset(
            {
                "QueueName",
                "FifoQueue",
                "ContentBasedDeduplication",
                "DeduplicationScope",
                "FifoThroughputLimit",
                "KmsMasterKeyId",
                "KmsDataKeyReusePeriodSeconds",
                "SqsManagedSseEnabled",
                "RedrivePolicy",
                "RedriveAllowPolicy",
                *_SQS_INTEGER_ATTRIBUTES,
            }
        ),
    ),
}


def _merge_shapes(items: list[Any]) -> Any:
    """Return one object with every key that any of the declared list items has."""
    merged: dict[str, Any] = {}
    for item in items:
        for key, value in item.items():
            if isinstance(merged.get(key), dict) and isinstance(value, dict):
                merged[key] = _merge_shapes([merged[key], value])
            else:
                merged[key] = value
    return merged


def restrict_to_declared(
    declared: Any, live: Any, free_form_maps: frozenset[str], path: str = ""
) -> Any:
    """Return ``live`` without the nested object keys that ``declared`` leaves out.

    CloudFormation reports drift only on values a template sets, so a service default
    inside a declared object (say ``BucketKeyEnabled`` in an encryption rule) is not
    drift. Lists keep all their items, so an added tag is still reported.
    """
    if isinstance(declared, dict) and isinstance(live, dict):
        if path in free_form_maps:
            return live
        return {
            key: restrict_to_declared(
                declared[key], value, free_form_maps, f"{path}/{key}"
            )
            for key, value in live.items()
            if key in declared
        }
    declared_objects = (
        isinstance(declared, list)
        and bool(declared)
        and all(isinstance(item, dict) for item in declared)
    )
    if declared_objects and isinstance(live, list):
        shape = _merge_shapes(declared)
        return [
            restrict_to_declared(shape, item, free_form_maps, f"{path}/*")
            for item in live
        ]
    return live


def _parse_json_text(declared: Any, live: Any) -> Any:
    # Some properties (an SQS RedrivePolicy) may be declared as a JSON string or object.
    if isinstance(declared, str) and isinstance(live, (dict, list)):
        try:
            return json.loads(declared)
        except ValueError:
            return declared
    return declared


def _filter_tags(
    declared: Any, live: Any, stack_tags: Mapping[str, Any]
) -> list[dict[str, Any]] | Any:
    """Drop tags that CloudFormation adds itself from the live tag list.

    CloudFormation adds ``aws:`` tags and copies the stack's tags to each resource,
    so neither is drift unless the template declares that key on the resource.
    """
    if not isinstance(declared, list) or not isinstance(live, list):
        return live
    declared_keys = {item.get("Key") for item in declared if isinstance(item, dict)}
    kept = []
    for tag in live:
        key = tag.get("Key", "") if isinstance(tag, dict) else ""
        added_by_cloudformation = str(key).startswith("aws:") or key in stack_tags
        if key in declared_keys or not added_by_cloudformation:
            kept.append(tag)
    return kept


def _compare_resource(
    logical_id: str,
    resource: Mapping[str, Any],
    entry: ReaderEntry,
    client_factory: ClientFactory,
    stack_tags: Mapping[str, Any],
) -> ResourceDrift | UncheckedResource | None:
    resource_type = str(resource.get("type"))
    physical_id = resource.get("physical_id")
    if not physical_id:
        return UncheckedResource(
            logical_id, "the baseline records no physical id", resource_type
        )
    declared_all = resource.get("properties") or {}
    declared = {
        name: value for name, value in declared_all.items() if name in entry.properties
    }
    try:
        live = entry.read(client_factory, str(physical_id), declared)
    except ClientError as error:
        code = _error_code(error)
        if code in NOT_FOUND_CODES:
            return ResourceDrift(
                logical_id,
                resource_type,
                "DELETED",
                physical_id=str(physical_id),
                source="baseline",
            )
        LOGGER.warning(
            "Describe call for %s (%s) failed: %s", logical_id, physical_id, error
        )
        message = error.response.get("Error", {}).get("Message", "")
        return UncheckedResource(
            logical_id, f"describe call failed: {code}: {message}", resource_type
        )
    except BotoCoreError as error:
        LOGGER.warning(
            "Describe call for %s (%s) failed: %s", logical_id, physical_id, error
        )
        return UncheckedResource(
            logical_id, f"describe call failed: {error}", resource_type
        )

    comparable: dict[str, Any] = {}
    for name, value in declared.items():
        actual = live.get(name)
        comparable[name] = _parse_json_text(value, actual)
        if name not in live:
            continue
        if name == "Tags":
            live[name] = _filter_tags(value, actual, stack_tags)
        live[name] = restrict_to_declared(
            comparable[name], live[name], entry.free_form_maps, f"/{name}"
        )
    differences = diff_properties(comparable, live)
    if not differences:
        return None
    return ResourceDrift(
        logical_id,
        resource_type,
        "MODIFIED",
        tuple(differences),
        physical_id=str(physical_id),
        source="baseline",
    )


def compare_with_baseline(
    baseline: dict[str, Any], client_factory: Callable[[str], Any]
) -> tuple[list[ResourceDrift], list[UncheckedResource]]:
    """Compare the live configuration of a stack's resources with its baseline.

    Only resources of a type in ``READERS`` are read, and only the properties that
    both the template declares and the reader returns are compared. Other types are
    left out of both lists, because CloudFormation's own drift detection covers them.
    ``client_factory`` returns a boto3 client for a service name such as ``"s3"``.

    Returns:
        The drifted resources (``DELETED`` when the resource no longer exists,
        ``MODIFIED`` with the differences otherwise, both with source ``baseline``),
        and the supported resources whose describe calls failed.
    """
    drifted: list[ResourceDrift] = []
    unchecked: list[UncheckedResource] = []
    stack_tags = baseline.get("tags") or {}
    for logical_id, resource in sorted((baseline.get("resources") or {}).items()):
        entry = READERS.get(str(resource.get("type")))
        if entry is None:
            continue
        outcome = _compare_resource(
            logical_id, resource, entry, client_factory, stack_tags
        )
        if isinstance(outcome, ResourceDrift):
            drifted.append(outcome)
        elif isinstance(outcome, UncheckedResource):
            unchecked.append(outcome)
    return drifted, unchecked
