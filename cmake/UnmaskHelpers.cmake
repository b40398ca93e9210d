# One helper to add a component library, one to add a test. Everything else stays declarative.

set(UNMASK_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wno-deprecated-declarations)
# GCC 12's libstdc++ makes -Wrestrict fire on plain std::string code once it is inlined at -O2
# (assigning a one-character literal, concatenating short literals): GCC bugs 105329 and 105651.
# Debian 12 ships GCC 12.2; the warnings' byte counts (exabytes at negative offsets) are the
# analysis's, not the code's. Off for GCC 12 only, so other compilers still report the real kind.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND UNMASK_WARNINGS -Wno-restrict)
endif()

function(unmask_apply_options target)
  target_compile_options(${target} PRIVATE ${UNMASK_WARNINGS})
  if(UNMASK_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# unmask_add_component(NAME SOURCES a.cpp b.cpp PUBLIC_DEPS x PRIVATE_DEPS y)
# Creates the static library unmask_<NAME> from src/<NAME>/, exposing src/ as include root so
# headers are included as "core/core.h".
function(unmask_add_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(unmask_${name} STATIC ${ARG_SOURCES})
  target_include_directories(unmask_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(unmask_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  unmask_apply_options(unmask_${name})
  if(UNMASK_SANITIZE)
    target_link_options(unmask_${name} INTERFACE -fsanitize=address,undefined)
  endif()
endfunction()

# unmask_add_test(NAME SOURCES a_test.cpp DEPS unmask_core [LABELS slow])
function(unmask_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(test_${name} ${ARG_SOURCES})
  target_link_libraries(test_${name} PRIVATE ${ARG_DEPS} unmask_testing GTest::gtest GTest::gtest_main)
  unmask_apply_options(test_${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  gtest_discover_tests(test_${name}
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
