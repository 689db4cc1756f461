// `crew shell`: the loop, on a terminal with readline or over a script (cli/shell.hpp).
#include "cli/shell.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli/shell_completion.hpp"
#include "cli/shell_session.hpp"
#include "cli/waiting.hpp"
#include "common/profile.hpp"
#include "crew/client.hpp"

namespace crew::cli {

namespace {

constexpr int history_lines = 1000;

volatile std::sig_atomic_t ctrl_c = 0;
extern "C" void on_ctrl_c(int) { ctrl_c = 1; }

/// SIGINT sets a flag and interrupts a poll (no SA_RESTART): Ctrl-C never ends the shell.
void catch_ctrl_c() {
  struct sigaction sa {};
  sa.sa_handler = on_ctrl_c;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(SIGINT, &sa, nullptr);
}

// ---- readline's C callbacks reach the session through these
ShellCompletion* completion = nullptr;
std::vector<std::string> matches;
std::optional<std::string> typed;  ///< the line readline handed over
bool end_of_input = false;

extern "C" char* next_match(const char*, int state) {
  static std::size_t next = 0;
  if (state == 0) next = 0;
  return next < matches.size() ? ::strdup(matches[next++].c_str()) : nullptr;
}

extern "C" char** complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1;  // no file names
  matches = completion->candidates(std::string(rl_line_buffer, static_cast<std::size_t>(start)), text);
  return rl_completion_matches(text, next_match);
}

extern "C" void take_line(char* line) {
  if (line == nullptr)
    end_of_input = true;
  else
    typed = std::string(line);
  std::free(line);
  rl_callback_handler_remove();  // the terminal as it was, while the line runs
}

/// The profile's controller as one line: how many engines, or that none answers.
std::string cluster_line(const Common& c) {
  try {
    ClientOptions o;
    o.timeout = std::chrono::milliseconds(2000);
    const auto ids = Client(c.profile, o).ids();
    return std::to_string(ids.size()) + " engine" + (ids.size() == 1 ? "" : "s") + " alive";
  } catch (const Error& e) {
    return std::string("no controller answers yet (`cluster start -n 4` starts one): ") + e.what();
  }
}

/// The next line typed at the prompt; nullopt at Ctrl-D. Ctrl-C drops what was typed.
std::optional<std::string> read_line(const std::string& prompt) {
  typed.reset();
  end_of_input = false;
  rl_callback_handler_install(prompt.c_str(), take_line);
  while (!typed && !end_of_input) {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    if (::poll(&in, 1, -1) < 0) {
      if (errno == EINTR && ctrl_c) {
        ctrl_c = 0;
        rl_free_line_state();
        rl_callback_sigcleanup();
        rl_replace_line("", 0);
        std::fputs("^C", stdout);
        rl_crlf();
        rl_on_new_line();
        rl_redisplay();
      }
      continue;
    }
    rl_callback_read_char();
  }
  if (end_of_input) {
    rl_callback_handler_remove();
    std::cout << std::endl;
    return std::nullopt;
  }
  return typed;
}

int interactive(ShellSession& session, const Common& c) {
  ShellCompletion completer(session);
  completion = &completer;
  rl_readline_name = "crew";
  rl_catch_signals = 0;
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = const_cast<char*>(" \t\n\"'=;|&");
  const std::string history = (profile_dir(c.profile) / "shell_history").string();
  ensure_profile_dir(profile_dir(c.profile));
  stifle_history(history_lines);
  if (read_history(history.c_str()) != 0) (void)write_history(history.c_str());  // (append_history needs the file)

  std::cout << "crew shell, profile '" << c.profile << "': " << cluster_line(c)
            << ". `help` lists the commands, Tab completes, Ctrl-C ends a wait, Ctrl-D leaves." << std::endl;
  const std::string prompt = "crew[" + c.profile + "]> ";
  while (!session.finished()) {
    catch_ctrl_c();
    ctrl_c = 0;  // (one that came while the last line ran is not for this prompt)
    const auto line = read_line(prompt);
    if (!line) break;
    if (line->find_first_not_of(" \t") != std::string::npos) {
      const HIST_ENTRY* last = history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
      if (last == nullptr || *line != last->line) {
        add_history(line->c_str());
        (void)append_history(1, history.c_str());
      }
    }
    ctrl_c = 0;
    (void)session.run_line(*line);
    std::cout << std::flush;
  }
  (void)history_truncate_file(history.c_str(), history_lines);
  completion = nullptr;
  return exit_ok;
}

int scripted(ShellSession& session) {
  int status = exit_ok;
  std::string line;
  while (!session.finished() && std::getline(std::cin, line)) {
    status = session.run_line(line);
    std::cout << std::flush;
  }
  return status;
}

}  // namespace

int shell(const Common& c) {
  keep_running_on_interrupt(true);
  ShellSession session(c);
  return ::isatty(STDIN_FILENO) ? interactive(session, c) : scripted(session);
}

}  // namespace crew::cli
