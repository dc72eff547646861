"""The fast path's interpreter setup, for playbooks whose modules share a warm interpreter (mitogen). Two hooks,
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


def _run_next_sitecustomize():
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


for _name, _patch in (("botocore.session", _share_loaders), ("ansible_mitogen.affinity", _unpin)):
    if _name not in sys.modules:
        sys.meta_path.insert(0, _AfterExecHook(_name, _patch))
_run_next_sitecustomize()
