// Bedrock StartAsyncInvoke / GetAsyncInvoke / ListAsyncInvokes over the async
// service (shapes from bedrock-runtime-2023-09-30.service-2.json; timestamps
// are ISO 8601 as the model declares). Invocations are tenant-scoped like all
// others; the ARN carries the tenant as its account.
#include <charconv>

#include "api/async_api.h"
#include "api/gateway.h"
#include "async/records.h"
#include "core/strings.h"

namespace basalt::api {

namespace asio = boost::asio;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;
using Reply = asio::awaitable<absl::StatusOr<HttpResponse>>;

namespace {

std::string Arn(const std::string& tenant, const std::string& id) {
  return StrCat("arn:aws:bedrock:local:", tenant, ":async-invoke/", id);
}

// Accepts an ARN (decoded) or a bare id.
std::string IdFromArn(std::string_view arn) {
  const size_t slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

std::string_view AwsStatus(bus::JobState s) {
  switch (s) {
    case bus::JobState::kSucceeded: return "Completed";
    case bus::JobState::kDead:
    case bus::JobState::kCancelled: return "Failed";
    default: return "InProgress";
  }
}

json Summary(const bus::Job& job) {
  const json payload = async::PayloadOf(job);
  json out = {{"invocationArn", Arn(job.tenant, job.id)},
              {"modelArn", StrCat("arn:aws:bedrock:local::foundation-model/", payload.value("model", ""))},
              {"status", AwsStatus(job.state)},
              {"submitTime", async::IsoTime(job.created_ms)},
              {"lastModifiedTime", async::IsoTime(job.updated_ms)},
              {"outputDataConfig", {{"s3OutputDataConfig", {{"s3Uri", payload.value("s3_uri", "")}}}}}};
  if (payload.contains("client_token")) out["clientRequestToken"] = payload["client_token"];
  if (bus::IsTerminal(job.state)) out["endTime"] = async::IsoTime(job.finished_ms);
  if (job.state == bus::JobState::kDead || job.state == bus::JobState::kCancelled) {
    const json error = json::parse(job.error.empty() ? "{}" : job.error, nullptr, false);
    out["failureMessage"] = error.is_object() ? error.value("message", "failed") : "failed";
  }
  return out;
}

Reply Start(HttpRequest& http, AsyncApiDeps deps) {
  auto body = ParseBody(http);
  if (!body.ok()) co_return body.status();
  auto options = deps.service->ParseStartAsyncInvoke(*body);
  if (!options.ok()) co_return options.status();
  auto submitted = co_await deps.service->Submit(http.ctx.tenant, *std::move(options));
  if (!submitted.ok()) co_return submitted.status();
  co_return HttpResponse::Json(
      200, json{{"invocationArn", Arn(http.ctx.tenant, submitted->job.id)}}.dump());
}

Reply GetOne(HttpRequest& http, AsyncApiDeps deps) {
  auto job = co_await deps.service->Get(http.ctx.tenant, IdFromArn(http.Param("invocationArn")));
  if (!job.ok()) co_return job.status();
  co_return HttpResponse::Json(200, Summary(*job).dump());
}

Reply List(HttpRequest& http, AsyncApiDeps deps) {
  bus::JobFilter filter;
  filter.tenant = http.ctx.tenant;
  filter.queue = std::string(async::kGenaiQueue);
  filter.limit = 1000;
  if (auto max = http.QueryParam("maxResults")) {
    int value = 0;
    auto [p, ec] = std::from_chars(max->data(), max->data() + max->size(), value);
    if (ec != std::errc() || value < 1 || value > 1000) {
      co_return absl::InvalidArgumentError("maxResults: must be 1 to 1000");
    }
    filter.limit = value;
  }
  const int page = filter.limit;
  filter.limit = page + 1;
  if (auto token = http.QueryParam("nextToken")) filter.before_id = *token;
  std::string want;
  if (auto status = http.QueryParam("statusEquals")) {
    if (*status != "InProgress" && *status != "Completed" && *status != "Failed") {
      co_return absl::InvalidArgumentError("statusEquals: must be InProgress, Completed or Failed");
    }
    want = *status;
  }
  // Only invocations started through this API (they carry an S3 location).
  filter.where = [want](const bus::Job& j) {
    return (want.empty() || AwsStatus(j.state) == want) && async::PayloadOf(j).contains("s3_uri");
  };
  auto jobs = co_await deps.service->List(std::move(filter));
  if (!jobs.ok()) co_return jobs.status();
  const bool more = static_cast<int>(jobs->size()) > page;
  if (more) jobs->pop_back();
  json summaries = json::array();
  for (const bus::Job& j : *jobs) summaries.push_back(Summary(j));
  json out = {{"asyncInvokeSummaries", summaries}};
  if (more) out["nextToken"] = jobs->back().id;
  co_return HttpResponse::Json(200, out.dump());
}

}  // namespace

void AddBedrockAsyncRoutes(net::Router& router, AsyncApiDeps deps) {
  net::RouteOptions aws;
  aws.error_style = net::ErrorStyle::kAws;
  aws.auth = net::AuthScheme::kSigV4;
  net::RouteOptions write = aws;
  write.permission = Permission::kAsyncWrite;
  net::RouteOptions read = aws;
  read.permission = Permission::kAsyncRead;
  router.Add("POST", "/async-invoke", [deps](HttpRequest& r) { return Start(r, deps); }, write);
  router.Add("GET", "/async-invoke", [deps](HttpRequest& r) { return List(r, deps); }, read);
  router.Add("GET", "/async-invoke/{invocationArn+}",
             [deps](HttpRequest& r) { return GetOne(r, deps); }, read);
}

}  // namespace basalt::api
