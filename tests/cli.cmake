# End-to-end tests of the command line (tests/cli.sh).
foreach(t usage bad bad-run bad-set run determinism compare precision outputs architectures killed
        capacity sweep sweep-bad sweep-mpi sweep-resume options quiet plots-gpu sweep-json
        saturated)
  add_test(NAME cli.${t} COMMAND ${CMAKE_SOURCE_DIR}/tests/cli.sh $<TARGET_FILE:gatesim> ${t}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(cli.${t} PROPERTIES TIMEOUT 600)
endforeach()
# The theory suite: golden tests against queueing theory.
add_test(NAME golden.validate COMMAND ${CMAKE_SOURCE_DIR}/tests/cli.sh $<TARGET_FILE:gatesim> validate
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(golden.validate PROPERTIES TIMEOUT 1800)
# Tests that need what a machine may lack (mpirun, a Slurm install, root)
# exit 77, which ctest shows as skipped, never as passed.
set_tests_properties(cli.sweep-mpi PROPERTIES SKIP_RETURN_CODE 77)
# A real sbatch through a throwaway single-node Slurm (munged, slurmctld,
# slurmd started by the test; docs/hpc.md).
add_test(NAME slurm.sweep COMMAND ${CMAKE_SOURCE_DIR}/tests/slurm.sh $<TARGET_FILE:gatesim>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(slurm.sweep PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77 RUN_SERIAL ON)
# Crash safety (tests/crash.sh): SIGKILL at random moments, a full disk, an
# unwritable output directory. unwritable needs setpriv when run as root.
foreach(t kill-run kill-compare kill-sweep full-disk unwritable)
  add_test(NAME crash.${t} COMMAND ${CMAKE_SOURCE_DIR}/tests/crash.sh $<TARGET_FILE:gatesim> ${t}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(crash.${t} PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
endforeach()
