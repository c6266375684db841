"""Local demo of drift-constructs against moto, with no AWS account.

Run it with ``make demo`` or ``.venv/bin/python examples/demo.py``. The demo starts a
moto server on 127.0.0.1 and deploys the reference stack and a small application
stack into it. It records the application stack's baseline through the update
handler and changes three resources by hand. The validator then starts drift
detection, and finishes the check when the detection's status event arrives: it
stores the result, alerts through SNS and emits metrics. The demo reverts the changes
and shows the recovery, then runs the scheduled sweep, which queues checks of the
stacks not checked recently. It exits with status 1 when any step fails.

moto stores Lambda functions but cannot run their code without Docker, so the demo
calls the handler functions in this process, with the environment variables of the
deployed functions. It runs the validator itself when the update handler invokes it,
delivers the drift detection status events that CloudFormation would send through
EventBridge, and hands the check queue's messages to the validator as Lambda's SQS
event source would.
"""

# The handlers and the stacks are imported inside functions: the handlers read their
# log level when imported, after run_demo sets it, and a missing stack module fails
# its demo step instead of the whole script.
# ruff: noqa: PLC0415
from __future__ import annotations

import io
import json
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

EXAMPLES_DIR = Path(__file__).resolve().parent
if str(EXAMPLES_DIR) not in sys.path:
    sys.path.insert(0, str(EXAMPLES_DIR))

ENVIRONMENT_SUFFIX = "demo"
REFERENCE_STACK_ID = "DriftReferenceStack"
APP_STACK_ID = "DemoAppStack"
CHANGED_DISPLAY_NAME = "Changed by hand"
FUNCTION_TIMEOUT_MILLIS = 300_000


class DemoStepError(RuntimeError):
    """Raised when a demo step finds a result other than the expected one."""


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context object that the handlers read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline: float = field(
        default_factory=lambda: time.monotonic() + FUNCTION_TIMEOUT_MILLIS / 1000
    )

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before the simulated function timeout."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """Result and standard output of one in-process handler call."""

    result: Any
    metrics: list[tuple[str, float, dict[str, str]]]
    log_lines: list[str]


@dataclass
class DeployedFunction:
    """A Lambda function of the reference stack as the emulator stores it."""

    name: str
    arn: str
    environment: dict[str, str]


class Progress:
    """Numbered progress lines with the seconds elapsed since the demo started."""

    def __init__(self, output: TextIO) -> None:
        self.output = output
        self.started = time.monotonic()
        self.number = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self, text: str = "", indent: int = 1) -> None:
        self.output.write(("    " * indent + text).rstrip() + "\n")
        self.output.flush()

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.number += 1
        self.output.write(f"\n[{self.number}] {title}  (t={self.elapsed():.1f}s)\n")
        self.output.flush()
        yield
        self.line(f"done (t={self.elapsed():.1f}s)")


def parse_emf_lines(lines: list[str]) -> list[tuple[str, float, dict[str, str]]]:
    """Return (metric name, value, dimensions) for each embedded-metric-format line."""
    metrics: list[tuple[str, float, dict[str, str]]] = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "_aws" not in record:
            continue
        for directive in record["_aws"].get("CloudWatchMetrics", []):
            names = {name for group in directive["Dimensions"] for name in group}
            dimensions = {name: str(record[name]) for name in sorted(names)}
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                value = value[0] if isinstance(value, list) else value
                metrics.append((metric["Name"], float(value), dimensions))
    return metrics


def invoke_handler(
    handler: Callable[[dict[str, Any], Any], Any],
    event: dict[str, Any],
    function: DeployedFunction,
    region: str,
) -> Invocation:
    """Call a handler in this process as Lambda would run the deployed function."""
    from drift_constructs.testing.emulator import patched_environment

    environment = {
        **function.environment,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_REGION": region,
    }
    context = FakeLambdaContext(
        function_name=function.name, invoked_function_arn=function.arn
    )
    captured = io.StringIO()
    with patched_environment(environment), redirect_stdout(captured):
        result = handler(event, context)
    lines = captured.getvalue().splitlines()
    return Invocation(result, parse_emf_lines(lines), lines)


class AsyncInvokeInterceptor:
    """Catches Lambda ``Invoke`` calls of type ``Event`` made by one boto3 client.

    moto cannot run function code without Docker, so the call is recorded and gets
    the 202 status that Lambda returns for queued events; the demo runs the handler.
    """

    def __init__(self, lambda_client: Any) -> None:
        self.calls: list[dict[str, Any]] = []
        lambda_client.meta.events.register("before-call.lambda.Invoke", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders

        body = params["body"]
        payload = json.loads(body.decode() if isinstance(body, bytes) else body)
        function_name = params["url_path"].split("/functions/")[1].split("/")[0]
        invocation_type = params["headers"].get("X-Amz-Invocation-Type", "")
        self.calls.append(
            {
                "function": function_name,
                "type": invocation_type,
                "payload": payload,
            }
        )
        if invocation_type != "Event":
            raise DemoStepError(
                f"only asynchronous invocations are emulated, got {invocation_type!r}"
            )
        response = AWSResponse(params["url_path"], 202, HTTPHeaders(), None)
        return response, {"StatusCode": 202}


def drift_status_event(status: dict[str, Any], region: str) -> dict[str, Any]:
    """Return the "CloudFormation Drift Detection Status Change" event of a detection.

    ``status`` is a DescribeStackDriftDetectionStatus response. CloudFormation sends
    this event itself; the emulator has no such event, so the demo builds it.
    """
    stack_arn = status["StackId"]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudFormation Drift Detection Status Change",
        "source": "aws.cloudformation",
        "account": stack_arn.split(":")[4],
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [stack_arn],
        "detail": {
            "stack-id": stack_arn,
            "stack-drift-detection-id": status["StackDriftDetectionId"],
            "status-details": {
                "stack-drift-status": status.get("StackDriftStatus", "UNKNOWN"),
                "detection-status": status["DetectionStatus"],
            },
            "drift-detection-details": {
                "drifted-stack-resource-count": status.get(
                    "DriftedStackResourceCount", -1
                )
            },
        },
    }


def stack_status_event(stack_arn: str, region: str, account: str) -> dict[str, Any]:
    """Return an EventBridge "CloudFormation Stack Status Change" event."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": account,
        "time": datetime.now(timezone.utc).isoformat(),
        "region": region,
        "resources": [stack_arn],
        "detail": {
            "stack-id": stack_arn,
            "status-details": {
                "status": "UPDATE_COMPLETE",
                "status-reason": "",
            },
        },
    }


# Builds the stack with the drift constructs: (app, construct ID, environment).
ReferenceFactory = Callable[[Any, str, Any], Any]


def reference_stack(app: Any, construct_id: str, environment: Any) -> Any:
    """Return the reference stack of examples/reference_stack.py, suffix ``demo``."""
    from reference_stack import DriftReferenceStack

    return DriftReferenceStack(
        app, construct_id, environment_suffix=ENVIRONMENT_SUFFIX, env=environment
    )


def build_stacks(app: Any, reference_factory: ReferenceFactory) -> None:
    """Add the stack with the drift constructs and the application stack to ``app``."""
    from demo_app_stack import DemoAppStack
    from drift_constructs.testing.synth import emulator_environment

    environment = emulator_environment()
    reference_factory(app, REFERENCE_STACK_ID, environment)
    DemoAppStack(app, APP_STACK_ID, env=environment)


def find_function(emulator: Any, deployed: Any, handler: str) -> DeployedFunction:
    """Return the deployed function whose handler setting is ``handler``."""
    lambda_client = emulator.client("lambda")
    matches = []
    for logical_id, resource_type in deployed.resource_types.items():
        if resource_type != "AWS::Lambda::Function":
            continue
        name = deployed.physical_ids[logical_id]
        configuration = lambda_client.get_function_configuration(FunctionName=name)
        if configuration.get("Handler") == handler:
            matches.append(
                DeployedFunction(
                    name=configuration["FunctionName"],
                    arn=configuration["FunctionArn"],
                    environment=configuration.get("Environment", {}).get(
                        "Variables", {}
                    ),
                )
            )
    if len(matches) != 1:
        raise DemoStepError(
            f"expected one function with handler {handler} in {deployed.stack_name}, "
            f"found {len(matches)}"
        )
    return matches[0]


def format_value(value: Any) -> str:
    """Return a value as compact JSON, or ``(absent)`` for ``None``."""
    return "(absent)" if value is None else json.dumps(value, default=str)


class Demo:
    """State shared by the demo steps."""

    def __init__(self, progress: Progress, emulator: Any, work_dir: Path) -> None:
        self.progress = progress
        self.emulator = emulator
        self.work_dir = work_dir
        self.reference: Any = None
        self.app: Any = None
        self.update_function: DeployedFunction | None = None
        self.validator_function: DeployedFunction | None = None
        self.inbox_url = ""
        self.forwarded_event: dict[str, Any] | None = None
        self.interceptor: AsyncInvokeInterceptor | None = None

    def print_adjustments(self, deployed: Any) -> None:
        line = self.progress.line
        if not deployed.adjustments:
            line("the emulator created the template unchanged")
            return
        line("changes the deploy made so the emulator can run the template:")
        for adjustment in deployed.adjustments:
            line(f"- {adjustment.target}: {adjustment.reason}", indent=2)

    def deploy(self, assembly: Path, stack_id: str) -> Any:
        from drift_constructs.testing.deploy import deploy_stack

        deployed = deploy_stack(self.emulator, assembly, stack_id, self.work_dir)
        self.progress.line(
            f"{deployed.stack_name}: CREATE_COMPLETE, "
            f"{len(deployed.physical_ids)} resources, {deployed.stack_id}"
        )
        self.print_adjustments(deployed)
        return deployed

    def run_validator(self, event: dict[str, Any]) -> Invocation:
        from drift_constructs.drift_runtime import validator

        assert self.validator_function is not None
        invocation = invoke_handler(
            validator.handler, event, self.validator_function, self.emulator.region
        )
        self.progress.line(f"validator returned {format_value(invocation.result)}")
        return invocation

    def deliver_drift_event(self, detection_id: str) -> Invocation:
        """Send the validator the status event of a finished detection."""
        status = self.emulator.client(
            "cloudformation"
        ).describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
        event = drift_status_event(status, self.emulator.region)
        self.progress.line(
            f"detection {detection_id} ended ({status['DetectionStatus']}); "
            "delivering its drift detection status event"
        )
        return self.run_validator(event)

    def latest_report(self) -> dict[str, Any]:
        from drift_constructs.drift_runtime import state

        s3 = self.emulator.client("s3")
        bucket = self.validator_env("CONFIG_BUCKET_NAME")
        objects = s3.list_objects_v2(Bucket=bucket, Prefix=state.REPORT_PREFIX).get(
            "Contents", []
        )
        if not objects:
            raise DemoStepError(f"no report stored under {state.REPORT_PREFIX}")
        newest = max(objects, key=lambda entry: entry["Key"])
        self.progress.line(f"report stored at s3://{bucket}/{newest['Key']}")
        body = s3.get_object(Bucket=bucket, Key=newest["Key"])["Body"].read()
        report: dict[str, Any] = json.loads(body)
        return report

    def validator_env(self, name: str) -> str:
        assert self.validator_function is not None
        value = self.validator_function.environment.get(name)
        if not value:
            raise DemoStepError(f"the validator function has no {name} variable")
        return value

    def print_latest_record(self) -> None:
        from drift_constructs.drift_runtime import state

        table = self.validator_env("STATE_TABLE_NAME")
        key = state.stack_partition_key(
            self.validator_env("DRIFT_ENVIRONMENT"),
            self.emulator.account,
            self.emulator.region,
            self.app.stack_name,
        )
        dynamodb = self.emulator.client("dynamodb")
        item = dynamodb.get_item(
            TableName=table,
            Key={
                state.PARTITION_KEY: {"S": key},
                state.SORT_KEY: {"S": state.LATEST_SORT_KEY},
            },
        ).get("Item")
        if item is None:
            raise DemoStepError(f"no LATEST record for {key} in {table}")
        self.progress.line(f"state table {table}, LATEST record:")
        for name in sorted(item):
            kind, value = next(iter(item[name].items()))
            if kind == "NULL":
                text = "null"
            elif isinstance(value, str):
                text = value
            else:
                text = json.dumps(value, default=str)
            if len(text) > 100:
                text = text[:97] + "..."
            self.progress.line(f"{name} = {text}", indent=2)

    def print_alerts(
        self, expected: int = 1, *, bodies: bool = True
    ) -> list[dict[str, Any]]:
        sqs = self.emulator.client("sqs")
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + 5
        while len(messages) < expected and time.monotonic() < deadline:
            response = sqs.receive_message(
                QueueUrl=self.inbox_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                MessageAttributeNames=["All"],
            )
            for message in response.get("Messages", []):
                sqs.delete_message(
                    QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"]
                )
                messages.append(json.loads(message["Body"]))
        if len(messages) < expected:
            raise DemoStepError(
                f"expected {expected} alert(s) on the inbox queue, got {len(messages)}"
            )
        for envelope in messages:
            self.progress.line("alert received on the SQS inbox queue:")
            self.progress.line(f"subject: {envelope.get('Subject')}", indent=2)
            attributes = envelope.get("MessageAttributes", {})
            for name in sorted(attributes):
                self.progress.line(
                    f"attribute {name} = {attributes[name].get('Value')}", indent=2
                )
            if not bodies:
                continue
            self.progress.line("body:", indent=2)
            for body_line in str(envelope.get("Message", "")).splitlines():
                self.progress.line(body_line, indent=3)
        return messages

    def print_metrics(self, invocation: Invocation) -> None:
        if not invocation.metrics:
            raise DemoStepError("the handler emitted no EMF metrics")
        self.progress.line("EMF metrics printed by the handler:")
        for name, value, dimensions in invocation.metrics:
            dims = ", ".join(f"{key}={val}" for key, val in dimensions.items())
            self.progress.line(f"{name} = {value:g}  [{dims}]", indent=2)

    def print_report(self, report: dict[str, Any]) -> None:
        line = self.progress.line
        line(f"verdict: {report.get('verdict')}")
        for drift in report.get("drifted", []):
            line(
                f"drifted: {drift['logical_id']} ({drift['resource_type']}) "
                f"{drift['status']} [{drift.get('source')}]"
            )
            for difference in drift.get("differences", []):
                expected = format_value(difference["expected"])
                actual = format_value(difference["actual"])
                line(
                    f"{difference['path']}: expected {expected}, "
                    f"actual {actual} ({difference['type']})",
                    indent=2,
                )
        if not report.get("unchecked"):
            line("not checked: none")
        for unchecked in report.get("unchecked", []):
            line(
                f"not checked: {unchecked['logical_id']} "
                f"({unchecked.get('resource_type')}): {unchecked['reason']}"
            )


def _step_deploy_reference(demo: Demo, reference_factory: ReferenceFactory) -> Path:
    from drift_constructs.drift_runtime import settings
    from drift_constructs.testing.synth import synthesize

    assembly = synthesize(
        lambda app: build_stacks(app, reference_factory), demo.work_dir / "cdk.out"
    )
    demo.progress.line(f"synthesized {REFERENCE_STACK_ID} and {APP_STACK_ID}")
    demo.reference = demo.deploy(assembly, REFERENCE_STACK_ID)
    demo.update_function = find_function(
        demo.emulator, demo.reference, settings.UPDATE_HANDLER
    )
    demo.validator_function = find_function(
        demo.emulator, demo.reference, settings.VALIDATOR_HANDLER
    )
    for function in (demo.update_function, demo.validator_function):
        variables = ", ".join(sorted(function.environment))
        demo.progress.line(f"function {function.name}: environment {variables}")
    return assembly


def _step_deploy_app(demo: Demo, assembly: Path) -> None:
    demo.app = demo.deploy(assembly, APP_STACK_ID)
    sqs = demo.emulator.client("sqs")
    sns = demo.emulator.client("sns")
    demo.inbox_url = sqs.create_queue(QueueName="demo-alert-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(
        QueueUrl=demo.inbox_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    topic_arn = demo.validator_env("ALERT_TOPIC_ARN")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    demo.progress.line(f"subscribed SQS queue demo-alert-inbox to {topic_arn}")


def _step_record_update(demo: Demo) -> None:
    from drift_constructs.drift_runtime import clients, update_handler

    assert demo.update_function is not None and demo.validator_function is not None
    demo.interceptor = AsyncInvokeInterceptor(clients.client("lambda"))
    event = stack_status_event(
        demo.app.stack_id, demo.emulator.region, demo.emulator.account
    )
    demo.progress.line(
        f"event {event['id']}: {event['detail']['status-details']['status']} "
        f"of {demo.app.stack_id}"
    )
    invocation = invoke_handler(
        update_handler.handler, event, demo.update_function, demo.emulator.region
    )
    demo.progress.line(f"update handler returned {format_value(invocation.result)}")
    calls = demo.interceptor.calls
    if len(calls) != 1 or calls[0]["function"] != demo.validator_function.name:
        raise DemoStepError(
            f"expected one invocation of {demo.validator_function.name}, got {calls}"
        )
    demo.forwarded_event = calls[0]["payload"]
    demo.progress.line(
        f"update handler invoked {calls[0]['function']} with InvocationType="
        f"{calls[0]['type']}; moto cannot run Lambda code without Docker, so the "
        "demo holds the event and runs the validator itself in step 6"
    )
    demo.print_metrics(invocation)


def _change_resources(demo: Demo, drift: bool) -> None:
    from demo_app_stack import TOPIC_DISPLAY_NAME

    table = demo.app.physical_id("Orders", "AWS::DynamoDB::Table")
    bucket = demo.app.physical_id("Uploads", "AWS::S3::Bucket")
    topic = demo.app.physical_id("Notices", "AWS::SNS::Topic")
    dynamodb = demo.emulator.client("dynamodb")
    if drift:
        dynamodb.update_table(
            TableName=table,
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        )
    else:
        dynamodb.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
    status = "Suspended" if drift else "Enabled"
    demo.emulator.client("s3").put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": status}
    )
    display_name = CHANGED_DISPLAY_NAME if drift else TOPIC_DISPLAY_NAME
    demo.emulator.client("sns").set_topic_attributes(
        TopicArn=topic, AttributeName="DisplayName", AttributeValue=display_name
    )
    billing = "PROVISIONED (5/5)" if drift else "PAY_PER_REQUEST"
    demo.progress.line(f"table {table}: BillingMode -> {billing}")
    demo.progress.line(f"bucket {bucket}: versioning -> {status}")
    demo.progress.line(f"topic {topic}: DisplayName -> {display_name!r}")


def _step_check(demo: Demo, event: dict[str, Any], expected_verdict: str) -> None:
    started = demo.run_validator(event).result
    if started.get("outcome") != "started":
        raise DemoStepError(f"expected the detection to start, got {started}")
    demo.progress.line(
        "the validator started drift detection and returned without waiting"
    )
    invocation = demo.deliver_drift_event(str(started["detection_id"]))
    report = demo.latest_report()
    demo.print_report(report)
    if report.get("verdict") != expected_verdict:
        raise DemoStepError(
            f"expected verdict {expected_verdict}, got {report.get('verdict')}"
        )
    demo.print_latest_record()
    demo.print_alerts()
    demo.print_metrics(invocation)


def _step_sweep(demo: Demo) -> None:
    """Run the sweeper, then hand the check queue's messages to the validator."""
    from drift_constructs.drift_runtime import settings, sweeper

    assert demo.reference is not None
    function = find_function(demo.emulator, demo.reference, settings.SWEEPER_HANDLER)
    scheduled = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": demo.emulator.region,
        "detail": {},
    }
    summary = invoke_handler(
        sweeper.handler, scheduled, function, demo.emulator.region
    ).result
    demo.progress.line(f"sweeper returned {format_value(summary)}")
    if summary.get("skipped_recent", 0) < 1:
        raise DemoStepError(
            f"expected {APP_STACK_ID} to be skipped as checked recently"
        )
    queue_url = demo.validator_env(settings.ENV_CHECK_QUEUE_URL)
    sqs = demo.emulator.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", [])
    demo.progress.line(
        f"{len(messages)} check request(s) on the check queue; delivering them as "
        "Lambda's SQS event source would"
    )
    records = [
        {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "eventSource": "aws:sqs",
        }
        for message in messages
    ]
    result = demo.run_validator({"Records": records}).result
    if result.get("batchItemFailures"):
        raise DemoStepError(f"check requests failed: {result['batchItemFailures']}")
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    table = demo.validator_env(settings.ENV_STATE_TABLE)
    items = demo.emulator.client("dynamodb").scan(TableName=table)["Items"]
    started = [
        item["detection_id"]["S"]
        for item in items
        if item["sk"]["S"] == "LATEST"
        and "detection_lease_until" in item
        and "detection_id" in item
    ]
    alerts = 0
    for detection_id in started:
        finished = demo.deliver_drift_event(detection_id).result
        alerts += 1 if finished.get("alert") else 0
    if alerts:
        demo.print_alerts(expected=alerts, bodies=False)


def _step_cli(demo: Demo, expected_exit_code: int) -> None:
    """Run ``drift-constructs check`` against the emulator and print its output."""
    import contextlib
    import io

    from drift_constructs import cli

    arguments = [
        "check",
        "--stack",
        APP_STACK_ID,
        "--region",
        demo.emulator.region,
        "--endpoint-url",
        demo.emulator.endpoint_url,
    ]
    demo.progress.line("$ drift-constructs " + " ".join(arguments))
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        exit_code = cli.main(arguments)
    for line in captured.getvalue().splitlines():
        demo.progress.line(line, indent=2)
    demo.progress.line(f"exit code {exit_code}")
    if exit_code != expected_exit_code:
        raise DemoStepError(f"expected exit code {expected_exit_code}, got {exit_code}")


def run_demo(
    output: TextIO = sys.stdout, reference_factory: ReferenceFactory = reference_stack
) -> int:
    """Run every demo step, printing progress to ``output``; return the exit status.

    ``reference_factory`` builds the stack with the drift constructs; tests pass a
    smaller one.
    """
    # moto and aws-cdk-lib warn about types they skip, which the deploy reports itself.
    warnings.filterwarnings("ignore", category=UserWarning, module="moto")
    import logging
    import os

    logging.getLogger("moto").setLevel(logging.ERROR)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

    from drift_constructs.testing.emulator import moto_server

    progress = Progress(output)
    output.write("drift-constructs local demo (moto emulator, no AWS account)\n")
    try:
        with tempfile.TemporaryDirectory(prefix="drift-demo-") as temporary:
            with progress.step("Start the AWS emulator"):
                server = moto_server()
                emulator = server.__enter__()
                progress.line(
                    f"moto server at {emulator.endpoint_url}, fake credentials"
                )
            try:
                demo = Demo(progress, emulator, Path(temporary))
                with progress.step(f"Synthesize and deploy {REFERENCE_STACK_ID}"):
                    assembly = _step_deploy_reference(demo, reference_factory)
                with progress.step(f"Deploy {APP_STACK_ID} and subscribe an inbox"):
                    _step_deploy_app(demo, assembly)
                with progress.step("Record the app stack's update (update handler)"):
                    _step_record_update(demo)
                with progress.step("Change three resources out of band"):
                    _change_resources(demo, drift=True)
                with progress.step("Check the app stack (validator, two events)"):
                    assert demo.forwarded_event is not None
                    _step_check(demo, demo.forwarded_event, "drifted")
                with progress.step("Run the same check from the command line"):
                    _step_cli(demo, expected_exit_code=1)
                with progress.step("Revert the changes and check again"):
                    _change_resources(demo, drift=False)
                    event = dict(
                        demo.forwarded_event,
                        id=str(uuid.uuid4()),
                        time=datetime.now(timezone.utc).isoformat(),
                    )
                    progress.line(f"new event id {event['id']}")
                    _step_check(demo, event, "in_sync")
                with progress.step("Run the scheduled sweep"):
                    _step_sweep(demo)
            finally:
                with progress.step("Stop the AWS emulator"):
                    server.__exit__(None, None, None)
    except Exception as error:
        output.write(f"\nFAILED after {progress.elapsed():.1f}s: {error}\n")
        traceback.print_exc(file=output)
        return 1
    output.write(f"\nDemo finished in {progress.elapsed():.1f}s.\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
