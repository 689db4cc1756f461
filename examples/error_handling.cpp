// What failures look like to a client: a RemoteError carries the engine, the error type and
// message; errors from several engines come as one CompositeError; a TimeoutError leaves the
// task running; an aborted task is a TaskAborted; the engine keeps serving after every one.
#include <iostream>

#include <crew/crew.hpp>

int main(int argc, char** argv) try {
  crew::Client rc(argc > 1 ? argv[1] : "default");
  int seen = 0;
  try {
    rc[0].apply("mul", 1).get();  // the demo plugin's mul takes two arguments
  } catch (const crew::RemoteError& e) {
    std::cout << "RemoteError from engine " << e.engine_id() << ": " << e.what() << '\n';
    seen += e.code() == crew::errc::bad_arguments || e.code() == crew::errc::unknown_function;
  }
  try {
    rc.view().apply("no_such_function").get();
  } catch (const crew::CompositeError& e) {
    std::cout << "CompositeError with " << e.errors().size() << " errors; the first: " << e.errors()[0].what() << '\n';
    seen += e.errors()[0].code() == crew::errc::unknown_function;
  }
  const crew::AsyncResult slow = rc[0].apply("sleep", 0.3);
  try {
    slow.get(std::chrono::milliseconds(10));
  } catch (const crew::TimeoutError& e) {
    std::cout << "TimeoutError: " << e.what() << '\n';
    seen += slow.wait_for(std::chrono::seconds(30)) == crew::result_state::succeeded;
  }
  auto lb = rc.load_balanced_view();
  const crew::AsyncResult first = lb.apply("sleep", 1.0);
  const crew::AsyncResult queued = lb.with({.after = {first}}).apply("echo", "never runs");
  lb.abort(queued);  // it waits for `first`, so it has not reached an engine
  try {
    queued.get();
  } catch (const crew::TaskAborted& e) {
    std::cout << "TaskAborted: " << e.what() << '\n';
    seen += e.code() == crew::errc::aborted;
  }
  const bool serving = rc[0].apply("echo", "still here").get().as_string() == "still here";
  std::cout << (seen == 4 && serving ? "error_handling: as expected" : "error_handling: UNEXPECTED") << std::endl;
  return seen == 4 && serving ? 0 : 1;
} catch (const crew::Error& e) {
  std::cerr << "crew-error-handling: " << e.what() << std::endl;
  return 1;
}
