"""Customer-managed KMS keys: creation, checks and grants without wildcard actions."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, ArnFormat, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from constructs import Construct

from .errors import DriftConstructsError

AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"
AWS_MANAGED_SNS_ALIAS = "alias/aws/sns"
UNOWNED_KEY_WARNING_ID = "drift-constructs:topicKeyPolicyNotManaged"

# Services that publish to the alert topic: EventBridge rules and CloudWatch alarms.
# SNS encrypts each message with a data key it requests with the publisher's access,
# so the key policy must let these services generate data keys and decrypt.
TOPIC_PUBLISHERS = {
    "events.amazonaws.com": ("events", "rule/*"),
    "cloudwatch.amazonaws.com": ("cloudwatch", "alarm:*"),
}
TOPIC_PUBLISHER_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")

# Explicit KMS actions for identity policies, in place of the wildcard action lists
# of CDK's grant methods. DynamoDB, S3 and SNS call KMS on the caller's behalf with
# these actions for a table, bucket or topic encrypted with a customer-managed key.
KEY_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
KEY_ENCRYPT_DECRYPT_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
)


def key_from_prop(
    scope: Construct, construct_id: str, prop: str, key: kms.IKey | str | None
) -> kms.IKey | None:
    """Return ``key`` as an ``IKey``; a string is a key ARN, alias ARN or alias name.

    Raises:
        DriftConstructsError: when a string matches none of these forms.
    """
    if key is None or not isinstance(key, str):
        return key
    if Token.is_unresolved(key):
        return kms.Key.from_key_arn(scope, construct_id, key)
    if key.startswith("alias/"):
        return kms.Alias.from_alias_name(scope, construct_id, key)
    if key.startswith("arn:") and ":kms:" in key and ":alias/" in key:
        alias_name = "alias/" + key.split(":alias/", 1)[1]
        return kms.Alias.from_alias_name(scope, construct_id, alias_name)
    if key.startswith("arn:") and ":kms:" in key and ":key/" in key:
        return kms.Key.from_key_arn(scope, construct_id, key)
    raise DriftConstructsError(
        f"{prop} {key!r} is not a KMS key: pass a kms.IKey, a key ARN "
        "(arn:aws:kms:<region>:<account>:key/<id>), an alias ARN or an alias name "
        "(alias/<name>)"
    )


def _alias_names(key: kms.IKey) -> list[str]:
    # An alias imported by name carries it in alias_name. A key or alias imported by
    # ARN carries it in key_arn; a key id may also be an alias name.
    names: list[str] = []
    alias_name = getattr(key, "alias_name", None)
    if isinstance(alias_name, str) and not Token.is_unresolved(alias_name):
        names.append(alias_name)
    for text in (key.key_arn, key.key_id):
        if isinstance(text, str) and not Token.is_unresolved(text):
            if text.startswith("alias/"):
                names.append(text)
            elif ":alias/" in text:
                names.append("alias/" + text.split(":alias/", 1)[1])
    return names


def check_topic_key(prop: str, key: kms.IKey) -> None:
    """Reject an AWS-managed key, whose key policy no publishing service may use.

    Raises:
        DriftConstructsError: when ``key`` is ``alias/aws/sns`` or another AWS-managed
            key alias.
    """
    for alias_name in _alias_names(key):
        if alias_name.startswith(AWS_MANAGED_ALIAS_PREFIX):
            raise DriftConstructsError(
                f"{prop} {alias_name!r} is an AWS-managed key: its key policy cannot "
                "be changed, so EventBridge (events.amazonaws.com) and CloudWatch "
                "alarms (cloudwatch.amazonaws.com) cannot publish to a topic it "
                f"encrypts. Pass a customer-managed kms.IKey instead of "
                f"{AWS_MANAGED_SNS_ALIAS!r}, or leave {prop} unset"
            )


def create_key(
    scope: Construct, construct_id: str, description: str, removal_policy: RemovalPolicy
) -> kms.Key:
    """Create a symmetric customer-managed key with yearly automatic rotation."""
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
    )


def allow_topic_publishers(scope: Construct, key: kms.IKey, topic: sns.Topic) -> None:
    """Let EventBridge rules and CloudWatch alarms of this account publish to ``topic``.

    Adds one key policy statement and one topic policy statement per service, each
    limited to the stack's account (``aws:SourceAccount``) and to the service's rules
    or alarms in the stack's region (``aws:SourceArn``). A key this stack does not
    own keeps its policy, so a warning asks the caller to add the statements.
    """
    stack = Stack.of(scope)
    missing: list[str] = []
    for principal, (service, resource) in TOPIC_PUBLISHERS.items():
        conditions = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service=service,
                    resource=resource,
                    arn_format=ArnFormat.NO_RESOURCE_NAME,
                )
            },
        }
        service_principal = iam.ServicePrincipal(principal)
        result = key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=list(TOPIC_PUBLISHER_KEY_ACTIONS),
                principals=[service_principal],
                # In a key policy, "*" is the key the policy belongs to.
                resources=["*"],
                conditions=conditions,
            )
        )
        if not result.statement_added:
            missing.append(principal)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[service_principal],
                resources=[topic.topic_arn],
                conditions=conditions,
            )
        )
    if missing:
        Annotations.of(scope).add_warning_v2(
            UNOWNED_KEY_WARNING_ID,
            "The alert topic's KMS key is not defined in this app, so its key policy "
            f"was not changed. Allow {', '.join(missing)} to use "
            f"{' and '.join(TOPIC_PUBLISHER_KEY_ACTIONS)} on it, or their messages to "
            "the topic are dropped.",
        )


def grant_key(
    grantee: iam.IGrantable, key: kms.IKey | None, actions: Sequence[str]
) -> None:
    """Allow ``grantee`` the listed KMS ``actions`` on ``key``; no-op without a key."""
    if key is None:
        return
    iam.Grant.add_to_principal(
        grantee=grantee, actions=list(actions), resource_arns=[key.key_arn]
    )
