# The router: catalog, retries and fallbacks, breakers, concurrency limits; plus
# the scriptable FakeProvider every model-calling test can use.
list(APPEND MODELS_SOURCES
  fake_provider.cc
  router/backoff.cc
  router/catalog.cc
  router/circuit_breaker.cc
  router/provider_registry.cc
  router/retry_after.cc
  router/routed_stream.cc
  router/router.cc
  router/router_calls.cc
  router/router_internal.cc
  router/semaphore.cc)
list(APPEND MODELS_TESTS
  fake_provider_test.cc
  router/backoff_test.cc
  router/catalog_test.cc
  router/circuit_breaker_test.cc
  router/retry_after_test.cc
  router/semaphore_test.cc
  router/router_test.cc
  router/router_limits_test.cc
  router/router_stream_test.cc)
