# Unit tests: every tests/test_<module>.c is one program and one ctest.
file(GLOB GS_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/test_*.c)
foreach(src ${GS_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${GS_WARNINGS})
  target_link_libraries(${name} PRIVATE gatesim_core)
  add_test(NAME unit.${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(unit.${name} PROPERTIES TIMEOUT 300)
endforeach()
# The CUDA test exits 77 where there is no GPU: ctest shows it as skipped,
# never as passed.
if(TEST unit.test_kernels_cuda)
  set_tests_properties(unit.test_kernels_cuda PROPERTIES SKIP_RETURN_CODE 77)
endif()
include(${CMAKE_SOURCE_DIR}/tests/cli.cmake OPTIONAL)
include(${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz.cmake OPTIONAL)
