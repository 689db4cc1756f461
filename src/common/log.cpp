// Logging setup.
#include "common/log.hpp"

#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "common/process.hpp"

namespace crew::logging {
namespace {

constexpr const char* pattern = "%Y-%m-%d %H:%M:%S.%e [%n] %^%l%$ %v";

/// Log lines written straight to a file descriptor (no stdio in between).
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  explicit FdSink(int fd) : fd_(fd) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    (void)proc::write_all(fd_, {line.data(), line.size()});  // where the log went is gone: nothing to do
  }
  void flush_() override {}

private:
  int fd_;
};

}  // namespace

void init(const std::string& name, const std::filesystem::path& file, std::string_view level) {
  std::string lvl(level);
  if (lvl.empty()) {
    const char* env = std::getenv("CREW_LOG_LEVEL");
    lvl = env != nullptr ? env : "info";
  }
  std::shared_ptr<spdlog::logger> logger;
  if (file.empty()) {
    logger = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    logger = std::make_shared<spdlog::logger>(
        name, std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), /*truncate=*/false));
  }
  logger->set_level(spdlog::level::from_str(lvl));
  logger->set_pattern(pattern);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void write_to_fd(int fd) {
  for (auto& sink : spdlog::default_logger()->sinks()) {
    const bool to_stderr = std::dynamic_pointer_cast<spdlog::sinks::stderr_sink_mt>(sink) != nullptr;
    const bool to_fd = std::dynamic_pointer_cast<FdSink>(sink) != nullptr;
    if (fd >= 0 && (to_stderr || to_fd))
      sink = std::make_shared<FdSink>(fd);
    else if (fd < 0 && to_fd)
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    else
      continue;
    sink->set_pattern(pattern);
  }
}

}  // namespace crew::logging
