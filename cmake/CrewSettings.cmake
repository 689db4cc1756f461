# Interface targets every crew target links PRIVATE: warnings and sanitizers (Taskflow/CAF idiom).
add_library(crew_warnings INTERFACE)
# -Wno-restrict: GCC 12 reports std::string concatenation in Release builds as overlapping
# memcpy (a false positive, GCC bug 105329), pages of it for every `"text" + string`.
target_compile_options(crew_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict> $<$<BOOL:${CREW_WERROR}>:-Werror>)

add_library(crew_sanitizers INTERFACE)
if(CREW_SANITIZERS)
  target_compile_options(crew_sanitizers INTERFACE -fsanitize=${CREW_SANITIZERS} -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(crew_sanitizers INTERFACE -fsanitize=${CREW_SANITIZERS})
endif()
