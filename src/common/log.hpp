#pragma once
// Logging: spdlog's default logger, sent to a file or stderr, level from --log-level or
// $CREW_LOG_LEVEL (trace, debug, info, warn, error, off).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "common/internal_api.hpp"

namespace crew::logging {

/// `file` empty: log to stderr. `level` empty: $CREW_LOG_LEVEL, else "info".
CREW_INTERNAL_API void init(const std::string& name, const std::filesystem::path& file, std::string_view level = {});

/// A log that goes to stderr goes to `fd` instead (-1: back to stderr); one that goes to a file
/// stays. For a process whose descriptor 2 is captured (engine/fd_capture.hpp). Call it while no
/// other thread logs.
CREW_INTERNAL_API void write_to_fd(int fd);

/// Whether the `nth` of a kind of event that a flood could repeat (a dropped message) is logged:
/// the first ten, then every 10,000th. Counters keep every one; the log keeps its size.
constexpr bool sampled(std::uint64_t nth) noexcept { return nth <= 10 || nth % 10'000 == 0; }

}  // namespace crew::logging
