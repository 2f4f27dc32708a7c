// Digit-based entities: cards, US SSNs, phone numbers, IBANs, IPv4 addresses.
#include <arpa/inet.h>

#include <array>
#include <string_view>

#include "tenancy/guardrails/detect.h"

namespace basalt::guardrails::internal {
namespace {

// The number ends at `end`: not glued to a word and not followed by more of
// itself ("1.2.3.4.5", "4111...-2").
bool NumberEndsAt(const Window& w, size_t end) {
  const int c = w.At(end);
  if (IsAlnum(c)) return false;
  if ((c == '.' || c == ',' || c == '-') && IsDigit(w.At(end + 1))) return false;
  return true;
}

bool IsPhoneSep(int c) { return c == '-' || c == '.' || c == ' '; }

struct Stop {
  size_t end;  // offset just past the group
  int total;   // characters (digits) up to here
  int len;     // characters in this group
};

// NANP: [1<sep>] (NXX) NXX<sep>XXXX | NXX<sep>NXX<sep>XXXX, N = 2-9, sep = - . or space.
size_t MatchNanp(const Window& w, size_t b) {
  size_t j = b;
  const bool paren = w.At(j) == '(';
  if (paren) ++j;
  const int n = w.At(j);
  if (n < '2' || n > '9' || !IsDigit(w.At(j + 1)) || !IsDigit(w.At(j + 2))) return 0;
  j += 3;
  if (paren) {
    if (w.At(j) != ')') return 0;
    ++j;
    if (w.At(j) == ' ') ++j;
  } else {
    if (!IsPhoneSep(w.At(j))) return 0;
    ++j;
  }
  const int x = w.At(j);
  if (x < '2' || x > '9' || !IsDigit(w.At(j + 1)) || !IsDigit(w.At(j + 2))) return 0;
  j += 3;
  if (!IsPhoneSep(w.At(j))) return 0;
  ++j;
  for (int k = 0; k < 4; ++k) {
    if (!IsDigit(w.At(j + k))) return 0;
  }
  j += 4;
  return NumberEndsAt(w, j) ? j : 0;
}

// International: '+' then 8-15 digits (E.164) in groups joined by one of
// - . space, a group may be parenthesised: "+44 (0)20 7946 0958".
size_t MatchInternational(const Window& w, size_t b) {
  size_t j = b + 1;
  if (!IsDigit(w.At(j))) return 0;
  std::array<Stop, 16> stops;
  int n = 0;
  int digits = 0;
  while (n < static_cast<int>(stops.size())) {
    bool paren = false;
    if (n > 0 && w.At(j) == '(') {
      paren = true;
      ++j;
    }
    int len = 0;
    while (len <= 15 && IsDigit(w.At(j))) {
      ++j;
      ++len;
    }
    if (len == 0 || len > 15) break;
    if (paren) {
      if (w.At(j) != ')') break;
      ++j;
    }
    digits += len;
    if (digits > 15) break;
    stops[n++] = {j, digits, len};
    const int c = w.At(j);
    if (IsPhoneSep(c) && (IsDigit(w.At(j + 1)) || w.At(j + 1) == '(')) {
      ++j;
      continue;
    }
    if (c == '(' || (paren && IsDigit(c))) continue;
    break;
  }
  for (int k = n - 1; k >= 0 && stops[k].total >= 8; --k) {
    if (NumberEndsAt(w, stops[k].end)) return stops[k].end;
  }
  return 0;
}

struct CountryLength {
  char code[3];
  int length;
};
// IBAN lengths of the common countries (ISO 13616 registry).
constexpr CountryLength kIbanLengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18},
    {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22},
    {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29},
    {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24},
    {"SM", 27}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20},
};

int IbanLength(int a, int b) {
  for (const CountryLength& c : kIbanLengths) {
    if (c.code[0] == a && c.code[1] == b) return c.length;
  }
  return 0;
}

}  // namespace

bool NumberMayStartAt(const Window& w, size_t i) {
  const int p = w.Before(i);
  if (IsAlnum(p)) return false;
  if ((p == '.' || p == ',' || p == '-') && i >= 1 && IsDigit(w.Before(i - 1))) return false;
  return true;
}

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool IbanChecksumValid(std::string_view compact) {
  if (compact.size() < 5) return false;
  int r = 0;
  for (size_t k = 0; k < compact.size(); ++k) {
    const char c = compact[(k + 4) % compact.size()];  // the first four move to the end
    if (IsDigit(c)) {
      r = (r * 10 + (c - '0')) % 97;
    } else {
      r = (r * 100 + (c - 'A' + 10)) % 97;
    }
  }
  return r == 1;
}

// 13-19 digits, optionally in groups of 3+ joined by one space or dash, Luhn-valid,
// not all zeros. Where groups continue past a valid prefix after a space
// ("4111 1111 1111 1111 2024"), the longest valid prefix matches.
size_t MatchCard(const Window& w, size_t b) {
  std::array<Stop, 8> stops;
  int n = 0;
  int total = 0;
  size_t j = b;
  while (n < static_cast<int>(stops.size())) {
    int len = 0;
    while (len <= 19 && IsDigit(w.At(j))) {
      ++j;
      ++len;
    }
    if (len == 0 || len > 19) break;
    total += len;
    stops[n++] = {j, total, len};
    if (total > 19) break;
    const int c = w.At(j);
    if ((c == ' ' || c == '-') && IsDigit(w.At(j + 1))) {
      ++j;
      continue;
    }
    break;
  }
  for (int k = n; k >= 1; --k) {
    const Stop& last = stops[k - 1];
    if (last.total < 13 || last.total > 19) continue;
    bool groups_ok = true;
    for (int g = 0; g < k && k > 1; ++g) groups_ok = groups_ok && stops[g].len >= 3;
    if (!groups_ok) continue;
    if (k < n ? w.At(last.end) != ' ' : !NumberEndsAt(w, last.end)) continue;
    char digits[20];
    size_t count = 0;
    bool nonzero = false;
    for (size_t i = b; i < last.end; ++i) {
      const int c = w.At(i);
      if (!IsDigit(c)) continue;
      digits[count++] = static_cast<char>(c);
      nonzero = nonzero || c != '0';
    }
    if (nonzero && LuhnValid(std::string_view(digits, count))) return last.end;
  }
  return 0;
}

// AAA-GG-SSSS or AAA GG SSSS (one separator kind): area not 000, 666 or 9xx,
// group not 00, serial not 0000. Nine bare digits are not matched.
size_t MatchSsn(const Window& w, size_t b) {
  int d[9];
  static constexpr int kOffsets[9] = {0, 1, 2, 4, 5, 7, 8, 9, 10};
  const int sep = w.At(b + 3);
  for (int k = 0; k < 9; ++k) {
    if (k == 3 && sep != '-' && sep != ' ') return 0;
    if (k == 5 && w.At(b + 6) != sep) return 0;
    const int c = w.At(b + kOffsets[k]);
    if (!IsDigit(c)) return 0;
    d[k] = c - '0';
  }
  const int area = d[0] * 100 + d[1] * 10 + d[2];
  const int group = d[3] * 10 + d[4];
  const int serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
  if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return 0;
  return NumberEndsAt(w, b + 11) ? b + 11 : 0;
}

size_t MatchPhone(const Window& w, size_t b) {
  if (w.At(b) == '+') return MatchInternational(w, b);
  if (w.At(b) == '1' && IsPhoneSep(w.At(b + 1))) {
    if (const size_t end = MatchNanp(w, b + 2)) return end;
  }
  return MatchNanp(w, b);
}

// Country code, two check digits, BBAN of [A-Z0-9]; printed compact or in
// groups of four joined by one space. Length: the country's where known,
// else 15-34. mod-97 must be 1. Upper case only.
size_t MatchIban(const Window& w, size_t b) {
  if (!IsUpper(w.At(b)) || !IsUpper(w.At(b + 1)) || !IsDigit(w.At(b + 2)) ||
      !IsDigit(w.At(b + 3))) {
    return 0;
  }
  const int want = IbanLength(w.At(b), w.At(b + 1));
  std::array<Stop, 12> stops;
  std::array<char, 35> compact;
  int n = 0;
  int len = 0;
  bool capped = false;
  size_t j = b;
  while (n < static_cast<int>(stops.size())) {
    int glen = 0;
    int c;
    while ((IsUpper(c = w.At(j)) || IsDigit(c)) && len < 35) {
      compact[len++] = static_cast<char>(c);
      ++j;
      ++glen;
    }
    if (len >= 35) {
      capped = true;
      break;
    }
    stops[n++] = {j, len, glen};
    if (w.At(j) == ' ' && (IsUpper(w.At(j + 1)) || IsDigit(w.At(j + 1)))) {
      ++j;
      continue;
    }
    break;
  }
  for (int k = n; k >= 1; --k) {
    const Stop& last = stops[k - 1];
    if (want ? last.total != want : (last.total < 15 || last.total > 34)) continue;
    bool groups_ok = true;
    for (int g = 0; g + 1 < k; ++g) groups_ok = groups_ok && stops[g].len == 4;
    if (!groups_ok) continue;
    if (k == n && !capped && IsAlnum(w.At(last.end))) continue;
    if (IbanChecksumValid(std::string_view(compact.data(), last.total))) return last.end;
  }
  return 0;
}

// Dotted quad, octets 0-255 without leading zeros (inet_pton decides).
size_t MatchIpv4(const Window& w, size_t b) {
  char buf[24];
  int n = 0;
  size_t j = b;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (w.At(j) != '.') return 0;
      buf[n++] = '.';
      ++j;
    }
    int len = 0;
    while (len < 4 && IsDigit(w.At(j))) {
      buf[n++] = static_cast<char>(w.At(j));
      ++j;
      ++len;
    }
    if (len == 0 || len > 3) return 0;
  }
  if (!NumberEndsAt(w, j)) return 0;
  buf[n] = '\0';
  in_addr addr;
  return inet_pton(AF_INET, buf, &addr) == 1 ? j : 0;
}

}  // namespace basalt::guardrails::internal
