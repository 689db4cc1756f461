#pragma once
// Logging: spdlog's default logger, sent to a file or stderr, level from --log-level or
// $CREW_LOG_LEVEL (trace, debug, info, warn, error, off).

#include <filesystem>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "common/internal_api.hpp"

namespace crew::logging {

/// `file` empty: log to stderr. `level` empty: $CREW_LOG_LEVEL, else "info".
CREW_INTERNAL_API void init(const std::string& name, const std::filesystem::path& file, std::string_view level = {});

}  // namespace crew::logging
