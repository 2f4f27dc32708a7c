// Runs the aws-sdk-go event-stream vectors in ../shared/conformance/eventstream/ (read
// at run time, never copied in). Positive vectors must decode to exactly the expected
// headers and payload and re-encode to the original bytes; negative vectors must be
// rejected, fed whole and fed byte by byte, with an error of the expected meaning.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/eventstream.h"
#include "nlohmann/json.hpp"

namespace basalt::net {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// BASALT_CONFORMANCE_DIR if set, else ../shared/conformance beside the repository root
// (this file is <root>/src/net/).
fs::path ConformanceDir() {
  if (const char* env = std::getenv("BASALT_CONFORMANCE_DIR"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  const fs::path root = fs::path(__FILE__).parent_path().parent_path().parent_path();
  return (root / ".." / "shared" / "conformance").lexically_normal();
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Standard base64 with padding. EVP_DecodeBlock counts the zero bytes that padding
// stands for, so they are trimmed.
std::string Base64Decode(const std::string& text) {
  if (text.empty()) return "";
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  EXPECT_GE(n, 0) << "bad base64: " << text;
  if (n < 0) return "";
  out.resize(n);
  const size_t padding = text.size() - text.find_last_not_of('=') - 1;
  out.resize(out.size() - std::min(padding, out.size()));
  return out;
}

// The expected header value from the vector's JSON: bools as JSON bools, integers and
// timestamps as numbers, byte arrays, strings and UUIDs as base64.
EventHeaderValue ExpectedValue(const nlohmann::json& h) {
  const int type = h.at("type").get<int>();
  const nlohmann::json& v = h.at("value");
  switch (static_cast<EventHeaderType>(type)) {
    case EventHeaderType::kBoolTrue:
    case EventHeaderType::kBoolFalse:
      return EventHeaderValue{v.get<bool>()};
    case EventHeaderType::kByte:
      return EventHeaderValue{static_cast<int8_t>(v.get<int>())};
    case EventHeaderType::kInt16:
      return EventHeaderValue{static_cast<int16_t>(v.get<int>())};
    case EventHeaderType::kInt32:
      return EventHeaderValue{v.get<int32_t>()};
    case EventHeaderType::kInt64:
      return EventHeaderValue{v.get<int64_t>()};
    case EventHeaderType::kByteArray:
      return EventHeaderValue{EventByteArray{Base64Decode(v.get<std::string>())}};
    case EventHeaderType::kString:
      return EventHeaderValue{Base64Decode(v.get<std::string>())};
    case EventHeaderType::kTimestamp:
      return EventHeaderValue{EventTimestamp{v.get<int64_t>()}};
    case EventHeaderType::kUuid: {
      const std::string bytes = Base64Decode(v.get<std::string>());
      EventUuid uuid;
      EXPECT_EQ(bytes.size(), uuid.bytes.size());
      std::copy_n(bytes.begin(), std::min(bytes.size(), uuid.bytes.size()), uuid.bytes.begin());
      return EventHeaderValue{uuid};
    }
  }
  ADD_FAILURE() << "unknown header type in vector: " << type;
  return EventHeaderValue{};
}

uint32_t BigEndian32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = at; i < at + 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

// The vector files in `kind` ("positive" or "negative"), each with its decoded
// counterpart; fails the test if the directory is missing or empty.
std::vector<std::pair<fs::path, fs::path>> Vectors(const std::string& kind) {
  const fs::path dir = ConformanceDir() / "eventstream";
  const fs::path encoded = dir / "encoded" / kind;
  std::vector<std::pair<fs::path, fs::path>> out;
  if (!fs::is_directory(encoded)) {
    ADD_FAILURE() << "conformance vectors not found: " << encoded
                  << " (set BASALT_CONFORMANCE_DIR to the shared conformance directory)";
    return out;
  }
  for (const fs::directory_entry& e : fs::directory_iterator(encoded)) {
    const fs::path decoded = dir / "decoded" / kind / e.path().filename();
    if (!fs::is_regular_file(decoded)) {
      ADD_FAILURE() << "no expected decode for " << e.path() << ": missing " << decoded;
      continue;
    }
    out.emplace_back(e.path(), decoded);
  }
  std::sort(out.begin(), out.end());
  EXPECT_FALSE(out.empty()) << "no vectors in " << encoded;
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(EventStreamConformanceTest, PositiveVectorsDecodeAndReencode) {
  int passed = 0;
  const auto vectors = Vectors("positive");
  for (const auto& [encoded_path, decoded_path] : vectors) {
    SCOPED_TRACE(encoded_path.string());
    const std::string wire = ReadFile(encoded_path);
    const nlohmann::json want = nlohmann::json::parse(ReadFile(decoded_path));

    // The vector's own prelude fields describe the raw bytes.
    ASSERT_GE(wire.size(), kEventStreamMinMessageBytes);
    EXPECT_EQ(BigEndian32(wire, 0), want.at("total_length").get<uint32_t>());
    EXPECT_EQ(BigEndian32(wire, 4), want.at("headers_length").get<uint32_t>());
    EXPECT_EQ(static_cast<int32_t>(BigEndian32(wire, 8)), want.at("prelude_crc").get<int32_t>());
    EXPECT_EQ(static_cast<int32_t>(BigEndian32(wire, wire.size() - 4)),
              want.at("message_crc").get<int32_t>());

    EventMessage expected;
    for (const nlohmann::json& h : want.at("headers")) {
      expected.headers.emplace_back(h.at("name").get<std::string>(), ExpectedValue(h));
      ASSERT_EQ(static_cast<int>(expected.headers.back().second.type()), h.at("type").get<int>());
    }
    expected.payload = Base64Decode(want.at("payload").get<std::string>());

    for (bool bytewise : {false, true}) {
      EventStreamDecoder decoder;
      std::vector<EventMessage> got;
      auto collect = [&](EventMessage&& m) { got.push_back(std::move(m)); };
      absl::Status status;
      if (bytewise) {
        for (size_t i = 0; i < wire.size() && status.ok(); ++i) {
          status = decoder.Feed(std::string_view(wire).substr(i, 1), collect);
        }
      } else {
        status = decoder.Feed(wire, collect);
      }
      ASSERT_TRUE(status.ok()) << (bytewise ? "bytewise: " : "whole: ") << status;
      ASSERT_EQ(got.size(), 1u);
      EXPECT_FALSE(decoder.HasPartial());
      EXPECT_EQ(got[0], expected);
      EXPECT_EQ(EncodeEventMessage(got[0]), wire) << "re-encoding differs";
    }
    ++passed;
  }
  RecordProperty("positive_passed", passed);
  EXPECT_EQ(passed, static_cast<int>(vectors.size()));
}

// The vectors' expected text is aws-sdk-go's wording ("Prelude checksum mismatch",
// "Message checksum mismatch"); basalt's errors must carry the same phrase, compared
// case-insensitively, and the kDataLoss code a checksum failure maps to.
TEST(EventStreamConformanceTest, NegativeVectorsAreRejected) {
  int passed = 0;
  const auto vectors = Vectors("negative");
  for (const auto& [encoded_path, decoded_path] : vectors) {
    SCOPED_TRACE(encoded_path.string());
    const std::string wire = ReadFile(encoded_path);
    std::string expected_text = Lower(ReadFile(decoded_path));
    expected_text.erase(expected_text.find_last_not_of(" \r\n\t") + 1);
    ASSERT_FALSE(expected_text.empty());

    for (bool bytewise : {false, true}) {
      EventStreamDecoder decoder;
      size_t messages = 0;
      auto count = [&](EventMessage&&) { ++messages; };
      absl::Status status;
      if (bytewise) {
        for (size_t i = 0; i < wire.size() && status.ok(); ++i) {
          status = decoder.Feed(std::string_view(wire).substr(i, 1), count);
        }
      } else {
        status = decoder.Feed(wire, count);
      }
      ASSERT_FALSE(status.ok()) << (bytewise ? "bytewise" : "whole") << ": accepted";
      EXPECT_EQ(messages, 0u);
      EXPECT_THAT(Lower(std::string(status.message())), HasSubstr(expected_text))
          << (bytewise ? "bytewise" : "whole");
      if (expected_text.find("checksum") != std::string::npos) {
        EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
      }
    }
    EXPECT_FALSE(DecodeEventMessage(wire).ok());
    ++passed;
  }
  RecordProperty("negative_passed", passed);
  EXPECT_EQ(passed, static_cast<int>(vectors.size()));
}

}  // namespace
}  // namespace basalt::net
