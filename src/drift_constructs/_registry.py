"""App-wide record of physical names and export names, to reject duplicates at synth.

Two stacks of one app that deploy to the same account and region cannot both create a
table, function, queue or export of the same name: the second deployment fails.
``claim_name`` records each name with the stack's account and region and raises
``DriftConstructsError`` when another construct of the same app already claimed it
for a place the two could share. S3 bucket names are global, so they are compared
without account and region, and IAM role names are unique per account, so they are
compared without region.

An unresolved account or region may be any value, so it matches every account or
region. Two environment-agnostic stacks with the same suffix therefore conflict.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import aws_cdk as cdk

from constructs import Construct, IConstruct

from . import _naming
from .errors import DriftConstructsError


@dataclass(frozen=True)
class _Claim:
    account: str | None
    region: str | None
    path: str


_claims: weakref.WeakKeyDictionary[IConstruct, dict[tuple[str, str], list[_Claim]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class _StackPlace:
    account: str | None
    region: str | None
    root: IConstruct


# A stack's account, region and app never change, and reading them takes six jsii
# calls, so they are read once per stack.
_places: weakref.WeakKeyDictionary[cdk.Stack, _StackPlace] = weakref.WeakKeyDictionary()


def _fixed(value: str) -> str | None:
    return None if _naming.is_token(value) else value


def _place_of(stack: cdk.Stack) -> _StackPlace:
    place = _places.get(stack)
    if place is None:
        place = _StackPlace(
            account=_fixed(stack.account),
            region=_fixed(stack.region),
            root=stack.node.root,
        )
        _places[stack] = place
    return place


def _overlaps(first: str | None, second: str | None) -> bool:
    return first is None or second is None or first == second


def claim_name(
    scope: IConstruct,
    resource: str,
    name: str,
    *,
    global_name: bool = False,
    account_wide: bool = False,
    remedy: str = "",
) -> None:
    """Record that ``scope`` creates the ``resource`` called ``name``.

    ``resource`` is the kind of name as it appears in messages, for example
    "DynamoDB table name". A name that is an unresolved token is not recorded.
    ``account_wide`` compares the name across all regions of an account, as IAM
    requires for role names. ``remedy`` replaces the advice at the end of the error
    message.

    Raises:
        DriftConstructsError: when a construct of the same app already claimed the
            same name for the same kind of resource in an account and region that
            may be the same as this one's (any account and region when
            ``global_name``, any region when ``account_wide``).
    """
    if _naming.is_token(name):
        return
    place = _place_of(cdk.Stack.of(scope))
    claim = _Claim(
        account=None if global_name else place.account,
        region=None if global_name or account_wide else place.region,
        path=scope.node.path,
    )
    names = _claims.setdefault(place.root, {})
    existing = names.setdefault((resource, name), [])
    for other in existing:
        if _overlaps(other.account, claim.account) and _overlaps(
            other.region, claim.region
        ):
            if global_name:
                where = ""
            elif account_wide:
                where = " in the same account"
            else:
                where = " in the same account and region"
            advice = remedy or (
                "give each environment its own environment_suffix (for example "
                "'dev' and 'prod') or deploy the stacks to different accounts or "
                "regions"
            )
            raise DriftConstructsError(
                f"the {resource} {name!r} of {claim.path!r} is already used by "
                f"{other.path!r}{where}, and the second deployment would fail; "
                f"{advice}"
            )
    existing.append(claim)


EXPORT_NAME_RESOURCE = _naming.EXPORT_RULE.resource


def add_exported_output(
    scope: Construct, output_id: str, *, value: str, export_name: str
) -> cdk.CfnOutput:
    """Add a stack output exported as ``export_name``, checked across the whole app.

    Raises:
        DriftConstructsError: when the export name is invalid, or when another stack
            of the app that may deploy to the same account and region already
            exports the same name.
    """
    _naming.check_export_name("export_name", export_name)
    output = cdk.CfnOutput(scope, output_id, value=value, export_name=export_name)
    claim_name(output, EXPORT_NAME_RESOURCE, export_name)
    return output
