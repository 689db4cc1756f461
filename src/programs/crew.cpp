// crew: the command line (verbs, cluster, controller).
#include "cli/cli.hpp"

int main(int argc, char** argv) { return crew::cli::run(argc, argv); }
