# The async HTTP client and the SSE parser; included by src/net/CMakeLists.txt.
set(NET_CLIENT_SOURCES sse_parser.cc)
set(NET_CLIENT_TESTS sse_parser_test.cc)
