# The async HTTP client and the SSE parser; included by src/net/CMakeLists.txt.
set(NET_CLIENT_SOURCES
  sse_parser.cc http_connection.cc http_pool.cc http_tls.cc http_client.cc)
set(NET_CLIENT_TESTS
  sse_parser_test.cc
  http_client_test_server.cc
  http_client_test.cc
  http_client_stream_test.cc
  http_client_tls_test.cc)
