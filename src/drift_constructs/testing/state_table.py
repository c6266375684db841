"""The state table's key schema, for tests and simulations against moto."""

from __future__ import annotations

from typing import Any

from ..drift_runtime import state


def create_state_table(dynamodb: Any, table_name: str) -> None:
    """Create an on-demand table with the state table's keys and TTL attribute.

    ``dynamodb`` is a boto3 DynamoDB client, usually of moto. The keys and the TTL
    attribute come from ``drift_runtime.state``, as StateTracker's table does.
    """
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[
            {"AttributeName": state.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": state.SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": state.PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": state.SORT_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={
            "Enabled": True,
            "AttributeName": state.TTL_ATTRIBUTE,
        },
    )
