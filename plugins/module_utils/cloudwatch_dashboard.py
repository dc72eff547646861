# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudWatch dashboards: body normalisation and small API wrappers.

A dashboard body is JSON that AWS stores as given. Two bodies are the same
dashboard when they parse to the same structure: key order and number
spelling (``1``, ``1.0``, ``1e0``) do not matter; list order, strings and
booleans do. :func:`normalize_body` returns that canonical structure.
"""

from __future__ import annotations

import json
import math

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.six import string_types
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)


class DashboardBodyError(ValueError):
    """The body given is not a JSON object."""


def _normalize(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if isinstance(value, string_types):
        return str(value)
    raise DashboardBodyError(f"unsupported value in dashboard body: {value!r} ({type(value).__name__})")


def normalize_body(body):
    """The canonical structure of a dashboard body given as a dict or a JSON string."""
    if isinstance(body, string_types):
        try:
            body = json.loads(body)
        except ValueError as e:
            raise DashboardBodyError(f"dashboard body is not valid JSON: {e}") from e
    if not isinstance(body, dict):
        raise DashboardBodyError(f"dashboard body must be a JSON object, got {type(body).__name__}")
    return _normalize(body)


def body_to_json(body):
    """Compact, key-sorted JSON of a normalised body (what is sent to AWS)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def bodies_equal(a, b):
    """True when two bodies (dict or JSON string) describe the same dashboard."""
    return body_to_json(normalize_body(a)) == body_to_json(normalize_body(b))


def get_dashboard(client, name):
    """The dashboard as ``{DashboardName, DashboardArn, DashboardBody}`` or None."""
    try:
        return client.get_dashboard(DashboardName=name, aws_retry=True)
    except is_boto3_error_code(["ResourceNotFound", "ResourceNotFoundException"]):
        return None


def put_dashboard(client, name, body):
    """Create or replace; returns the validation messages (warnings) AWS sent back."""
    response = client.put_dashboard(DashboardName=name, DashboardBody=body_to_json(body), aws_retry=True)
    return response.get("DashboardValidationMessages", [])


def delete_dashboard(client, name):
    try:
        client.delete_dashboards(DashboardNames=[name], aws_retry=True)
    except is_boto3_error_code(["ResourceNotFound", "ResourceNotFoundException"]):
        return False
    return True


def validation_messages(error):
    """DashboardValidationMessages carried by an InvalidParameterInput error, when the response has them."""
    if not isinstance(error, botocore.exceptions.ClientError):
        return []
    return (
        error.response.get("DashboardValidationMessages")
        or error.response.get("Error", {}).get("DashboardValidationMessages", [])
        or []
    )
