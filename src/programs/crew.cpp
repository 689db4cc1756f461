// crew: the command line (verbs, cluster, controller).
#include "cli/cli.hpp"
#include "common/memory.hpp"

int main(int argc, char** argv) {
  crew::keep_freed_memory_for_reuse();  // the controller and bulk verbs reuse warm memory (common/memory.hpp)
  return crew::cli::run(argc, argv);
}
