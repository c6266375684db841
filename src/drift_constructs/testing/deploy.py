"""Fake CDK bootstrap and deployment of synthesized stacks into the emulator.

``deploy_stack`` does what ``cdk deploy`` does against a bootstrapped account, within
what moto can emulate without Docker:

1. ``fake_bootstrap`` creates the bootstrap version parameter and the file assets
   bucket that templates of CDK's default synthesizer refer to.
2. ``publish_file_assets`` uploads the file assets listed in the stack's
   ``*.assets.json``, zipping directory assets as the CDK CLI does.
3. ``prepare_template`` removes what the emulator cannot run and returns every removal
   with its reason, for the caller to print: ``Custom::*`` resources (their provider
   Lambda functions never run), the resources that only they use or that depend on
   them, Lambda event source mappings (moto would try to run their function in
   Docker on every message) and Lambda layers owned by other accounts (moto has only
   the layers published to it).
4. CreateStack, then a wait for ``CREATE_COMPLETE``.
5. ``complete_provisioning`` applies declared properties that moto's CloudFormation
   ignores on create (bucket versioning, table point-in-time recovery, ...) with the
   services' own API calls, so a freshly deployed stack is in sync. The drift detection
   extension finds them, so each applied property is also reported to the caller.
"""

from __future__ import annotations

import copy
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.cloudformation.parsing import NULL_MODELS, get_model_map

from .emulator import Emulator

BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"
# CloudFormation accepts template bodies up to this size; larger ones go through S3.
MAX_TEMPLATE_BODY_BYTES = 51_200
STACK_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Adjustment:
    """One change the deploy made so the emulator can run a stack, with its reason."""

    target: str
    reason: str


@dataclass
class DeployedStack:
    """A stack created in the emulator, its resources and what the deploy changed."""

    stack_id: str
    stack_name: str
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    resource_types: dict[str, str]
    template: dict[str, Any]
    adjustments: list[Adjustment] = field(default_factory=list)

    def physical_id(self, logical_id_prefix: str, resource_type: str) -> str:
        """Return the physical ID of the one resource of a type whose logical ID
        starts with ``logical_id_prefix``.

        Raises:
            LookupError: no resource, or more than one, matches.
        """
        matches = [
            physical
            for logical, physical in self.physical_ids.items()
            if logical.startswith(logical_id_prefix)
            and self.resource_types.get(logical) == resource_type
        ]
        if len(matches) != 1:
            raise LookupError(
                f"expected one {resource_type} whose logical ID starts with "
                f"{logical_id_prefix!r} in {self.stack_name}, found {len(matches)}"
            )
        return matches[0]


def assets_bucket_name(account: str, region: str) -> str:
    """Return the name of the bootstrap file assets bucket."""
    return f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{region}"


def fake_bootstrap(emulator: Emulator) -> None:
    """Create the bootstrap version parameter and assets bucket, if missing."""
    ssm = emulator.client("ssm")
    ssm.put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version",
        Value=BOOTSTRAP_VERSION,
        Type="String",
        Overwrite=True,
    )
    s3 = emulator.client("s3")
    bucket = assets_bucket_name(emulator.account, emulator.region)
    existing = {entry["Name"] for entry in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        if emulator.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": emulator.region},
            )


def _substitute(text: str, emulator: Emulator) -> str:
    return (
        text.replace("${AWS::AccountId}", emulator.account)
        .replace("${AWS::Region}", emulator.region)
        .replace("${AWS::Partition}", "aws")
    )


def zip_directory(directory: Path, archive: Path) -> None:
    """Zip ``directory`` with sorted entries and fixed timestamps, like the CDK CLI."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as output:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(
                    str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0)
                )
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                output.writestr(info, path.read_bytes())


def publish_file_assets(emulator: Emulator, assets_file: Path, work_dir: Path) -> int:
    """Upload the file assets of one ``*.assets.json`` manifest to their buckets.

    Docker image assets are not published. Returns the number of objects uploaded.
    """
    manifest = json.loads(assets_file.read_text())
    s3 = emulator.client("s3")
    uploaded = 0
    for asset_hash, asset in manifest.get("files", {}).items():
        source = assets_file.parent / asset["source"]["path"]
        if asset["source"].get("packaging") == "zip" or source.is_dir():
            archive = work_dir / f"{asset_hash}.zip"
            zip_directory(source, archive)
            body = archive.read_bytes()
        else:
            body = source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(
                Bucket=_substitute(destination["bucketName"], emulator),
                Key=_substitute(destination["objectKey"], emulator),
                Body=body,
            )
            uploaded += 1
    return uploaded


def _references(value: Any) -> set[str]:
    """Return the logical IDs that ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` name."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                for part in str(text).split("${")[1:]:
                    found.add(part.split("}")[0].split(".")[0])
                if isinstance(item, list):
                    found |= _references(item[1:])
            else:
                found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _depends_on(declaration: dict[str, Any]) -> set[str]:
    depends = declaration.get("DependsOn", [])
    return {depends} if isinstance(depends, str) else set(depends)


def _unrunnable_resources(
    resources: dict[str, dict[str, Any]],
) -> tuple[set[str], list[Adjustment]]:
    """Return the resources the emulator cannot create, with the reasons."""
    adjustments: list[Adjustment] = []
    model_types = set(get_model_map()) | set(NULL_MODELS)
    removed: set[str] = set()
    for logical_id, declaration in sorted(resources.items()):
        resource_type = str(declaration.get("Type", ""))
        if resource_type.startswith("Custom::"):
            reason = (
                "custom resource: its provider is a Lambda function, which the "
                "emulator stores but cannot run without Docker"
            )
        elif resource_type == "AWS::Lambda::EventSourceMapping":
            reason = (
                "moto would run the function in Docker for each message; the demo "
                "hands the queue's messages to the handler itself"
            )
        elif resource_type not in model_types:
            # moto would skip it and then fail on any Fn::GetAtt that names it.
            reason = "moto's CloudFormation has no model for this type"
        else:
            continue
        removed.add(logical_id)
        adjustments.append(Adjustment(f"{logical_id} ({resource_type})", reason))

    return removed, adjustments


def prepare_template(
    template: dict[str, Any], account: str
) -> tuple[dict[str, Any], list[Adjustment]]:
    """Return a copy of ``template`` that the emulator can create, and the changes."""
    prepared = copy.deepcopy(template)
    resources: dict[str, dict[str, Any]] = prepared.get("Resources", {})
    references = {
        logical_id: _references(declaration)
        for logical_id, declaration in resources.items()
    }
    removed, adjustments = _unrunnable_resources(resources)
    changed = True
    while changed:
        changed = False
        for logical_id in sorted(set(resources) - removed):
            if references[logical_id] & removed:
                removed.add(logical_id)
                changed = True
                adjustments.append(
                    Adjustment(
                        f"{logical_id} ({resources[logical_id]['Type']})",
                        "refers to a removed resource: "
                        + ", ".join(sorted(references[logical_id] & removed)),
                    )
                )
    adjustments += _remove_unused(
        resources, references, removed, _references(prepared.get("Outputs", {}))
    )
    for logical_id in removed:
        del resources[logical_id]
    # A kept resource may only wait for a removed one (DependsOn): drop that wait.
    for declaration in resources.values():
        if _depends_on(declaration) & removed:
            kept = sorted(_depends_on(declaration) - removed)
            if kept:
                declaration["DependsOn"] = kept
            else:
                del declaration["DependsOn"]

    outputs = prepared.get("Outputs", {})
    for name in sorted(outputs):
        if _references(outputs[name]) & removed:
            del outputs[name]
            adjustments.append(
                Adjustment(f"output {name}", "refers to a removed resource")
            )

    adjustments += _remove_foreign_layers(resources, account)
    return prepared, adjustments


def _remove_unused(
    resources: dict[str, dict[str, Any]],
    references: dict[str, set[str]],
    removed: set[str],
    referenced_by_outputs: set[str],
) -> list[Adjustment]:
    """Add to ``removed`` the providers of removed custom resources that nothing else
    uses: the function named by ``ServiceToken``, then its execution role. Other
    resources stay, because a bucket that only a removed custom resource
    refers to still has its own purpose.
    """
    adjustments: list[Adjustment] = []
    candidates: set[str] = set()
    for logical_id in removed:
        properties = resources[logical_id].get("Properties", {})
        candidates |= _references(properties.get("ServiceToken"))
    changed = True
    while changed:
        changed = False
        for logical_id in sorted((candidates & set(resources)) - removed):
            users = {other for other in resources if logical_id in references[other]}
            if users and users <= removed and logical_id not in referenced_by_outputs:
                removed.add(logical_id)
                # Follow only the execution role: a provider's description may name
                # the bucket it serves, which must stay.
                role = resources[logical_id].get("Properties", {}).get("Role")
                candidates |= _references(role)
                changed = True
                adjustments.append(
                    Adjustment(
                        f"{logical_id} ({resources[logical_id]['Type']})",
                        "used only by removed resources: " + ", ".join(sorted(users)),
                    )
                )
    return adjustments


def _remove_foreign_layers(
    resources: dict[str, dict[str, Any]], account: str
) -> list[Adjustment]:
    adjustments: list[Adjustment] = []
    for logical_id, declaration in sorted(resources.items()):
        properties = declaration.get("Properties", {})
        if (
            declaration.get("Type") == "AWS::Lambda::Function"
            and "Layers" in properties
        ):
            foreign = [
                layer
                for layer in properties["Layers"]
                if isinstance(layer, str) and f":{account}:" not in layer
            ]
            if foreign:
                properties["Layers"] = [
                    layer for layer in properties["Layers"] if layer not in foreign
                ]
                if not properties["Layers"]:
                    del properties["Layers"]
                adjustments.append(
                    Adjustment(
                        f"{logical_id}.Layers",
                        "layer of another account, unknown to the emulator: "
                        + ", ".join(foreign),
                    )
                )

    return adjustments


def wait_for_stack(
    emulator: Emulator, stack_id: str, timeout: float = STACK_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Wait until a stack leaves its ``*_IN_PROGRESS`` status and return it.

    Raises:
        RuntimeError: the stack ends in a failed status.
        TimeoutError: the stack is still in progress after ``timeout`` seconds.
    """
    cloudformation = emulator.client("cloudformation")
    deadline = time.monotonic() + timeout
    while True:
        stack: dict[str, Any] = cloudformation.describe_stacks(StackName=stack_id)[
            "Stacks"
        ][0]
        status = stack["StackStatus"]
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return stack
        if not status.endswith("_IN_PROGRESS") or "ROLLBACK" in status:
            raise RuntimeError(
                f"stack {stack['StackName']} ended in {status}: "
                f"{stack.get('StackStatusReason', 'no reason given')}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"stack {stack['StackName']} still {status} after {timeout:.0f} s"
            )
        time.sleep(0.2)


def create_stack(emulator: Emulator, stack_name: str, template: dict[str, Any]) -> str:
    """Create a stack from a template, through S3 when the body is too large."""
    body = json.dumps(template)
    cloudformation = emulator.client("cloudformation")
    capabilities = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    if len(body.encode()) <= MAX_TEMPLATE_BODY_BYTES:
        response = cloudformation.create_stack(
            StackName=stack_name, TemplateBody=body, Capabilities=capabilities
        )
    else:
        bucket = assets_bucket_name(emulator.account, emulator.region)
        key = f"templates/{stack_name}.json"
        emulator.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
        # moto reads the object from its own S3 and never fetches this URL.
        response = cloudformation.create_stack(
            StackName=stack_name,
            TemplateURL=f"https://s3.amazonaws.com/{bucket}/{key}",
            Capabilities=capabilities,
        )
    return str(response["StackId"])


def _lifecycle_rule_to_api(rule: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "ExpiredObjectDeleteMarker" in rule:
        converted["Expiration"] = {
            "ExpiredObjectDeleteMarker": bool(rule["ExpiredObjectDeleteMarker"])
        }
    if "NoncurrentVersionExpiration" in rule:
        converted["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(
                rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            )
        }
    return converted


def _sse_to_api(value: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"Enabled": bool(value.get("SSEEnabled"))}
    if "SSEType" in value:
        converted["SSEType"] = value["SSEType"]
    if "KMSMasterKeyId" in value:
        converted["KMSMasterKeyId"] = value["KMSMasterKeyId"]
    return converted


Applier = Callable[[Emulator, str, Any], None]

# How to apply one declared top-level property with the service's API, per type.
APPLIERS: dict[tuple[str, str], Applier] = {
    ("AWS::S3::Bucket", "VersioningConfiguration"): lambda e, name, value: e.client(
        "s3"
    ).put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": value["Status"]}
    ),
    ("AWS::S3::Bucket", "PublicAccessBlockConfiguration"): lambda e, name, value: (
        e.client("s3").put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                key: value.get(key, False)
                for key in (
                    "BlockPublicAcls",
                    "BlockPublicPolicy",
                    "IgnorePublicAcls",
                    "RestrictPublicBuckets",
                )
            },
        )
    ),
    ("AWS::S3::Bucket", "OwnershipControls"): lambda e, name, value: e.client(
        "s3"
    ).put_bucket_ownership_controls(Bucket=name, OwnershipControls=value),
    ("AWS::S3::Bucket", "LifecycleConfiguration"): lambda e, name, value: e.client(
        "s3"
    ).put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [_lifecycle_rule_to_api(rule) for rule in value["Rules"]]
        },
    ),
    ("AWS::DynamoDB::Table", "SSESpecification"): lambda e, name, value: e.client(
        "dynamodb"
    ).update_table(TableName=name, SSESpecification=_sse_to_api(value)),
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"): (
        lambda e, name, value: e.client("dynamodb").update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=value
        )
    ),
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"): lambda e, name, value: (
        e.client("dynamodb").update_time_to_live(
            TableName=name, TimeToLiveSpecification=value
        )
    ),
    ("AWS::SNS::Topic", "DisplayName"): lambda e, arn, value: e.client(
        "sns"
    ).set_topic_attributes(
        TopicArn=arn, AttributeName="DisplayName", AttributeValue=value
    ),
    ("AWS::SNS::Topic", "KmsMasterKeyId"): lambda e, arn, value: e.client(
        "sns"
    ).set_topic_attributes(
        TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue=value
    ),
    ("AWS::SNS::Topic", "Tags"): lambda e, arn, value: e.client("sns").tag_resource(
        ResourceArn=arn, Tags=value
    ),
}


def complete_provisioning(
    emulator: Emulator, stack_id: str, template: dict[str, Any]
) -> list[Adjustment]:
    """Apply declared properties that moto's CloudFormation left out on create.

    The drift detection extension finds them. Properties without an entry in
    ``APPLIERS`` stay as they are, so a later detection still reports them.
    """
    cloudformation = emulator.client("cloudformation")
    detection_id = cloudformation.detect_stack_drift(StackName=stack_id)[
        "StackDriftDetectionId"
    ]
    cloudformation.describe_stack_drift_detection_status(
        StackDriftDetectionId=detection_id
    )
    adjustments: list[Adjustment] = []
    for drift in _all_resource_drifts(cloudformation, stack_id, ["MODIFIED"]):
        resource_type = drift["ResourceType"]
        expected = json.loads(drift["ExpectedProperties"])
        properties = sorted(
            {
                difference["PropertyPath"].split("/")[1]
                for difference in drift["PropertyDifferences"]
            }
        )
        for name in properties:
            applier = APPLIERS.get((resource_type, name))
            if applier is None or name not in expected:
                continue
            applier(emulator, drift["PhysicalResourceId"], expected[name])
            adjustments.append(
                Adjustment(
                    f"{drift['LogicalResourceId']}.{name}",
                    "moto's CloudFormation ignores this property on create, so the "
                    "deploy applied it with the service API",
                )
            )
    return adjustments


def _all_resource_drifts(
    cloudformation: Any, stack_id: str, statuses: Iterable[str]
) -> list[dict[str, Any]]:
    drifts: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "StackName": stack_id,
        "StackResourceDriftStatusFilters": list(statuses),
    }
    while True:
        page = cloudformation.describe_stack_resource_drifts(**params)
        drifts.extend(page["StackResourceDrifts"])
        if not page.get("NextToken"):
            return drifts
        params["NextToken"] = page["NextToken"]


def deploy_template(
    emulator: Emulator, stack_name: str, template: dict[str, Any]
) -> DeployedStack:
    """Create a stack from a synthesized template in the emulator and wait for it."""
    prepared, adjustments = prepare_template(template, emulator.account)
    stack_id = create_stack(emulator, stack_name, prepared)
    stack = wait_for_stack(emulator, stack_id)
    adjustments += complete_provisioning(emulator, stack_id, prepared)

    cloudformation = emulator.client("cloudformation")
    summaries = cloudformation.list_stack_resources(StackName=stack_id)[
        "StackResourceSummaries"
    ]
    return DeployedStack(
        stack_id=stack_id,
        stack_name=stack_name,
        outputs={
            output["OutputKey"]: output["OutputValue"]
            for output in stack.get("Outputs", [])
        },
        physical_ids={
            summary["LogicalResourceId"]: summary["PhysicalResourceId"]
            for summary in summaries
            if summary.get("LogicalResourceId")
        },
        resource_types={
            summary["LogicalResourceId"]: summary["ResourceType"]
            for summary in summaries
            if summary.get("LogicalResourceId")
        },
        template=prepared,
        adjustments=adjustments,
    )


def deploy_stack(
    emulator: Emulator, cloud_assembly_dir: Path, stack_name: str, work_dir: Path
) -> DeployedStack:
    """Bootstrap, publish the assets of and deploy one stack of a cloud assembly.

    ``cloud_assembly_dir`` is a synthesized ``cdk.out`` directory; the stack's template
    and asset manifest are found there through ``manifest.json``.
    """
    manifest = json.loads((cloud_assembly_dir / "manifest.json").read_text())
    artifact = manifest["artifacts"].get(stack_name)
    if artifact is None or artifact.get("type") != "aws:cloudformation:stack":
        raise LookupError(f"stack {stack_name} not found in {cloud_assembly_dir}")
    properties = artifact["properties"]
    template = json.loads((cloud_assembly_dir / properties["templateFile"]).read_text())
    os.makedirs(work_dir, exist_ok=True)
    fake_bootstrap(emulator)
    for dependency in artifact.get("dependencies", []):
        dependency_artifact = manifest["artifacts"].get(dependency, {})
        if dependency_artifact.get("type") == "cdk:asset-manifest":
            assets_file = cloud_assembly_dir / dependency_artifact["properties"]["file"]
            publish_file_assets(emulator, assets_file, work_dir)
    deploy_name = properties.get("stackName", stack_name)
    return deploy_template(emulator, deploy_name, template)
