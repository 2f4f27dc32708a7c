# The AWS event-stream codec; included by src/net/CMakeLists.txt. Its CRC32 is zlib's.
find_package(ZLIB REQUIRED)
# basalt_net links zlib transitively, so the imported target must be visible from every
# directory that links basalt_net, not only this one.
set_target_properties(ZLIB::ZLIB PROPERTIES IMPORTED_GLOBAL TRUE)
set(EVENTSTREAM_SOURCES eventstream.cc)
set(EVENTSTREAM_TESTS eventstream_test.cc eventstream_conformance_test.cc)
set(EVENTSTREAM_LIBS ZLIB::ZLIB)
# basalt_net is created after this file is included: link zlib once this directory's
# CMakeLists.txt has been processed.
cmake_language(DEFER CALL target_link_libraries basalt_net PUBLIC ${EVENTSTREAM_LIBS})
