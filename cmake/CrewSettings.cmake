# Interface targets every crew target links PRIVATE: warnings and sanitizers (Taskflow/CAF idiom).
add_library(crew_warnings INTERFACE)
target_compile_options(crew_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic
  $<$<BOOL:${CREW_WERROR}>:-Werror>)

add_library(crew_sanitizers INTERFACE)
if(CREW_SANITIZERS)
  target_compile_options(crew_sanitizers INTERFACE -fsanitize=${CREW_SANITIZERS} -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(crew_sanitizers INTERFACE -fsanitize=${CREW_SANITIZERS})
endif()
