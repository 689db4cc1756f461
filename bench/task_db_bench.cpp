// crew-task-db-bench: the task database's writer alone, on a real SQLite file: how long it takes
// to record N balanced no-ops (taken, then finished, as the controller hands them over in turns),
// and the writer thread's CPU per task. No controller, no engines: the floor under --db sqlite.
//
//   crew-task-db-bench [--tasks N] [--turn K] [--file PATH] [--wait-each 1] [--db-sync full]
//
// --wait-each 1 waits for each turn's commit before the next, as a lone task's result waits for
// its own: the time per turn is then a commit's latency, hand-offs between the threads included.
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "controller/task_db.hpp"
#include "protocol/header.hpp"

using namespace crew;
using namespace crew::controller;

int main(int argc, char** argv) {
  std::uint64_t tasks = 100000, turn = 64;
  bool wait_each = false, sync_full = false;
  std::filesystem::path file = "/tmp/crew-task-db-bench.db";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tasks"))
      tasks = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--turn"))
      turn = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--file"))
      file = argv[i + 1];
    else if (!std::strcmp(argv[i], "--wait-each"))
      wait_each = std::strcmp(argv[i + 1], "0") != 0;
    else if (!std::strcmp(argv[i], "--db-sync"))
      sync_full = std::strcmp(argv[i + 1], "full") == 0;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
  const std::string function = "crew.noop";
  wire::Header h;
  h.kind = wire::MsgKind::apply_reply;
  h.function = function;
  h.started_us = 1;
  h.completed_us = 2;
  const Buffer payload = Buffer::copy("\xc0", 1);
  TaskDb db({.file = file, .sync_full = sync_full});
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 1; i <= tasks; ++i) {
    const std::string id = "1-" + std::to_string(i);
    h.msg_ids = {id};
    db.taken(i, id, &function, -1, 0);
    db.finished(i, id, static_cast<int>(i % 4), false, false, wire::encode_header(h), {&payload, 1});
    if (i % turn == 0) {
      db.end_turn();
      pollfd fd{db.fd(), POLLIN, 0};
      if (wait_each) {
        while (db.committed() < db.durable_after()) {
          (void)::poll(&fd, 1, 100);
          db.answered();
        }
      } else if (::poll(&fd, 1, 0) > 0) {
        db.answered();
      }
    }
  }
  db.end_turn();
  while (db.committed() < db.durable_after()) {
    pollfd fd{db.fd(), POLLIN, 0};
    (void)::poll(&fd, 1, 100);
    db.answered();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"system\":\"crew\",\"workload\":\"task_db_writer\",\"value\":%.0f,\"unit\":\"tasks/s\","
              "\"tasks\":%llu,\"turn\":%llu,\"wait_each\":%s,\"db_sync\":\"%s\",\"seconds\":%.3f,\"commits\":%llu}\n",
              static_cast<double>(tasks) / seconds, static_cast<unsigned long long>(tasks),
              static_cast<unsigned long long>(turn), wait_each ? "true" : "false", sync_full ? "full" : "normal",
              seconds, static_cast<unsigned long long>(db.commits()));
  return 0;
}
