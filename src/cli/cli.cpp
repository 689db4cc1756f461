// The `crew` command line: verbs on a running cluster, `cluster` and `controller`.
#include "cli/cli.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>

#include "cli/output.hpp"
#include "cli/usage.hpp"
#include "cli/verbs.hpp"
#include "crew/error.hpp"
#include "crew/version.hpp"

namespace crew::cli {
namespace {

void add_common(CLI::App* app, Common& c, bool with_targets) {
  app->add_option("--profile", c.profile, "cluster profile ($CREW_HOME/profile_<name>, default ~/.crew)")
      ->capture_default_str();
  app->add_flag("--json", c.json, "machine-readable output (one line of JSON)");
  app->add_option("--timeout", c.timeout_s, "seconds to wait for the controller to answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  if (with_targets)
    app->add_option("-t,--targets", c.targets, "engines: all, ids and ranges, e.g. 0,2-3")->capture_default_str();
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"crew: a hybrid MPI + ZeroMQ parallel executor.\n"
               "Start a cluster with `crew cluster start -n 4`, then call functions on its engines.",
               "crew"};
  app.set_version_flag("--version", std::string("crew ") + version_string);
  app.require_subcommand(0, 1);  // bare `crew` prints the help, as kubectl does
  Common common;
  std::function<int()> action;

  auto* ids_cmd = app.add_subcommand("ids", "list the ids of the alive engines");
  add_common(ids_cmd, common, false);
  ids_cmd->callback([&] { action = [&] { return ids(common); }; });

  auto* engines_cmd = app.add_subcommand("engines", "table of engines: id, host, pid, MPI rank, world, state");
  add_common(engines_cmd, common, false);
  engines_cmd->callback([&] { action = [&] { return engines(common); }; });

  bool all_functions = false;
  auto* functions_cmd =
      app.add_subcommand("functions", "table of the functions the engines offer (crew's own crew.* hidden)");
  add_common(functions_cmd, common, true);
  functions_cmd->add_flag("--all", all_functions, "also crew's internal functions (crew.*)");
  functions_cmd->callback([&] { action = [&] { return functions(common, all_functions); }; });

  std::string function;
  std::vector<std::string> values;
  BalanceArgs balance;
  bool lb = false;
  auto add_balance = [&](CLI::App* cmd) {
    cmd->add_option("--after", balance.after,
                    "run once this task (msg id) has succeeded; repeat for several: --after A --after B");
    cmd->add_option("--follow", balance.follow, "run where this task (msg id) ran; repeat for several");
    cmd->add_flag("--any", balance.any, "--after/--follow: met by any one of them, not all");
    cmd->add_flag("--allow-failure", balance.allow_failure, "--after/--follow: failed prerequisites count too");
    cmd->add_option("--task-timeout", balance.task_timeout_s,
                    "fail a task not handed to an engine within this many seconds")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--retries", balance.retries, "run a failed task again, on another engine where possible")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--require,--requires", balance.require,
                    "KEY=VALUE engine property a task needs, e.g. gpu=true; repeat for several");
    cmd->add_flag("--no-wait", balance.no_wait, "submit, print the task ids and return (see `crew results`)");
  };
  auto* call_cmd = app.add_subcommand("call", "call a registered function on engines; arguments are JSON literals");
  add_common(call_cmd, common, true);
  call_cmd->add_option("function", function, "function name (`crew functions` lists them)")->required();
  call_cmd->add_option("args", values, "arguments as JSON: 5 '\"text\"' '[1,2]' '{\"$ref\": \"a\"}'");
  call_cmd->add_flag("--lb", lb, "load-balanced: one task, on whichever engine of --targets is free");
  add_balance(call_cmd);
  call_cmd->callback([&] {
    action = [&] {
      if (!lb && balance.given())
        throw_error(errc::bad_option,
                    "--after, --follow, --task-timeout, --retries, --require and --no-wait are for load-balanced "
                    "calls: add --lb");
      // The builtin `functions` answers one list per engine: shown as `crew functions` shows it.
      if (!lb && function == "functions" && values.empty() && !common.json) return functions(common, false);
      return lb ? call_balanced(common, function, values, balance) : call(common, function, values);
    };
  });

  MapArgs map_args;
  auto* map_cmd = app.add_subcommand(
      "map", "FN on every item of a sequence (JSON or --npy): one part per engine, or load-balanced chunks (--lb)");
  add_common(map_cmd, common, true);
  map_cmd->add_option("function", function, "function of one item")->required();
  map_cmd->add_option("sequence", map_args.json, "the items as a JSON list, e.g. '[1,2,3]'");
  map_cmd->add_option("--npy", map_args.npy, "read the items from a NumPy .npy file (along its first axis)");
  map_cmd->add_option("--out", map_args.out, "write the results to a NumPy .npy file (numbers only)");
  map_cmd->add_flag("--lb", map_args.balanced, "load-balanced: chunks go to whichever engines are free");
  map_cmd->add_option("--chunksize", map_args.chunksize, "items per task (default: from the length and the engines)")
      ->check(CLI::PositiveNumber);
  map_cmd->add_flag("--unordered", map_args.unordered, "results as chunks finish, not in item order");
  add_balance(map_cmd);
  map_cmd->callback([&] { action = [&] { return map(common, function, map_args, balance); }; });

  auto* queue_cmd = app.add_subcommand("queue", "tasks in flight per engine, and balanced tasks waiting");
  add_common(queue_cmd, common, false);
  queue_cmd->callback([&] { action = [&] { return queue(common); }; });

  std::vector<std::string> msg_ids;
  auto* abort_cmd =
      app.add_subcommand("abort", "abort tasks that have not reached an engine yet (they fail as aborted)");
  add_common(abort_cmd, common, false);
  abort_cmd->add_option("msg_ids", msg_ids, "task ids (as `crew call --lb` prints them)")->required();
  abort_cmd->callback([&] { action = [&] { return abort(common, msg_ids); }; });

  bool wait_results = false;
  auto* results_cmd = app.add_subcommand("results", "status and result of tasks by msg id (any client's)");
  add_common(results_cmd, common, false);
  results_cmd->add_option("msg_ids", msg_ids, "task ids")->required();
  results_cmd->add_flag("--wait", wait_results, "wait for pending ones");
  results_cmd->callback([&] { action = [&] { return results(common, msg_ids, wait_results); }; });

  std::string command;
  auto* exec_cmd = app.add_subcommand("exec", "run a shell command on each engine's host (exit 1 if any fails)");
  add_common(exec_cmd, common, true);
  exec_cmd->add_option("command", command, "the command, run with /bin/sh -c")->required();
  exec_cmd->callback([&] { action = [&] { return exec(common, command); }; });

  std::vector<std::string> assignments;
  auto* push_cmd = app.add_subcommand("push", "set variables in the engines' namespaces: NAME=JSON ...");
  add_common(push_cmd, common, true);
  push_cmd->add_option("assignments", assignments, "e.g. a='[1,2,3]' b='\"text\"'")->required();
  push_cmd->callback([&] { action = [&] { return push(common, assignments); }; });

  std::vector<std::string> names;
  auto* pull_cmd = app.add_subcommand("pull", "read variables from the engines' namespaces");
  add_common(pull_cmd, common, true);
  pull_cmd->add_option("names", names, "variable names")->required();
  pull_cmd->callback([&] { action = [&] { return pull(common, names); }; });

  std::string name, data_json, npy, op_text = "sum", file, dataset;
  auto* scatter_cmd = app.add_subcommand(
      "scatter", "split a sequence over the engines (contiguous parts in engine order) and set NAME to each part");
  add_common(scatter_cmd, common, true);
  scatter_cmd->add_option("name", name, "variable to set on each engine")->required();
  scatter_cmd->add_option("sequence", data_json, "the sequence as a JSON list, e.g. '[1,2,3,4]'");
  scatter_cmd->add_option("--npy", npy, "read the sequence from a NumPy .npy file (split along the first axis)");
  scatter_cmd->callback([&] { action = [&] { return scatter(common, name, data_json, npy); }; });

  auto* gather_cmd = app.add_subcommand("gather", "join the engines' NAME in engine order (the inverse of scatter)");
  add_common(gather_cmd, common, true);
  gather_cmd->add_option("name", name, "variable to gather")->required();
  gather_cmd->add_option("--npy", npy, "write the joined array to a NumPy .npy file");
  gather_cmd->callback([&] { action = [&] { return gather(common, name, npy); }; });

  auto* reduce_cmd = app.add_subcommand("reduce", "combine the engines' NAME element by element (MPI_Reduce)");
  add_common(reduce_cmd, common, true);
  reduce_cmd->add_option("name", name, "variable to reduce (a number or an array on every engine)")->required();
  reduce_cmd->add_option("--op", op_text, "sum, prod, min or max")->capture_default_str();
  reduce_cmd->callback([&] { action = [&] { return reduce(common, name, op_text); }; });

  auto* save_cmd =
      app.add_subcommand("save-h5", "write the engines' array NAME as one dataset of one HDF5 file (parallel HDF5)");
  add_common(save_cmd, common, true);
  save_cmd->add_option("file", file, "HDF5 file on the engines' file system (replaced)")->required();
  save_cmd->add_option("name", name, "variable to write")->required();
  save_cmd->add_option("--dataset", dataset, "dataset path in the file (default: /NAME)");
  save_cmd->callback([&] { action = [&] { return save_h5(common, file, name, dataset); }; });

  auto* load_cmd = app.add_subcommand("load-h5", "read an HDF5 dataset into NAME, split over the engines like scatter");
  add_common(load_cmd, common, true);
  load_cmd->add_option("file", file, "HDF5 file on the engines' file system")->required();
  load_cmd->add_option("dataset", dataset, "dataset path in the file, e.g. /x")->required();
  load_cmd->add_option("name", name, "variable to set on each engine")->required();
  load_cmd->callback([&] { action = [&] { return load_h5(common, file, dataset, name); }; });

  auto* shutdown_cmd =
      app.add_subcommand("shutdown", "stop the engines and the controller (prefer `crew cluster stop`)");
  add_common(shutdown_cmd, common, false);
  shutdown_cmd->callback([&] { action = [&] { return shutdown(common); }; });

  auto* cluster_cmd = app.add_subcommand("cluster", "start, stop and inspect clusters");
  cluster_cmd->require_subcommand(0, 1);
  StartArgs start;
  // What every world's job is launched with: start, add and jobscript share these.
  auto add_launch = [&](CLI::App* cmd) {
    cmd->add_option("--launcher", start.launcher,
                    "local (mpirun here), ssh (--hosts), slurm, pbs, sge, lsf, or a site's own (`crew launchers`)")
        ->capture_default_str();
    cmd->add_option("--mpirun-args", start.mpirun_args, "extra mpirun arguments, e.g. \"--bind-to none\"");
    cmd->add_option("--plugin", start.plugins, "plugin library for every engine; repeat for several");
    cmd->add_option("--property", start.properties,
                    "KEY=VALUE every engine offers to load-balanced tasks' `require`; repeat for several");
    cmd->add_option("--queue,-q", start.queue, "batch: the queue (Slurm partition) to submit to")->group("Batch jobs");
    cmd->add_option("--account,-A", start.account, "batch: the account or project to charge")->group("Batch jobs");
    cmd->add_option("--walltime", start.walltime, "batch: the jobs' time limit, H:MM:SS, D-H:MM:SS or minutes")
        ->group("Batch jobs");
    cmd->add_option("--nodes", start.nodes, "batch: nodes per world (default: the scheduler's choice)")
        ->check(CLI::PositiveNumber)
        ->group("Batch jobs");
    cmd->add_option("--ranks-per-node", start.ranks_per_node, "batch: engines per node")
        ->check(CLI::PositiveNumber)
        ->group("Batch jobs");
    cmd->add_option("--job-option", start.job_options,
                    "batch: a line for the script's header, e.g. '#SBATCH --mem=4G'; repeat for several")
        ->group("Batch jobs");
    cmd->add_option("--prologue", start.prologue,
                    "a line the job runs before mpirun, e.g. 'module load openmpi'; repeat for several")
        ->group("Batch jobs");
    cmd->add_option("--set", start.assignments, "NAME=VALUE for a job-script template variable; repeat for several")
        ->group("Batch jobs");
    cmd->add_option("--template", start.template_file, "the job-script template to use instead of the launcher's")
        ->group("Batch jobs");
    cmd->add_option("--connection", start.connection,
                    "how engines get the connection file: auto, profile (a shared file system) or embed (in the "
                    "job script)")
        ->check(CLI::IsMember({"auto", "profile", "embed"}))
        ->group("Batch jobs");
    cmd->add_option("--hosts", start.hosts, "ssh: hosts and slots, e.g. nodeA:2,nodeB:2")->group("SSH");
  };
  auto* start_cmd = cluster_cmd->add_subcommand(
      "start", "start a controller and MPI worlds of engines through a launcher; returns when all registered");
  add_common(start_cmd, common, false);
  start_cmd->add_option("-n,--engines", start.engines,
                        "number of engines (MPI ranks); default: one per core, or the --hosts slots");
  add_launch(start_cmd);
  start_cmd->add_flag("--no-oversubscribe", start.no_oversubscribe,
                      "refuse more engines than cores instead of passing --oversubscribe");
  start_cmd
      ->add_option("--wait", start.wait_s,
                   "seconds to wait for every engine to register (batch: counted once the jobs leave the queue)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  start_cmd->add_option("--ip", start.ip,
                        "address the controller binds: auto (this host's first network address), an address, or "
                        "0.0.0.0 for all (default: 127.0.0.1 for the local launcher, auto for the others)");
  start_cmd->add_option("--interface", start.interface, "bind to this interface's address, e.g. ib0");
  start_cmd->add_option("--heartbeat-ms", start.heartbeat_ms, "engine heartbeat period")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  start_cmd
      ->add_option("--max-message-size", start.max_message_bytes,
                   "largest request the controller takes, e.g. 64G (default 16G)")
      ->transform(CLI::AsSizeValue(false));
  start_cmd->add_option("--worlds", start.worlds, "split the engines over this many MPI jobs (worlds)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  start_cmd->add_option("--scheme", start.scheme,
                        "load-balancing scheme: leastload (default), lru, weighted, random, twobin");
  start_cmd
      ->add_option("--hwm", start.hwm,
                   "balanced tasks in flight per engine at most (default 0: automatic, deep for short tasks, "
                   "one at a time for long ones)")
      ->check(CLI::NonNegativeNumber);
  start_cmd
      ->add_option("--drain-margin", start.drain_margin_s,
                   "seconds before a world's job ends from which it gets no new load-balanced tasks")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  start_cmd->callback([&] { action = [&] { return cluster_start(common, start); }; });

  auto* add_cmd = cluster_cmd->add_subcommand("add", "attach more engines (new MPI worlds) to a running cluster");
  add_common(add_cmd, common, false);
  add_cmd->add_option("-n,--engines", start.engines, "number of engines to add (default: the --hosts slots)");
  add_cmd->add_option("--worlds", start.worlds, "split them over this many MPI jobs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_launch(add_cmd);
  add_cmd->add_flag("--no-oversubscribe", start.no_oversubscribe, "refuse more engines than cores");
  add_cmd->add_option("--wait", start.wait_s, "seconds to wait for them to register")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_cmd->callback([&] { action = [&] { return cluster_add(common, start); }; });

  double grace = 10;
  auto* stop_cmd =
      cluster_cmd->add_subcommand("stop", "stop everything `cluster start` started, and confirm it is gone");
  add_common(stop_cmd, common, false);
  stop_cmd->add_option("--grace", grace, "seconds to wait for a clean exit before signalling")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  stop_cmd->callback([&] { action = [&] { return cluster_stop(common, grace); }; });

  auto* status_cmd = cluster_cmd->add_subcommand("status", "is the cluster running? (exit 3 if not)");
  add_common(status_cmd, common, false);
  status_cmd->callback([&] { action = [&] { return cluster_status(common); }; });

  auto* list_cmd = cluster_cmd->add_subcommand("list", "every profile and whether its cluster runs");
  add_common(list_cmd, common, false);
  list_cmd->callback([&] { action = [&] { return cluster_list(common); }; });

  std::string script_out;
  bool list_variables = false;
  auto* jobscript_cmd = app.add_subcommand(
      "jobscript", "print the job script of one world (to submit by hand: its engines join the running controller)");
  add_common(jobscript_cmd, common, false);
  jobscript_cmd->add_option("-n,--engines", start.engines, "engines (MPI ranks) in the world")->capture_default_str();
  add_launch(jobscript_cmd);
  jobscript_cmd->add_option("-o,--output-script", script_out, "write the script to this file (mode 0600), not stdout");
  jobscript_cmd->add_option("--job-output", start.output,
                            "the job's own output file (default: the scheduler's, in the directory it runs in)");
  jobscript_cmd->add_option("--workdir", start.workdir, "the directory the job runs in (default: this one)");
  jobscript_cmd->add_flag("--variables", list_variables, "list the template variables instead");
  jobscript_cmd->callback([&] { action = [&] { return jobscript(common, start, script_out, list_variables); }; });

  auto* launchers_cmd =
      app.add_subcommand("launchers", "the launchers found (built in, site, user) and what each needs");
  add_common(launchers_cmd, common, false);
  launchers_cmd->callback([&] { action = [&] { return launchers(common); }; });

  ControllerArgs ctl;
  auto* ctl_cmd =
      app.add_subcommand("controller", "run a controller in the foreground (`cluster start` does this for you)");
  add_common(ctl_cmd, common, false);
  ctl_cmd
      ->add_option("--ip", ctl.ip, "address to bind: an address, auto (this host's first network address) or 0.0.0.0")
      ->capture_default_str();
  ctl_cmd->add_option("--interface", ctl.interface, "bind to this interface's address, e.g. ib0");
  ctl_cmd->add_option("--port", ctl.client_port, "client port (0: a free one)")->capture_default_str();
  ctl_cmd->add_option("--engine-port", ctl.engine_port, "engine port (0: a free one)")->capture_default_str();
  ctl_cmd->add_option("--heartbeat-ms", ctl.heartbeat_ms, "engine heartbeat period")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  ctl_cmd->add_option("--ready-fd", ctl.ready_fd, "write 'ready' to this descriptor once serving")->group("");
  ctl_cmd->add_option("--max-message-size", ctl.max_message_bytes, "largest request to take, e.g. 64G (default 16G)")
      ->transform(CLI::AsSizeValue(false));
  ctl_cmd->add_option("--log-level", ctl.log_level, "trace, debug, info, warn, error");
  ctl_cmd->add_option("--scheme", ctl.scheme, "load-balancing scheme: leastload, lru, weighted, random, twobin")
      ->capture_default_str();
  ctl_cmd->add_option("--hwm", ctl.hwm, "balanced tasks in flight per engine at most (0: automatic)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  ctl_cmd->add_option("--drain-margin", ctl.drain_margin_s, "seconds before a world's job ends: no new balanced tasks")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  ctl_cmd->callback([&] { action = [&] { return controller(common, ctl); }; });

  if (const auto status = read_command_line(app, argc, argv)) return *status;
  if (!action) {
    // `crew` or `crew cluster` alone: the help of what was given (exit 0, like kubectl).
    std::cout << app.help();
    return exit_ok;
  }
  try {
    return action();
  } catch (const std::exception& e) {
    return report(e);
  }
}

}  // namespace crew::cli
