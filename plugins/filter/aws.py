# Copyright: seed.fargate contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of AWS names against botocore's own data, for input validation before any call."""

from __future__ import annotations

import importlib.util
import json
import os
import re


def _partitions():
    # botocore's endpoints.json read as it is installed (0.02 s) instead of through a botocore session, whose import
    # alone takes 0.1 s in each forked worker that renders this filter; through the session where its data path is
    # more than the package's own (AWS_DATA_PATH) or the file is not there as plain JSON.
    spec = importlib.util.find_spec("botocore")  # the controller has botocore: every AWS module of the collection needs it
    path = os.path.join(next(iter(spec.submodule_search_locations or [""])), "data", "endpoints.json") if spec else ""
    if not os.environ.get("AWS_DATA_PATH") and os.path.isfile(path):
        with open(path, encoding="utf-8") as endpoints:
            return json.load(endpoints)["partitions"]
    import botocore.session  # pylint: disable=import-outside-toplevel

    return botocore.session.get_session().get_data("endpoints")["partitions"]


def aws_region_problem(region):
    """Why ``region`` is not an AWS region, or ``''``.

    A region is known when a partition lists it or matches the partition's region
    pattern (botocore's endpoints data), so a region newer than the installed botocore
    still passes while a typo such as ``us-east1`` or ``mars-1`` does not.
    """
    if not isinstance(region, str) or not region:
        return f"must be a region name such as us-east-1, got {region!r}"
    known = []
    for partition in _partitions():
        regions = partition.get("regions", {})
        if region in regions or re.match(partition.get("regionRegex", "^$"), region):
            return ""
        known += regions
    return f"{region!r} is not an AWS region (botocore knows {', '.join(sorted(known)[:8])}, ...)"


class FilterModule:
    """seed.fargate.aws_region_problem."""

    def filters(self):
        return {"aws_region_problem": aws_region_problem}
