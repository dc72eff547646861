"""The ``secrets`` of a container definition, read as ECS reads them when a task starts.

Each entry's ``valueFrom`` names a Secrets Manager secret (an ARN, optionally followed by
``:json-key:version-stage:version-id``) or an SSM parameter (an ARN); the value becomes the
container's environment variable. A secret that cannot be read stops the task before its
containers start, with ECS's ``ResourceInitializationError`` (stopCode ``TaskFailedToStart``),
as on AWS:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/specifying-sensitive-data.html
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html

The values come from the endpoint's own Secrets Manager and SSM backends (moto), in the
account and region of the ARN. IAM is not evaluated: the execution role's permission to read
the secret is not checked here (the iam role's policy is checked by the tests instead).
"""

from __future__ import annotations

import json
import re

_SECRETS_MANAGER = re.compile(
    r"^(?P<arn>arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):secret:[^:]+)"
    r"(?::(?P<json_key>[^:]*):(?P<stage>[^:]*):(?P<version>[^:]*))?$")
_PARAMETER = re.compile(r"^arn:aws[a-z-]*:ssm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):parameter(?P<name>/.+)$")


class SecretError(Exception):
    """A secret could not be read; the message is the task's stoppedReason."""


def _asm_failure(value_from: str, reason: str) -> SecretError:
    return SecretError("ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                       "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
                       f"failed to fetch secret {value_from} from secrets manager: {reason}")


def _ssm_failure(value_from: str, reason: str) -> SecretError:
    return SecretError("ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                       "retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
                       f"{value_from}: {reason}")


def _secrets_manager_value(match: re.Match, value_from: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[match["account"]][match["region"]]
    try:
        response = backend.get_secret_value(match["arn"], match["version"] or None, match["stage"] or None)
    except Exception as exc:  # noqa: BLE001 - moto's own exceptions, reported as ECS reports AWS's
        raise _asm_failure(value_from, f"{type(exc).__name__}: {getattr(exc, 'message', exc)}") from None
    value = response.get("SecretString")
    if value is None:
        raise _asm_failure(value_from, "the secret has no SecretString (binary secrets cannot be environment variables)")
    if match["json_key"]:
        try:
            document = json.loads(value)
        except ValueError:
            raise _asm_failure(value_from, "the secret is not a JSON object, so json key "
                                           f"{match['json_key']!r} cannot be read") from None
        if not isinstance(document, dict) or match["json_key"] not in document:
            raise _asm_failure(value_from, f"json key {match['json_key']!r} not found in the secret")
        value = document[match["json_key"]]
        value = value if isinstance(value, str) else json.dumps(value)
    return value


def _parameter_value(match: re.Match, value_from: str) -> str:
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[match["account"]][match["region"]]
    name = match["name"]
    parameter = backend.get_parameter(name) or backend.get_parameter(name.lstrip("/"))
    if parameter is None:
        raise _ssm_failure(value_from, "InvalidParameters: the parameter does not exist")
    value = parameter.decrypt(parameter.value) if hasattr(parameter, "decrypt") else parameter.value
    if value is None:
        raise _ssm_failure(value_from, "the SecureString parameter could not be decrypted")
    return value


def resolve(definition: dict) -> dict[str, str]:
    """Name -> value of every ``secrets`` entry of a container definition; SecretError when one
    cannot be read (the task then stops with that reason)."""
    values = {}
    for secret in definition.get("secrets") or []:
        value_from = secret.get("valueFrom", "")
        asm = _SECRETS_MANAGER.match(value_from)
        ssm = _PARAMETER.match(value_from)
        if asm:
            values[secret["name"]] = _secrets_manager_value(asm, value_from)
        elif ssm:
            values[secret["name"]] = _parameter_value(ssm, value_from)
        else:
            # ECS also takes a bare parameter or secret name of the task's region; the stack uses full ARNs.
            raise SecretError("ResourceInitializationError: unable to pull secrets or registry auth: "
                              f"the local endpoint resolves only full secret and parameter ARNs, got {value_from!r}")
    return values
