# Fuzzing (docs/fuzzing.md). Included from tests/tests.cmake.
#
# Every build: replay_scenario and replay_sweep feed the seed corpus and
# the inputs that once crashed (tests/fuzz/regressions/) through the fuzz
# targets' entry points as ordinary tests.
#
# -DGATESIM_FUZZ=ON (clang only): fuzz_scenario and fuzz_sweep, libFuzzer
# binaries with AddressSanitizer and UBSan, linked with a second copy of
# the core library compiled with coverage instrumentation
# (-fsanitize=fuzzer-no-link) and the same warnings as errors.
# scripts/fuzz.sh configures and runs them.
option(GATESIM_FUZZ "Build the libFuzzer targets (needs clang)" OFF)

foreach(t scenario sweep)
  add_executable(replay_${t} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c
                 ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${t}.c)
  target_compile_options(replay_${t} PRIVATE ${GS_WARNINGS})
  target_link_libraries(replay_${t} PRIVATE gatesim_core)
endforeach()
add_test(NAME fuzz.replay-scenario
         COMMAND replay_scenario tests/fuzz/corpus/scenario tests/fuzz/regressions/scenario
                 scenarios tests/bad
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME fuzz.replay-sweep
         COMMAND replay_sweep tests/fuzz/corpus/sweep tests/fuzz/regressions/sweep
                 tests/sweep tests/bad-sweep
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(fuzz.replay-scenario fuzz.replay-sweep PROPERTIES TIMEOUT 120)
# The data-file limits, with FIFOs and devices (which the replay cannot
# hold in git) and a sparse file over the size limit.
if(TARGET gatesim)
  add_test(NAME fuzz.data-files
           COMMAND ${CMAKE_SOURCE_DIR}/tests/fuzz/limits.sh $<TARGET_FILE:gatesim>
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(fuzz.data-files PROPERTIES TIMEOUT 120)
endif()

if(GATESIM_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "GATESIM_FUZZ=ON needs clang (libFuzzer): configure with CC=clang")
  endif()
  if(GS_WITH_CUDA OR GS_WITH_MPI)
    message(FATAL_ERROR "GATESIM_FUZZ=ON: configure with -DGATESIM_CUDA=off -DGATESIM_MPI=off")
  endif()
  set(GS_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer -g)
  add_library(gatesim_fuzz_core STATIC ${GS_CORE_SOURCES})
  target_include_directories(gatesim_fuzz_core PUBLIC ${CMAKE_SOURCE_DIR} ${CSV_INCLUDE_DIR})
  # Sanitizer instrumentation stops clang from vectorizing the
  # `omp simd` loops it was asked to, which it reports as a warning
  # (-Wpass-failed) that says nothing about the code.
  target_compile_options(gatesim_fuzz_core PRIVATE ${GS_WARNINGS} -Werror -Wno-pass-failed
                         -fsanitize=fuzzer-no-link ${GS_FUZZ_FLAGS})
  target_compile_definitions(gatesim_fuzz_core PUBLIC GATESIM_VERSION="${PROJECT_VERSION}")
  target_link_libraries(gatesim_fuzz_core PUBLIC ${GS_BLAS} PkgConfig::GSL PkgConfig::YAML
                        OpenMP::OpenMP_C ${CSV_LIBRARY} m HDF5::HDF5)
  set_target_properties(gatesim_fuzz_core PROPERTIES INTERPROCEDURAL_OPTIMIZATION OFF)
  foreach(t scenario sweep)
    add_executable(fuzz_${t} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${t}.c)
    target_compile_options(fuzz_${t} PRIVATE ${GS_WARNINGS} -Werror -fsanitize=fuzzer
                           ${GS_FUZZ_FLAGS})
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer ${GS_FUZZ_FLAGS})
    target_link_libraries(fuzz_${t} PRIVATE gatesim_fuzz_core)
    set_target_properties(fuzz_${t} PROPERTIES INTERPROCEDURAL_OPTIMIZATION OFF
                          RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  endforeach()
endif()
