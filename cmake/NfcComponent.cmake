# One folder, one library, and the folders it may include from.
#
#   nfc_component(NAME DIR [INTERFACE] [DEPENDS other components...]
#                 [LINK external targets...] [LLVM])
#
# A component's sources are the .cpp files of DIR and of its sub-folders
# that are not components of their own. DEPENDS names the components whose
# headers it may include and that it links; the allowed includes are the
# transitive closure of DEPENDS (a component may include what its
# dependencies' headers include). LLVM: the only components that may include
# LLVM's headers. nfc_layering_rules() then writes the rules that
# cmake/CheckLayering.cmake checks on every build: an include across folders
# that the dependency graph does not allow is a build error.

set_property(GLOBAL PROPERTY NFC_COMPONENTS "")
set_property(GLOBAL PROPERTY NFC_EXCLUDED_FOLDERS "")

# A folder whose files no component builds (runtime/mpi without MPI).
function(nfc_exclude_folder dir)
  set_property(GLOBAL APPEND PROPERTY NFC_EXCLUDED_FOLDERS ${dir})
endfunction()

function(nfc_component name dir)
  cmake_parse_arguments(ARG "INTERFACE;LLVM" "" "DEPENDS;LINK" ${ARGN})
  set_property(GLOBAL APPEND PROPERTY NFC_COMPONENTS ${name})
  set_property(GLOBAL PROPERTY NFC_COMPONENT_${name}_DIR ${dir})
  set_property(GLOBAL PROPERTY NFC_COMPONENT_${name}_DEPENDS ${ARG_DEPENDS})
  set_property(GLOBAL PROPERTY NFC_COMPONENT_${name}_LLVM ${ARG_LLVM})
  if(ARG_INTERFACE)
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE ${ARG_DEPENDS} ${ARG_LINK})
    target_include_directories(${name} INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}>)
    return()
  endif()
  # Sources are added by nfc_layering_rules(), once every component is known.
  add_library(${name} STATIC)
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}>)
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS} ${ARG_LINK})
  if(ARG_LLVM)
    target_include_directories(${name} SYSTEM PRIVATE ${LLVM_INCLUDE_DIRS})
    target_compile_definitions(${name} PRIVATE ${LLVM_DEFINITIONS})
    target_link_libraries(${name} PRIVATE LLVM)
  endif()
  add_dependencies(${name} nfc_layering)
endfunction()

# The components `name` may include: itself and every dependency, transitively.
function(_nfc_closure name out)
  set(seen ${name})
  set(queue ${name})
  while(queue)
    list(POP_FRONT queue c)
    get_property(deps GLOBAL PROPERTY NFC_COMPONENT_${c}_DEPENDS)
    foreach(d IN LISTS deps)
      if(NOT d IN_LIST seen)
        list(APPEND seen ${d})
        list(APPEND queue ${d})
      endif()
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Writes the rules file read by cmake/CheckLayering.cmake and the build step
# that runs it over every component's files.
function(nfc_layering_rules)
  get_property(components GLOBAL PROPERTY NFC_COMPONENTS)
  _nfc_add_sources("${components}")
  set(text "set(NFC_LAYERS ${components})\n")
  set(files "")
  foreach(c IN LISTS components)
    get_property(dir GLOBAL PROPERTY NFC_COMPONENT_${c}_DIR)
    get_property(llvm GLOBAL PROPERTY NFC_COMPONENT_${c}_LLVM)
    _nfc_closure(${c} allowed)
    string(APPEND text "set(NFC_LAYER_${c}_DIR ${dir})\nset(NFC_LAYER_${c}_ALLOWED ${allowed})\n")
    string(APPEND text "set(NFC_LAYER_${c}_LLVM ${llvm})\n")
    file(GLOB_RECURSE component_files CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.cpp
         ${CMAKE_SOURCE_DIR}/${dir}/*.hpp ${CMAKE_SOURCE_DIR}/${dir}/*.def)
    list(APPEND files ${component_files})
  endforeach()
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/generated/LayeringRules.cmake CONTENT "${text}")
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/generated/layering.stamp
    COMMAND ${CMAKE_COMMAND} -DNFC_SOURCE_DIR=${CMAKE_SOURCE_DIR}
            -DNFC_RULES=${CMAKE_BINARY_DIR}/generated/LayeringRules.cmake
            -P ${CMAKE_SOURCE_DIR}/cmake/CheckLayering.cmake
    COMMAND ${CMAKE_COMMAND} -E touch ${CMAKE_BINARY_DIR}/generated/layering.stamp
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/CheckLayering.cmake
            ${CMAKE_BINARY_DIR}/generated/LayeringRules.cmake
    COMMENT "Checking includes against the component graph")
endfunction()

# Each library's sources: the .cpp files under its folder, less those under
# a sub-folder that is a component of its own (runtime/io is not part of
# nfc_runtime).
function(_nfc_add_sources components)
  foreach(c IN LISTS components)
    get_target_property(type ${c} TYPE)
    if(type STREQUAL "INTERFACE_LIBRARY")
      continue()
    endif()
    get_property(dir GLOBAL PROPERTY NFC_COMPONENT_${c}_DIR)
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.cpp)
    get_property(excluded GLOBAL PROPERTY NFC_EXCLUDED_FOLDERS)
    foreach(other IN LISTS components excluded)
      get_property(other_dir GLOBAL PROPERTY NFC_COMPONENT_${other}_DIR)
      if(other IN_LIST excluded)
        set(other_dir ${other})
      endif()
      string(FIND "${other_dir}" "${dir}/" at)
      if(at EQUAL 0)
        list(FILTER sources EXCLUDE REGEX "^${CMAKE_SOURCE_DIR}/${other_dir}/")
      endif()
    endforeach()
    target_sources(${c} PRIVATE ${sources})
  endforeach()
endfunction()
