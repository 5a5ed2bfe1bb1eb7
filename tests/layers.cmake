# The include order of the layers (docs/architecture.md, "Layers and includes"): the tree as it
# is, and the check itself on a copy with upward includes added.
add_test(NAME layers COMMAND ${CMAKE_SOURCE_DIR}/scripts/check_layers.sh ${CMAKE_SOURCE_DIR})
add_test(NAME layers_upward_fails COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/layers/upward.sh ${CMAKE_SOURCE_DIR})
