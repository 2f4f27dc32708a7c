// Entity matchers: positive and negative cases for each type.
#include "tenancy/guardrails/detect.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tenancy/guardrails/test_util.h"

namespace basalt::guardrails {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> F(std::string_view text) { return Found(DetectAll(), text); }

TEST(Email, Matches) {
  EXPECT_THAT(F("mail john.doe+x@example.co.uk now"),
              ElementsAre("EMAIL:john.doe+x@example.co.uk"));
  EXPECT_THAT(F("<a@b.io>."), ElementsAre("EMAIL:a@b.io"));
  EXPECT_THAT(F("end a@example.com."), ElementsAre("EMAIL:a@example.com"));
  EXPECT_THAT(F("mailto:x_y@mail.example.org,"), ElementsAre("EMAIL:x_y@mail.example.org"));
}

TEST(Email, Rejects) {
  EXPECT_THAT(F("user@localhost"), IsEmpty());
  EXPECT_THAT(F("@example.com"), IsEmpty());
  EXPECT_THAT(F("a@b.c"), IsEmpty());
  EXPECT_THAT(F("a.@example.com"), IsEmpty());
  EXPECT_THAT(F("a..b@example.com"), IsEmpty());
  EXPECT_THAT(F("a@-x.com"), IsEmpty());
  EXPECT_THAT(F("a@x.c0m"), IsEmpty());
  EXPECT_THAT(F(std::string(65, 'a') + "@example.com"), IsEmpty());
  EXPECT_THAT(F(std::string(64, 'a') + "@example.com"),
              ElementsAre("EMAIL:" + std::string(64, 'a') + "@example.com"));
}

TEST(Card, LuhnValidInGroups) {
  EXPECT_THAT(F("card 4111 1111 1111 1111 ok"),
              ElementsAre("CREDIT_DEBIT_CARD_NUMBER:4111 1111 1111 1111"));
  EXPECT_THAT(F("4111-1111-1111-1111"),
              ElementsAre("CREDIT_DEBIT_CARD_NUMBER:4111-1111-1111-1111"));
  EXPECT_THAT(F("4111111111111111."), ElementsAre("CREDIT_DEBIT_CARD_NUMBER:4111111111111111"));
  EXPECT_THAT(F("amex 3782 822463 10005"),
              ElementsAre("CREDIT_DEBIT_CARD_NUMBER:3782 822463 10005"));
  EXPECT_THAT(F("4222222222222"), ElementsAre("CREDIT_DEBIT_CARD_NUMBER:4222222222222"));
  EXPECT_THAT(F("6011000990139424 expires"),
              ElementsAre("CREDIT_DEBIT_CARD_NUMBER:6011000990139424"));
  // A trailing number after a space is not part of the card.
  EXPECT_THAT(F("4111 1111 1111 1111 2027"),
              ElementsAre("CREDIT_DEBIT_CARD_NUMBER:4111 1111 1111 1111"));
}

TEST(Card, Rejects) {
  EXPECT_THAT(F("4111 1111 1111 1112"), IsEmpty());  // Luhn-invalid
  EXPECT_THAT(F("4111111111111112"), IsEmpty());
  EXPECT_THAT(F("0000000000000000"), IsEmpty());
  EXPECT_THAT(F("41111111111111111111111"), IsEmpty());  // a longer digit run
  EXPECT_THAT(F("x4111111111111111"), IsEmpty());
  EXPECT_THAT(F("4111111111111111x"), IsEmpty());
  EXPECT_THAT(F("3.4111111111111111"), IsEmpty());
  EXPECT_THAT(F("411111111111"), IsEmpty());  // 12 digits
}

TEST(Ssn, AreaGroupSerialRules) {
  EXPECT_THAT(F("ssn 123-45-6789."), ElementsAre("US_SOCIAL_SECURITY_NUMBER:123-45-6789"));
  EXPECT_THAT(F("123 45 6789"), ElementsAre("US_SOCIAL_SECURITY_NUMBER:123 45 6789"));
  EXPECT_THAT(F("000-45-6789"), IsEmpty());
  EXPECT_THAT(F("666-45-6789"), IsEmpty());
  EXPECT_THAT(F("900-45-6789"), IsEmpty());
  EXPECT_THAT(F("999-45-6789"), IsEmpty());
  EXPECT_THAT(F("123-00-6789"), IsEmpty());
  EXPECT_THAT(F("123-45-0000"), IsEmpty());
  EXPECT_THAT(F("123-45 6789"), IsEmpty());
  EXPECT_THAT(F("123456789"), IsEmpty());
  EXPECT_THAT(F("123-45-67890"), IsEmpty());
}

TEST(Phone, NanpAndInternational) {
  EXPECT_THAT(F("call (555) 234-5678 now"), ElementsAre("PHONE:(555) 234-5678"));
  EXPECT_THAT(F("555-234-5678"), ElementsAre("PHONE:555-234-5678"));
  EXPECT_THAT(F("555.234.5678"), ElementsAre("PHONE:555.234.5678"));
  EXPECT_THAT(F("1-800-555-0199"), ElementsAre("PHONE:1-800-555-0199"));
  EXPECT_THAT(F("+1 415 555 2671"), ElementsAre("PHONE:+1 415 555 2671"));
  EXPECT_THAT(F("+14155552671"), ElementsAre("PHONE:+14155552671"));
  EXPECT_THAT(F("+44 20 7946 0958"), ElementsAre("PHONE:+44 20 7946 0958"));
  EXPECT_THAT(F("+44 (0)20 7946 0958"), ElementsAre("PHONE:+44 (0)20 7946 0958"));
  EXPECT_THAT(F("+49-30-1234567"), ElementsAre("PHONE:+49-30-1234567"));
}

TEST(Phone, Rejects) {
  EXPECT_THAT(F("5552345678"), IsEmpty());         // bare digit run
  EXPECT_THAT(F("155-234-5678"), IsEmpty());       // area code starts with 1
  EXPECT_THAT(F("555-134-5678"), IsEmpty());       // exchange starts with 1
  EXPECT_THAT(F("+1234567"), IsEmpty());           // 7 digits
  EXPECT_THAT(F("+1234567890123456"), IsEmpty());  // 16 digits
  EXPECT_THAT(F("555-234-56789"), IsEmpty());
  EXPECT_THAT(F("version 2024"), IsEmpty());
}

TEST(Iban, Mod97AndLength) {
  EXPECT_THAT(F("IBAN DE89 3704 0044 0532 0130 00."),
              ElementsAre("INTERNATIONAL_BANK_ACCOUNT_NUMBER:DE89 3704 0044 0532 0130 00"));
  EXPECT_THAT(F("GB82WEST12345698765432"),
              ElementsAre("INTERNATIONAL_BANK_ACCOUNT_NUMBER:GB82WEST12345698765432"));
  EXPECT_THAT(F("GB82 WEST 1234 5698 7654 32 THEN"),
              ElementsAre("INTERNATIONAL_BANK_ACCOUNT_NUMBER:GB82 WEST 1234 5698 7654 32"));
  EXPECT_THAT(F("DE88 3704 0044 0532 0130 00"), IsEmpty());  // bad check digits
  EXPECT_THAT(F("DE89 3704 0044 0532 0130 0"), IsEmpty());   // wrong length for DE
  EXPECT_THAT(F("de89370400440532013000"), IsEmpty());
  EXPECT_THAT(F("XDE89370400440532013000"), IsEmpty());
}

TEST(Ip, V4) {
  EXPECT_THAT(F("host 192.168.1.20."), ElementsAre("IP_ADDRESS:192.168.1.20"));
  EXPECT_THAT(F("0.0.0.0 and 255.255.255.255"),
              ElementsAre("IP_ADDRESS:0.0.0.0", "IP_ADDRESS:255.255.255.255"));
  EXPECT_THAT(F("999.1.1.1"), IsEmpty());
  EXPECT_THAT(F("1.2.3.256"), IsEmpty());
  EXPECT_THAT(F("1.2.3"), IsEmpty());
  EXPECT_THAT(F("1.2.3.4.5"), IsEmpty());
  EXPECT_THAT(F("v1.2.3.4"), IsEmpty());
}

TEST(Ip, V6) {
  EXPECT_THAT(F("2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
              ElementsAre("IP_ADDRESS:2001:0db8:85a3:0000:0000:8a2e:0370:7334"));
  EXPECT_THAT(F("addr 2001:db8::1."), ElementsAre("IP_ADDRESS:2001:db8::1"));
  EXPECT_THAT(F("[::1]:8080"), ElementsAre("IP_ADDRESS:::1"));
  EXPECT_THAT(F("fe80::1ff:fe23:4567:890a"), ElementsAre("IP_ADDRESS:fe80::1ff:fe23:4567:890a"));
  EXPECT_THAT(F("::ffff:192.0.2.128"), ElementsAre("IP_ADDRESS:::ffff:192.0.2.128"));
  EXPECT_THAT(F("at 12:30:45"), IsEmpty());
  EXPECT_THAT(F("std::vector"), IsEmpty());
  EXPECT_THAT(F("00:1A:2B:3C:4D:5E"), IsEmpty());
  EXPECT_THAT(F("2001:db8::1::2"), IsEmpty());
  EXPECT_THAT(F("a :: b"), IsEmpty());
}

TEST(Aws, AccessKey) {
  EXPECT_THAT(F("key AKIAIOSFODNN7EXAMPLE,"), ElementsAre("AWS_ACCESS_KEY:AKIAIOSFODNN7EXAMPLE"));
  EXPECT_THAT(F("ASIAY34FZKBOKMUTVV7A"), ElementsAre("AWS_ACCESS_KEY:ASIAY34FZKBOKMUTVV7A"));
  EXPECT_THAT(F("AKIAIOSFODNN7EXAMPL"), IsEmpty());
  EXPECT_THAT(F("AKIAIOSFODNN7EXAMPLEX"), IsEmpty());
  EXPECT_THAT(F("AKIAiosfodnn7example"), IsEmpty());
  EXPECT_THAT(F("XAKIAIOSFODNN7EXAMPLE"), IsEmpty());
}

TEST(Aws, SecretKey) {
  const std::string key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  EXPECT_THAT(F("aws_secret_access_key=" + key), ElementsAre("AWS_SECRET_KEY:" + key));
  EXPECT_THAT(F("here: " + key + " ok"), ElementsAre("AWS_SECRET_KEY:" + key));
  // Without '/' or '+' only with the keyword nearby.
  const std::string plain = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12";
  EXPECT_THAT(F("token " + plain), IsEmpty());
  EXPECT_THAT(F("\"SecretAccessKey\": \"" + plain + "\""), ElementsAre("AWS_SECRET_KEY:" + plain));
  // A SHA-1 digest is not a secret; neither are 39 or 41 characters or base64 blobs.
  EXPECT_THAT(F("commit da39a3ee5e6b4b0d3255bfef95601890afd80709"), IsEmpty());
  EXPECT_THAT(F("secret " + key.substr(1)), IsEmpty());
  EXPECT_THAT(F("secret " + key + "A"), IsEmpty());
  EXPECT_THAT(F("secret " + key + "=="), IsEmpty());
}

TEST(Checksums, LuhnAndIban) {
  EXPECT_TRUE(internal::LuhnValid("79927398713"));
  EXPECT_FALSE(internal::LuhnValid("79927398710"));
  EXPECT_TRUE(internal::IbanChecksumValid("DE89370400440532013000"));
  EXPECT_FALSE(internal::IbanChecksumValid("DE89370400440532013001"));
}

}  // namespace
}  // namespace basalt::guardrails
