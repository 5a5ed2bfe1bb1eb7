# Tests of smelt as installed (`make install`, `make package`): scripts in tests/install/.
add_test(NAME install_prefix
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/installed.sh ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
# A sanitizer build is no package: its smelt needs libasan, which no user install has.
if(NOT SMELT_SANITIZE)
  add_test(NAME install_deb
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/deb.sh ${CMAKE_CPACK_COMMAND} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
endif()
