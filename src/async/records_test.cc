#include "async/records.h"

#include "async/dispatcher.h"
#include "async/webhook_worker.h"
#include "gtest/gtest.h"

namespace basalt::async {
namespace {

using nlohmann::json;

TEST(RecordsTest, IsoTimeIsUtcWithMilliseconds) {
  EXPECT_EQ(IsoTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTime(1764378123456), "2025-11-29T01:02:03.456Z");
  EXPECT_EQ(IsoTime(951782400000), "2000-02-29T00:00:00.000Z");  // a leap day
  EXPECT_EQ(IsoTime(4102444799999), "2099-12-31T23:59:59.999Z");
}

TEST(RecordsTest, StatusNamesRoundTrip) {
  for (auto s : {bus::JobState::kReady, bus::JobState::kLeased, bus::JobState::kSucceeded,
                 bus::JobState::kDead, bus::JobState::kCancelled}) {
    bus::JobState back;
    ASSERT_TRUE(ParseStatus(StatusName(s), &back));
    EXPECT_EQ(back, s);
  }
  bus::JobState ignored;
  EXPECT_FALSE(ParseStatus("done", &ignored));
}

TEST(RecordsTest, HmacMatchesRfc4231Case2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RecordsTest, BackoffStaysWithinItsCeiling) {
  std::mt19937_64 rng(7);
  for (int attempt = 1; attempt < 40; ++attempt) {
    const auto d = Backoff(attempt, 100, 5000, rng);
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d.count(), std::min<int64_t>(5000, 100LL << std::min(attempt - 1, 30)));
  }
  EXPECT_EQ(Backoff(3, 0, 1000, rng).count(), 0);
}

TEST(RecordsTest, InvocationViewShowsResultOnlyWhenCompleted) {
  bus::Job job;
  job.id = "inv_1";
  job.state = bus::JobState::kSucceeded;
  job.result = R"({"choices":[]})";
  job.created_ms = 1000;
  job.started_ms = 2000;
  job.finished_ms = 3000;
  const json payload = {{"model", "m"}, {"client_token", "t"}, {"metadata", {{"k", 1}}}};
  json view = RenderInvocation(job, payload, true);
  EXPECT_EQ(view["status"], "completed");
  EXPECT_EQ(view["result"], json::parse(job.result));
  EXPECT_EQ(view["client_token"], "t");
  EXPECT_EQ(view["metadata"]["k"], 1);
  EXPECT_FALSE(view.contains("error"));
  job.state = bus::JobState::kDead;
  job.error = R"({"code":"upstream_error","message":"boom"})";
  view = RenderInvocation(job, payload, true);
  EXPECT_EQ(view["status"], "failed");
  EXPECT_FALSE(view.contains("result"));
  EXPECT_EQ(view["error"]["message"], "boom");
}

TEST(RecordsTest, RequestEventHasTheEnvelopeAndTimings) {
  bus::Job job;
  job.id = "inv_1";
  job.tenant = "acme";
  job.created_ms = 1000;
  job.started_ms = 1500;
  job.attempts = 1;
  bus::Event e = RequestEvent("completed", job, json{{"model", "m"}}, 2500);
  EXPECT_EQ(e.type, "genai.request.completed");
  EXPECT_EQ(e.subject, "inv_1");
  EXPECT_EQ(e.tenant, "acme");
  const json body = json::parse(e.body);
  EXPECT_EQ(body["source"], "basalt.async");
  EXPECT_EQ(body["detail-type"], "genai.request.completed");
  EXPECT_EQ(body["id"], e.id);
  EXPECT_EQ(body["detail"]["queued_ms"], 500);
  EXPECT_EQ(body["detail"]["processing_ms"], 1000);
  EXPECT_EQ(body["detail"]["total_ms"], 1500);
  EXPECT_EQ(body["resources"][0], "inv_1");
}

TEST(RecordsTest, TemplatesReplaceDottedPaths) {
  const json event = {{"detail", {{"id", "x1"}, {"n", 3}, {"o", {{"a", true}}}}}};
  EXPECT_EQ(RenderTemplate("id={{detail.id}} n={{detail.n}} o={{detail.o}} m={{detail.no}}", event),
            "id=x1 n=3 o={\"a\":true} m=");
  EXPECT_EQ(RenderTemplate("open {{ never closed", event), "open {{ never closed");
}

TEST(RecordsTest, WebhookSignatureCoversTimestampAndBody) {
  auto headers = WebhookHeaders("s3cret", "{\"a\":1}", "evt_1", "t", 2, 1700000000);
  std::string signature, attempt;
  for (auto& [k, v] : headers) {
    if (k == "X-Basalt-Signature") signature = v;
    if (k == "X-Basalt-Delivery-Attempt") attempt = v;
  }
  EXPECT_EQ(signature, "sha256=" + HmacSha256Hex("s3cret", "1700000000.{\"a\":1}"));
  EXPECT_EQ(attempt, "2");
  auto unsigned_headers = WebhookHeaders("", "{}", "evt_1", "t", 1, 1);
  for (auto& [k, v] : unsigned_headers) EXPECT_NE(k, "X-Basalt-Signature");
}

}  // namespace
}  // namespace basalt::async
