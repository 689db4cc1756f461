// A task's output streams on an engine: whole for the reply, line by line for live output.
#include "engine/task_output.hpp"

#include <algorithm>
#include <cstring>

#include "engine/output_pump.hpp"

namespace crew::detail {

void TaskOutputBuf::pass() {
  const auto n = static_cast<std::size_t>(pptr() - pbase());
  if (n == 0) return;
  whole_.append(pbase(), n);
  if (pump_ != nullptr) pump_->write(err_, {pbase(), n});
  reset();
}

TaskOutputBuf::int_type TaskOutputBuf::overflow(int_type c) {
  if (pptr() == epptr()) pass();
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  *pptr() = traits_type::to_char_type(c);
  pbump(1);
  if (traits_type::to_char_type(c) == '\n') pass();
  return c;
}

std::streamsize TaskOutputBuf::xsputn(const char* s, std::streamsize n) {
  const bool line_ends = std::memchr(s, '\n', static_cast<std::size_t>(n)) != nullptr;
  for (std::streamsize left = n; left > 0;) {
    if (pptr() == epptr()) pass();
    const auto k = std::min<std::streamsize>(left, epptr() - pptr());
    std::memcpy(pptr(), s, static_cast<std::size_t>(k));
    pbump(static_cast<int>(k));
    s += k;
    left -= k;
  }
  if (line_ends) pass();  // the live output goes a line at a time (the last may be partial)
  return n;
}

}  // namespace crew::detail
