// Sanitizer self-check (as CAF does): a heap overflow that must make this program fail when the
// suite is built with AddressSanitizer. If it "passes", the sanitizer job checks nothing.
#include <cstdlib>
#include <cstring>

int main(int argc, char**) {
  char* p = static_cast<char*>(std::malloc(8));
  std::memset(p, 0, 8 + static_cast<std::size_t>(argc));  // one byte past the end
  const int r = p[0];
  std::free(p);
  return r;
}
