// One-shot verbs on a running cluster: ids, engines, functions, call, exec, push, pull, shutdown.
#include "cli/verbs.hpp"

#include <algorithm>
#include <iostream>

#include "cli/output.hpp"
#include "cli/session.hpp"
#include "cli/waiting.hpp"
#include "common/targets.hpp"
#include "crew/client.hpp"
#include "values/json.hpp"

namespace crew::cli {
namespace {

Value same(const Value& v) { return v; }

/// Waits for every engine (wait_for: --timeout, Ctrl-C, progress), prints per-engine results (`show` formats a success
/// for people, `shape` adjusts a value for both outputs) and each distinct error once; returns 1 if any engine failed
/// (2 if for bad input).
template <class Show, class Shape = decltype(&same)>
int print_results(const Common& c, const AsyncResult& ar, Show show, Shape shape = &same,
                  FollowedOutput* output = nullptr) {
  const Progress progress = results_of(ar);
  wait_for(c, ar, &progress, output);
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t i = 0; i < ar.size(); ++i) {
    const int id = ar.targets()[i];
    const auto meta = ar.metadata(i);
    if (auto err = ar.error(i)) {
      out[std::to_string(id)] = error_json(*err);
      continue;
    }
    const Value v = shape(ar.value(i));
    if (c.json) {
      out[std::to_string(id)] = to_json(v);
    } else {
      show(id, v);
      if (output != nullptr && output->was_shown(meta.msg_id)) continue;  // its output was shown as it came
      if (!meta.stdout_text.empty()) std::cout << "[stdout:" << id << "] " << meta.stdout_text << std::flush;
      if (!meta.stderr_text.empty()) std::cerr << "[stderr:" << id << "] " << meta.stderr_text << std::flush;
    }
  }
  if (c.json) std::cout << out.dump() << std::endl;
  return report_engine_errors(ar);
}

bool internal_function(const std::string& name) { return name.rfind("crew.", 0) == 0; }

/// One function as the engines answered `functions`: the same name, signature and origin.
struct FunctionRow {
  std::string name, signature, origin;
  std::vector<int> engines;
};

std::vector<FunctionRow> function_rows(const AsyncResult& ar, bool all, std::size_t& hidden) {
  std::vector<FunctionRow> rows;
  std::vector<std::string> hidden_names;
  for (std::size_t i = 0; i < ar.size(); ++i) {
    if (ar.error(i)) continue;
    const Value answer = ar.value(i);  // held: a range-for over a temporary's member would dangle
    for (const Value& f : answer.as_list()) {
      FunctionRow row{f["name"].as_string(), f["signature"].as_string(), f["origin"].as_string(), {}};
      if (!all && internal_function(row.name)) {
        if (std::find(hidden_names.begin(), hidden_names.end(), row.name) == hidden_names.end())
          hidden_names.push_back(row.name);
        continue;
      }
      auto it = std::find_if(rows.begin(), rows.end(), [&](const FunctionRow& r) {
        return r.name == row.name && r.signature == row.signature && r.origin == row.origin;
      });
      if (it == rows.end()) it = rows.insert(rows.end(), std::move(row));
      it->engines.push_back(ar.targets()[i]);
    }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const FunctionRow& a, const FunctionRow& b) { return a.name < b.name; });
  for (auto& r : rows) std::sort(r.engines.begin(), r.engines.end());
  hidden = hidden_names.size();
  return rows;
}

}  // namespace

int ids(const Common& c) {
  const auto list = connect(c).ids();
  if (c.json) {
    std::cout << nlohmann::json(list).dump() << std::endl;
  } else {
    for (std::size_t i = 0; i < list.size(); ++i) std::cout << (i ? " " : "") << list[i];
    std::cout << std::endl;
  }
  return exit_ok;
}

int engines(const Common& c) {
  const auto list = connect(c).engines();
  if (c.json) {
    auto out = nlohmann::json::array();
    for (const auto& e : list)
      out.push_back({{"id", e.id},
                     {"host", e.host},
                     {"pid", e.pid},
                     {"rank", e.rank},
                     {"world", e.world},
                     {"world_size", e.world_size},
                     {"state", e.state},
                     {"tasks", e.tasks},
                     {"completed", e.completed},
                     {"properties", to_json(Value(e.properties))},
                     {"launcher", e.launcher},
                     {"job_id", e.job_id},
                     {"job_end", e.job_end},
                     {"draining", e.draining}});
    std::cout << out.dump() << std::endl;
    return exit_ok;
  }
  if (list.empty()) {
    std::cout << "no engines registered (profile '" << c.profile << "')" << std::endl;
    return exit_ok;
  }
  // Properties beyond "host" (which has its own column), as k=v.
  auto properties = [](const EngineInfo& e) {
    std::string s;
    for (const auto& [k, v] : e.properties)
      if (k != "host") s += (s.empty() ? "" : " ") + k + "=" + (v.is_string() ? v.as_string() : value_text(v));
    return s;
  };
  bool any_properties = false, any_job = false, any_end = false;
  for (const auto& e : list) {
    any_properties = any_properties || !properties(e).empty();
    any_job = any_job || !e.job_id.empty();
    any_end = any_end || e.job_end > 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : list) {
    rows.push_back({std::to_string(e.id), e.host, std::to_string(e.pid), std::to_string(e.rank),
                    std::to_string(e.world), e.draining && e.state == "alive" ? "draining" : e.state,
                    std::to_string(e.tasks), std::to_string(e.completed)});
    if (any_job) rows.back().push_back(e.job_id.empty() ? "-" : e.launcher + " " + e.job_id);
    if (any_end) rows.back().push_back(e.job_end > 0 ? time_left_text(e.job_end) : "-");
    if (any_properties) rows.back().push_back(properties(e));
  }
  std::vector<std::string> header{"ID", "HOST", "PID", "RANK", "WORLD", "STATE", "TASKS", "DONE"};
  if (any_job) header.push_back("JOB");
  if (any_end) header.push_back("TIME LEFT");
  if (any_properties) header.push_back("PROPERTIES");
  print_table(std::cout, header, rows);
  return exit_ok;
}

int call(const Common& c, const std::string& function, const std::vector<std::string>& json_args, bool follow_output) {
  Value::List args;
  for (std::size_t i = 0; i < json_args.size(); ++i)
    args.push_back(
        parse_argument(json_args[i], "argument " + std::to_string(i + 1) + " of `crew call " + function + "`"));
  const Client rc = connect(c);
  // Following this client's own tasks before they exist: nothing they write is missed.
  OutputFilter own_tasks;
  own_tasks.mine = true;
  FollowedOutput output{follow_output ? rc.subscribe_output(own_tasks) : OutputFeed(), {}};
  return print_results(
      c, target_view(rc, c.targets).apply_list(function, std::move(args)),
      [](int id, const Value& v) { std::cout << "[" << id << "] " << shown_value(v) << std::endl; }, &same,
      follow_output ? &output : nullptr);
}

int functions(const Common& c, bool all) {
  const Client rc = connect(c);
  const AsyncResult ar = target_view(rc, c.targets).apply_list("functions", {});
  wait_for(c, ar);
  std::size_t hidden = 0;
  auto rows = function_rows(ar, all, hidden);
  std::size_t answered = 0;
  for (std::size_t i = 0; i < ar.size(); ++i) answered += ar.error(i) ? 0 : 1;
  if (c.json) {
    auto out = nlohmann::json::array();
    for (const auto& r : rows)
      out.push_back({{"name", r.name}, {"signature", r.signature}, {"origin", r.origin}, {"engines", r.engines}});
    std::cout << out.dump() << std::endl;
    return report_engine_errors(ar);
  }
  // An ENGINES column only when the engines differ (a plugin loaded on some of them).
  const bool differ =
      std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r.engines.size() != answered; });
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({r.name, r.signature, r.origin});
    if (differ) table.back().push_back(format_id_ranges(r.engines));
  }
  std::vector<std::string> header{"NAME", "SIGNATURE", "ORIGIN"};
  if (differ) header.push_back("ENGINES");
  if (!table.empty()) print_table(std::cout, header, table);
  if (hidden > 0)
    std::cout << "(" << hidden << " internal crew.* function" << (hidden == 1 ? "" : "s")
              << " not shown: `crew functions --all` shows them)" << std::endl;
  return report_engine_errors(ar);
}

int exec(const Common& c, const std::string& command) {
  const Client rc = connect(c);
  const AsyncResult ar = target_view(rc, c.targets).exec(command);
  int worst = exit_ok;
  const int status = print_results(c, ar, [&](int id, const Value& v) {
    const auto code = v["status"].as_int();
    std::cout << "[" << id << "] exit " << code << std::endl << v["stdout"].as_string() << std::flush;
    const auto& err = v["stderr"].as_string();
    if (!err.empty()) std::cerr << "[stderr:" << id << "] " << err << std::flush;
  });
  // Like pdsh -S: a command that failed on any engine fails the verb.
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (!ar.error(i) && ar.value(i)["status"].as_int() != 0) worst = exit_failure;
  return std::max(status, worst);
}

int push(const Common& c, const std::vector<std::string>& assignments) {
  Value::Dict values;
  for (const auto& a : assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw_error(errc::bad_option, "'" + a + "' is not NAME=JSON; write e.g. a='[1,2,3]' b='\"text\"'");
    const std::string name = a.substr(0, eq);
    check_variable_name(name, "push '" + a + "'");
    values.insert_or_assign(name, parse_argument(a.substr(eq + 1), "the value of " + name));
  }
  const Client rc = connect(c);
  const DirectView view = target_view(rc, c.targets);
  std::vector<std::string> names;
  for (const auto& [k, v] : values) names.push_back(k);
  const AsyncResult ar = view.push(std::move(values));
  wait_for(c, ar);
  const int status = report_engine_errors(ar);
  if (status != exit_ok && c.json) {
    std::cout << engine_errors_json(ar).dump() << std::endl;
    return status;
  }
  std::vector<int> done;
  for (std::size_t i = 0; i < ar.size(); ++i)
    if (!ar.error(i)) done.push_back(ar.targets()[i]);
  std::sort(done.begin(), done.end());
  if (c.json) {
    std::cout << nlohmann::json{{"pushed", names}, {"engines", done}}.dump() << std::endl;
  } else if (!done.empty()) {
    std::string joined;
    for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
    std::cout << "pushed " << joined << " to engine" << (done.size() == 1 ? " " : "s ") << format_id_ranges(done)
              << std::endl;
  }
  return status;
}

int pull(const Common& c, const std::vector<std::string>& names) {
  const Client rc = connect(c);
  const AsyncResult ar = target_view(rc, c.targets).pull(names);
  // One name comes back as its value; show it as {name: value} like several names are.
  return print_results(
      c, ar,
      [&](int id, const Value& v) {
        for (const auto& [k, x] : v.as_dict())
          std::cout << "[" << id << "] " << k << " = " << shown_value(x) << std::endl;
      },
      [&](const Value& v) {
        return names.size() == 1 ? Value(Value::Dict{{names.front(), v}}) : v;
      });
}

int shutdown(const Common& c) {
  connect(c).shutdown();
  if (c.json)
    std::cout << nlohmann::json{{"shutdown", true}}.dump() << std::endl;
  else
    std::cout << "controller and engines of profile '" << c.profile << "' shut down" << std::endl;
  return exit_ok;
}

}  // namespace crew::cli
