"""The fast path's interpreter setup, for playbooks whose modules share a warm interpreter (mitogen). Nine hooks,
each applied when its module is first imported, then gone from ``sys.meta_path``:

**One botocore data loader per interpreter.** amazon.aws modules make a new boto3 session for every task, and
each session a new botocore ``Loader``, which parses ``endpoints.json``, ``partitions.json`` and the service's
model again: about 0.17 s per client here, 0.03 s once the loader is shared (tools/fastpath.py measures it). In a
module process of Ansible's stock strategy the cache lives one task and changes nothing; under mitogen, where the
modules of a run share one interpreter, it is the difference between parsing those files once and 80 times per
converge. A loader holds only botocore's read-only data files (service models, endpoints, paginators, waiters)
keyed by its search path; credentials, regions and clients stay per session; ``botocore.session.create_loader``
returns the loader it made before for the same data path.

**A client made once per interpreter.** amazon.aws makes a new boto3 session and client for every task (and loop
item); a client costs about 20 ms of CPU even with the shared loader (its class, methods and endpoint are built
anew), 46 % of the module interpreter's samples in a no-op converge (py-spy). The hook hands out the client made
before for the same arguments (service, region, endpoint, credentials, ``Config`` options), the same profile, region
and explicit credentials of the session and the same ``AWS_*`` environment (a task's ``environment:``); a session
with event handlers of its own (placebo's, a caller's) gets a new client, and a client a caller registers a handler
on is not handed out again. A no-op converge at 40 ms per AWS call: 10.9 s -> 10.6 s (three runs each,
alternating).

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

**Compiled templates kept on disk.** ansible-core 2.19 compiles a template (Jinja source -> Python code ->
``compile()``) every time it renders one, and renders a task's arguments, ``assert`` conditions and messages in the
task's forked worker, so nothing compiled survives the task: about 18 % of a no-op converge's CPU. The hook wraps
``AnsibleEnvironment.compile`` for template strings (not named templates, not Ansible's template debugging) with a
cache of the code objects (``marshal``) under ``$SEED_FASTPATH_CACHE`` (default ``~/.cache/seed-fastpath``), one
directory per ansible-core, Jinja and Python version, keyed by the source and every setting that changes the code:
the environment and code generator classes, backslash escaping, embedded-template support, extensions and the
lexer's delimiters and options (a ``#jinja2:`` header's overlay). A no-op converge: 19.4 s -> 15.8 s CPU, 31 s
-> 25 s wall (two runs each, alternating, beside a running test suite). Delete the directory to empty it; files
are written whole (rename) so parallel runs share it.

**A variable rendered once per template.** ansible-core 2.19 renders each template, nested ones included, in a
fresh lazy copy of the variables, so a variable that is itself a template renders once per copy that reads it: a
role variable built from others (the alb role's listeners from its actions, rules and services) renders each of
them again in each of its nested templates, and they theirs (``_alb_services`` 98 times in one no-op converge; the
workers spent 2.6 s rendering variables, timed by a hook). The hook gives the templates nested in one top-level
template one lazy copy of a variables mapping, so each variable renders at most once per top-level template; the
next top-level template (the next task argument, condition or loop item) starts afresh and sees the variables as
they are then. A no-op converge at 40 ms per AWS call: 11.5 s -> 10.5 s (two runs each, alternating).

**mitogen's module server work kept on disk.** mitogen's multiplexer serves the module interpreter the Python
modules it imports (mitogen itself, Ansible's and the collections' module_utils, the modules), and for each, every
run anew, compiles its source to find the modules it imports and strips its comments and docstrings
(``minimize_source``); ansible_mitogen compiles each module to find its module_utils: 1.3 s of CPU per converge
(py-spy of a no-op: 261 of the multiplexer's samples, 79 with the hook). Both are functions of the source, so the
hook keeps the compiled code (``marshal``) and the stripped source under the same cache directory, keyed by the
source, file name and mitogen and Python versions.

**One module interpreter per inventory host.** mitogen runs the modules of every host with a local connection in
one interpreter (its connection key is the interpreter's path), and that interpreter runs the calls it is sent one
after the other: with forks over several stacks as inventory hosts, the stacks' modules -- and the AWS round trips
they wait on -- take turns. The hook names the interpreter after the host (mitogen's ``remote_name``, the name its
process shows in ``ps``), so each host gets its own and the forks run side by side, each with its own warm imports
and botocore loader. Four stacks in one run at 40 ms per AWS call: see ``make bench``.

**Plugins the workers load, loaded by the controller.** Ansible forks a worker from the controller for each task, and
the worker loads (executes) the Python module of every plugin its templates and its connection use that the
controller has not loaded: the builtin tests, the collection's filters, the ``env`` lookup, the connection plugin,
again in each of the ~140 workers of a converge (1.85 s of 4.2 s of the workers' CPU for 100 ``assert`` tasks, cProfile;
37 ms per task, 21 ms with the hook). The hook has a worker note the loader and the plugin name it asked for when that
loaded a module, one line appended to a file under the cache directory (one per ansible-core and Python version); the
next run's controller, before it forks its first worker, asks its loaders for those names (this run's configuration
resolves them, as the worker would; what a plugin says when loaded, the worker says when it is used), so its workers
inherit the modules loaded. A no-op converge at 40 ms per AWS call: 11.0 s -> 10.35 s (three runs each, alternating).

Put this directory first on ``PYTHONPATH`` (``eval "$(python tools/fastpath.py)"`` does). botocore and mitogen
are imported only when something imports them. A ``sitecustomize`` found further down ``sys.path`` (Debian's, a
virtualenv's) is still run.
"""

import contextlib
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


def _reuse_clients(session_module):
    client = session_module.Session.client
    made, plain_session = {}, []

    def handlers(session):  # the event handlers a session gives its clients
        stack, count = [session._session._events._emitter._handlers._root], 0  # pylint: disable=protected-access
        while stack:
            node = stack.pop()
            count += sum(len(part) for part in node["values"] or ())
            stack.extend(node["children"].values())
        return count

    def plain(value):
        options = getattr(value, "_user_provided_options", None)  # a botocore Config
        if isinstance(options, dict):
            return "Config", tuple(sorted((name, repr(option)) for name, option in options.items()))
        hash(value)  # anything else must be hashable to be part of the key
        return value

    def reused_client(self, *args, **kwargs):
        key = None  # not reused: a session with handlers of its own (placebo's, a caller's)
        try:
            if not plain_session:
                plain_session.append(handlers(session_module.Session()))
            if not any(name.startswith("_ANSIBLE_PLACEBO") for name in os.environ) and handlers(self) == plain_session[0]:
                given = self._session._credentials  # pylint: disable=protected-access
                key = (self.profile_name, self._session.get_config_variable("region"),  # pylint: disable=protected-access
                       None if given is None else tuple(given.get_frozen_credentials()),
                       tuple(plain(value) for value in args), tuple(sorted((k, plain(v)) for k, v in kwargs.items())),
                       tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))))
                hash(key)
        # a profile that does not exist, an argument that is not hashable: boto3 makes the client, or raises its own error
        except Exception:  # noqa: BLE001  # pylint: disable=broad-exception-caught
            key = None
        if key is None:
            return client(self, *args, **kwargs)
        found = made.get(key)
        if found is None:
            found = made[key] = client(self, *args, **kwargs)
            events = found.meta.events

            def forget_then(method):
                def changed(*args, **kwargs):
                    if made.get(key) is found:  # a handler of the caller's own: no other caller gets this client
                        del made[key]
                    return method(*args, **kwargs)
                return changed

            for name in ("register", "register_first", "register_last", "unregister"):
                setattr(events, name, forget_then(getattr(events, name)))
        return found

    session_module.Session.client = reused_client


def _unpin(module):
    module.policy = module.Policy()


def _list_collections_once(strategy):
    import ansible.collections.list  # pylint: disable=import-outside-toplevel
    import ansible_mitogen.planner  # pylint: disable=import-outside-toplevel

    found = None

    def collection_dirs():
        nonlocal found
        if found is None:  # listed once, even when no collection is installed
            found = [path.decode("utf-8") for path in ansible.collections.list.list_collection_dirs()]
        return found

    def load_collections(invocation):
        invocation._extra_sys_paths.update(collection_dirs())  # pylint: disable=protected-access

    queue_task = strategy.StrategyMixin._queue_task  # pylint: disable=protected-access

    def queued_with_collections_listed(self, *args, **kwargs):
        collection_dirs()  # in the controller, before the task's worker is forked from it
        return queue_task(self, *args, **kwargs)

    ansible_mitogen.planner._load_collections = load_collections  # pylint: disable=protected-access
    strategy.StrategyMixin._queue_task = queued_with_collections_listed  # pylint: disable=protected-access


def _interpreter_per_host(connection):
    connect_local = connection.CONNECTION_METHOD["local"]

    def connect_local_per_host(spec):
        options = connect_local(spec)
        name = "".join("_" if c in "/\\" else c for c in f"ansible-{spec.inventory_name()}")
        return dict(options, kwargs=dict(options["kwargs"], remote_name=name))

    connection.CONNECTION_METHOD["local"] = connect_local_per_host


_LEXER_SETTINGS = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
                   "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
                   "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized", "is_async",
                   "autoescape")


def _cache_directory(*names):
    return os.path.join(os.environ.get("SEED_FASTPATH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "seed-fastpath"), *names)


def _on_disk(directory, key, make, dump, load):
    """``make()``'s result, kept in ``directory`` under ``key`` (hex): read back with ``load`` when there, else made and
    written with ``dump`` (:func:`_write_whole`), so that parallel runs share the directory."""
    path = os.path.join(directory, key[:2], key)
    try:
        with open(path, "rb") as cached:
            return load(cached)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = make()
    _write_whole(path, lambda file: dump(value, file))
    return value


def _write_whole(path, write):
    """``write(file)`` to a temporary file renamed to ``path``: a reader sees the old file or the new one, whole."""
    import tempfile  # pylint: disable=import-outside-toplevel

    written = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), delete=False) as written:
            write(written)
        os.replace(written.name, path)
    except OSError:
        if written is not None:  # a write that failed midway (disk full) leaves no partial file behind
            try:
                os.unlink(written.name)
            except OSError:
                pass


_CONTROLLER = os.getpid()  # the workers Ansible forks from the controller inherit it
_REQUESTED = []  # (loader, plugin name) of the plugin a worker is resolving


def _plugins_loaded_file():
    import ansible.release  # pylint: disable=import-outside-toplevel

    return _cache_directory("plugins", f"{ansible.release.__version__}-{sys.implementation.cache_tag}")


def _note_plugin_loads(loader_module):
    """ansible.plugins.loader: a worker that loads a plugin's Python module (the controller had not) notes the loader
    and the name asked for, one line appended to the file of :func:`_plugins_loaded_file`."""
    loaders = {id(value): name for name, value in vars(loader_module).items()
               if isinstance(value, loader_module.PluginLoader)}

    def resolving(get_with_context):
        def get_with_context_noted(self, name, *args, **kwargs):
            if _REQUESTED or os.getpid() == _CONTROLLER or id(self) not in loaders:
                return get_with_context(self, name, *args, **kwargs)
            _REQUESTED.append((loaders[id(self)], name))
            try:
                return get_with_context(self, name, *args, **kwargs)
            finally:
                _REQUESTED.clear()
        return get_with_context_noted

    load_module_source = loader_module.PluginLoader._load_module_source  # pylint: disable=protected-access

    def load_module_source_noted(self, *args, **kwargs):
        if _REQUESTED and kwargs.get("python_module_name") not in sys.modules and isinstance(_REQUESTED[0][1], str):
            line = "{} {}\n".format(*_REQUESTED[0])
            _REQUESTED[0] = (None, None)  # once per plugin asked for
            try:
                path = _plugins_loaded_file()
                os.makedirs(os.path.dirname(path), exist_ok=True)
                descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)  # one write: lines stay whole
                try:
                    os.write(descriptor, line.encode("utf-8", "surrogateescape"))
                finally:
                    os.close(descriptor)
            except OSError:
                pass
        return load_module_source(self, *args, **kwargs)

    for cls in (loader_module.PluginLoader, loader_module.Jinja2Loader):
        cls.get_with_context = resolving(cls.get_with_context)
    loader_module.PluginLoader._load_module_source = load_module_source_noted  # pylint: disable=protected-access


def _load_plugins_before_forking(strategy):
    """ansible.plugins.strategy: before it forks its first worker, the controller resolves the plugins workers of
    earlier runs noted, with their names, by the loaders of this run's configuration."""
    queue_task, loaded = strategy.StrategyBase._queue_task, []  # pylint: disable=protected-access

    def load_noted_plugins():
        from ansible.plugins import loader as loader_module  # pylint: disable=import-outside-toplevel
        from ansible.utils.display import Display  # pylint: disable=import-outside-toplevel

        path = _plugins_loaded_file()
        try:
            with open(path, "rb") as noted:
                text = noted.read(1 << 20).decode("utf-8", "surrogateescape")
        except OSError:
            return
        lines = list(dict.fromkeys(line for line in text.splitlines() if " " in line))
        if len(text) > 16 * len("\n".join(lines)) + 4096:  # lines noted again and again (a plugin that fails here)
            _write_whole(path, lambda file: file.write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")))
        quiet = {name: getattr(Display, name) for name in ("warning", "deprecated")}
        for name in quiet:  # what a plugin says when resolved, its worker says when the run uses it
            setattr(Display, name, lambda *args, **kwargs: None)
        try:
            for line in lines[:512]:
                loader_name, name = line.split(" ", 1)
                loader = getattr(loader_module, loader_name, None)
                if isinstance(loader, loader_module.PluginLoader):
                    with contextlib.suppress(Exception):  # the worker that uses it reports what is wrong
                        loader.get_with_context(name, class_only=True)
        finally:
            for name, method in quiet.items():
                setattr(Display, name, method)

    def queue_task_loaded(self, *args, **kwargs):
        if not loaded and os.getpid() == _CONTROLLER:
            loaded.append(True)
            load_noted_plugins()
        return queue_task(self, *args, **kwargs)

    strategy.StrategyBase._queue_task = queue_task_loaded  # pylint: disable=protected-access


def _cache_compiled_templates(jinja_bits):
    import hashlib  # pylint: disable=import-outside-toplevel
    import marshal  # pylint: disable=import-outside-toplevel

    import ansible.release  # pylint: disable=import-outside-toplevel
    import jinja2  # pylint: disable=import-outside-toplevel

    environment = jinja_bits.AnsibleEnvironment
    compile_source = environment.compile
    directory = _cache_directory("jinja", f"{ansible.release.__version__}-{jinja2.__version__}-"
                                          f"{sys.implementation.cache_tag}")

    def compile_cached(self, source, name=None, filename=None, raw=False, defer_init=False):
        if not isinstance(source, str) or name or filename or raw or defer_init \
                or self._debuggable_template_source or callable(self.autoescape):  # pylint: disable=protected-access
            return compile_source(self, source, name, filename, raw, defer_init)
        context = jinja_bits._TemplateCompileContext.current(optional=True)  # pylint: disable=protected-access
        settings = (type(self).__module__, type(self).__qualname__, self.code_generator_class.__qualname__,
                    getattr(context, "escape_backslashes", None),
                    jinja_bits._TemplateConfig.allow_embedded_templates,  # pylint: disable=protected-access
                    sorted(self.extensions), [getattr(self, setting) for setting in _LEXER_SETTINGS])
        key = hashlib.sha256(repr((str(source), settings)).encode("utf-8", "surrogatepass")).hexdigest()
        return _on_disk(directory, key, lambda: compile_source(self, source, name, filename, raw, defer_init),
                        marshal.dump, marshal.load)

    environment.compile = compile_cached


def _mitogen_cache():
    """The directory of what mitogen's multiplexer works out from a module's source, and the key of a value of it."""
    import hashlib  # pylint: disable=import-outside-toplevel

    import mitogen  # pylint: disable=import-outside-toplevel

    directory = _cache_directory("mitogen", f"{'.'.join(map(str, mitogen.__version__))}-{sys.implementation.cache_tag}")
    return directory, lambda *parts: hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _cache_compiles(module):
    """mitogen.master / ansible_mitogen.module_finder: the ``compile`` of a module's source (to find its imports)."""
    import marshal  # pylint: disable=import-outside-toplevel

    directory, digest = _mitogen_cache()

    def compile_cached(source, filename, mode, *args, **kwargs):
        if args or kwargs or not isinstance(source, (str, bytes)):
            return compile(source, filename, mode, *args, **kwargs)
        return _on_disk(directory, digest("compile", source, str(filename), mode),
                        lambda: compile(source, filename, mode), marshal.dump, marshal.load)

    module.compile = compile_cached


def _cache_minimized(minify):
    """mitogen.minify: ``minimize_source`` (a module's source without comments and docstrings)."""
    directory, digest = _mitogen_cache()
    minimize_source = minify.minimize_source

    def minimize_source_cached(source):
        return _on_disk(directory, digest("minimize", source), lambda: minimize_source(source),
                        lambda text, file: file.write(text.encode("utf-8")), lambda file: file.read().decode("utf-8"))

    minify.minimize_source = minimize_source_cached


def _render_variables_once(jinja_bits):
    from ansible._internal._templating._lazy_containers import _AnsibleLazyTemplateMixin  # pylint: disable=import-outside-toplevel
    from ansible._internal._templating._utils import TemplateContext  # pylint: disable=import-outside-toplevel

    flatten_and_lazify = jinja_bits._flatten_and_lazify_vars  # pylint: disable=protected-access
    plain = (dict, jinja_bits._AnsibleTaggedDict)  # pylint: disable=protected-access

    def flatten_and_lazify_once(mapping):
        context = TemplateContext.current(optional=True) if type(mapping) in plain and mapping else None
        if context is None:
            yield from flatten_and_lazify(mapping)
            return
        top = context
        while top._parent_ctx:  # pylint: disable=protected-access
            top = top._parent_ctx  # pylint: disable=protected-access
        copies = top.__dict__.setdefault("_seed_lazy_variables", {})
        key = (id(mapping), id(context.templar))
        made = copies.get(key)
        if made is None or made[0] is not mapping or made[1] is not context.templar:  # ids alone could be reused
            made = copies[key] = (mapping, context.templar, _AnsibleLazyTemplateMixin._try_create(mapping))  # pylint: disable=protected-access
        yield made[2]

    jinja_bits._flatten_and_lazify_vars = flatten_and_lazify_once  # pylint: disable=protected-access


def _templating(jinja_bits):
    _cache_compiled_templates(jinja_bits)
    _render_variables_once(jinja_bits)


def _run_next_sitecustomize():
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


for _name, _patch in (("botocore.session", _share_loaders), ("boto3.session", _reuse_clients), ("ansible_mitogen.affinity", _unpin),
                      ("ansible_mitogen.strategy", _list_collections_once),
                      ("ansible_mitogen.connection", _interpreter_per_host),
                      ("mitogen.minify", _cache_minimized), ("mitogen.master", _cache_compiles),
                      ("ansible_mitogen.module_finder", _cache_compiles),
                      ("ansible._internal._templating._jinja_bits", _templating),
                      ("ansible.plugins.loader", _note_plugin_loads), ("ansible.plugins.strategy", _load_plugins_before_forking)):
    if _name not in sys.modules:
        sys.meta_path.insert(0, _AfterExecHook(_name, _patch))
_run_next_sitecustomize()
