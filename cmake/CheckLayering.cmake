# Build step (cmake -P): every `#include "path"` of a component's files must
# name a file of the same component or of one it depends on (rules written by
# cmake/NfcComponent.cmake), and only components marked LLVM may include
# <llvm/...>. Includes of files that are not in the source tree (generated,
# or written into emitted code) are not checked.
#   -DNFC_SOURCE_DIR=<tree> -DNFC_RULES=<LayeringRules.cmake>
cmake_minimum_required(VERSION 3.25)
include(${NFC_RULES})

# The component owning a path relative to the tree: the longest component
# folder that contains it ("" if none).
function(owner_of path out)
  set(best "")
  set(best_len 0)
  foreach(c IN LISTS NFC_LAYERS)
    set(dir "${NFC_LAYER_${c}_DIR}/")
    string(LENGTH "${dir}" len)
    string(SUBSTRING "${path}" 0 ${len} prefix)
    if(prefix STREQUAL dir AND len GREATER best_len)
      set(best ${c})
      set(best_len ${len})
    endif()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

set(errors "")
foreach(c IN LISTS NFC_LAYERS)
  file(GLOB_RECURSE files RELATIVE ${NFC_SOURCE_DIR} ${NFC_SOURCE_DIR}/${NFC_LAYER_${c}_DIR}/*.cpp
       ${NFC_SOURCE_DIR}/${NFC_LAYER_${c}_DIR}/*.hpp ${NFC_SOURCE_DIR}/${NFC_LAYER_${c}_DIR}/*.def)
  foreach(f IN LISTS files)
    owner_of(${f} owner)
    if(NOT owner STREQUAL c)
      continue()  # a sub-folder that is a component of its own
    endif()
    file(STRINGS ${NFC_SOURCE_DIR}/${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS lines)
      if(line MATCHES "#[ \t]*include[ \t]*<(llvm|llvm-c)/")
        if(NOT NFC_LAYER_${c}_LLVM)
          string(APPEND errors "${f}: error: ${c} may not include LLVM headers: ${line}\n")
        endif()
      elseif(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
        set(target "${CMAKE_MATCH_1}")
        if(NOT EXISTS ${NFC_SOURCE_DIR}/${target})
          continue()
        endif()
        owner_of(${target} target_owner)
        if(NOT target_owner IN_LIST NFC_LAYER_${c}_ALLOWED)
          if(target_owner STREQUAL "")
            set(target_owner "no component")
          endif()
          string(JOIN ", " allowed ${NFC_LAYER_${c}_ALLOWED})
          string(APPEND errors "${f}: error: ${c} may not include \"${target}\" (${target_owner}); "
                               "it may include ${allowed}\n")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()
# One plain line per offending include (NOTICE is printed as given; an
# error message would be re-wrapped), then the failure.
if(errors)
  message(NOTICE "${errors}")
  message(FATAL_ERROR "forbidden includes: cmake/NfcComponent.cmake declares who may use whom")
endif()
