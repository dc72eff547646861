"""tools/fastpath_site, when its directory leads PYTHONPATH: one botocore loader per interpreter, no CPU pinning by
mitogen, the installed collections listed once per run, one module interpreter per inventory host, compiled templates
kept on disk, a variable rendered once per template, mitogen's module server work kept on disk, a boto3 client made
once per interpreter, the plugins workers load loaded by the next run's controller. Each test of a hook fails without
it."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tools import fastpath

SAME_LOADER = ("import boto3\n"
               "a, b = boto3.session.Session(), boto3.session.Session()\n"
               "print(a._session.get_component('data_loader') is b._session.get_component('data_loader'))\n")


def _python(code: str, pythonpath: str, env: dict | None = None) -> str:
    env = dict(os.environ, **(env or {}), PYTHONPATH=pythonpath)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_sessions_share_one_loader_only_with_the_cache():
    assert _python(SAME_LOADER, "") == "False"
    assert _python(SAME_LOADER, str(fastpath.SITE)) == "True"


def test_a_client_of_the_shared_loader_still_builds_requests():
    code = ("import boto3\n"
            "for region in ('us-east-1', 'eu-west-1'):\n"
            "    client = boto3.session.Session(region_name=region).client('ecs')\n"
            "    print(client.meta.endpoint_url, client.meta.service_model.service_name)\n")
    assert _python(code, str(fastpath.SITE)).splitlines() == [
        "https://ecs.us-east-1.amazonaws.com ecs", "https://ecs.eu-west-1.amazonaws.com ecs"]


CLIENTS = """
import os, boto3
def client(session=None, region="us-east-1", **kwargs):
    return (session or boto3.session.Session()).client("ecs", region_name=region, endpoint_url="http://127.0.0.1:9",
                                                        **kwargs)
first = client()
same = client() is first
other_region = client(region="us-east-2") is first
other_keys = client(aws_access_key_id="a", aws_secret_access_key="b") is first
own_handlers = boto3.session.Session()
own_handlers.events.register("before-call.ecs", lambda **kwargs: None)
session_with_handlers = client(own_handlers) is first
os.environ["AWS_MAX_ATTEMPTS"] = "3"  # a task's environment
other_environment = client() is first
del os.environ["AWS_MAX_ATTEMPTS"]
first.meta.events.register("before-call.ecs", lambda **kwargs: None)
after_a_caller_registered = client() is first
print(same, other_region, other_keys, session_with_handlers, other_environment, after_a_caller_registered)
"""


def test_a_client_is_made_once_per_arguments_and_never_shared_with_handlers_of_its_own():
    """amazon.aws makes a session and a client per task (~20 ms of CPU each); the site directory hands out the client
    made before for the same arguments, session and ``AWS_*`` environment, and a new one to a session with event handlers
    of its own; a client a caller registered a handler on is not handed out again."""
    assert _python(CLIENTS, "") == "False False False False False False"
    assert _python(CLIENTS, str(fastpath.SITE)) == "True False False False False False"


def test_botocore_is_not_imported_by_the_hook_itself():
    assert _python("import sys; print('botocore' in sys.modules)", str(fastpath.SITE)) == "False"


def test_a_sitecustomize_further_down_the_path_still_runs(tmp_path: Path):
    (tmp_path / "sitecustomize.py").write_text("import builtins\nbuiltins.SEED_NEXT_SITECUSTOMIZE = True\n")
    code = "import builtins; print(getattr(builtins, 'SEED_NEXT_SITECUSTOMIZE', False))"
    assert _python(code, os.pathsep.join([str(fastpath.SITE), str(tmp_path)])) == "True"


# What mitogen's controller does first (ansible_mitogen.process.common_setup), then the CPUs this process may run on.
PINNED = ("import os, ansible_mitogen.affinity as affinity\n"
          "affinity.policy.assign_controller()\n"
          "affinity.policy.assign_worker()\n"
          "print(sorted(os.sched_getaffinity(0)))\n")


def test_mitogen_leaves_the_processes_on_every_cpu_only_with_the_site_directory():
    every_cpu = str(sorted(os.sched_getaffinity(0)))
    assert _python(PINNED, str(fastpath.SITE)) == every_cpu
    if len(os.sched_getaffinity(0)) > 1:  # with one CPU, pinned and unpinned are the same set
        assert _python(PINNED, "") != every_cpu


def test_mitogen_is_not_imported_by_the_hook_itself():
    assert _python("import sys; print('ansible_mitogen' in sys.modules)", str(fastpath.SITE)) == "False"


COUNTING_SITE = """
import os, sys
if os.path.basename(sys.argv[0]) == "ansible-playbook":  # the controller and its forked workers only
    import ansible.collections.list as listing
    original = listing.list_collection_dirs
    def counted(*args, **kwargs):
        with open(os.environ["SEED_LISTINGS"], "a") as log:
            log.write(f"{os.getpid()}\\n")
        return original(*args, **kwargs)
    listing.list_collection_dirs = counted
"""

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars: {ansible_python_interpreter: "{{ ansible_playbook_python }}"}
  tasks:
    - {community.general.read_csv: {path: "%(csv)s"}, register: first}
    - {community.general.read_csv: {path: "%(csv)s"}, register: second}
    - {community.general.read_csv: {path: "%(csv)s"}, register: third}
    - ansible.builtin.assert: {that: "[first.list, second.list, third.list] == [[{'a': '1'}]] * 3"}
"""


def test_a_mitogen_run_lists_the_installed_collections_once_not_once_per_module_task(tmp_path: Path):
    """mitogen's planner lists every installed collection for each collection module it runs, in the task's
    forked worker (~0.1 s each: more than a quarter of a worker's time in a no-op converge); the site directory
    lists them once in the controller, before the workers fork from it, and the modules still find their
    collection. (A loop's items share a worker, hence three tasks.)"""
    (tmp_path / "counting").mkdir()
    (tmp_path / "counting" / "sitecustomize.py").write_text(COUNTING_SITE)
    (tmp_path / "data.csv").write_text("a\n1\n")
    (tmp_path / "play.yml").write_text(PLAYBOOK % {"csv": tmp_path / "data.csv"})
    listings = tmp_path / "listings.log"
    env = dict(os.environ, **fastpath.environment("mitogen_linear", {"PYTHONPATH": str(tmp_path / "counting")}),
               SEED_LISTINGS=str(listings), ANSIBLE_DEPRECATION_WARNINGS="false")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), str(tmp_path / "play.yml")],
                         env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(listings.read_text().splitlines()) == 1


HOSTS_PLAY = """
- hosts: all
  gather_facts: false
  vars: {ansible_connection: local, ansible_python_interpreter: "{{ ansible_playbook_python }}"}
  tasks:
    - {interpreter: {}, register: ran}
    - ansible.builtin.copy: {content: "{{ ran | to_json }}", dest: "%(out)s/{{ inventory_hostname }}.json"}
      delegate_to: localhost
"""

# A module that says which interpreter ran it and when: it holds the interpreter for a second, as a module waiting
# on its AWS calls does.
INTERPRETER_MODULE = """
import os, time
from ansible.module_utils.basic import AnsibleModule
module = AnsibleModule(argument_spec={})
start = time.time()
time.sleep(1)
module.exit_json(pid=os.getpid(), start=start, end=time.time())
"""


def _hosts_run(tmp_path: Path, site: str) -> list[dict]:
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "interpreter.py").write_text(INTERPRETER_MODULE)
    (tmp_path / "play.yml").write_text(HOSTS_PLAY % {"out": out})
    (tmp_path / "hosts.ini").write_text("stack-a\nstack-b\n")
    env = dict(os.environ, **dict(fastpath.environment("mitogen_linear"), PYTHONPATH=site),
               ANSIBLE_DEPRECATION_WARNINGS="false", ANSIBLE_FORKS="2")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "hosts.ini", "play.yml"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    return [json.loads((out / f"{host}.json").read_text()) for host in ("stack-a", "stack-b")]


def test_each_inventory_host_gets_its_own_interpreter_and_the_hosts_run_side_by_side(tmp_path: Path):
    """mitogen runs every local host's modules in one interpreter, one call at a time: several stacks in one run took
    turns. With the site directory each host has its own, and the two hosts' modules overlap in time."""
    first, second = _hosts_run(tmp_path, str(fastpath.SITE))
    assert first["pid"] != second["pid"]
    assert max(first["start"], second["start"]) < min(first["end"], second["end"])


def test_without_the_site_directory_the_hosts_share_one_interpreter_in_turn(tmp_path: Path):
    """What the hook changes, shown on mitogen as it comes (the same play, only PYTHONPATH differs)."""
    first, second = _hosts_run(tmp_path, "")
    assert first["pid"] == second["pid"]
    assert max(first["start"], second["start"]) >= min(first["end"], second["end"])


PLUGIN_LOADS_SITE = """
import os, sys
if os.path.basename(sys.argv[0]) == "ansible-playbook":  # the controller and its forked workers only
    controller = os.getpid()
    from ansible.plugins import loader
    load = loader.PluginLoader._load_module_source
    def counted(self, *args, **kwargs):
        if os.getpid() != controller and kwargs.get("python_module_name") not in sys.modules:
            with open(os.environ["SEED_PLUGIN_LOADS"], "a") as log:
                log.write(kwargs.get("python_module_name", "?") + "\\n")
        return load(self, *args, **kwargs)
    loader.PluginLoader._load_module_source = counted
"""

PLUGINS_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.assert:
        that: ["'abc' is match('a')", "[['a', 1]] | community.general.dict == {'a': 1}",
               "lookup('ansible.builtin.env', 'SEED_PLUGIN_LOADS') is search('loads')"]
    - ansible.builtin.assert: {that: "[['b', 2]] | community.general.dict == {'b': 2}"}
"""


def _plugin_loads(tmp_path: Path, site: bool) -> list[str]:
    """The plugin modules the workers of one run of PLUGINS_PLAY loaded themselves (not inherited from the
    controller), with or without the site directory (mitogen_linear either way)."""
    loads = tmp_path / "loads.log"
    loads.unlink(missing_ok=True)
    env = dict(os.environ, **fastpath.environment("mitogen_linear", {"PYTHONPATH": str(tmp_path / "counting")}),
               SEED_PLUGIN_LOADS=str(loads), SEED_FASTPATH_CACHE=str(tmp_path / "cache"),
               ANSIBLE_DEPRECATION_WARNINGS="false")
    if not site:
        env["PYTHONPATH"] = str(tmp_path / "counting")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), str(tmp_path / "play.yml")],
                         env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    # (a builtin test plugin's module name ends in a hash of its own, different in each run)
    return sorted(re.sub(r"_-?[0-9]+$", "", name) for name in (loads.read_text().splitlines() if loads.exists() else []))


def test_plugins_the_workers_of_a_run_loaded_are_loaded_by_the_controller_of_the_next(tmp_path: Path):
    """Ansible forks a worker per task from the controller, and each worker loads the plugin modules its templates use
    (the builtin tests, a collection's filters, a lookup) that the controller had not: 0.65 s of a no-op converge. With
    the site directory a worker notes what it loaded, and the next run's controller loads those plugins, by the names
    asked for and its own configuration, before it forks: its workers load none of them, and the run's results hold."""
    (tmp_path / "counting").mkdir()
    (tmp_path / "counting" / "sitecustomize.py").write_text(PLUGIN_LOADS_SITE)
    (tmp_path / "play.yml").write_text(PLUGINS_PLAY)
    stock = _plugin_loads(tmp_path, site=False)
    assert any(".filter.dict" in name for name in stock) and any(".test." in name for name in stock), stock
    assert any(".lookup.env" in name for name in stock), stock
    assert _plugin_loads(tmp_path, site=False) == stock  # every run anew
    assert _plugin_loads(tmp_path, site=True) == stock  # the first run notes them
    assert _plugin_loads(tmp_path, site=True) == []


TEMPLATES = """
import jinja2
compiled = []
python_compile = jinja2.Environment._compile
def counted(self, source, filename):
    if type(self).__name__ == "AnsibleEnvironment":  # not the plain Jinja that ansible's config defaults use
        compiled.append(filename)
    return python_compile(self, source, filename)
jinja2.Environment._compile = counted
from ansible.template import Templar, trust_as_template
templar = Templar(variables={"a": 1, "word": "x"})
sources = ("{{ a + 1 }}", "{{ word ~ 'c:\\\\new' }}",
           "#jinja2:variable_start_string:'[%', variable_end_string:'%]'\\n[% a + 2 %] {{ a }}")
print([templar.template(trust_as_template(source), escape_backslashes=escape)
       for source in sources for escape in (True, False)], len(compiled))
"""


def test_templates_compiled_by_one_process_are_not_compiled_again_by_the_next(tmp_path: Path):
    """Ansible 2.19 compiles a template every time it renders it, and a task's templates in the task's forked worker:
    ~18 % of a no-op converge's CPU. The site directory keeps each compiled template on disk, keyed by its source and
    every setting that changes the code (backslash escaping, a ``#jinja2:`` header's delimiters, ...): the next
    process renders the same results without compiling."""
    env = {"SEED_FASTPATH_CACHE": str(tmp_path)}
    uncached = _python(TEMPLATES, "")
    values, count = uncached.rsplit(" ", 1)
    assert int(count) == 6
    rendered = ast.literal_eval(values)
    assert rendered[2] != rendered[3]  # escaping on and off compile differently
    first = _python(TEMPLATES, str(fastpath.SITE), env)
    again = _python(TEMPLATES, str(fastpath.SITE), env)
    assert (first, again) == (uncached, f"{values} 0")


NESTED = """
from ansible._internal._templating._engine import TemplateEngine
from ansible.template import Templar, trust_as_template
renders, template = [], TemplateEngine.template
def counted(self, variable, **kwargs):
    if variable == "{{ x + 1 }}":
        renders.append(variable)
    return template(self, variable, **kwargs)
TemplateEngine.template = counted
variables = {name: trust_as_template(value) for name, value in
             {"base": "{{ x + 1 }}", "mid": "{{ [base, base, base] }}", "top": "{{ [mid, mid, base] }}"}.items()}
variables["x"] = 1
templar = Templar(variables=variables)
first = templar.template(trust_as_template("{{ top }}"))
variables["x"] = 5  # changed between two top-level templates (as a loop's item is): the next one sees it
second = templar.template(trust_as_template("{{ [top, base] }}"))
print([first, second], len(renders))
"""


def test_a_variable_is_rendered_once_per_template_not_once_per_read():
    """ansible-core 2.19 renders each template, nested ones included, in a fresh lazy copy of the variables: a variable
    is rendered once per copy that reads it. ``top`` reads ``base`` and ``mid``, which reads ``base`` again: ``base``
    renders twice for ``{{ top }}`` and three times for ``{{ [top, base] }}``. The site directory renders it once per
    top-level template, with the same results, and the next top-level template sees variables changed since."""
    stock = _python(NESTED, "")
    values, count = stock.rsplit(" ", 1)
    assert ast.literal_eval(values) == [[[2, 2, 2], [2, 2, 2], 2], [[[6, 6, 6], [6, 6, 6], 6], 6]]
    assert int(count) == 2 + 3
    assert _python(NESTED, str(fastpath.SITE), {"SEED_FASTPATH_CACHE": "/nonexistent/seed"}) == f"{values} 2"


MODULE_SERVER = """
import builtins, hashlib, inspect
compiled, real_compile = [], builtins.compile
def counted(source, filename, mode, *args, **kwargs):
    compiled.append(filename)
    return real_compile(source, filename, mode, *args, **kwargs)
import mitogen.core, mitogen.master, mitogen.minify
stripped, strip_comments = [], mitogen.minify.strip_comments
def counted_strip(tokens):
    stripped.append(1)
    return strip_comments(tokens)
mitogen.minify.strip_comments = counted_strip
builtins.compile = counted
related = mitogen.master.ModuleFinder().find_related_imports("mitogen.parent")
small = mitogen.minify.minimize_source(inspect.getsource(mitogen.core))
print(related, hashlib.sha256(small.encode()).hexdigest(), len(compiled), len(stripped))
"""


def test_mitogen_module_server_work_done_by_one_run_is_not_done_again_by_the_next(tmp_path: Path):
    """mitogen's multiplexer compiles each module it serves to find its imports and strips its comments and docstrings
    (``minimize_source``), every run anew: 1.3 s of CPU in a no-op converge. With the site directory the next
    process reads both from disk, with the same results."""
    env = {"SEED_FASTPATH_CACHE": str(tmp_path)}
    stock = _python(MODULE_SERVER, "")
    results, counts = stock.rsplit(" ", 2)[0], stock.rsplit(" ", 2)[1:]
    assert counts == ["1", "1"]
    assert "mitogen.core" in results
    assert _python(MODULE_SERVER, str(fastpath.SITE), env) == stock
    assert _python(MODULE_SERVER, str(fastpath.SITE), env) == f"{results} 0 0"


def test_fastpath_environment_puts_the_site_directory_first_for_mitogen_only():
    env = fastpath.environment("mitogen_linear", {"PYTHONPATH": "/elsewhere"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(fastpath.SITE), "/elsewhere"]
    assert env["ANSIBLE_STRATEGY_PLUGINS"].endswith("ansible_mitogen/plugins/strategy")
    assert fastpath.environment("linear", {}) == {"ANSIBLE_STRATEGY": "linear"}
