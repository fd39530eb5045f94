# One small helper per kind of target. Each takes the same keywords:
#   NAME <target>  SRCS <files...>  DEPS <targets...>
# Include paths are rooted at the source tree: #include "protocol/mqtt/decoder.h".

# Flags shared by every telemq target (an INTERFACE target, not global state).
add_library(telemq_build_flags INTERFACE)
target_compile_options(telemq_build_flags INTERFACE -Wall -Wextra -Wno-missing-field-initializers)
if(TELEMQ_WERROR)
  target_compile_options(telemq_build_flags INTERFACE -Werror)
endif()
if(TELEMQ_SANITIZE STREQUAL "address-undefined")
  set(_telemq_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  if(TELEMQ_FUZZ)
    # Libraries get libFuzzer's coverage instrumentation; fuzz targets add its
    # main. One build then serves both the sanitized tests and the fuzzers.
    list(PREPEND _telemq_san -fsanitize=fuzzer-no-link)
  endif()
elseif(TELEMQ_SANITIZE STREQUAL "thread")
  set(_telemq_san -fsanitize=thread -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # gcc warns that TSan does not model std::atomic_thread_fence. The fences
    # order the shards' sleep handshake (shard_group.h) whose flag and ring
    # indexes are themselves seq_cst/acquire-release atomics TSan does see.
    target_compile_options(telemq_build_flags INTERFACE -Wno-tsan)
  endif()
elseif(NOT TELEMQ_SANITIZE STREQUAL "")
  message(FATAL_ERROR "TELEMQ_SANITIZE='${TELEMQ_SANITIZE}': expected '', address-undefined or thread")
endif()
if(TELEMQ_FUZZ AND NOT (CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND TELEMQ_SANITIZE STREQUAL "address-undefined"))
  message(FATAL_ERROR "TELEMQ_FUZZ needs clang and TELEMQ_SANITIZE=address-undefined (the asan-ubsan preset)")
endif()
if(_telemq_san)
  target_compile_options(telemq_build_flags INTERFACE ${_telemq_san})
  target_link_options(telemq_build_flags INTERFACE ${_telemq_san})
endif()

function(_telemq_parse prefix)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;ARGS;CORPUS")
  foreach(key NAME TIMEOUT SRCS DEPS LABELS ARGS CORPUS)
    set(${prefix}_${key} "${ARG_${key}}" PARENT_SCOPE)
  endforeach()
endfunction()

# telemq_library(NAME n SRCS ... DEPS ...): a static library; header-only when
# SRCS holds no .cc file.
function(telemq_library)
  _telemq_parse(L ${ARGN})
  list(FILTER L_SRCS INCLUDE REGEX "\\.cc$")
  if(L_SRCS)
    add_library(${L_NAME} STATIC ${L_SRCS})
    target_include_directories(${L_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${L_NAME} PUBLIC ${L_DEPS} PRIVATE telemq_build_flags)
  else()
    add_library(${L_NAME} INTERFACE)
    target_include_directories(${L_NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${L_NAME} INTERFACE ${L_DEPS})
  endif()
endfunction()

# telemq_executable(NAME n SRCS ... DEPS ...)
function(telemq_executable)
  _telemq_parse(E ${ARGN})
  add_executable(${E_NAME} ${E_SRCS})
  target_link_libraries(${E_NAME} PRIVATE ${E_DEPS} telemq_build_flags)
endfunction()

# Every test file starts by parsing GoogleTest, GoogleMock and the standard
# headers they pull in (about 4 s each with g++ 12): one precompiled header,
# built once per build tree, serves them all.
add_library(telemq_test_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/test_pch.cc)
target_link_libraries(telemq_test_pch PRIVATE GTest::gtest GTest::gmock telemq_build_flags)
target_include_directories(telemq_test_pch PRIVATE ${PROJECT_SOURCE_DIR})
target_precompile_headers(telemq_test_pch PRIVATE <gmock/gmock.h> <gtest/gtest.h>)

# telemq_test(NAME n SRCS ... DEPS ... [LABELS unit|integration|...] [TIMEOUT s])
# A GoogleTest binary registered with CTest. Default label: unit.
function(telemq_test)
  _telemq_parse(T ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest_main GTest::gmock telemq_build_flags)
  target_precompile_headers(${T_NAME} REUSE_FROM telemq_test_pch)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()

# telemq_benchmark(NAME n SRCS ... DEPS ...)
# A Google Benchmark binary. It is also registered as a CTest smoke test
# (label bench) that runs every benchmark once for a few milliseconds, so a
# benchmark that crashes or asserts fails CI; its figures are not checked.
function(telemq_benchmark)
  if(NOT TELEMQ_BENCHMARKS)
    return()
  endif()
  _telemq_parse(B ${ARGN})
  add_executable(${B_NAME} ${B_SRCS})
  target_link_libraries(${B_NAME} PRIVATE ${B_DEPS} benchmark::benchmark_main telemq_build_flags)
  add_test(NAME ${B_NAME}_smoke COMMAND ${B_NAME} --benchmark_min_time=0.001)
  set_tests_properties(${B_NAME}_smoke PROPERTIES LABELS bench TIMEOUT 300)
endfunction()

# telemq_fuzz(NAME n SRCS ... DEPS ... CORPUS dir)
# SRCS define LLVMFuzzerTestOneInput. With TELEMQ_FUZZ (clang) the binary is a
# libFuzzer target; otherwise it links tests/fuzz/replay_main.cc and is a CTest
# test (label unit) that replays every file of the seed corpus, so the corpus
# is checked by every build, sanitized or not.
function(telemq_fuzz)
  _telemq_parse(F ${ARGN})
  add_executable(${F_NAME} ${F_SRCS})
  target_link_libraries(${F_NAME} PRIVATE ${F_DEPS} telemq_build_flags)
  if(TELEMQ_FUZZ)
    target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
    set_property(GLOBAL APPEND PROPERTY TELEMQ_FUZZ_TARGETS "${F_NAME}|${F_CORPUS}")
    # Given files rather than a directory, libFuzzer runs each once and exits.
    add_test(NAME ${F_NAME}_corpus COMMAND sh -c "exec \"$0\" \"$1\"/*" $<TARGET_FILE:${F_NAME}> ${F_CORPUS})
  else()
    target_sources(${F_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
    add_test(NAME ${F_NAME}_corpus COMMAND ${F_NAME} ${F_CORPUS})
  endif()
  set_tests_properties(${F_NAME}_corpus PROPERTIES LABELS unit TIMEOUT 300)
endfunction()
