// programs/pid_cache.cpp: getpid() is the kernel's pid in this process and in every forked child
// (however deep, and whichever thread forked), and it is the definition the program's libraries
// bind to.
#include <doctest/doctest.h>

#include <dlfcn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace {

pid_t pid_from_kernel() { return static_cast<pid_t>(::syscall(SYS_getpid)); }

/// In a forked child: 0 if getpid() is right there (and in a grandchild when `depth` > 1).
int child_checks(pid_t parent, int depth) {
  const pid_t mine = getpid();
  if (mine != pid_from_kernel() || mine == parent || getpid() != mine) return 1;
  if (depth <= 1) return 0;
  const pid_t grandchild = ::fork();
  if (grandchild < 0) return 2;
  if (grandchild == 0) ::_exit(child_checks(mine, depth - 1));
  int status = 0;
  if (::waitpid(grandchild, &status, 0) != grandchild || !WIFEXITED(status)) return 3;
  return WEXITSTATUS(status) == 0 && getpid() == pid_from_kernel() ? 0 : 4;
}

/// Forks and runs child_checks in the child; its exit status.
int fork_and_check(int depth) {
  const pid_t parent = getpid();
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(child_checks(parent, depth));
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("getpid() is the kernel's pid, before and after it is cached") {
  CHECK(getpid() == pid_from_kernel());
  CHECK(getpid() == pid_from_kernel());
}

TEST_CASE("a forked child and grandchild get their own pid, not the parent's cached one") {
  (void)getpid();  // the parent's pid is cached before it forks
  CHECK(fork_and_check(1) == 0);
  CHECK(fork_and_check(3) == 0);
  CHECK(getpid() == pid_from_kernel());
}

TEST_CASE("a child forked from another thread gets its own pid") {
  (void)getpid();
  int result = -1;
  std::thread forker([&] { result = fork_and_check(2); });
  forker.join();
  CHECK(result == 0);
}

TEST_CASE("libraries bind to this program's getpid, not glibc's") {
  void* bound = ::dlsym(RTLD_DEFAULT, "getpid");
  REQUIRE(bound != nullptr);
  Dl_info bound_in{}, program{};
  REQUIRE(::dladdr(bound, &bound_in) != 0);
  REQUIRE(::dladdr(reinterpret_cast<void*>(&fork_and_check), &program) != 0);
  CHECK(bound_in.dli_fbase == program.dli_fbase);  // the same object: this executable
}
