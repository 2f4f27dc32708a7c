# The EventBridge-style event-pattern engine (see rules/event_pattern.h).
list(APPEND BUS_RULES_SOURCES
  rules/event_pattern.cc
  rules/operator_parser.cc
  rules/pattern_match.cc
  rules/wildcard.cc
  rules/cidr.cc)
list(APPEND BUS_RULES_TESTS
  rules/event_pattern_test.cc
  rules/event_pattern_operators_test.cc
  rules/event_pattern_errors_test.cc
  rules/wildcard_test.cc
  rules/cidr_test.cc)
