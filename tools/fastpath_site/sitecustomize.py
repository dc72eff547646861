"""The fast path's interpreter setup, for playbooks whose modules share a warm interpreter (mitogen). Three hooks,
each applied when its module is first imported, then gone from ``sys.meta_path``:

**One botocore data loader per interpreter.** amazon.aws modules make a new boto3 session for every task, and
each session a new botocore ``Loader``, which parses ``endpoints.json``, ``partitions.json`` and the service's
model again: about 0.17 s per client here, 0.03 s once the loader is shared (tools/fastpath.py measures it). In a
module process of Ansible's stock strategy the cache lives one task and changes nothing; under mitogen, where the
modules of a run share one interpreter, it is the difference between parsing those files once and 80 times per
converge. A loader holds only botocore's read-only data files (service models, endpoints, paginators, waiters)
keyed by its search path; credentials, regions and clients stay per session; ``botocore.session.create_loader``
returns the loader it made before for the same data path.

**No CPU pinning by mitogen.** ``ansible_mitogen.affinity`` pins its multiplexer to CPU 0 and, on a machine with
fewer than 4 CPUs, the controller, its workers and their module interpreters all to CPU 1 -- every
ansible-playbook on the machine to the same CPU. Two converges side by side on 2 cores (pytest's two workers,
two AWX jobs on one node, forks over several stacks) then take twice as long each as one alone: a no-op converge
here 19 s alone, 40 s each side by side, and 21 s each side by side without the pinning. The hook swaps the
policy for mitogen's own no-op ``Policy`` and leaves placement to the kernel's scheduler.

**The installed collections listed once per run.** For each collection module a task runs, mitogen's planner
lists every installed collection (``ansible.collections.list.list_collection_dirs``: a walk of each collection
path, the ansible package's ~100 collections included) to tell the module's interpreter where to import from. It
does so in the task's worker, forked from the controller for that one task, so nothing is kept: about 0.08 s per
module task, more than a quarter of the workers' time in a no-op converge (py-spy). The hook lists them in the
controller before it forks a worker, once per run, and gives every module the same list. A no-op converge: 26.6 s
-> 23.1 s wall, 20.5 s -> 17.8 s CPU (two runs each, alternating, same endpoint).

Put this directory first on ``PYTHONPATH`` (``eval "$(python tools/fastpath.py)"`` does). botocore and mitogen
are imported only when something imports them. A ``sitecustomize`` found further down ``sys.path`` (Debian's, a
virtualenv's) is still run.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


class _AfterExecHook(importlib.abc.MetaPathFinder):
    """Runs ``patch(module)`` right after the module ``name`` is first executed, then leaves ``sys.meta_path``."""

    def __init__(self, name, patch):
        self.name, self.patch = name, patch

    def find_spec(self, fullname, path, target=None):  # pylint: disable=unused-argument
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            self.patch(module)

        spec.loader.exec_module = exec_module
        return spec


def _share_loaders(module):
    create_loader, made = module.create_loader, {}

    def shared_loader(search_path_string=None):
        if search_path_string not in made:
            made[search_path_string] = create_loader(search_path_string)
        return made[search_path_string]

    module.create_loader = shared_loader


def _unpin(module):
    module.policy = module.Policy()


def _list_collections_once(strategy):
    import ansible.collections.list  # pylint: disable=import-outside-toplevel
    import ansible_mitogen.planner  # pylint: disable=import-outside-toplevel

    found = []

    def collection_dirs():
        if not found:
            found.extend(path.decode("utf-8") for path in ansible.collections.list.list_collection_dirs())
        return found

    def load_collections(invocation):
        invocation._extra_sys_paths.update(collection_dirs())  # pylint: disable=protected-access

    queue_task = strategy.StrategyMixin._queue_task  # pylint: disable=protected-access

    def queued_with_collections_listed(self, *args, **kwargs):
        collection_dirs()  # in the controller, before the task's worker is forked from it
        return queue_task(self, *args, **kwargs)

    ansible_mitogen.planner._load_collections = load_collections  # pylint: disable=protected-access
    strategy.StrategyMixin._queue_task = queued_with_collections_listed  # pylint: disable=protected-access


def _run_next_sitecustomize():
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


for _name, _patch in (("botocore.session", _share_loaders), ("ansible_mitogen.affinity", _unpin),
                      ("ansible_mitogen.strategy", _list_collections_once)):
    if _name not in sys.modules:
        sys.meta_path.insert(0, _AfterExecHook(_name, _patch))
_run_next_sitecustomize()
