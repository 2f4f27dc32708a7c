# AWS Signature Version 4: signing, presigning and verification (namespace basalt::sigv4).
set(SIGV4_SOURCES sigv4.cc sigv4_canonical.cc sigv4_request.cc sigv4_verifier.cc)
set(SIGV4_TESTS sigv4_test.cc sigv4_verifier_test.cc sigv4_conformance_test.cc)
