"""CloudWatch observability: dashboard body validation as AWS does it.

moto's PutDashboard only checks that the body is JSON. AWS validates it against
the dashboard body schema and fails the call with ``InvalidParameterInput``:

    The dashboard body is invalid, there are 2 validation errors:
    [{"dataPath": "/widgets/0/properties", "message": "Should have required property 'region'"}, ...]

Emulated here (the documented structure, not every rule of AWS's schema):
the body is an object with a ``widgets`` array; each widget is an object with a
known ``type`` and a ``properties`` object; ``x``/``y``/``width``/``height`` are
integers in range; metric widgets have ``region`` and ``metrics`` (an array of
arrays) or ``annotations``; text widgets have ``markdown``; alarm widgets ``alarms``.
"""

from __future__ import annotations

import json

WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")
_PATCHED = "_localaws_cloudwatch_obs"


def validate_body(body: object) -> list[dict[str, str]]:
    """The validation errors of a parsed dashboard body, as AWS words them."""
    errors: list[dict[str, str]] = []

    def err(path: str, message: str) -> None:
        errors.append({"dataPath": path, "message": message})

    if not isinstance(body, dict):
        err("", "Should be object")
        return errors
    widgets = body.get("widgets")
    if widgets is None:
        err("", "Should have required property 'widgets'")
        return errors
    if not isinstance(widgets, list):
        err("/widgets", "Should be array")
        return errors
    for i, widget in enumerate(widgets):
        path = f"/widgets/{i}"
        if not isinstance(widget, dict):
            err(path, "Should be object")
            continue
        wtype = widget.get("type")
        if wtype is None:
            err(path, "Should have required property 'type'")
        elif wtype not in WIDGET_TYPES:
            err(f"{path}/type", "Should be equal to one of the allowed values")
        for key, low, high in (("x", 0, 23), ("y", 0, None), ("width", 1, 24), ("height", 1, 1000)):
            if key in widget:
                value = widget[key]
                if not isinstance(value, int) or isinstance(value, bool):
                    err(f"{path}/{key}", "Should be integer")
                elif value < low or (high is not None and value > high):
                    err(f"{path}/{key}", f"Should be >= {low}" if value < low else f"Should be <= {high}")
        props = widget.get("properties")
        if props is None:
            err(path, "Should have required property 'properties'")
            continue
        if not isinstance(props, dict):
            err(f"{path}/properties", "Should be object")
            continue
        ppath = f"{path}/properties"
        if wtype == "metric":
            if "region" not in props:
                err(ppath, "Should have required property 'region'")
            if "metrics" not in props and "annotations" not in props:
                err(ppath, "Should have required property 'metrics'")
            metrics = props.get("metrics", [])
            if not isinstance(metrics, list):
                err(f"{ppath}/metrics", "Should be array")
            else:
                for j, metric in enumerate(metrics):
                    if not isinstance(metric, list) or not metric:
                        err(f"{ppath}/metrics/{j}", "Should be array with at least 1 item")
        elif wtype == "text" and "markdown" not in props:
            err(ppath, "Should have required property 'markdown'")
        elif wtype == "alarm" and not isinstance(props.get("alarms"), list):
            err(ppath, "Should have required property 'alarms'")
    return errors


def apply() -> None:
    from moto.cloudwatch.exceptions import DashboardInvalidInputError
    from moto.cloudwatch.responses import CloudWatchResponse

    original = CloudWatchResponse.put_dashboard
    if getattr(original, _PATCHED, False):
        return

    def put_dashboard(self):  # type: ignore[no-untyped-def]
        body = self._get_param("DashboardBody")
        try:
            parsed = json.loads(body)
        except (TypeError, ValueError):
            raise DashboardInvalidInputError("The field DashboardBody must be a valid JSON object") from None
        errors = validate_body(parsed)
        if errors:
            raise DashboardInvalidInputError(
                f"The dashboard body is invalid, there are {len(errors)} validation errors:\n"
                + json.dumps(errors, indent=2)
            )
        return original(self)

    setattr(put_dashboard, _PATCHED, True)
    CloudWatchResponse.put_dashboard = put_dashboard
