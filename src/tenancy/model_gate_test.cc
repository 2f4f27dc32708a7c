#include "tenancy/model_gate.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "core/status.h"
#include "models/fake_provider.h"
#include "models/router/provider_registry.h"
#include "store/memory/memory_store.h"

namespace basalt::tenancy {
namespace {

using nlohmann::json;

// A gate over a Router over one FakeProvider ("fake", default provider),
// with tenants from `docs`.
class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = std::make_unique<models::FakeProvider>("fake");
    fake_ = fake.get();
    ASSERT_TRUE(providers_.Register(std::move(fake)).ok());
  }

  void Build(const std::vector<json>& docs, std::vector<limits::ModelPrice> prices = {}) {
    std::vector<Tenant> tenants;
    for (const json& d : docs) tenants.push_back(*ParseTenant(d, ""));
    directory_ = *Directory::Load(store_, std::move(tenants), {}, RoleTable(), nullptr);
    models::CatalogConfig catalog;
    catalog.default_provider = "fake";
    router_ = *models::Router::Create(providers_, catalog, {}, registry_);
    prices_ = *limits::PriceTable::Create(prices);
    GateDeps deps;
    deps.router = router_.get();
    deps.directory = directory_.get();
    deps.rates = &rates_;
    deps.concurrency = &concurrency_;
    deps.budgets = &budgets_;
    deps.prices = &prices_;
    deps.registry = &registry_;
    deps.audit = [this](const RequestContext&, std::string_view action, std::string_view,
                        std::string_view) { audited_.emplace_back(action); };
    gate_ = std::make_unique<ModelGate>(std::move(deps));
  }

  absl::StatusOr<models::ChatResponse> Chat(std::string tenant, std::string text,
                                            std::optional<int64_t> max_tokens = 16,
                                            std::string model = "m") {
    RequestContext ctx;
    ctx.tenant = std::move(tenant);
    models::ChatRequest request;
    request.model = std::move(model);
    request.max_tokens = max_tokens;
    request.messages.push_back({models::Role::kUser, {models::ContentBlock::Text(std::move(text))}});
    boost::asio::io_context io;
    auto f = boost::asio::co_spawn(io, gate_->Chat(ctx, std::move(request), nullptr),
                                   boost::asio::use_future);
    io.run();
    return f.get();
  }

  MemoryStore store_;
  models::ProviderRegistry providers_;
  models::FakeProvider* fake_ = nullptr;
  metrics::Registry registry_;
  std::unique_ptr<Directory> directory_;
  std::unique_ptr<models::Router> router_;
  limits::PriceTable prices_;
  limits::RateLimiter rates_{RealClock::Instance()};
  limits::ConcurrencyLimiter concurrency_;
  limits::BudgetLedger budgets_{RealClock::Instance()};
  std::unique_ptr<ModelGate> gate_;
  std::vector<std::string> audited_;
};

TEST_F(GateTest, ModelOutsideTheAllowedSetIsForbidden) {
  Build({json::parse(R"({"name":"t","models":{"allowed":["gpt-*"]}})")});
  auto r = Chat("t", "hello", 16, "claude-3");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorCodeOf(r.status()), "model_not_allowed");
  EXPECT_EQ(fake_->calls(), 0);
  EXPECT_TRUE(Chat("t", "hello", 16, "gpt-4o").ok());
}

TEST_F(GateTest, MaxTokensIsCappedAndSetWhenABudgetNeedsIt) {
  Build({json::parse(R"({"name":"capped","models":{"max_tokens":100}})"),
         json::parse(R"({"name":"budgeted","budgets":{"tokens_per_month":1000000}})")});
  ASSERT_TRUE(Chat("capped", "hi", 5000).ok());
  ASSERT_TRUE(Chat("budgeted", "hi", std::nullopt).ok());
  auto sent = fake_->chat_requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].max_tokens, 100);
  EXPECT_EQ(sent[1].max_tokens, 4096) << "bounded so the reservation covers it";
}

TEST_F(GateTest, RequestsPerMinuteRefuseWithRetryAfterAndHeaders) {
  Build({json::parse(R"({"name":"t","limits":{"requests_per_minute":2}})")});
  ASSERT_TRUE(Chat("t", "a").ok());
  ASSERT_TRUE(Chat("t", "b").ok());
  auto r = Chat("t", "c");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrorCodeOf(r.status()), "rate_limit_exceeded");
  bool retry_after = false, limit = false;
  for (const auto& [k, v] : ResponseHeadersOf(r.status())) {
    retry_after |= k == "Retry-After" && std::stoi(v) >= 1;
    limit |= k == "x-ratelimit-limit-requests" && v == "2";
  }
  EXPECT_TRUE(retry_after);
  EXPECT_TRUE(limit);
  EXPECT_EQ(fake_->calls(), 2);
}

TEST_F(GateTest, BudgetReservesTheWorstCaseAndSettlesTheActual) {
  // Worst case of one call: 5 bytes + 16 per message + 16, plus max_tokens 16 = 53.
  Build({json::parse(R"({"name":"t","budgets":{"tokens_per_month":120}})")});
  ASSERT_TRUE(Chat("t", "hello").ok());
  const limits::BudgetUsage after_one = budgets_.Snapshot("t");
  EXPECT_EQ(after_one.reserved_tokens, 0);
  EXPECT_GT(after_one.spent_tokens, 0);
  EXPECT_LT(after_one.spent_tokens, 53) << "settled to the actual usage, not the worst case";
  ASSERT_TRUE(Chat("t", "hello").ok());
  // Spent is now about 2 * 5; another worst case of 53 still fits 120 only
  // while spent + 53 <= 120.
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = Chat("t", "hello");
    if (!r.ok()) {
      EXPECT_EQ(ErrorCodeOf(r.status()), "budget_exceeded") << r.status();
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_LE(budgets_.Snapshot("t").spent_tokens, 120);
  EXPECT_FALSE(audited_.empty());
  EXPECT_EQ(audited_.back(), "budget.refused");
}

TEST_F(GateTest, AFailedCallReleasesItsReservation) {
  Build({json::parse(R"({"name":"t","budgets":{"tokens_per_month":60}})")});
  fake_->Push(models::FakeProvider::Step::Fail(absl::InvalidArgumentError("bad")));
  EXPECT_FALSE(Chat("t", "hello").ok());
  EXPECT_EQ(budgets_.Snapshot("t").reserved_tokens, 0);
  EXPECT_EQ(budgets_.Snapshot("t").spent_tokens, 0);
  EXPECT_TRUE(Chat("t", "hello").ok()) << "the whole budget is there again";
}

TEST_F(GateTest, GuardrailsAnonymizeInputAndBlockWithoutCallingTheModel) {
  Build({json::parse(R"({"name":"t","guardrail":{
      "pii":{"EMAIL":"ANONYMIZE","CREDIT_DEBIT_CARD_NUMBER":"BLOCK"},
      "blocked_input_message":"no cards"}})")});
  ASSERT_TRUE(Chat("t", "mail me at jane.doe@example.com").ok());
  ASSERT_EQ(fake_->chat_requests().size(), 1u);
  EXPECT_EQ(fake_->chat_requests()[0].messages[0].content[0].text, "mail me at {EMAIL}");
  auto blocked = Chat("t", "my card is 4111 1111 1111 1111");
  ASSERT_TRUE(blocked.ok());
  EXPECT_EQ(blocked->stop_reason, models::StopReason::kContentFiltered);
  EXPECT_EQ(blocked->content[0].text, "no cards");
  EXPECT_EQ(fake_->calls(), 1) << "a blocked request never reaches the model";
  ASSERT_TRUE(Chat("t", "not a card 4111 1111 1111 1112").ok()) << "Luhn-invalid";
  EXPECT_EQ(fake_->calls(), 2);
}

TEST_F(GateTest, ResidencyKeepsCallsInTheTenantsRegion) {
  Build({json::parse(R"({"name":"eu","region":"eu-west-1"})")});
  auto r = Chat("eu", "hi");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorCodeOf(r.status()), "region_unavailable");
  EXPECT_EQ(fake_->calls(), 0) << "never routed elsewhere quietly";
}

}  // namespace
}  // namespace basalt::tenancy
