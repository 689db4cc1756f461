#pragma once

namespace crew::detail {

/// Registers the functions every engine has: hostname, pid, summary, echo, sleep, keys, del,
/// clear, push, pull, exec, functions, load_plugin. Idempotent.
void register_builtins();

}  // namespace crew::detail
