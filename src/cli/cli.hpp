#pragma once

namespace crew::cli {

/// The `crew` program: parses the command line and runs one verb; returns the exit status.
int run(int argc, char** argv);

}  // namespace crew::cli
