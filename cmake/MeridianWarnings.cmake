# Compile options for Meridian's own targets: strict warnings, errors on warnings.
# Generated Cap'n Proto code does not get these (see schema/CMakeLists.txt). nvcc takes host
# compiler flags only through -Xcompiler, so CUDA sources get the same warnings that way, and
# nvcc's own warnings become errors too.
add_library(meridian_warnings INTERFACE)
target_compile_options(meridian_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:C,CXX>:-Wall -Wextra -Werror>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Werror --Werror=all-warnings>)

# meridian_add_library(NAME SOURCES... DEPS ...): a module library with our warnings on.
function(meridian_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  if(ARG_SOURCES)
    add_library(${name} STATIC ${ARG_SOURCES})
    target_include_directories(${name} PUBLIC "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE meridian_warnings)
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
