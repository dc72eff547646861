"""One role run alone from a user's playbook (tests/integration/test_roles_standalone.playbook.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STACK = yaml.safe_load((ROOT / "inventories/local/group_vars/all/stack.yml").read_text())
PLAYBOOK = "tests/integration/test_roles_standalone.playbook.yml"

@pytest.mark.parametrize("check", [False, True], ids=["converge", "check"])
def test_optional_service_fields_may_be_left_out(run_playbook, check):
    """The argument spec makes path_patterns optional (default [], the default route): a stack description without
    it on the default service passes the alb role's validation (which once failed on the missing attribute)."""
    api, web = STACK["stack_services"]
    services = [api, {k: v for k, v in web.items() if k != "path_patterns"}]
    run = run_playbook(PLAYBOOK, check=check, extra_vars={"role_under_test": "alb", "role_entry_point": "validate",
                                                         "stack_services": services})
    assert run.rc == 0, run.failure_messages() or run.stderr[-3000:]
    assert run.calls == []
