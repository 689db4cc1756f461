// The `crew` command line's verbs: options and handlers, one small function each (verb_table.hpp).
#include "cli/verb_table.hpp"

#include <algorithm>
#include <cstdlib>

#include "cli/shell.hpp"
#include "crew/error.hpp"

namespace crew::cli {

void add_common_options(CLI::App& app, Common& c, Reach reach) {
  app.add_option("--profile", c.profile, "cluster profile ($CREW_HOME/profile_<name>, default ~/.crew)")
      ->capture_default_str();
  app.add_flag("--json", c.json, "machine-readable output (one line of JSON; a failure is one {\"$error\": ...})");
  app.add_option("--connect-timeout", c.connect_timeout_s, "seconds the controller may take to answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  if (reach == Reach::local) return;
  if (app.get_option_no_throw("--ssh") == nullptr)
    app.add_option("--ssh", c.ssh,
                   "[user@]host[:port]: reach the controller through ssh to its host (one shared connection, with "
                   "your ~/.ssh/config; a profile made by `crew profile import` does this by itself)");
  app.add_option("--timeout", c.timeout_s,
                 reach == Reach::engines
                     ? "seconds the whole command may take, waiting for results included (default: no limit); "
                       "then exit 4, naming the tasks still running and how to fetch them"
                     : "seconds the whole command may take (default: no limit beyond --connect-timeout)")
      ->check(CLI::PositiveNumber);
  if (reach == Reach::engines)
    app.add_option("-t,--targets", c.targets, "engines: all, ids and ranges, e.g. 0,2-3")->capture_default_str();
}

void add_remote_options(CLI::App& app, Common& c) {
  app.add_option("--ssh", c.ssh,
                 "[user@]host[:port]: run this on that host (a login node) over ssh; a start brings the "
                 "cluster's connection file back into --profile here, so every verb reaches it through ssh");
  app.add_option("--remote-crew", c.remote_crew,
                 "with --ssh: the command that runs crew on that host, for its shell (e.g. '/opt/crew/bin/crew' or "
                 "'module load crew; crew')")
      ->capture_default_str();
}

namespace {

// --- the load balancer's options, shared by call and map ----------------------------------------

void add_balance_options(CLI::App& cmd, BalanceArgs& b) {
  cmd.add_option("--after", b.after,
                 "run once this task (msg id) has succeeded; repeat for several: --after A --after B");
  cmd.add_option("--follow", b.follow, "run where this task (msg id) ran; repeat for several");
  cmd.add_flag("--any", b.any, "--after/--follow: met by any one of them, not all");
  cmd.add_flag("--allow-failure", b.allow_failure, "--after/--follow: failed prerequisites count too");
  cmd.add_option("--task-timeout", b.task_timeout_s, "fail a task not handed to an engine within this many seconds")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--retries", b.retries, "run a failed task again, on another engine where possible")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--require,--requires", b.require,
                 "KEY=VALUE engine property a task needs, e.g. gpu=true; repeat for several");
  cmd.add_flag("--no-wait", b.no_wait, "submit, print the task ids and return (see `crew results`)");
}

// --- verbs on a running cluster -----------------------------------------------------------------

void functions_options(CLI::App& cmd, Args& a) {
  cmd.add_flag("--all", a.all, "also crew's internal functions (crew.*)");
}

void call_options(CLI::App& cmd, Args& a) {
  cmd.add_option("function", a.function, "function name (`crew functions` lists them)")->required();
  cmd.add_option("args", a.values, "arguments as JSON: 5 '\"text\"' '[1,2]' '{\"$ref\": \"a\"}'");
  cmd.add_flag("--lb", a.lb, "load-balanced: one task, on whichever engine of --targets is free");
  cmd.add_flag("--follow-output", a.follow_output,
               "print what the task writes as it writes it (tagged by engine and rank), then its result");
  add_balance_options(cmd, a.balance);
}

void tail_options(CLI::App& cmd, Args& a) {
  cmd.add_flag("-f,--follow", a.tail.follow,
               "follow (the default: crew tail always follows; stop it with Ctrl-C or "
               "--timeout)");
  cmd.add_option("--task", a.tail.msg_ids, "only these tasks' output (msg id; repeat for several)");
  cmd.add_flag("--no-status", a.tail.no_status, "output only, not the engines' status changes");
  cmd.add_flag("--activity", a.tail.activity,
               "also when engines become busy (given work while idle) and idle (done with all they had)");
}

int run_call(Args& a) {
  if (!a.lb && a.balance.given())
    throw_error(errc::bad_option,
                "--after, --follow, --task-timeout, --retries, --require and --no-wait are for load-balanced "
                "calls: add --lb");
  // The builtin `functions` answers one list per engine: shown as `crew functions` shows it.
  if (a.follow_output && a.balance.no_wait)
    throw_error(errc::bad_option, "--follow-output waits for the task, and --no-wait does not: choose one");
  if (!a.lb && a.function == "functions" && a.values.empty() && !a.common.json) return functions(a.common, false);
  return a.lb ? call_balanced(a.common, a.function, a.values, a.balance, a.follow_output)
              : call(a.common, a.function, a.values, a.follow_output);
}

void map_options(CLI::App& cmd, Args& a) {
  cmd.add_option("function", a.function, "function of one item")->required();
  cmd.add_option("sequence", a.map.json, "the items as a JSON list, e.g. '[1,2,3]'");
  cmd.add_option("--npy", a.map.npy, "read the items from a NumPy .npy file (along its first axis)");
  cmd.add_option("--out", a.map.out, "write the results to a NumPy .npy file (numbers only)");
  cmd.add_flag("--lb", a.map.balanced, "load-balanced: chunks go to whichever engines are free");
  cmd.add_option("--chunksize", a.map.chunksize, "items per task (default: from the length and the engines)")
      ->check(CLI::PositiveNumber);
  cmd.add_flag("--unordered", a.map.unordered, "results as chunks finish, not in item order");
  add_balance_options(cmd, a.balance);
}

void abort_options(CLI::App& cmd, Args& a) {
  cmd.add_option("msg_ids", a.msg_ids, "task ids (as `crew call --lb` prints them)")->required();
}

/// --db-path of the verbs that read task records (results, history).
void add_read_db_option(CLI::App& cmd, std::string& db_path) {
  cmd.add_option("--db-path", db_path,
                 "read this task database instead of a controller (with none running: the profile's, where "
                 "its last --db sqlite controller kept it)");
}

void results_options(CLI::App& cmd, Args& a) {
  cmd.add_option("msg_ids", a.msg_ids, "task ids")->required();
  cmd.add_flag("--wait", a.wait, "wait for pending ones (at most --timeout)");
  add_read_db_option(cmd, a.history.db_path);
}

void history_options(CLI::App& cmd, Args& a) {
  cmd.add_option("--since", a.history.since, "submitted within this age: 90s, 10m, 1h, 2d");
  cmd.add_option("--status", a.history.status, "pending, ok or failed (repeat for more)");
  cmd.add_option("--last", a.history.last, "only the newest N of those");
  add_read_db_option(cmd, a.history.db_path);
}

void purge_options(CLI::App& cmd, Args& a) {
  cmd.add_option("msg_ids", a.purge.msg_ids, "task ids to forget");
  cmd.add_flag("--all", a.purge.all, "every finished task");
  cmd.add_option("--before", a.purge.before, "finished tasks submitted longer ago than this age: 90s, 10m, 1h, 2d");
}

void exec_options(CLI::App& cmd, Args& a) {
  cmd.add_option("command", a.command, "the command, run with /bin/sh -c")->required();
}

void push_options(CLI::App& cmd, Args& a) {
  cmd.add_option("assignments", a.words, "e.g. a='[1,2,3]' b='\"text\"'")->required();
}

void pull_options(CLI::App& cmd, Args& a) { cmd.add_option("names", a.words, "variable names")->required(); }

void scatter_options(CLI::App& cmd, Args& a) {
  cmd.add_option("name", a.name, "variable to set on each engine")->required();
  cmd.add_option("sequence", a.data_json, "the sequence as a JSON list, e.g. '[1,2,3,4]'");
  cmd.add_option("--npy", a.npy, "read the sequence from a NumPy .npy file (split along the first axis)");
}

void gather_options(CLI::App& cmd, Args& a) {
  cmd.add_option("name", a.name, "variable to gather")->required();
  cmd.add_option("--npy", a.npy, "write the joined array to a NumPy .npy file (a large one is not printed)");
}

void reduce_options(CLI::App& cmd, Args& a) {
  cmd.add_option("name", a.name, "variable to reduce (a number or an array on every engine)")->required();
  cmd.add_option("--op", a.op, "sum, prod, min or max")->capture_default_str();
  cmd.add_option("--npy", a.npy, "write the result to a NumPy .npy file (a large one is not printed)");
}

constexpr const char* engines_directory =
    " (a relative path is relative to the engines' working directory: where `crew cluster start` ran)";

void save_h5_options(CLI::App& cmd, Args& a) {
  cmd.add_option("file", a.file, std::string("HDF5 file on the engines' file system (replaced)") + engines_directory)
      ->required();
  cmd.add_option("name", a.name, "variable to write")->required();
  cmd.add_option("--dataset", a.dataset, "dataset path in the file (default: /NAME)");
}

void load_h5_options(CLI::App& cmd, Args& a) {
  cmd.add_option("file", a.file, std::string("HDF5 file on the engines' file system") + engines_directory)->required();
  cmd.add_option("dataset", a.dataset, "dataset path in the file, e.g. /x")->required();
  cmd.add_option("name", a.name, "variable to set on each engine")->required();
}

void no_options(CLI::App&, Args&) {}

void add_curve_options(CLI::App& cmd, bool& on, bool& off) {
  cmd.add_flag("--curve", on,
               "CurveZMQ: encrypt every connection and admit only the profile's keys (`crew keys`); the default "
               "whenever the controller listens beyond loopback");
  cmd.add_flag("--no-curve", off, "plaintext even beyond loopback (messages stay HMAC-signed): trusted networks only");
}

// --- clusters: what every world's job is launched with (start, add and jobscript share it) -----

void add_launch_options(CLI::App& cmd, StartArgs& s) {
  cmd.add_option("--launcher", s.launcher,
                 "local (mpirun here), ssh (--hosts), slurm, pbs, sge, lsf, or a site's own (`crew launchers`)")
      ->capture_default_str();
  cmd.add_option("--mpirun-args", s.mpirun_args, "extra mpirun arguments, e.g. \"--bind-to none\"");
  cmd.add_option("--plugin", s.plugins, "plugin library for every engine; repeat for several");
  cmd.add_option("--property", s.properties,
                 "KEY=VALUE every engine offers to load-balanced tasks' `require`; repeat for several");
  cmd.add_option("--hosts", s.hosts, "ssh: hosts and slots, e.g. nodeA:2,nodeB:2")->group("SSH");
}

void add_batch_options(CLI::App& cmd, StartArgs& s) {
  const std::string batch = "Batch jobs";
  cmd.add_option("--queue,-q", s.queue, "batch: the queue (Slurm partition) to submit to")->group(batch);
  cmd.add_option("--account,-A", s.account, "batch: the account or project to charge")->group(batch);
  cmd.add_option("--walltime", s.walltime, "batch: the jobs' time limit, H:MM:SS, D-H:MM:SS or minutes")->group(batch);
  cmd.add_option("--nodes", s.nodes, "batch: nodes per world (default: the scheduler's choice)")
      ->check(CLI::PositiveNumber)
      ->group(batch);
  cmd.add_option("--ranks-per-node", s.ranks_per_node, "batch: engines per node")
      ->check(CLI::PositiveNumber)
      ->group(batch);
  cmd.add_option("--job-option", s.job_options,
                 "batch: a line for the script's header, e.g. '#SBATCH --mem=4G'; repeat for several")
      ->group(batch);
  cmd.add_option("--prologue", s.prologue,
                 "a line the job runs before mpirun, e.g. 'module load openmpi'; repeat for several")
      ->group(batch);
  cmd.add_option("--set", s.assignments, "NAME=VALUE for a job-script template variable; repeat for several")
      ->group(batch);
  cmd.add_option("--template", s.template_file, "the job-script template to use instead of the launcher's")
      ->group(batch);
  cmd.add_option("--connection", s.connection,
                 "how engines get the connection file: auto, profile (a shared file system) or embed (in the "
                 "job script)")
      ->check(CLI::IsMember({"auto", "profile", "embed"}))
      ->group(batch);
}

/// Where a new controller keeps its task records (cluster start, controller).
void add_db_options(CLI::App& cmd, DbArgs& d) {
  const std::string group = "Task records";
  cmd.add_option("--db", d.db,
                 "memory (default) or sqlite: every task's record and result also in a SQLite file, read back "
                 "when memory drops it and after a restart")
      ->check(CLI::IsMember({"memory", "sqlite"}))
      ->group(group);
  cmd.add_option("--db-path", d.path, "the SQLite file (implies --db sqlite; default: the profile's tasks.db)")
      ->group(group);
  cmd.add_option("--db-sync", d.sync,
                 "normal (default: a result is on file before its client hears of it) or full (also flushed to "
                 "the disk: survives a power cut)")
      ->check(CLI::IsMember({"normal", "full"}))
      ->group(group);
  cmd.add_option("--result-store", d.result_store_bytes,
                 "results' bytes the controller keeps in memory, e.g. 1G (default 64M); beyond it the oldest "
                 "delivered ones go, read back from the --db file if there is one")
      ->transform(CLI::AsSizeValue(false))
      ->group(group);
  cmd.add_option("--max-records", d.max_records,
                 "finished tasks' records the controller keeps in memory (default 100000); beyond it the oldest "
                 "go: read back from the --db file if there is one, else forgotten as if purged")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
      ->group(group);
  cmd.add_option("--db-max-result", d.max_result_bytes,
                 "results above this size are not written to the file, only sent to their client (default 512M)")
      ->transform(CLI::AsSizeValue(false))
      ->group(group);
  cmd.add_option("--orphan-timeout", d.orphan_timeout_s,
                 "with --db sqlite: seconds a world whose controller died keeps running, waiting for a restored "
                 "one (crew controller --restore), before it stops (default 600)")
      ->check(CLI::Range(1, 30 * 24 * 3600))
      ->group(group);
}

/// The balancer's settings of a new controller (cluster start).
void add_balancer_options(CLI::App& cmd, StartArgs& s) {
  cmd.add_option("--scheme", s.scheme, "load-balancing scheme: leastload (default), lru, weighted, random, twobin");
  cmd.add_option("--hwm", s.hwm,
                 "balanced tasks in flight per engine at most (default 0: automatic, deep for short tasks, "
                 "one at a time for long ones)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--drain-margin", s.drain_margin_s,
                 "seconds before a world's job ends from which it gets no new load-balanced tasks")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

void cluster_start_options(CLI::App& cmd, Args& a) {
  StartArgs& s = a.start;
  cmd.add_option("-n,--engines", s.engines,
                 "number of engines (MPI ranks); default: one per core, or the --hosts slots");
  add_launch_options(cmd, s);
  add_batch_options(cmd, s);
  cmd.add_flag("--no-oversubscribe", s.no_oversubscribe,
               "refuse more engines than cores instead of passing --oversubscribe");
  cmd.add_option("--wait", s.wait_s,
                 "seconds to wait for every engine to register (batch: counted once the jobs leave the queue)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd.add_option("--ip", s.ip,
                 "address the controller binds: auto (this host's first network address), an address, or "
                 "0.0.0.0 for all (default: 127.0.0.1 for the local launcher, auto for the others)");
  cmd.add_option("--interface", s.interface, "bind to this interface's address, e.g. ib0");
  add_curve_options(cmd, s.curve, s.no_curve);
  cmd.add_option("--heartbeat-ms", s.heartbeat_ms, "engine heartbeat period")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  cmd.add_option("--max-message-size", s.max_message_bytes,
                 "largest request the controller takes, e.g. 64G (default 16G)")
      ->transform(CLI::AsSizeValue(false));
  cmd.add_option("--worlds", s.worlds, "split the engines over this many MPI jobs (worlds)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_balancer_options(cmd, s);
  add_db_options(cmd, s.db);
  cmd.add_flag("--fresh", s.fresh,
               "if the profile's controller died while its worlds run (with --db sqlite), start anew, stopping "
               "them, rather than restore it")
      ->group("Task records");
}

void cluster_add_options(CLI::App& cmd, Args& a) {
  StartArgs& s = a.start;
  cmd.add_option("-n,--engines", s.engines, "number of engines to add (default: the --hosts slots)");
  cmd.add_option("--worlds", s.worlds, "split them over this many MPI jobs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_launch_options(cmd, s);
  add_batch_options(cmd, s);
  cmd.add_flag("--no-oversubscribe", s.no_oversubscribe, "refuse more engines than cores");
  cmd.add_option("--wait", s.wait_s, "seconds to wait for them to register")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void cluster_stop_options(CLI::App& cmd, Args& a) {
  cmd.add_option("--grace", a.grace,
                 "seconds to wait for a clean exit before signalling (default: $CREW_STOP_GRACE or 10)")
      ->check(CLI::PositiveNumber);
}

/// --grace, else CREW_STOP_GRACE, else 10 s: processes that exit slowly everywhere (under the
/// sanitizers, whose leak check at exit takes seconds) get more time without every script saying so.
double stop_grace(double given) {
  if (given > 0) return given;
  const char* env = std::getenv("CREW_STOP_GRACE");
  if (env == nullptr || *env == '\0') return 10;
  char* end = nullptr;
  const double seconds = std::strtod(env, &end);
  if (end == env || *end != '\0' || !(seconds > 0))
    throw_error(errc::bad_option, std::string("CREW_STOP_GRACE=") + env + " is no number of seconds above 0",
                "set it to e.g. 30, or unset it (then `crew cluster stop` waits 10 s)");
  return seconds;
}

void jobscript_options(CLI::App& cmd, Args& a) {
  cmd.add_option("-n,--engines", a.start.engines, "engines (MPI ranks) in the world")->capture_default_str();
  add_launch_options(cmd, a.start);
  add_batch_options(cmd, a.start);
  cmd.add_option("-o,--output-script", a.script_out, "write the script to this file (mode 0600), not stdout");
  cmd.add_option("--job-output", a.start.output,
                 "the job's own output file (default: the scheduler's, in the directory it runs in)");
  cmd.add_option("--workdir", a.start.workdir, "the directory the job runs in (default: this one)");
  cmd.add_flag("--variables", a.list_variables, "list the template variables instead");
}

void controller_options(CLI::App& cmd, Args& a) {
  ControllerArgs& c = a.controller;
  cmd.add_option("--ip", c.ip, "address to bind: an address, auto (this host's first network address) or 0.0.0.0")
      ->capture_default_str();
  cmd.add_option("--interface", c.interface, "bind to this interface's address, e.g. ib0");
  add_curve_options(cmd, c.curve, c.no_curve);
  cmd.add_option("--port", c.client_port, "client port (0: a free one)")->capture_default_str();
  cmd.add_option("--engine-port", c.engine_port, "engine port (0: a free one)")->capture_default_str();
  cmd.add_option("--heartbeat-ms", c.heartbeat_ms, "engine heartbeat period")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  cmd.add_option("--ready-fd", c.ready_fd, "write 'ready' to this descriptor once serving")->group("");
  cmd.add_option("--max-message-size", c.max_message_bytes, "largest request to take, e.g. 64G (default 16G)")
      ->transform(CLI::AsSizeValue(false));
  cmd.add_option("--log-level", c.log_level, "trace, debug, info, warn, error");
  cmd.add_option("--scheme", c.scheme, "load-balancing scheme: leastload, lru, weighted, random, twobin")
      ->capture_default_str();
  cmd.add_option("--hwm", c.hwm, "balanced tasks in flight per engine at most (0: automatic)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--drain-margin", c.drain_margin_s, "seconds before a world's job ends: no new balanced tasks")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_db_options(cmd, c.db);
  cmd.add_flag("--restore", c.restore,
               "take over from the profile's controller that died: its key, ports and task database (the file "
               "it kept, or --db-path); its worlds reattach with their engine ids and the tasks they hold")
      ->group("Task records");
}

const std::vector<Verb> top_level = {
    {"ids", "list the ids of the alive engines", Reach::controller, no_options, [](Args& a) { return ids(a.common); }},
    {"engines", "table of engines: id, host, pid, MPI rank, world, state", Reach::controller, no_options,
     [](Args& a) { return engines(a.common); }},
    {"functions", "table of the functions the engines offer (crew's own crew.* hidden)", Reach::engines,
     functions_options, [](Args& a) { return functions(a.common, a.all); }},
    {"call", "call a registered function on engines; arguments are JSON literals", Reach::engines, call_options,
     run_call},
    {"tail", "follow the engines' output as their tasks write it, and their status (-f; Ctrl-C or --timeout ends it)",
     Reach::engines, tail_options, [](Args& a) { return tail(a.common, a.tail); }},
    {"map", "FN on every item of a sequence (JSON or --npy): one part per engine, or load-balanced chunks (--lb)",
     Reach::engines, map_options, [](Args& a) { return map(a.common, a.function, a.map, a.balance); }},
    {"queue", "tasks in flight per engine, and balanced tasks waiting", Reach::controller, no_options,
     [](Args& a) { return queue(a.common); }},
    {"abort", "abort tasks that have not started, queued or on an engine (they fail as aborted)", Reach::controller,
     abort_options, [](Args& a) { return abort(a.common, a.msg_ids); }},
    {"results", "status and result of tasks by msg id (any client's)", Reach::controller, results_options,
     [](Args& a) { return results(a.common, a.msg_ids, a.wait, a.history.db_path); }},
    {"history", "the tasks on record, oldest first: id, function, engine, status, times (--targets: by engine)",
     Reach::engines, history_options, [](Args& a) { return history(a.common, a.history); }},
    {"purge", "forget finished tasks and their results (ids, --all or --before AGE); pending ones stay",
     Reach::controller, purge_options, [](Args& a) { return purge(a.common, a.purge); }},
    {"exec", "run a shell command on each engine's host (exit 1 if any fails)", Reach::engines, exec_options,
     [](Args& a) { return exec(a.common, a.command); }},
    {"push", "set variables in the engines' namespaces: NAME=JSON ...", Reach::engines, push_options,
     [](Args& a) { return push(a.common, a.words); }},
    {"pull", "read variables from the engines' namespaces", Reach::engines, pull_options,
     [](Args& a) { return pull(a.common, a.words); }},
    {"scatter", "split a sequence over the engines (contiguous parts in engine order) and set NAME to each part",
     Reach::engines, scatter_options, [](Args& a) { return scatter(a.common, a.name, a.data_json, a.npy); }},
    {"gather", "join the engines' NAME in engine order (the inverse of scatter)", Reach::engines, gather_options,
     [](Args& a) { return gather(a.common, a.name, a.npy); }},
    {"reduce", "combine the engines' NAME element by element (MPI_Reduce)", Reach::engines, reduce_options,
     [](Args& a) { return reduce(a.common, a.name, a.op, a.npy); }},
    {"save-h5", "write the engines' array NAME as one dataset of one HDF5 file (parallel HDF5)", Reach::engines,
     save_h5_options, [](Args& a) { return save_h5(a.common, a.file, a.name, a.dataset); }},
    {"load-h5", "read an HDF5 dataset into NAME, split over the engines like scatter", Reach::engines, load_h5_options,
     [](Args& a) { return load_h5(a.common, a.file, a.dataset, a.name); }},
    {"shutdown", "stop the engines and the controller (prefer `crew cluster stop`)", Reach::controller, no_options,
     [](Args& a) { return shutdown(a.common); }},
    {"cluster", "start, stop and inspect clusters", Reach::local, nullptr, nullptr},  // group_verbs()
    {"profile", "profiles of clusters elsewhere: import one from a login node", Reach::local, nullptr,
     nullptr},  // group_verbs()
    {"keys", "the CURVE keys the profile's controller admits: list, add, revoke", Reach::local, nullptr,
     nullptr},  // group_verbs()
    {"jobscript", "print the job script of one world (to submit by hand: its engines join the running controller)",
     Reach::local, jobscript_options,
     [](Args& a) { return jobscript(a.common, a.start, a.script_out, a.list_variables); }},
    {"launchers", "the launchers found (built in, site, user) and what each needs", Reach::local, no_options,
     [](Args& a) { return launchers(a.common); }},
    {"shell", "an interactive session: the verbs with history and Tab completion, %px, names that keep results",
     Reach::local, no_options, [](Args& a) { return shell(a.common); }},
    {"controller", "run a controller in the foreground (`cluster start` does this for you)", Reach::local,
     controller_options, [](Args& a) { return controller(a.common, a.controller); }},
};

void profile_import_options(CLI::App& cmd, Args& a) {
  cmd.add_option("source", a.name,
                 "[user@]host[:port][:PATH]: the controller.json to copy over ssh (default PATH: "
                 ".crew/profile_default/controller.json in the remote home)")
      ->required();
}

const std::vector<Verb> under_profile = {
    {"import",
     "copy a controller's connection file from another host over ssh into --profile; the profile's clients then "
     "reach that controller through ssh",
     Reach::local, profile_import_options, [](Args& a) { return profile_import(a.common, a.name); }},
};

void keys_add_options(CLI::App& cmd, Args& a) {
  cmd.add_option("name", a.keys.name, "a name for the key, e.g. alice@laptop")->required();
  cmd.add_option("public_key", a.keys.public_key,
                 "someone's own CURVE public key (40 characters of Z85); without it, crew makes a pair and writes "
                 "a connection file that carries it (-o)");
  cmd.add_option("--role", a.keys.role, "client (the client port) or world (the engine port)")
      ->capture_default_str()
      ->check(CLI::IsMember({"client", "world"}));
  cmd.add_option("-o,--output", a.keys.output,
                 "without public_key: the connection file to write (mode 0600; default ./controller-NAME.json)");
}

void keys_revoke_options(CLI::App& cmd, Args& a) {
  cmd.add_option("key", a.keys.name, "the key's name, or its public key")->required();
}

const std::vector<Verb> under_keys = {
    {"list", "every key on record: name, role, public key, when added, revoked or not", Reach::local, no_options,
     [](Args& a) { return keys_list(a.common); }},
    {"add", "admit a key: someone's public key, or a new pair written into a connection file to hand out", Reach::local,
     keys_add_options, [](Args& a) { return keys_add(a.common, a.keys); }},
    {"revoke", "refuse a key from its next connection on (it stays listed as revoked)", Reach::local,
     keys_revoke_options, [](Args& a) { return keys_revoke(a.common, a.keys); }},
};

const std::vector<Verb> under_cluster = {
    {"start", "start a controller and MPI worlds of engines through a launcher; returns when all registered",
     Reach::local, cluster_start_options, [](Args& a) { return cluster_start(a.common, a.start); }},
    {"add", "attach more engines (new MPI worlds) to a running cluster", Reach::local, cluster_add_options,
     [](Args& a) { return cluster_add(a.common, a.start); }},
    {"stop", "stop everything `cluster start` started, and confirm it is gone", Reach::local, cluster_stop_options,
     [](Args& a) { return cluster_stop(a.common, stop_grace(a.grace)); }},
    {"status", "is the cluster running? (exit 3 if not)", Reach::controller, no_options,
     [](Args& a) { return cluster_status(a.common); }},
    {"list", "every profile and whether its cluster runs", Reach::controller, no_options,
     [](Args& a) { return cluster_list(a.common); }},
};

}  // namespace

const std::vector<Verb>& verbs() { return top_level; }
const std::vector<Verb>& group_verbs(std::string_view group) {
  if (group == "profile") return under_profile;
  if (group == "keys") return under_keys;
  return under_cluster;
}

}  // namespace crew::cli
