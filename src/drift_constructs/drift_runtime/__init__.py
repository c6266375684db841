"""Lambda code of drift-constructs: the drift engine and its two handlers.

This package is shipped as the functions' asset. It imports only the standard
library, boto3 and (in the handlers) Powertools for AWS Lambda, never aws-cdk-lib,
so the constructs can import its shared definitions while the functions stay small.
Modules import each other relatively, so the package works both as
``drift_constructs.drift_runtime`` and as the top-level ``drift_runtime`` of the asset.
"""
