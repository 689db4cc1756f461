# Installation: programs, libraries, headers and a CMake package, so that
#   find_package(crew) -> crew::client (no MPI), crew::engine (MPI), crew::core
include(CMakePackageConfigHelpers)

install(TARGETS crew_core crew_client crew_engine
  EXPORT crewTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS crew crew-engine RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# libcrew_engine loads it from its own directory (engine/h5_module.hpp)
install(TARGETS crew_h5 LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/crew DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/crew/version.hpp ${PROJECT_BINARY_DIR}/include/crew/export.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/crew)

set(crew_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/crew)
install(EXPORT crewTargets NAMESPACE crew:: DESTINATION ${crew_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/crewConfig.cmake.in
  ${PROJECT_BINARY_DIR}/crewConfig.cmake INSTALL_DESTINATION ${crew_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/crewConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/crewConfig.cmake ${PROJECT_BINARY_DIR}/crewConfigVersion.cmake
  DESTINATION ${crew_cmake_dir})

# Launcher files and job-script templates (crew finds them at <prefix>/share/crew, beside bin/).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/launchers ${PROJECT_SOURCE_DIR}/jobscripts DESTINATION share/crew)
