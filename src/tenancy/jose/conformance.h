// Test-only: reads a file under BASALT_CONFORMANCE_DIR (../shared/conformance).
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace basalt::jose::testing {

// The parsed file; on a missing or unparsable file, a test failure naming the
// path and a null json.
inline nlohmann::json LoadConformance(const std::string& relative) {
  const std::string path = std::string(BASALT_CONFORMANCE_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "conformance file not found: " << path;
    return nullptr;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) ADD_FAILURE() << "conformance file is not JSON: " << path;
  return doc;
}

inline std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

// A private JWK reduced to its public members, as a verifier would be given it.
inline nlohmann::json PublicPart(nlohmann::json jwk) {
  if (jwk.value("kty", "") != "oct") {
    for (const char* name : {"d", "p", "q", "dp", "dq", "qi", "oth"}) jwk.erase(name);
  }
  return jwk;
}

}  // namespace basalt::jose::testing
