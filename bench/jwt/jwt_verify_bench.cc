// jwt_verify_bench: per-verify latency of basalt::jose::VerifyJwt with a cached
// key (the KeySet already built), one token per algorithm, single thread.
//   jwt_verify_bench [--iterations N] [--emit FILE] [--only ALG]
// --emit writes the keys (public JWKs, the HS256 secret) and tokens as JSON so
// bench/jwt/peer.mjs verifies exactly the same tokens. Prints one JSON line
// per algorithm: {"impl","alg","n","p50_us","p99_us","max_us","cpu_us","sig_p50_us","sig_p99_us"};
// cpu_us is this thread's CPU time per VerifyJwt (mean); sig_* times VerifyKey::Verify alone (the signature check on the already split
// and decoded token: what the crypto costs), so the rest of VerifyJwt (base64url,
// strict JSON of header and claims, claim checks) is the difference.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "tenancy/jose/base64url.h"
#include "tenancy/jose/jwt.h"
#include "tenancy/jose/key_set.h"
#include "tenancy/jose/testing/signer.h"

namespace {

using basalt::jose::Alg;
using basalt::jose::testing::TestKey;
using nlohmann::json;

struct Case {
  Alg alg;
  TestKey key;
  std::string kid;
  std::string token;
};

double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double Percentile(std::vector<double>& v, double p) {
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 20000;
  std::string emit;
  std::string only;  // one algorithm (for perf record); default all
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--iterations" && i + 1 < argc) iterations = std::atoi(argv[++i]);
    else if (arg == "--emit" && i + 1 < argc) emit = argv[++i];
    else if (arg == "--only" && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--iterations N] [--emit FILE] [--only ALG]\n", argv[0]);
      return 2;
    }
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  basalt::jose::JwtPolicy policy;
  policy.issuer = "https://issuer.bench";
  policy.audiences = {"basalt"};
  policy.algorithms = {Alg::kRS256, Alg::kPS256, Alg::kES256, Alg::kEdDSA, Alg::kHS256};

  std::vector<Case> cases;
  TestKey rsa = TestKey::Generate(Alg::kRS256);
  cases.push_back({Alg::kRS256, rsa, "rs256", ""});
  cases.push_back({Alg::kPS256, rsa, "ps256", ""});
  cases.push_back({Alg::kES256, TestKey::Generate(Alg::kES256), "es256", ""});
  cases.push_back({Alg::kEdDSA, TestKey::Generate(Alg::kEdDSA), "eddsa", ""});
  cases.push_back({Alg::kHS256, TestKey::Generate(Alg::kHS256), "hs256", ""});

  json claims = {{"iss", policy.issuer}, {"aud", "basalt"}, {"sub", "bench-user"},
                 {"exp", now + 86400}, {"iat", now}, {"scope", "chat:write models:read"}};
  json jwks = {{"keys", json::array()}};
  basalt::jose::KeySet keys;
  for (Case& c : cases) {
    json header = {{"alg", basalt::jose::AlgName(c.alg)}, {"kid", c.kid}, {"typ", "JWT"}};
    c.token = basalt::jose::testing::MakeJws(header, claims.dump(), c.key, c.alg);
    if (c.alg == Alg::kHS256) {
      keys.Add(*basalt::jose::VerifyKey::Hmac(c.key.secret(), c.kid));
    } else {
      jwks["keys"].push_back(c.key.Jwk(c.kid, basalt::jose::AlgName(c.alg)));
    }
  }
  absl::StatusOr<basalt::jose::KeySet> parsed =
      basalt::jose::KeySet::ParseJwks(jwks.dump(), {basalt::jose::AlgSet::Of(policy.algorithms)});
  if (!parsed.ok()) {
    std::fprintf(stderr, "JWKS: %s\n", std::string(parsed.status().message()).c_str());
    return 1;
  }
  for (const auto& k : parsed->keys()) keys.Add(k);

  if (!emit.empty()) {
    json out = {{"issuer", policy.issuer}, {"audience", "basalt"}, {"iterations", iterations},
                {"cases", json::array()}};
    for (const Case& c : cases) {
      json jwk = c.alg == Alg::kHS256 ? c.key.Jwk(c.kid, "HS256")
                                      : c.key.Jwk(c.kid, basalt::jose::AlgName(c.alg));
      out["cases"].push_back({{"alg", basalt::jose::AlgName(c.alg)}, {"jwk", jwk}, {"token", c.token}});
    }
    std::ofstream(emit) << out.dump(1) << "\n";
  }

  for (const Case& c : cases) {
    if (!only.empty() && only != basalt::jose::AlgName(c.alg)) continue;
    for (int i = 0; i < 500; ++i) {  // warm-up: caches, lazy OpenSSL init
      if (!basalt::jose::VerifyJwt(c.token, keys, policy, now).ok()) {
        std::fprintf(stderr, "%s token does not verify\n",
                     std::string(basalt::jose::AlgName(c.alg)).c_str());
        return 1;
      }
    }
    std::vector<double> us;
    us.reserve(static_cast<size_t>(iterations));
    const double cpu_start = ThreadCpuMicros();
    for (int i = 0; i < iterations; ++i) {
      auto start = std::chrono::steady_clock::now();
      absl::StatusOr<basalt::jose::VerifiedJwt> r = basalt::jose::VerifyJwt(c.token, keys, policy, now);
      auto end = std::chrono::steady_clock::now();
      if (!r.ok()) return 1;
      us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    // CPU time of this thread per verify: what a verify costs without the
    // waits a shared machine adds to the wall-clock percentiles.
    const double cpu_us = (ThreadCpuMicros() - cpu_start) / iterations;
    double p50 = Percentile(us, 0.50), p99 = Percentile(us, 0.99);
    double max = *std::max_element(us.begin(), us.end());

    // The signature check alone, on the same key and bytes.
    const size_t dot = c.token.rfind('.');
    const std::string input = c.token.substr(0, dot);
    absl::StatusOr<std::string> sig = basalt::jose::Base64UrlDecode(c.token.substr(dot + 1), "sig");
    absl::StatusOr<const basalt::jose::VerifyKey*> key = keys.Find(c.kid, c.alg);
    if (!sig.ok() || !key.ok() || !(*key)->Verify(c.alg, input, *sig).ok()) return 1;
    std::vector<double> sig_us;
    sig_us.reserve(static_cast<size_t>(iterations));
    for (int i = 0; i < iterations; ++i) {
      auto start = std::chrono::steady_clock::now();
      absl::Status r = (*key)->Verify(c.alg, input, *sig);
      auto end = std::chrono::steady_clock::now();
      if (!r.ok()) return 1;
      sig_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    std::printf(
        "{\"impl\":\"basalt\",\"alg\":\"%s\",\"n\":%d,\"p50_us\":%.2f,\"p99_us\":%.2f,"
        "\"max_us\":%.2f,\"cpu_us\":%.2f,\"sig_p50_us\":%.2f,\"sig_p99_us\":%.2f}\n",
        std::string(basalt::jose::AlgName(c.alg)).c_str(), iterations, p50, p99, max, cpu_us,
        Percentile(sig_us, 0.50), Percentile(sig_us, 0.99));
  }
  return 0;
}
