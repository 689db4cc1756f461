#pragma once
// A task's stdout or stderr on an engine: std::cout (or ctx.out()) writes here while the task
// runs. It keeps the whole text for the task's reply and passes each completed line (and any
// full buffer) to the rank's live output (engine/output_pump.hpp) as it is written.

#include <array>
#include <streambuf>
#include <string>

#include "common/internal_api.hpp"

namespace crew::detail {

class OutputPump;

class CREW_INTERNAL_API TaskOutputBuf : public std::streambuf {
public:
  /// `err`: the task's stderr (else its stdout).
  explicit TaskOutputBuf(bool err) : err_(err) { reset(); }
  TaskOutputBuf(const TaskOutputBuf&) = delete;
  TaskOutputBuf& operator=(const TaskOutputBuf&) = delete;

  /// A task starts: its text so far is none; lines go to `pump` (null: only to the reply).
  void start(OutputPump* pump) {
    pump_ = pump;
    whole_.clear();
    reset();
  }
  /// The task ended: all it wrote (what is still buffered goes to the pump first).
  std::string take() {
    pass();
    return std::move(whole_);
  }

protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override {
    pass();
    return 0;
  }

private:
  void reset() { setp(area_.data(), area_.data() + area_.size()); }
  /// What is buffered goes on: into the whole text, and to the pump.
  void pass();

  bool err_;
  OutputPump* pump_ = nullptr;
  std::string whole_;
  std::array<char, 4096> area_{};
};

}  // namespace crew::detail
