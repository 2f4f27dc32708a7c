#include "tenancy/guardrails/scan_core.h"

#include <re2/re2.h>

#include <algorithm>

#include "core/strings.h"

namespace basalt::guardrails::internal {
namespace {

size_t MatchPhrase(const Window& w, size_t b, const DeniedPhrase& phrase) {
  size_t j = b;
  for (size_t i = 0; i < phrase.words.size(); ++i) {
    if (i > 0) {
      size_t gap = 0;
      while (gap <= kMaxPhraseGap && IsSpace(w.At(j))) {
        ++j;
        ++gap;
      }
      if (gap == 0 || gap > kMaxPhraseGap) return 0;
    }
    for (char ch : phrase.words[i]) {
      if (LowerAscii(w.At(j)) != static_cast<unsigned char>(ch)) return 0;
      ++j;
    }
  }
  const int last = static_cast<unsigned char>(phrase.words.back().back());
  if (IsWord(last) && IsWord(w.At(j))) return 0;
  return j;
}

class Finder {
 public:
  Finder(const Policy& policy, Source source, const Window& w, size_t from, CandidateSet* out)
      : policy_(policy), source_(source), w_(w), from_(from), out_(out) {
    for (int t = 0; t < kEntityTypeCount; ++t) {
      const auto& actions = policy.pii(static_cast<EntityType>(t));
      on_[t] = actions.has_value();
      if (on_[t]) action_[t] = actions->For(source);
    }
    out_->open_from = w.size();
  }

  bool on(EntityType t) const { return on_[static_cast<int>(t)]; }

  // Runs one matcher for a match starting at `begin`.
  template <class Match>
  void Try(EntityType type, size_t begin, Match match) {
    w_.ClearHitEnd();
    const size_t end = match();
    if (w_.hit_end()) {
      Open(begin);
    } else if (end > begin && begin >= from_) {
      out_->candidates.push_back(
          {begin, end, static_cast<int>(type), action_[static_cast<int>(type)]});
    }
  }

  void Open(size_t begin) { out_->open_from = std::min(out_->open_from, std::max(begin, from_)); }

  void Phrases(size_t i, int c) {
    const int prev = w_.Before(i);
    for (int index : policy_.PhrasesStartingWith(static_cast<unsigned char>(LowerAscii(c)))) {
      const DeniedPhrase& phrase = policy_.denied_words()[index];
      if (IsWord(c) && IsWord(prev)) continue;
      w_.ClearHitEnd();
      const size_t end = MatchPhrase(w_, i, phrase);
      if (w_.hit_end()) {
        Open(i);
      } else if (end > i) {
        out_->candidates.push_back({i, end, PhraseKind(index), Action::kBlock});
      }
    }
  }

  int PhraseKind(int index) const {
    return kEntityTypeCount + static_cast<int>(policy_.regexes().size()) + index;
  }

  void Regexes(const std::vector<size_t>& regex_start) {
    const std::string_view text = w_.text();
    const size_t n = text.size();
    const re2::StringPiece piece(text.data(), text.size());
    out_->regex_steps.assign(policy_.regexes().size(), {});
    for (size_t r = 0; r < policy_.regexes().size(); ++r) {
      const CustomRegex& regex = policy_.regexes()[r];
      const size_t hold = regex.max_match_bytes + 1;
      const size_t limit = w_.final() ? n : (n > hold ? n - hold : 0);
      size_t pos = std::max(from_, r < regex_start.size() ? regex_start[r] : 0);
      while (pos <= n) {
        re2::StringPiece m;
        if (!regex.re->Match(piece, pos, n, RE2::UNANCHORED, &m, 1)) break;
        const size_t b = static_cast<size_t>(m.data() - text.data());
        const size_t e = b + m.size();
        if (b >= limit && !w_.final()) break;  // may still change: held back below
        const size_t next = e > b ? e : b + 1;
        out_->regex_steps[r].push_back({b, next});
        if (e > b) {
          out_->candidates.push_back(
              {b, e, kEntityTypeCount + static_cast<int>(r), regex.action.For(source_)});
        }
        pos = next;
      }
      if (!w_.final()) Open(limit);
    }
  }

 private:
  const Policy& policy_;
  Source source_;
  const Window& w_;
  size_t from_;
  CandidateSet* out_;
  bool on_[kEntityTypeCount] = {};
  Action action_[kEntityTypeCount] = {};
};

}  // namespace

void FindCandidates(const Policy& policy, Source source, const Window& w, size_t from,
                    const std::vector<size_t>& regex_start, CandidateSet* out) {
  out->candidates.clear();
  Finder f(policy, source, w, from, out);
  const bool email = f.on(EntityType::kEmail), phone = f.on(EntityType::kPhone),
             ssn = f.on(EntityType::kUsSocialSecurityNumber),
             card = f.on(EntityType::kCreditDebitCardNumber),
             iban = f.on(EntityType::kInternationalBankAccountNumber),
             ip = f.on(EntityType::kIpAddress), akia = f.on(EntityType::kAwsAccessKey),
             secret = f.on(EntityType::kAwsSecretKey);
  const bool phrases = !policy.denied_words().empty();
  const std::string_view text = w.text();
  const size_t n = text.size();
  for (size_t i = from; i < n; ++i) {
    const int c = static_cast<unsigned char>(text[i]);
    const int prev = w.Before(i);
    // After a letter or digit only '@' or a non-word byte can start anything
    // (entities need a non-alphanumeric byte before them, phrases a word
    // boundary): skip such positions in one tight loop.
    if (IsAlnum(prev) && IsWord(c)) {
      while (i + 1 < n && IsAlnum(static_cast<unsigned char>(text[i])) &&
             IsWord(static_cast<unsigned char>(text[i + 1]))) {
        ++i;
      }
      continue;
    }
    if (c == '@') {
      if (!email) continue;
      const size_t local = EmailLocalStart(w, i);
      if (local == std::string_view::npos) continue;
      w.ClearHitEnd();
      const size_t end = MatchEmail(w, local, i);
      if (w.hit_end()) {
        f.Open(local);
      } else if (end > i && local >= from) {
        out->candidates.push_back({local, end, static_cast<int>(EntityType::kEmail),
                                   policy.pii(EntityType::kEmail)->For(source)});
      }
      continue;
    }
    if (phrases && policy.PhraseMayStartWith(static_cast<unsigned char>(LowerAscii(c)))) {
      f.Phrases(i, c);
    }
    if (IsAlnum(prev)) continue;  // inside a word: no entity starts here
    if (secret && IsB64(c) && !IsB64(prev)) {
      f.Try(EntityType::kAwsSecretKey, i, [&] { return MatchAwsSecretKey(w, i); });
    }
    if ((IsDigit(c) || c == '+' || c == '(') && NumberMayStartAt(w, i)) {
      if (IsDigit(c)) {
        if (card) f.Try(EntityType::kCreditDebitCardNumber, i, [&] { return MatchCard(w, i); });
        if (ssn) f.Try(EntityType::kUsSocialSecurityNumber, i, [&] { return MatchSsn(w, i); });
        if (ip) f.Try(EntityType::kIpAddress, i, [&] { return MatchIpv4(w, i); });
      }
      if (phone) f.Try(EntityType::kPhone, i, [&] { return MatchPhone(w, i); });
    }
    if (IsUpper(c)) {
      if (iban) {
        f.Try(EntityType::kInternationalBankAccountNumber, i, [&] { return MatchIban(w, i); });
      }
      if (akia && c == 'A')
        f.Try(EntityType::kAwsAccessKey, i, [&] { return MatchAwsAccessKey(w, i); });
    }
    if (ip && (IsHex(c) || c == ':') && prev != ':' && prev != '.') {
      f.Try(EntityType::kIpAddress, i, [&] { return MatchIpv6(w, i); });
    }
  }
  // A run of local-part bytes at the tail may yet become an email's local part.
  if (email && !w.final()) {
    size_t k = n;
    while (k > from && IsLocal(static_cast<unsigned char>(text[k - 1])) && n - k <= kMaxLocalBytes)
      --k;
    if (k < n && n - k <= kMaxLocalBytes) f.Open(k);
  }
  if (!policy.regexes().empty()) f.Regexes(regex_start);
}

Selection Select(std::vector<Candidate> candidates) {
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end > b.end;
    if (a.action != b.action) return static_cast<int>(a.action) > static_cast<int>(b.action);
    return a.kind < b.kind;
  });
  Selection s;
  size_t last_end = 0;
  for (const Candidate& c : candidates) {
    if (c.action == Action::kNone || c.begin < last_end) continue;
    s.actors.push_back(c);
    last_end = c.end;
  }
  size_t actor = 0;
  last_end = 0;
  for (const Candidate& c : candidates) {
    if (c.action != Action::kNone || c.begin < last_end) continue;
    while (actor < s.actors.size() && s.actors[actor].end <= c.begin) ++actor;
    if (actor < s.actors.size() && s.actors[actor].begin < c.end) continue;
    s.reported.push_back(c);
    last_end = c.end;
  }
  return s;
}

namespace {
std::string_view KindName(const Policy& policy, int kind) {
  if (kind < kEntityTypeCount) return EntityTypeName(static_cast<EntityType>(kind));
  const size_t r = static_cast<size_t>(kind - kEntityTypeCount);
  if (r < policy.regexes().size()) return policy.regexes()[r].name;
  return policy.denied_words()[r - policy.regexes().size()].text;
}
}  // namespace

void AppendAnonymized(const Policy& policy, std::string_view text, size_t from, size_t to,
                      const std::vector<Candidate>& actors, std::string* out) {
  size_t at = from;
  for (const Candidate& c : actors) {
    if (c.begin < from || c.end > to || c.action != Action::kAnonymize) continue;
    out->append(text.substr(at, c.begin - at));
    StrAppend(out, "{", KindName(policy, c.kind), "}");
    at = c.end;
  }
  out->append(text.substr(at, to - at));
}

Finding MakeFinding(const Policy& policy, const Candidate& c, std::string_view text,
                    size_t offset) {
  Finding f;
  const size_t regexes = policy.regexes().size();
  if (c.kind < kEntityTypeCount) {
    f.kind = Finding::Kind::kPii;
    f.type = static_cast<EntityType>(c.kind);
  } else if (static_cast<size_t>(c.kind - kEntityTypeCount) < regexes) {
    f.kind = Finding::Kind::kRegex;
  } else {
    f.kind = Finding::Kind::kDeniedWord;
  }
  f.name = std::string(KindName(policy, c.kind));
  f.match = std::string(text.substr(c.begin, c.end - c.begin));
  f.action = c.action;
  f.begin = c.begin + offset;
  f.end = c.end + offset;
  return f;
}

}  // namespace basalt::guardrails::internal
