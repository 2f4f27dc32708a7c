#include "bus/rules/cidr.h"

#include <gtest/gtest.h>

namespace basalt::bus {
namespace {

bool In(std::string_view block, std::string_view ip) {
  absl::StatusOr<CidrBlock> b = CidrBlock::Parse(block);
  EXPECT_TRUE(b.ok()) << block << " -> " << b.status();
  return b.ok() && b->Contains(ip);
}

TEST(CidrBlockTest, Ipv4Prefixes) {
  EXPECT_TRUE(In("10.0.0.0/24", "10.0.0.33"));
  EXPECT_FALSE(In("10.0.0.0/24", "10.0.1.33"));
  EXPECT_TRUE(In("10.0.0.0/8", "10.255.1.2"));
  EXPECT_TRUE(In("0.0.0.0/0", "192.168.1.1"));
  EXPECT_TRUE(In("192.168.1.7/32", "192.168.1.7"));
  EXPECT_FALSE(In("192.168.1.7/32", "192.168.1.8"));
  EXPECT_TRUE(In("172.16.0.0/12", "172.31.255.255"));
  EXPECT_FALSE(In("172.16.0.0/12", "172.32.0.0"));
}

TEST(CidrBlockTest, HostBitsAreMasked) { EXPECT_TRUE(In("10.0.0.77/24", "10.0.0.1")); }

TEST(CidrBlockTest, Ipv6Prefixes) {
  EXPECT_TRUE(In("2001:db8::/32", "2001:0db8:ffff::1"));
  EXPECT_FALSE(In("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(In("fe80::/10", "febf::1"));
  EXPECT_FALSE(In("fe80::/10", "fec0::1"));
  EXPECT_TRUE(In("::/0", "::1"));
  EXPECT_TRUE(In("::1/128", "0:0:0:0:0:0:0:1"));
}

TEST(CidrBlockTest, FamiliesAndJunkDoNotMatch) {
  EXPECT_FALSE(In("10.0.0.0/8", "::ffff:10.0.0.1"));
  EXPECT_FALSE(In("::/0", "10.0.0.1"));
  EXPECT_FALSE(In("10.0.0.0/8", "10.0.0"));
  EXPECT_FALSE(In("10.0.0.0/8", ""));
  EXPECT_FALSE(In("10.0.0.0/8", std::string(200, '1')));
}

TEST(CidrBlockTest, RejectsBadBlocks) {
  for (std::string_view bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/2x", "10.0.0/8",
                               "x/8", "/8", "10.0.0.0", "::/129", "1::2::3/64", "10.0.0.0/0008"}) {
    EXPECT_FALSE(CidrBlock::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace basalt::bus
