# Included by tests/CMakeLists.txt: builds the fuzz project next door with clang (it needs
# libFuzzer; the main build is g++) and registers its ctest tests, label `fuzz`:
#   fuzz_shm           IPCBENCH_FUZZ_SECONDS (default 60) of fuzzing from corpus/, fails on a finding
#   fuzz_shm_selftest  a planted overflow must be found and reported inside ipcb::Ring
# Without clang++ or libFuzzer both are registered as skips that name what is missing.
option(IPCBENCH_FUZZ "build and run the libFuzzer target of tests/fuzz (needs clang)" ON)
set(IPCBENCH_FUZZ_SECONDS 60 CACHE STRING "seconds ctest's fuzz_shm fuzzes (env var wins)")
if(NOT IPCBENCH_FUZZ)
  return()
endif()

# Probed once per build folder: can clang++ link a libFuzzer + ASan + UBSan program?
find_program(IPCBENCH_CLANGXX NAMES clang++-14 clang++)
if(NOT DEFINED CACHE{IPCBENCH_FUZZ_MISSING})
  set(missing "")
  if(NOT IPCBENCH_CLANGXX)
    set(missing "no clang++ (Debian: apt-get install clang libclang-rt-14-dev)")
  else()
    set(probe "${CMAKE_CURRENT_BINARY_DIR}/fuzz_probe")
    file(WRITE "${probe}.cc"
      "extern \"C\" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n")
    execute_process(COMMAND "${IPCBENCH_CLANGXX}" -fsanitize=fuzzer,address,undefined
      "${probe}.cc" -o "${probe}" RESULT_VARIABLE probe_status OUTPUT_QUIET ERROR_QUIET)
    if(NOT probe_status EQUAL 0)
      string(CONCAT missing "${IPCBENCH_CLANGXX} cannot link -fsanitize=fuzzer: libFuzzer is "
                    "missing (Debian: apt-get install libclang-rt-14-dev)")
    endif()
  endif()
  set(IPCBENCH_FUZZ_MISSING "${missing}" CACHE INTERNAL "why the fuzz target cannot be built")
endif()

set(fuzz_dir "${CMAKE_CURRENT_LIST_DIR}")
if(IPCBENCH_FUZZ_MISSING)
  message(STATUS "fuzz tests skipped: ${IPCBENCH_FUZZ_MISSING}")
  foreach(name fuzz_shm fuzz_shm_selftest)
    add_test(NAME ${name} COMMAND sh -c "echo 'skipped: ${IPCBENCH_FUZZ_MISSING}'; exit 77")
    set_tests_properties(${name} PROPERTIES LABELS fuzz SKIP_RETURN_CODE 77)
  endforeach()
  return()
endif()

include(ExternalProject)
set(fuzz_launcher "")
if(IPCBENCH_CCACHE)
  set(fuzz_launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${IPCBENCH_CCACHE})
endif()
# BUILD_ALWAYS: the sources under test live outside SOURCE_DIR, so let the inner build decide.
ExternalProject_Add(shm_fuzz_build
  SOURCE_DIR "${fuzz_dir}"
  BINARY_DIR "${CMAKE_BINARY_DIR}/fuzz"
  CMAKE_ARGS -DCMAKE_CXX_COMPILER=${IPCBENCH_CLANGXX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
             ${fuzz_launcher}
  INSTALL_COMMAND ""
  BUILD_ALWAYS ON)

set(fuzzer "${CMAKE_BINARY_DIR}/fuzz/shm_fuzz")
add_test(NAME fuzz_shm COMMAND "${fuzz_dir}/run_fuzz.sh" "${fuzzer}" "${fuzz_dir}/corpus"
  "${CMAKE_BINARY_DIR}/fuzz/run" ${IPCBENCH_FUZZ_SECONDS})
add_test(NAME fuzz_shm_selftest COMMAND "${fuzz_dir}/run_fuzz.sh" --selftest "${fuzzer}"
  "${fuzz_dir}/corpus" "${CMAKE_BINARY_DIR}/fuzz/selftest")
set_tests_properties(fuzz_shm fuzz_shm_selftest PROPERTIES LABELS fuzz)
