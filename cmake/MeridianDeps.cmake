# Finds every third-party dependency (all from Debian packages; see scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(CapnProto CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(OpenMP REQUIRED)

# BLIS ships no pkg-config or CMake file: find the header and library by path.
find_path(BLIS_INCLUDE_DIR blis.h PATHS /usr/include/x86_64-linux-gnu /usr/include/blis REQUIRED)
find_library(BLIS_LIBRARY blis REQUIRED)
add_library(meridian_blis INTERFACE)
target_include_directories(meridian_blis SYSTEM INTERFACE "${BLIS_INCLUDE_DIR}")
target_link_libraries(meridian_blis INTERFACE "${BLIS_LIBRARY}" OpenMP::OpenMP_CXX)
