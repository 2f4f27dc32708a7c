#include "tenancy/crypto/envelope.h"

#include <fstream>
#include <iterator>

#include "gtest/gtest.h"
#include "tenancy/crypto/aes_gcm.h"

namespace basalt::crypto {
namespace {

std::string AadString(const FieldRef& ref, uint32_t version) {
  absl::StatusOr<Aad> aad = BuildAad(ref, version);
  EXPECT_TRUE(aad.ok());
  return std::string(aad->data(), aad->size());
}

TEST(EnvelopeTest, AadIsLengthPrefixed) {
  const std::string aad = AadString({"t", "tab", "r1", "f"}, 7);
  const std::string expected(
      "\x01\x00\x00\x00\x07"
      "\x00\x00\x00\x01t"
      "\x00\x00\x00\x03tab"
      "\x00\x00\x00\x02r1"
      "\x00\x00\x00\x01"
      "f",
      5 + 5 + 7 + 6 + 5);
  EXPECT_EQ(aad, expected);
  // Moving bytes between parts changes the encoding.
  EXPECT_NE(AadString({"ab", "c", "r", "f"}, 1), AadString({"a", "bc", "r", "f"}, 1));
  EXPECT_NE(AadString({"t", "x", "", "f"}, 1), AadString({"t", "", "x", "f"}, 1));
  EXPECT_NE(AadString({"t", "x", "r", "f"}, 1), AadString({"t", "x", "r", "f"}, 2));
}

TEST(EnvelopeTest, Parse) {
  std::string envelope(kEnvelopeOverhead + 3, 'x');
  WriteEnvelopePrefix(0x01020304, envelope.data());
  absl::StatusOr<EnvelopeView> view = ParseEnvelope(envelope);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->key_version, 0x01020304u);
  EXPECT_EQ(view->nonce.size(), 12u);
  EXPECT_EQ(view->sealed.size(), 3u + 16u);

  EXPECT_TRUE(absl::IsDataLoss(ParseEnvelope(envelope.substr(0, kEnvelopeOverhead - 1)).status()));
  std::string wrong_format = envelope;
  wrong_format[0] = 2;
  EXPECT_TRUE(absl::IsDataLoss(ParseEnvelope(wrong_format).status()));
  std::string version_zero = envelope;
  WriteEnvelopePrefix(0, version_zero.data());
  EXPECT_TRUE(absl::IsDataLoss(ParseEnvelope(version_zero).status()));
}

TEST(EnvelopeTest, Base64) {
  const std::string bytes("\x01\x00\xff", 3);
  EXPECT_EQ(EnvelopeToBase64(bytes), "AQD/");
  EXPECT_EQ(*EnvelopeFromBase64("AQD/"), bytes);
  absl::Status s = EnvelopeFromBase64("AQD").status();
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_EQ(s.message(), "ciphertext does not authenticate: not base64");
}

// The fuzz seeds valid_* were made by Python's `cryptography` package (an
// independent AES-GCM and an independent encoding of the envelope and AAD
// layout above), under the fixed data key 0x42 * 32. They must open here.
TEST(EnvelopeTest, OpensEnvelopesMadeElsewhere) {
  const FieldRef ref{"tenant-fuzz", "invocations", "row-1", "input"};
  const std::string key(32, '\x42');
  const std::pair<const char*, std::string> seeds[] = {
      {"valid_v1_hello", "hello"}, {"valid_v1_empty", ""}, {"valid_base64", "text field"}};
  for (const auto& [name, plain] : seeds) {
    const std::string path =
        std::string(BASALT_SOURCE_DIR) + "/fuzz/corpus/envelope_open_fuzz/" + name;
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << "missing seed file " << path;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string envelope = bytes.substr(1);  // Byte 0 is the fuzzer's mode byte.
    if (bytes[0] & 1) envelope = *EnvelopeFromBase64(envelope);
    absl::StatusOr<EnvelopeView> view = ParseEnvelope(envelope);
    ASSERT_TRUE(view.ok()) << name << ": " << view.status();
    absl::StatusOr<Aad> aad = BuildAad(ref, view->key_version);
    absl::StatusOr<std::string> opened =
        AesGcm::Open(key, view->nonce, std::string_view(aad->data(), aad->size()), view->sealed);
    ASSERT_TRUE(opened.ok()) << name << ": " << opened.status();
    EXPECT_EQ(*opened, plain) << name;
  }
}

}  // namespace
}  // namespace basalt::crypto
