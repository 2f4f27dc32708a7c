// Text-shaped entities: email addresses, IPv6 addresses, AWS keys.
#include <arpa/inet.h>

#include <algorithm>
#include <string_view>

#include "tenancy/guardrails/detect.h"

namespace basalt::guardrails::internal {

// Local part: the run of [A-Za-z0-9._%+-] right before '@', at most 64 bytes
// (a longer run is no email), leading dots dropped, no trailing or double dot.
size_t EmailLocalStart(const Window& w, size_t at) {
  const std::string_view text = w.text();
  size_t k = at;
  while (k > 0 && IsLocal(static_cast<unsigned char>(text[k - 1]))) {
    --k;
    if (at - k > kMaxLocalBytes) return std::string_view::npos;
  }
  while (k < at && text[k] == '.') ++k;
  if (k == at || text[at - 1] == '.') return std::string_view::npos;
  if (text.substr(k, at - k).find("..") != std::string_view::npos) return std::string_view::npos;
  return k;
}

// Domain: dot-separated labels of [A-Za-z0-9-] (1-63 bytes, no '-' at either
// end), at least two, the last all letters and 2+ long. Trailing dots and
// dashes (sentence punctuation) are not part of it. Whole address <= 254 bytes.
size_t MatchEmail(const Window& w, size_t local_start, size_t at) {
  const std::string_view text = w.text();
  size_t j = at + 1;
  for (;;) {
    const int c = w.At(j);
    if (!IsAlnum(c) && c != '.' && c != '-') break;
    ++j;
    if (j - local_start > kMaxEmailBytes) return 0;
  }
  size_t end = j;
  while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
  if (end == at + 1) return 0;
  int labels = 0;
  size_t label_start = at + 1;
  for (size_t i = at + 1; i <= end; ++i) {
    if (i < end && text[i] != '.') continue;
    const size_t len = i - label_start;
    if (len == 0 || len > 63) return 0;
    if (text[label_start] == '-' || text[i - 1] == '-') return 0;
    ++labels;
    if (i == end) {
      if (len < 2) return 0;
      for (size_t t = label_start; t < end; ++t) {
        if (!IsAlpha(static_cast<unsigned char>(text[t]))) return 0;
      }
    }
    label_start = i + 1;
  }
  return labels >= 2 ? end : 0;
}

// Candidates are runs of [0-9A-Fa-f:.] (trailing dots dropped), at most 45
// bytes, with at least one hex digit, validated by inet_pton(AF_INET6):
// full form, :: compression, embedded IPv4. A run must start with "::" or
// with 1-4 hex digits and ':'.
size_t MatchIpv6(const Window& w, size_t b) {
  if (w.At(b) == ':') {
    if (w.At(b + 1) != ':') return 0;
  } else {
    size_t j = b;
    while (j - b < 5 && IsHex(w.At(j))) ++j;
    if (j - b > 4 || w.At(j) != ':') return 0;
  }
  char buf[48];
  size_t n = 0;
  size_t j = b;
  bool hex = false;
  for (;;) {
    const int c = w.At(j);
    if (!IsHex(c) && c != ':' && c != '.') break;
    if (n == 45) return 0;
    hex = hex || IsHex(c);
    buf[n++] = static_cast<char>(c);
    ++j;
  }
  if (!hex || IsAlnum(w.At(j))) return 0;
  while (n > 0 && buf[n - 1] == '.') --n;
  buf[n] = '\0';
  in6_addr addr;
  return inet_pton(AF_INET6, buf, &addr) == 1 ? b + n : 0;
}

// "AKIA" or "ASIA" and 16 more of [A-Z0-9], as a whole word.
size_t MatchAwsAccessKey(const Window& w, size_t b) {
  if (w.At(b) != 'A') return 0;
  const int c1 = w.At(b + 1);
  if ((c1 != 'K' && c1 != 'S') || w.At(b + 2) != 'I' || w.At(b + 3) != 'A') return 0;
  for (size_t k = 4; k < 20; ++k) {
    const int c = w.At(b + k);
    if (!IsUpper(c) && !IsDigit(c)) return 0;
  }
  return IsAlnum(w.At(b + 20)) ? 0 : b + 20;
}

namespace {
// "secret" (any case) within the 64 bytes before `b`: aws_secret_access_key,
// SecretAccessKey, "secret key:".
bool SecretKeywordBefore(const Window& w, size_t b) {
  static constexpr std::string_view kWord = "secret";
  const size_t from = b > 64 ? b - 64 : 0;
  const std::string_view text = w.text();
  for (size_t i = from; i + kWord.size() <= b; ++i) {
    size_t k = 0;
    while (k < kWord.size() && LowerAscii(static_cast<unsigned char>(text[i + k])) == kWord[k]) ++k;
    if (k == kWord.size()) return true;
  }
  return false;
}
}  // namespace

// Exactly 40 of [A-Za-z0-9/+] as a whole token, not followed by '=' (base64
// padding: a blob, not a key). Then either the word "secret" appears in the 64
// bytes before it and the token mixes lower case with upper case or digits,
// or, without that context, it has upper case, lower case, a digit and a '/'
// or '+' (the shape of generated AWS secrets; about 3 in 4 random secrets
// contain '/' or '+'). 40-character hex digests never match without context.
size_t MatchAwsSecretKey(const Window& w, size_t b) {
  const std::string_view text = w.text();
  // Cheap necessary condition first: the 40th byte ends the run.
  if (b + 40 < text.size() && (!IsB64(static_cast<unsigned char>(text[b + 39])) ||
                               IsB64(static_cast<unsigned char>(text[b + 40])))) {
    return 0;
  }
  const size_t limit = std::min(text.size(), b + 41);
  size_t j = b;
  while (j < limit && IsB64(static_cast<unsigned char>(text[j]))) ++j;
  if (j == text.size()) (void)w.At(j);  // the run may go on in a stream
  if (j - b != 40 || w.At(j) == '=') return 0;
  bool upper = false, lower = false, digit = false, symbol = false;
  for (size_t k = b; k < j; ++k) {
    const int c = static_cast<unsigned char>(text[k]);
    upper = upper || IsUpper(c);
    lower = lower || IsLower(c);
    digit = digit || IsDigit(c);
    symbol = symbol || c == '/' || c == '+';
  }
  if (upper && lower && digit && symbol) return j;
  if (lower && (upper || digit) && SecretKeywordBefore(w, b)) return j;
  return 0;
}

}  // namespace basalt::guardrails::internal
