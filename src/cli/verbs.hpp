#pragma once
// The CLI's verbs: each is a thin layer over crew::Client (or crew::cluster) and returns an exit
// status; errors propagate as exceptions and are reported by the caller.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace crew::cli {

struct Common {
  std::string profile = "default";
  bool json = false;
  double connect_timeout_s = 10;  ///< --connect-timeout: how long the controller may take to answer
  double timeout_s = 0;           ///< --timeout: the whole command at most, its waits included (0: none)
  std::string targets = "all";
  std::string ssh;  ///< --ssh [user@]host[:port]: reach the controller through ssh (client/ssh_tunnel.hpp)
  std::string remote_crew = "crew";       ///< `cluster ... --ssh`: the shell command that runs crew there
  std::vector<std::string> command_line;  ///< the arguments as given (after `crew`)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  /// When --timeout runs out, if given.
  std::optional<std::chrono::steady_clock::time_point> deadline() const;
  /// How long the controller may take to answer: --connect-timeout, or what is left of
  /// --timeout if that is less.
  std::chrono::milliseconds controller_timeout() const;
  /// " --profile P" unless it is the default profile: for commands the CLI suggests.
  std::string profile_flag() const { return profile == "default" ? "" : " --profile " + profile; }
};

int ids(const Common& c);
int engines(const Common& c);
/// `crew functions`: one table of what the engines offer; crew's internal `crew.*` ones with `all`.
int functions(const Common& c, bool all);
/// `follow_output`: the tasks' output is printed as they write it (cli/live_output.hpp).
int call(const Common& c, const std::string& function, const std::vector<std::string>& json_args,
         bool follow_output = false);
int exec(const Common& c, const std::string& command);
int push(const Common& c, const std::vector<std::string>& assignments);
int pull(const Common& c, const std::vector<std::string>& names);
int shutdown(const Common& c);

// The load balancer (cli/balanced_verbs.cpp).
struct BalanceArgs {
  std::vector<std::string> after;   ///< msg ids
  std::vector<std::string> follow;  ///< msg ids
  bool any = false;                 ///< after/follow: met by any one
  bool allow_failure = false;       ///< after/follow: failed prerequisites count too
  double task_timeout_s = 0;
  int retries = 0;
  std::vector<std::string> require;  ///< KEY=VALUE engine properties
  bool no_wait = false;              ///< submit, print the msg id, return (`crew results` later)
  bool given() const noexcept {
    return !after.empty() || !follow.empty() || any || allow_failure || task_timeout_s > 0 || retries > 0 ||
           !require.empty() || no_wait;
  }
};
struct MapArgs {
  std::string json;
  std::string npy;
  std::string out;
  bool balanced = false;
  std::size_t chunksize = 0;
  bool unordered = false;
};
int call_balanced(const Common& c, const std::string& function, const std::vector<std::string>& json_args,
                  const BalanceArgs& b, bool follow_output = false);
int map(const Common& c, const std::string& function, const MapArgs& m, const BalanceArgs& b);
int queue(const Common& c);
int abort(const Common& c, const std::vector<std::string>& msg_ids);
/// `db_path`: read that task database, not a controller (also, when none runs, the profile's).
int results(const Common& c, const std::vector<std::string>& msg_ids, bool wait, const std::string& db_path);
/// `crew results` from a task database file, with no controller (cli/hub_verbs.cpp).
int stored_results(const Common& c, const std::string& db_path, const std::vector<std::string>& msg_ids);

// The hub's records (cli/hub_verbs.cpp).
struct HistoryArgs {
  std::string since;                ///< an age: "90s", "10m", "1h", "2d" (or seconds)
  std::vector<std::string> status;  ///< pending, ok, failed
  std::size_t last = 0;
  std::string db_path;  ///< with no controller running: read this task database
};
struct PurgeArgs {
  std::vector<std::string> msg_ids;
  bool all = false;
  std::string before;  ///< an age, as --since
};
int history(const Common& c, const HistoryArgs& h);
int purge(const Common& c, const PurgeArgs& p);
/// "90s", "10m", "1h", "2d", or a number of seconds, as a duration; throws InputError
/// [crew.input.bad_option] naming `option` and the form it takes.
std::chrono::seconds parse_age(const std::string& text, const char* option);

// The data path (cli/data_verbs.cpp).
int scatter(const Common& c, const std::string& name, const std::string& json, const std::string& npy);
int gather(const Common& c, const std::string& name, const std::string& npy);
int reduce(const Common& c, const std::string& name, const std::string& op, const std::string& npy);
int save_h5(const Common& c, const std::string& file, const std::string& name, const std::string& dataset);
int load_h5(const Common& c, const std::string& file, const std::string& dataset, const std::string& name);

/// Where the controller keeps its task records (--db, --db-path, --db-sync, --db-max-result).
struct DbArgs {
  std::string db;                        ///< memory or sqlite ("": sqlite if a path is given, else memory)
  std::uint64_t result_store_bytes = 0;  ///< results' bytes kept in memory (0: the controller's default)
  std::uint64_t max_records = 0;         ///< finished records kept in memory (0: the controller's default)
  std::string path;                      ///< "": $CREW_HOME/profile_<p>/tasks.db
  std::string sync = "normal";
  std::uint64_t max_result_bytes = 0;  ///< 0: the controller's default
  int orphan_timeout_s = -1;           ///< -1: the controller's default
};

struct StartArgs {
  int engines = -1;  ///< -1: not given (one per core, or per --hosts slot)
  int worlds = 1;
  std::string launcher = "local";
  std::string mpirun_args;
  std::vector<std::string> plugins;
  bool no_oversubscribe = false;
  double wait_s = 60;
  std::string ip;  ///< "": 127.0.0.1 (local launcher) or auto (the others)
  std::string interface;
  bool curve = false, no_curve = false;  ///< --curve, --no-curve (neither: on beyond loopback)
  int heartbeat_ms = 1000;
  std::uint64_t max_message_bytes = 0;
  std::vector<std::string> properties;
  std::string scheme;
  int hwm = 0;
  int drain_margin_s = 60;
  DbArgs db;
  bool fresh = false;  ///< start anew rather than restore a cluster whose controller died
  // what job scripts are rendered with
  std::string queue;
  std::string account;
  std::string walltime;
  int nodes = 0;
  int ranks_per_node = 0;
  std::vector<std::string> job_options;
  std::vector<std::string> prologue;
  std::vector<std::string> assignments;  ///< --set NAME=VALUE
  std::string template_file;
  std::string connection;
  std::string hosts;
  std::string workdir;
  std::string output;  ///< jobscript: the job's output file
};

int cluster_start(const Common& c, const StartArgs& a);
int cluster_add(const Common& c, const StartArgs& a);
/// `crew jobscript`: the rendered job script of one world, for submission by hand.
int jobscript(const Common& c, const StartArgs& a, const std::string& out_file, bool variables);
/// `crew launchers`: every launcher found and what each needs.
int launchers(const Common& c);
int cluster_stop(const Common& c, double grace_s);
int cluster_status(const Common& c);
int cluster_list(const Common& c);
/// `crew profile import [user@]host[:port][:PATH]`: another host's controller, reached through ssh.
int profile_import(const Common& c, const std::string& source);

/// `crew keys`: the CURVE keys the profile's controller admits (transport/keyring.hpp).
struct KeysArgs {
  std::string name;        ///< add: the new key's name; revoke: a name or a public key
  std::string public_key;  ///< add: someone's own key ("": make a pair and a connection file)
  std::string role = "client";
  std::string output;  ///< add without a key: where the connection file goes
};
int keys_list(const Common& c);
int keys_add(const Common& c, const KeysArgs& a);
int keys_revoke(const Common& c, const KeysArgs& a);

struct ControllerArgs {
  std::string ip = "127.0.0.1";
  std::string interface;
  int client_port = 0;
  int engine_port = 0;
  int heartbeat_ms = 1000;
  int ready_fd = -1;
  std::uint64_t max_message_bytes = 0;
  std::string log_level;
  std::string scheme = "leastload";
  int hwm = 0;
  int drain_margin_s = 60;
  DbArgs db;
  bool restore = false;
  bool curve = false, no_curve = false;
};

int controller(const Common& c, const ControllerArgs& a);

}  // namespace crew::cli
